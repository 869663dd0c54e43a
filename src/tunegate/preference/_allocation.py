"""Uncertainty allocation: which item a rater gets next, and with what probability.

A study with ``allocation="uncertainty"`` draws each rater's next item when the rater asks for it,
from the items that rater has not seen. An item's weight is how much one more vote would narrow its
interval, sqrt(v/(n+1)) - sqrt(v/(n+2)), with n its votes so far (plus votes in flight) and v the
variance of a vote on it from a shrunk mean (sum + 1/2)/(n + 1): unrated items and items whose raters
disagree come first, as Chatbot Arena's sampling rule does for model pairs (Chiang et al. 2024, §5).
That weight is mixed with a uniform *floor*: pi(i) = floor/|E| + (1 - floor) w(i)/sum(w) over the
eligible items E, so every item keeps a chance of at least floor/|E|.

The probability of the drawn item is stored with the assignment. The headline win rate of such a
study is then the inverse-probability (Des Raj 1956) estimate of :func:`tunegate.stats._winrate.
des_raj_win_rate`, which stays unbiased however the probabilities were chosen; the plain mean of the
votes would not (contested items get more votes). See docs/preference.md.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["DEFAULT_FLOOR", "selection_probs"]

#: share of each draw spread uniformly over the eligible items
DEFAULT_FLOOR = 0.2


def selection_probs(
    sums: ArrayLike, counts: ArrayLike, eligible: ArrayLike, floor: float = DEFAULT_FLOOR
) -> NDArray[np.float64]:
    """Selection probability of every item (last axis) for the next draw; 0 where not eligible.

    ``sums``/``counts``: per item, the sum of vote scores in [0, 1] and the number of votes (in-flight
    assignments may be counted too); ``eligible``: a boolean mask. Leading axes are independent draws
    (the simulation tests use them). Each row with an eligible item sums to 1.
    """
    if not 0.0 < floor <= 1.0:
        raise ValueError("the uniform floor must be in (0, 1]")
    s = np.asarray(sums, dtype=np.float64)
    n = np.asarray(counts, dtype=np.float64)
    e = np.asarray(eligible, dtype=bool)
    mean = (s + 0.5) / (n + 1.0)
    v = np.clip(mean * (1.0 - mean), 1e-6, None)
    gain = np.sqrt(v / (n + 1.0)) - np.sqrt(v / (n + 2.0))
    w = np.where(e, gain, 0.0)
    k = e.sum(axis=-1, keepdims=True)
    total = w.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = floor * e / k + (1.0 - floor) * w / total
    return np.asarray(np.where(k > 0, p, 0.0), dtype=np.float64)
