"""An anytime-valid confidence sequence for a win rate: hedged betting (Waudby-Smith & Ramdas 2023).

For every candidate mean m, two gamblers bet on votes x_i in [0, 1]: one that the mean is above m
(wealth K+ = prod(1 + l_i (x_i - m))), one that it is below (K- = prod(1 - l_i (x_i - m))). Bets l_i
are *predictable* (use votes 1..i-1 only): the predictable plug-in of the paper (their eq. 26),
truncated at c/m and c/(1-m) with c = 1/2. The hedged wealth K = (K+ + K-)/2 is a nonnegative
martingale under m = true mean, so by Ville's inequality P(exists t: K_t(true mean) >= 1/alpha) <= alpha:
the set {m : K_t(m) < 1/alpha} covers the mean at every t simultaneously, and an owner may look after
every vote and stop when 1/2 leaves the set, without inflating the error rate. The sequence is
intersected over time (still valid). Assumes votes arrive exchangeably (items served in random order).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["ConfidenceSequence", "betting_log_wealth", "confidence_sequence", "votes_to_decide"]

_C = 0.5
_GRID = np.linspace(0.0005, 0.9995, 1000)


def _lambdas(x: NDArray[np.float64], alpha: float) -> NDArray[np.float64]:
    """Predictable plug-in bets along the last axis of ``x`` (before truncation)."""
    t = x.shape[-1]
    i = np.arange(1, t + 1, dtype=np.float64)
    csum = np.cumsum(x, axis=-1)
    mu = (0.5 + csum) / (i + 1)  # regularised running mean, through vote i
    sq = np.cumsum((x - mu) ** 2, axis=-1)
    var = (0.25 + sq) / (i + 1)
    # predictable: the bet for vote i uses the variance through vote i-1
    var_prev = np.concatenate([np.full((*x.shape[:-1], 1), 0.25), var[..., :-1]], axis=-1)
    return np.asarray(np.sqrt(2 * math.log(2 / alpha) / (var_prev * i * np.log(i + 1))), dtype=np.float64)


def betting_log_wealth(
    x: NDArray[np.float64], m: NDArray[np.float64] | float, alpha: float = 0.05
) -> NDArray[np.float64]:
    """log of the hedged wealth K_t(m) after each vote: shape ``x.shape + m.shape`` (m broadcast last)."""
    x = np.asarray(x, dtype=np.float64)
    m_arr = np.asarray(m, dtype=np.float64)
    lam = _lambdas(x, alpha)[..., None]
    xm = x[..., None] - m_arr.reshape(-1)
    mm = m_arr.reshape(-1)
    lp = np.minimum(lam, _C / mm)
    ln = np.minimum(lam, _C / (1 - mm))
    log_kp = np.cumsum(np.log1p(lp * xm), axis=-2)
    log_kn = np.cumsum(np.log1p(-ln * xm), axis=-2)
    out = np.logaddexp(log_kp, log_kn) - math.log(2)
    return np.asarray(out.reshape(x.shape + m_arr.shape), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class ConfidenceSequence:
    """The running confidence sequence after ``n`` votes and what it says about "win rate = 1/2"."""

    n: int
    estimate: float
    low: float
    high: float
    alpha: float
    decided: bool
    #: "candidate wins", "candidate loses" or "undecided"
    verdict: str
    #: median votes still needed to decide if votes keep coming like these (None: decided, or no
    #: difference seen so far, so no finite number can be promised)
    more_votes: int | None


def _interval(x: NDArray[np.float64], alpha: float) -> tuple[float, float]:
    lw = betting_log_wealth(x, _GRID, alpha)  # (t, grid)
    inside = np.all(lw < math.log(1 / alpha), axis=0)  # intersection over time
    if not inside.any():  # numerically everything excluded: collapse to the running mean
        mu = float(x.mean())
        return mu, mu
    g = _GRID[inside]
    return float(max(0.0, g.min() - 0.0005)), float(min(1.0, g.max() + 0.0005))


def votes_to_decide(
    scores: ArrayLike, alpha: float = 0.05, *, horizon: int = 20000, sims: int = 64, seed: int = 0
) -> int | None:
    """Median extra votes until 1/2 leaves the sequence, simulating future votes drawn from the observed
    ones (a projection for planning, not a guarantee); None beyond ``horizon`` or with no difference."""
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0 or abs(s.mean() - 0.5) < 1e-12:
        return None
    rng = np.random.default_rng(seed)
    n0 = s.size
    step = max(256, n0)
    total = n0
    futures = np.empty((sims, 0))
    while total - n0 < horizon:
        futures = np.concatenate([futures, rng.choice(s, size=(sims, step))], axis=1)
        total = n0 + futures.shape[1]
        x = np.concatenate([np.broadcast_to(s, (sims, n0)), futures], axis=1)
        lw = betting_log_wealth(x, 0.5, alpha)  # (sims, t)
        hit = lw >= math.log(1 / alpha)
        first = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
        if (first >= 0).mean() >= 0.5:
            need = np.where(first >= 0, first + 1 - n0, np.iinfo(np.int64).max)
            return int(max(1, np.median(need)))
        step *= 2
    return None


def confidence_sequence(scores: ArrayLike, alpha: float = 0.05) -> ConfidenceSequence:
    """The confidence sequence of the win rate after the votes ``scores`` (in arrival order)."""
    x = np.asarray(scores, dtype=np.float64)
    if x.size == 0:
        return ConfidenceSequence(0, 0.5, 0.0, 1.0, alpha, False, "undecided", None)
    low, high = _interval(x, alpha)
    lw_half = betting_log_wealth(x, 0.5, alpha)
    decided = bool((lw_half >= math.log(1 / alpha)).any())
    est = float(x.mean())
    verdict = "undecided"
    if decided:
        verdict = "candidate wins" if est > 0.5 else "candidate loses"
    more = None if decided else votes_to_decide(x, alpha)
    return ConfidenceSequence(int(x.size), est, low, high, alpha, decided, verdict, more)
