"""Win rate of a candidate against a reference from pairwise votes: (W + T/2)/N.

Votes are coded from the candidate's side: 1 win, 0 loss, 0.5 no preference. Both "tie" and "both bad"
are *no preference* (half a win each: neither answer was judged better); they count in N and in the win
rate, and are left out of the sign test, which uses decisive votes only. ``win_rate`` takes the Wilson
score interval (Wilson 1927) at ``successes = W + T/2``; :func:`clustered_win_rate` resamples whole items
(all of an item's votes together) when items have several raters, so correlated votes are not counted as
independent. :func:`des_raj_win_rate` is the estimate for studies whose items were drawn with
unequal, data-dependent probabilities (uncertainty allocation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as sps

__all__ = [
    "WinRate",
    "clustered_win_rate",
    "des_raj_win_rate",
    "sign_test",
    "wilson_interval",
    "win_rate",
]


@dataclass(frozen=True, slots=True)
class WinRate:
    """Counts, the win rate, its CI (``method`` names it) and the exact sign test on decisive votes."""

    wins: int
    losses: int
    ties: int
    n: int
    rate: float
    ci_low: float
    ci_high: float
    p_value: float
    method: str
    alpha: float = 0.05


def wilson_interval(successes: float, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for a proportion (``successes`` may be fractional); (0, 1) when n == 0."""
    if n <= 0:
        return 0.0, 1.0
    z = float(sps.norm.ppf(1 - alpha / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test of P(win | decisive) = 1/2; 1.0 when there is no decisive vote."""
    n = wins + losses
    if n == 0:
        return 1.0
    return float(sps.binomtest(wins, n, 0.5).pvalue)


def _counts(scores: ArrayLike) -> tuple[int, int, int]:
    s = np.asarray(scores, dtype=np.float64)
    if s.size and not np.all(np.isin(s, (0.0, 0.5, 1.0))):
        raise ValueError("vote scores must be 0 (loss), 0.5 (no preference) or 1 (win)")
    return int((s == 1).sum()), int((s == 0).sum()), int((s == 0.5).sum())


def win_rate(scores: Sequence[float], alpha: float = 0.05) -> WinRate:
    """Win rate of independent votes with a Wilson CI and the exact sign test."""
    w, lo, t = _counts(scores)
    n = w + lo + t
    rate = (w + t / 2) / n if n else 0.5
    a, b = wilson_interval(w + t / 2, n, alpha)
    return WinRate(w, lo, t, n, rate, a, b, sign_test(w, lo), "wilson", alpha)


def clustered_win_rate(
    scores: Sequence[float],
    items: Sequence[object],
    *,
    alpha: float = 0.05,
    n_boot: int = 4000,
    seed: int = 0,
) -> WinRate:
    """Win rate with a percentile bootstrap that resamples items (clusters of votes) with replacement.

    The statistic is the ratio sum(scores)/sum(votes) over the resampled items, so items with more
    raters weigh as much as they do in the point estimate. The sign test is still on decisive votes.
    """
    s = np.asarray(scores, dtype=np.float64)
    w, lo, t = _counts(s)
    n = s.size
    if n == 0:
        return WinRate(0, 0, 0, 0, 0.5, 0.0, 1.0, 1.0, "cluster-bootstrap", alpha)
    _, inv = np.unique(np.asarray([str(i) for i in items]), return_inverse=True)
    sums = np.bincount(inv, weights=s)
    counts = np.bincount(inv).astype(np.float64)
    m = sums.size
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, m, size=(n_boot, m))
    boot = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    a, b = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return WinRate(
        w, lo, t, n, float(s.mean()), float(a), float(b), sign_test(w, lo), "cluster-bootstrap", alpha
    )


def des_raj_win_rate(
    raters: Sequence[Sequence[tuple[float | None, float]]], n_items: int, alpha: float = 0.05
) -> WinRate:
    """Win rate of a study whose items were drawn one at a time with known probabilities (Des Raj 1956).

    ``raters``: per rater, their votes in the order the items were drawn, each ``(score, prob)``:
    the vote's score (None for an item outside the headline pair) and the probability with which that
    item was drawn among the items the rater had not yet seen. ``n_items``: the headline items.

    The j-th draw of a rater gives z_j = (S_{j-1} + y_j / p_j) / N, S_{j-1} being the rater's earlier
    scores: E[z_j] is the rater's mean over *all* N items whatever rule chose p_j (each p_j > 0), and
    the z_j are uncorrelated, so their mean is unbiased. Its standard error is clustered by rater
    (a rater's z_j share that rater's leaning), with a t interval on raters - 1 df, clipped to [0, 1].
    Counts and the sign test are on the votes themselves; the sign test stays exact under "no item
    prefers either model", however items were allocated.
    """
    if n_items <= 0:
        raise ValueError("n_items must be positive")
    z: list[float] = []
    cluster: list[int] = []
    scores: list[float] = []
    for r, steps in enumerate(raters):
        before = 0.0
        for score, prob in steps:
            if not 0.0 < prob <= 1.0:
                raise ValueError("selection probabilities must be in (0, 1]")
            y = 0.0 if score is None else score
            z.append((before + y / prob) / n_items)
            cluster.append(r)
            before += y
            if score is not None:
                scores.append(score)
    w, lo, t = _counts(scores)
    if not z:
        return WinRate(0, 0, 0, 0, 0.5, 0.0, 1.0, 1.0, "des-raj", alpha)
    zs = np.asarray(z)
    est = float(zs.mean())
    # raters are clusters: a rater's z_j share the rater's own mean, so the spread between raters counts
    per = np.bincount(np.asarray(cluster), weights=zs - est)
    per = per[np.bincount(np.asarray(cluster)) > 0]
    g = per.size
    if g < 2:
        a, b = 0.0, 1.0
    else:
        se = math.sqrt(g / (g - 1) * float((per**2).sum())) / zs.size
        half = float(sps.t.ppf(1 - alpha / 2, g - 1)) * se
        a, b = max(0.0, est - half), min(1.0, est + half)
    return WinRate(w, lo, t, w + lo + t, est, a, b, sign_test(w, lo), "des-raj", alpha)
