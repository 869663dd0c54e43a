"""Validation of paired per-item score vectors (shared by the statistics helpers)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

__all__ = ["FloatArray", "as_pair", "is_binary"]


def _as_vector(values: Sequence[float] | ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def as_pair(
    base: Sequence[float] | ArrayLike, tuned: Sequence[float] | ArrayLike, *, allow_empty: bool = False
) -> tuple[FloatArray, FloatArray]:
    """Return ``(base, tuned)`` as float vectors of equal length (item ``i`` of each is the same item)."""
    b = _as_vector(base, "base")
    t = _as_vector(tuned, "tuned")
    if b.shape != t.shape:
        raise ValueError(f"paired scores need equal lengths: base has {b.size} items, tuned {t.size}")
    if b.size == 0 and not allow_empty:
        raise ValueError("a paired comparison needs at least one item (got 0)")
    return b, t


def is_binary(*arrays: FloatArray) -> bool:
    """True when every value of every array is 0 or 1 (a correct/incorrect metric)."""
    return all(bool(np.all((a == 0.0) | (a == 1.0))) for a in arrays)
