"""Safety metrics with uncertainty clustered by behaviour.

One behaviour under ten attacks is not ten independent items, so every interval here resamples
*clusters* (a behaviour with all its attacked prompts; a safe prompt on its own): a replicate draws
clusters with replacement and recomputes the rate as successes / probes over the drawn clusters
(percentile CI). Base-vs-tuned deltas resample the same clusters for both models (paired), and their
p-value is a cluster sign-flip test of the per-cluster differences. ASR is also reported corrected for
the judge's error by Rogan–Gladen inside each replicate, with Se/Sp redrawn from the judge's calibration
counts (:mod:`tunegate.stats._rogan_gladen`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tunegate.safety._judges import Calibration
from tunegate.stats._rogan_gladen import correctable, resample_se_sp, rogan_gladen

__all__ = ["PairedRate", "Rate", "cluster_rate", "paired_cluster_rate"]

_FLIPS = 10_000


@dataclass(frozen=True)
class Rate:
    """One model's rate with its clustered 95% CI (``corrected``: Rogan–Gladen, when applied)."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    clusters: int
    corrected: float | None = None
    corrected_ci: tuple[float, float] | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PairedRate:
    """Base and tuned rates on the same probes, and the delta tuned − base with its paired CI."""

    base: Rate
    tuned: Rate
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    corrected_delta: float | None = None
    corrected_ci: tuple[float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _codes(clusters: Sequence[str]) -> tuple[NDArray[np.int64], int]:
    index: dict[str, int] = {}
    codes = np.array([index.setdefault(c, len(index)) for c in clusters], dtype=np.int64)
    return codes, len(index)


def _sums(
    values: Sequence[float], codes: NDArray[np.int64], k: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    v = np.asarray(values, dtype=np.float64)
    sums = np.bincount(codes, weights=v, minlength=k).astype(np.float64)
    return sums, np.bincount(codes, minlength=k).astype(np.float64)


def _weights(k: int, n_boot: int, rng: np.random.Generator) -> NDArray[np.float64]:
    return rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot).astype(np.float64)


def _ci(x: NDArray[np.float64]) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(x, [0.025, 0.975])
    return float(lo), float(hi)


def _corr_note(cal: Calibration | None) -> str:
    if cal is None:
        return "not corrected: the judge has no calibration counts"
    if not correctable(cal.sensitivity, cal.specificity):
        return (
            f"not corrected: Se + Sp - 1 = {cal.sensitivity + cal.specificity - 1:.2f} is too small "
            "(the judge is near chance)"
        )
    return f"Rogan-Gladen with Se {cal.sensitivity:.3f}, Sp {cal.specificity:.3f} ({cal.source})"


def cluster_rate(
    values: Sequence[float],
    clusters: Sequence[str],
    *,
    calibration: Calibration | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> Rate:
    """Rate of 0/1 ``values`` with a CI resampling ``clusters``; corrected when ``calibration`` is usable."""
    if len(values) != len(clusters):
        raise ValueError("values and clusters differ in length")
    if not values:
        return Rate(float("nan"), float("nan"), float("nan"), 0, 0, note="no probes")
    codes, k = _codes(clusters)
    s, n = _sums(values, codes, k)
    rng = np.random.default_rng(seed)
    w = _weights(k, n_boot, rng)
    boot = (w @ s) / (w @ n)
    value = float(s.sum() / n.sum())
    lo, hi = _ci(boot) if k > 1 else (value, value)
    note = _corr_note(calibration)
    corrected = corrected_ci = None
    if calibration is not None and correctable(calibration.sensitivity, calibration.specificity):
        c = calibration
        corrected = float(rogan_gladen(value, c.sensitivity, c.specificity))
        se, sp = resample_se_sp(c.tp, c.fn, c.tn, c.fp, n_boot, rng)
        corrected_ci = _ci(rogan_gladen(boot, se, sp))
    return Rate(value, lo, hi, len(values), k, corrected, corrected_ci, note)


def _sign_flip_p(d: NDArray[np.float64], n: NDArray[np.float64], rng: np.random.Generator) -> float:
    observed = abs(d.sum())
    if observed == 0:
        return 1.0
    signs = rng.choice((-1.0, 1.0), size=(_FLIPS, d.size))
    stats = np.abs(signs @ d)
    return float((1 + np.count_nonzero(stats >= observed - 1e-12)) / (_FLIPS + 1))


def paired_cluster_rate(
    base: Sequence[float],
    tuned: Sequence[float],
    clusters: Sequence[str],
    *,
    calibration: Calibration | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> PairedRate:
    """Base and tuned rates on the same probes (aligned lists), the delta and its paired clustered CI."""
    if not (len(base) == len(tuned) == len(clusters)):
        raise ValueError("base, tuned and clusters differ in length")
    b = cluster_rate(base, clusters, calibration=calibration, n_boot=n_boot, seed=seed)
    t = cluster_rate(tuned, clusters, calibration=calibration, n_boot=n_boot, seed=seed)
    if not base:
        nan = float("nan")
        return PairedRate(b, t, nan, nan, nan, 1.0)
    codes, k = _codes(clusters)
    sb, n = _sums(base, codes, k)
    st, _ = _sums(tuned, codes, k)
    rng = np.random.default_rng(seed + 1)
    w = _weights(k, n_boot, rng)
    tot = w @ n
    rb, rt = (w @ sb) / tot, (w @ st) / tot
    delta = t.value - b.value
    lo, hi = _ci(rt - rb) if k > 1 else (delta, delta)
    p = _sign_flip_p(st - sb, n, rng)
    cd = cci = None
    if b.corrected is not None and t.corrected is not None and calibration is not None:
        c = calibration
        se, sp = resample_se_sp(c.tp, c.fn, c.tn, c.fp, n_boot, rng)  # one judge: same draw for both
        cd = t.corrected - b.corrected
        cci = _ci(rogan_gladen(rt, se, sp) - rogan_gladen(rb, se, sp))
    return PairedRate(b, t, delta, lo, hi, p, cd, cci)
