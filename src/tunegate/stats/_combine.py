"""Unweighted mean of several tasks' paired deltas, with its standard error (the scorecard headline)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy.special import ndtri

__all__ = ["mean_of_deltas"]


def mean_of_deltas(
    deltas: Sequence[float], ses: Sequence[float], *, alpha: float = 0.05
) -> tuple[float, float, float, float]:
    """``(mean, se, low, high)`` of the mean of ``k`` deltas measured on disjoint items.

    ``se = sqrt(sum se_i^2) / k`` from each task's exact SE (tasks on disjoint items are independent);
    the interval is the normal one at ``1 - alpha``.
    """
    k = len(deltas)
    if k == 0 or len(ses) != k:
        raise ValueError("need one SE per delta, and at least one delta")
    mean = sum(deltas) / k
    se = math.sqrt(sum(s * s for s in ses)) / k
    z = float(ndtri(1.0 - alpha / 2.0))
    return mean, se, mean - z * se, mean + z * se
