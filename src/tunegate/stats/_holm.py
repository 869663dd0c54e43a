"""Holm–Bonferroni adjustment for testing several tasks at once (Holm 1979)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["holm"]


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in the input order.

    The ``j``-th smallest p (0-based) of ``m`` becomes ``max_{i<=j} min(1, (m - i) * p_(i))``; rejecting
    every adjusted p below alpha controls the family-wise error rate at alpha under any dependence.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError("holm expects a flat sequence of p-values")
    if p.size == 0:
        return []
    if not np.all((p >= 0.0) & (p <= 1.0)):
        raise ValueError("p-values must lie in [0, 1] (and not be NaN)")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = np.maximum.accumulate(scaled)
    return [float(x) for x in adjusted]
