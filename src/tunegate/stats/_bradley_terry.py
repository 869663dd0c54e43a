"""Bradley–Terry ratings of several models from pairwise votes, with bootstrap CIs (as Chatbot Arena).

P(i beats j) = 1 / (1 + 10^((r_j - r_i)/400)): ratings on the Elo scale, anchored so their mean is
``anchor``. A tie or "both bad" counts as half a win for each side. Fitted by maximum likelihood with the
MM algorithm of Hunter (2004), which converges whenever the comparison graph is connected; a small
prior (``prior`` virtual ties against every other model) keeps ratings finite when a model never lost.
CIs: percentile bootstrap resampling votes (or whole items, when ``items`` is given).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["BTRating", "bradley_terry", "bt_strengths"]


@dataclass(frozen=True, slots=True)
class BTRating:
    """One model's rating, its bootstrap CI and its number of votes."""

    model: str
    rating: float
    ci_low: float
    ci_high: float
    n: int


def bt_strengths(
    wins: NDArray[np.float64], prior: float = 0.0, tol: float = 1e-10, max_iter: int = 10000
) -> NDArray[np.float64]:
    """MLE strengths p (sum 1) from ``wins[i, j]`` = (fractional) wins of i over j."""
    w = np.asarray(wins, dtype=np.float64).copy()
    k = w.shape[0]
    if prior:
        w += prior * (1 - np.eye(k)) / 2
    games = w + w.T
    total_wins = w.sum(axis=1)
    p = np.full(k, 1.0 / k)
    for _ in range(max_iter):
        denom = (games / (p[:, None] + p[None, :])).sum(axis=1)
        new = np.where(denom > 0, total_wins / np.where(denom > 0, denom, 1), p)
        new = np.maximum(new, 1e-300)
        new /= new.sum()
        if np.max(np.abs(new - p)) < tol:
            return new
        p = new
    return p


def _ratings(p: NDArray[np.float64], anchor: float) -> NDArray[np.float64]:
    r = 400 * np.log10(p)
    return np.asarray(r - r.mean() + anchor, dtype=np.float64)


def _matrix(
    a: NDArray[np.int64], b: NDArray[np.int64], s: NDArray[np.float64], k: int
) -> NDArray[np.float64]:
    w = np.zeros((k, k))
    np.add.at(w, (a, b), s)
    np.add.at(w, (b, a), 1 - s)
    return w


def bradley_terry(
    model_a: Sequence[str],
    model_b: Sequence[str],
    score_a: Sequence[float],
    *,
    items: Sequence[object] | None = None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    anchor: float = 1000.0,
    prior: float = 0.0,
    seed: int = 0,
) -> list[BTRating]:
    """Ratings, best first, from votes (model_a[i] vs model_b[i], score_a[i] in {0, 0.5, 1})."""
    names = sorted(set(model_a) | set(model_b))
    idx = {m: i for i, m in enumerate(names)}
    a = np.array([idx[m] for m in model_a], dtype=np.int64)
    b = np.array([idx[m] for m in model_b], dtype=np.int64)
    s = np.asarray(score_a, dtype=np.float64)
    k = len(names)
    point = _ratings(bt_strengths(_matrix(a, b, s, k), prior), anchor)
    rng = np.random.default_rng(seed)
    if items is not None:
        _, cl = np.unique(np.asarray([str(i) for i in items]), return_inverse=True)
        members = [np.flatnonzero(cl == c) for c in range(int(cl.max()) + 1)] if cl.size else []
    boots = np.empty((n_boot, k))
    for j in range(n_boot):
        if items is not None and members:
            pick = rng.integers(0, len(members), size=len(members))
            sel = np.concatenate([members[c] for c in pick])
        else:
            sel = rng.integers(0, s.size, size=s.size)
        boots[j] = _ratings(bt_strengths(_matrix(a[sel], b[sel], s[sel], k), prior or 0.01, tol=1e-8), anchor)
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2], axis=0)
    n = np.bincount(a, minlength=k) + np.bincount(b, minlength=k)
    out = [BTRating(names[i], float(point[i]), float(lo[i]), float(hi[i]), int(n[i])) for i in range(k)]
    return sorted(out, key=lambda r: -r.rating)


def expected_score(r_i: float, r_j: float) -> float:
    """P(i beats j) under the fitted ratings."""
    return 1 / (1 + math.pow(10, (r_j - r_i) / 400))
