"""Rogan–Gladen correction of a rate measured by an imperfect judge (Rogan & Gladen, 1978).

A judge with sensitivity Se and specificity Sp reports a positive rate ``p_obs = Se·p + (1 − Sp)(1 − p)``
for a true rate ``p``; inverting it gives

    p = (p_obs + Sp − 1) / (Se + Sp − 1),   clipped to [0, 1].

Se and Sp are themselves estimates from a finite calibration set, so :func:`resample_se_sp` draws them
again (parametric bootstrap: binomial counts around the measured rates) for each bootstrap replicate;
the interval then widens with a weak or small calibration instead of hiding it. When Youden's
J = Se + Sp − 1 is below :data:`MIN_YOUDEN` the correction divides by almost nothing and is refused.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["MIN_YOUDEN", "correctable", "resample_se_sp", "rogan_gladen"]

#: below this Se + Sp − 1 the correction is not applied (the judge is too close to chance)
MIN_YOUDEN = 0.2


def rogan_gladen(p_obs: ArrayLike, se: ArrayLike, sp: ArrayLike) -> NDArray[np.float64]:
    """The corrected rate, elementwise, clipped to [0, 1]; NaN where Se + Sp − 1 <= 0."""
    p, s, q = (np.asarray(a, dtype=np.float64) for a in (p_obs, se, sp))
    j = s + q - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(j > 0, (p + q - 1.0) / np.where(j > 0, j, 1.0), np.nan)
    return np.clip(out, 0.0, 1.0)


def correctable(se: float, sp: float) -> bool:
    """Whether Youden's J = Se + Sp − 1 is large enough (>= MIN_YOUDEN) to correct with."""
    return se + sp - 1.0 >= MIN_YOUDEN


def resample_se_sp(
    tp: int, fn: int, tn: int, fp: int, size: int, rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``size`` draws of (Se, Sp): binomial resamples of the calibration counts."""
    n_pos, n_neg = tp + fn, tn + fp
    if n_pos < 1 or n_neg < 1:
        raise ValueError("calibration needs at least one positive and one negative label")
    se = rng.binomial(n_pos, tp / n_pos, size) / n_pos
    sp = rng.binomial(n_neg, tn / n_neg, size) / n_neg
    return se.astype(np.float64), sp.astype(np.float64)
