"""A paired estimator for a judge-measured rate, corrected for the judge's error (Rogan–Gladen).

:func:`rogan_gladen_estimator` registers, once per set of calibration counts, an estimator that a
metric names in its ``MetricInfo(estimator=...)``. Per item the metric holds the *observed* rate; the
estimate is ``RG(mean tuned) − RG(mean base)``. Its interval is a percentile bootstrap that resamples
items (whole clusters when given) and, in each replicate, (Se, Sp) from the calibration counts, so a
weak or small calibration widens the interval instead of biasing the delta.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tunegate.stats._arrays import FloatArray
from tunegate.stats._bootstrap import PairedEstimate, floor_bootstrap_interval
from tunegate.stats._estimators import _REGISTRY, register_estimator
from tunegate.stats._moments import cluster_codes
from tunegate.stats._rogan_gladen import correctable, resample_se_sp, rogan_gladen

__all__ = ["rogan_gladen_estimator"]


def _interval(x: FloatArray, alpha: float) -> tuple[float, float]:
    lo, hi = np.quantile(x, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def rogan_gladen_estimator(tp: int, fn: int, tn: int, fp: int) -> str:
    """The name of the corrected-rate estimator for these calibration counts (registered on first use).

    Raises ValueError when the judge is too close to chance to correct with (Se + Sp − 1 too small)."""
    se, sp = tp / max(1, tp + fn), tn / max(1, tn + fp)
    if not correctable(se, sp):
        raise ValueError(f"Se + Sp - 1 = {se + sp - 1:.2f}: too small to correct the judge's error")
    name = f"rogan_gladen[{tp},{fn},{tn},{fp}]"
    if name in _REGISTRY:
        return name

    @register_estimator(name)
    def _estimate(
        base: FloatArray,
        tuned: FloatArray,
        clusters: Sequence[str | None] | None,
        *,
        alpha: float,
        n_boot: int,
        seed: int,
        binary: bool,
    ) -> PairedEstimate:
        rng = np.random.default_rng(seed)
        n = base.size
        codes = cluster_codes(list(clusters), n) if clusters is not None else None
        codes = np.arange(n) if codes is None else codes
        g = int(codes.max()) + 1
        sums_b = np.bincount(codes, weights=base, minlength=g)
        sums_t = np.bincount(codes, weights=tuned, minlength=g)
        sizes = np.bincount(codes, minlength=g).astype(np.float64)
        draws = rng.integers(0, g, size=(n_boot, g))
        den = sizes[draws].sum(axis=1)
        mb, mt = sums_b[draws].sum(axis=1) / den, sums_t[draws].sum(axis=1) / den
        s, q = resample_se_sp(tp, fn, tn, fp, n_boot, rng)
        cb, ct = rogan_gladen(mb, s, q), rogan_gladen(mt, s, q)
        deltas = ct - cb
        b = float(rogan_gladen(base.mean(), se, sp))
        t = float(rogan_gladen(tuned.mean(), se, sp))
        lo, hi = _interval(deltas, alpha)
        # the rule-of-three floor on the corrected scale (a rate difference divided by Se + Sp - 1)
        se_est, se_raw, lo, hi = floor_bootstrap_interval(deltas, t - b, lo, hi, g, alpha, 1 / (se + sp - 1))
        p = float(min(1.0, 2 * min((deltas <= 0).mean(), (deltas >= 0).mean())))
        return PairedEstimate(
            base=b,
            tuned=t,
            delta=t - b,
            ci_low=lo,
            ci_high=hi,
            n=n,
            method=(
                f"{100 * (1 - alpha):g}% CI: Rogan-Gladen corrected rates (judge Se {se:.3f}, Sp {sp:.3f}), "
                f"percentile bootstrap over {g} clusters with Se/Sp resampled from the calibration counts"
            ),
            p_value=p,
            alpha=alpha,
            se=se_est,
            se_raw=se_raw,
            df=float(max(1, g - 1)),
            n_clusters=g,
            base_ci=_interval(cb, alpha),
            tuned_ci=_interval(ct, alpha),
        )

    return name
