"""Bias checks of pairwise votes: position bias, length bias, a length-controlled win rate, per tag.

*Position bias*: among decisive votes, how often the answer shown on the left (A) won, with an exact
binomial test of 1/2. *Length bias*: the votes' scores (candidate's side) regressed, by a logistic
(quasi-binomial) model, on ``tanh(d / sd(d))`` where ``d`` is the candidate's answer length minus the
reference's in characters; the *length-controlled win rate* is the fitted win rate at d = 0,
sigmoid(intercept), as AlpacaEval's LC win rate (Dubois et al. 2024) does with its length term.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from tunegate.stats._winrate import WinRate, win_rate

__all__ = ["LengthControl", "PositionBias", "length_controlled", "per_tag", "position_bias"]


@dataclass(frozen=True, slots=True)
class PositionBias:
    left_wins: int
    decisive: int
    rate: float
    p_value: float


@dataclass(frozen=True, slots=True)
class LengthControl:
    """The length-controlled win rate, the length coefficient and raw win rates by who was longer."""

    lc_win_rate: float
    length_coef: float
    win_rate_when_longer: float | None
    win_rate_when_shorter: float | None
    n: int


def position_bias(left_won: Sequence[bool | None]) -> PositionBias:
    """``left_won``: True (left won), False (right won), None (tie / both bad: not decisive)."""
    dec = [x for x in left_won if x is not None]
    k = sum(bool(x) for x in dec)
    n = len(dec)
    p = float(sps.binomtest(k, n, 0.5).pvalue) if n else 1.0
    return PositionBias(k, n, k / n if n else 0.5, p)


def _fit_logistic(x: np.ndarray, y: np.ndarray, iters: int = 100) -> tuple[float, float]:
    """(intercept, slope) of a logistic model fitted by IRLS to fractional y, with a tiny ridge."""
    design = np.column_stack([np.ones_like(x), x])
    beta = np.zeros(2)
    for _ in range(iters):
        mu = 1 / (1 + np.exp(-(design @ beta)))
        w = np.clip(mu * (1 - mu), 1e-9, None)
        grad = design.T @ (y - mu) - 1e-6 * beta
        hess = (design * w[:, None]).T @ design + 1e-6 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(beta[0]), float(beta[1])


def length_controlled(scores: Sequence[float], length_diff: Sequence[float]) -> LengthControl:
    """LC win rate of votes ``scores`` (candidate side); ``length_diff`` = len(candidate) - len(ref)."""
    y = np.asarray(scores, dtype=np.float64)
    d = np.asarray(length_diff, dtype=np.float64)
    if y.size == 0:
        return LengthControl(0.5, 0.0, None, None, 0)
    sd = float(d.std())
    x = np.tanh(d / sd) if sd > 0 else np.zeros_like(d)
    # keep the fit finite when every vote went one way
    y_fit = np.clip(y, 1e-3, 1 - 1e-3)
    b0, b1 = _fit_logistic(x, y_fit)
    longer, shorter = y[d > 0], y[d < 0]
    return LengthControl(
        lc_win_rate=1 / (1 + math.exp(-b0)),
        length_coef=b1,
        win_rate_when_longer=float(longer.mean()) if longer.size else None,
        win_rate_when_shorter=float(shorter.mean()) if shorter.size else None,
        n=int(y.size),
    )


def per_tag(scores: Sequence[float], tags: Sequence[Sequence[str]]) -> dict[str, WinRate]:
    """Win rate (Wilson CI) of the votes carrying each tag; a vote may carry several tags."""
    groups: dict[str, list[float]] = defaultdict(list)
    for s, ts in zip(scores, tags, strict=True):
        for t in ts:
            groups[t].append(s)
    return {t: win_rate(v) for t, v in sorted(groups.items())}
