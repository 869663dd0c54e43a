"""Paired percentile bootstrap of the difference tuned - base (Efron & Tibshirani 1993, ch. 13)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtri

from tunegate.stats._arrays import FloatArray, as_pair, is_binary
from tunegate.stats._moments import IntArray, cluster_codes, floor_scale, mean_se
from tunegate.stats._signflip import EXACT_MAX_NONZERO, paired_p_value

__all__ = ["PairedEstimate", "paired_bootstrap"]

_CHUNK_ELEMENTS = 4_000_000  # indices per chunk of the n_boot x n resampling matrix (~32 MB)
_N_FLIPS = 10_000


@dataclass(frozen=True, slots=True)
class PairedEstimate:
    """Point estimates, the delta ``tuned - base`` and its ``1 - alpha`` percentile CI.

    ``p_value`` is the two-sided paired test of "no difference" (None when not computed);
    ``sd_delta`` is the SD of the per-item differences (None when ``n < 2``); ``se`` the exact
    (cluster-robust, rule-of-three-floored) standard error of ``delta`` and ``df`` its degrees of
    freedom (see ``stats._moments``); ``n_clusters`` the independent units (``n`` when unclustered).
    ``boot_ci`` is the paired (cluster) percentile bootstrap interval when the CI is another method's;
    ``base_ci`` / ``tuned_ci`` each model's own ``1 - alpha`` interval (Wilson for 0/1 scores).
    """

    base: float
    tuned: float
    delta: float
    ci_low: float
    ci_high: float
    n: int
    method: str
    p_value: float | None
    alpha: float = 0.05
    sd_delta: float | None = None
    se: float | None = None
    df: float | None = None
    n_clusters: int | None = None
    se_raw: float | None = None
    scale: float | None = None
    boot_ci: tuple[float, float] | None = None
    base_ci: tuple[float, float] | None = None
    tuned_ci: tuple[float, float] | None = None


def _cluster_boot_deltas(d: FloatArray, clusters: IntArray, n_boot: int, seed: int) -> FloatArray:
    """Resample whole clusters with replacement: delta* = sum of drawn cluster sums / their sizes."""
    g = int(clusters.max()) + 1
    sums = np.bincount(clusters, weights=d, minlength=g)
    sizes = np.bincount(clusters, minlength=g).astype(np.float64)
    rng = np.random.default_rng(seed)
    rows = max(1, min(n_boot, _CHUNK_ELEMENTS // g))
    out = np.empty(n_boot, dtype=np.float64)
    done = 0
    while done < n_boot:
        m = min(rows, n_boot - done)
        idx = rng.integers(0, g, size=(m, g))
        out[done : done + m] = sums[idx].sum(axis=1) / sizes[idx].sum(axis=1)
        done += m
    return out


def _boot_deltas(
    b: FloatArray, t: FloatArray, n_boot: int, seed: int, statistic: Callable[..., Any]
) -> FloatArray:
    n = b.size
    rng = np.random.default_rng(seed)
    rows = max(1, min(n_boot, _CHUNK_ELEMENTS // n))
    use_mean = statistic is np.mean
    d = t - b
    out = np.empty(n_boot, dtype=np.float64)
    done = 0
    while done < n_boot:
        m = min(rows, n_boot - done)
        idx = rng.integers(0, n, size=(m, n))  # the same items for both models: paired resampling
        if use_mean:
            out[done : done + m] = d[idx].mean(axis=1)
        else:
            out[done : done + m] = np.asarray(statistic(t[idx], axis=1), dtype=np.float64) - np.asarray(
                statistic(b[idx], axis=1), dtype=np.float64
            )
        done += m
    return out


def _p_value_part(b: FloatArray, t: FloatArray, binary: bool) -> str:
    if binary:
        return "p: exact McNemar"
    k = int(np.count_nonzero(t - b))
    if k <= EXACT_MAX_NONZERO:
        return "p: exact sign-flip"
    return f"p: sign-flip, {_N_FLIPS} Monte Carlo flips"


def paired_bootstrap(
    base: Sequence[float] | ArrayLike,
    tuned: Sequence[float] | ArrayLike,
    *,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
    statistic: Callable[..., Any] = np.mean,
    binary: bool | None = None,
    clusters: Sequence[str | None] | None = None,
) -> PairedEstimate:
    """Percentile bootstrap CI of ``statistic(tuned) - statistic(base)`` resampling items in pairs.

    Each resample draws ``n`` item indices with replacement and applies them to both models, so the
    per-item correlation between the models is kept. ``statistic`` must accept ``axis=``. Deterministic
    for a ``seed``. With one item, or when every per-item difference is equal, the CI is exactly
    ``[delta, delta]`` (stated in ``method``). The p-value (mean statistic only) is McNemar's exact test
    when the scores are 0/1 (``binary=None`` detects it), else the sign-flip test; see ``paired_p_value``.
    With ``clusters`` (one label per item, ``None`` = an item of its own) whole clusters are
    resampled (mean statistic only). ``se``/``df`` are always the exact ones of ``stats._moments``.
    Raises ``ValueError`` for no items, unequal lengths, non-finite values or bad parameters.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    b, t = as_pair(base, tuned)
    n = int(b.size)
    d = t - b
    codes = cluster_codes(list(clusters), n) if clusters is not None else None
    if codes is not None and statistic is not np.mean:
        raise ValueError("a clustered bootstrap supports the mean statistic only")
    base_stat = float(statistic(b))
    tuned_stat = float(statistic(t))
    delta = tuned_stat - base_stat
    level = f"{100 * (1 - alpha):g}% CI"
    if n == 1:
        low = high = delta
        method = f"paired bootstrap, {level}: n=1, no resampling variability, CI collapses to the point"
    elif float(np.ptp(d)) <= 1e-12 * max(1.0, float(np.max(np.abs(d)))):
        low = high = delta
        method = f"paired bootstrap, {level}: all per-item differences equal, CI collapses to the point"
    else:
        if codes is not None:
            boot = _cluster_boot_deltas(d, codes, n_boot, seed)
            kind = f"cluster percentile bootstrap ({int(codes.max()) + 1} clusters)"
        else:
            boot = _boot_deltas(b, t, n_boot, seed, statistic)
            kind = "paired percentile bootstrap"
        q_low, q_high = np.quantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0])
        low, high = float(q_low), float(q_high)
        method = f"{kind}, {n_boot} resamples, {level}"
    p_value: float | None = None
    if statistic is np.mean:
        is_bin = is_binary(b, t) if binary is None else binary
        p_value = paired_p_value(b, t, binary=is_bin, n_flips=_N_FLIPS, seed=seed)
        method += "; " + _p_value_part(b, t, is_bin)
    else:
        method += "; p: not computed (statistic is not the mean)"
    sd = float(np.std(d, ddof=1)) if n >= 2 else None
    mo = mean_se(d, clusters=codes, scale=floor_scale(b, t))
    return PairedEstimate(
        base=base_stat,
        tuned=tuned_stat,
        delta=delta,
        ci_low=low,
        ci_high=high,
        n=n,
        method=method,
        p_value=p_value,
        alpha=alpha,
        sd_delta=sd,
        se=float(mo.se),
        df=mo.df,
        n_clusters=mo.n_clusters,
        se_raw=float(mo.se_raw) if mo.se_raw is not None else None,
        scale=mo.scale,
    )


def floor_bootstrap_interval(
    deltas: FloatArray, delta: float, lo: float, hi: float, n_units: int, alpha: float, scale: float = 1.0
) -> tuple[float, float, float, float]:
    """``(se, se_raw, lo, hi)`` of a bootstrap of ``delta``: the SE is the resampled deltas' SD, floored
    at the paired mean's rule-of-three bound ``scale * sqrt(3) / n_units`` (``stats._moments``), and the
    interval is widened to ``delta +/- z * se`` when the floor binds, so identical answers on a handful of
    units never give a collapsed, confident interval."""
    se_raw = float(np.std(deltas, ddof=1))
    se = max(se_raw, scale * float(np.sqrt(3.0)) / n_units)
    if se > se_raw:
        half = float(ndtri(1 - alpha / 2)) * se
        lo, hi = min(lo, delta - half), max(hi, delta + half)
    return se, se_raw, lo, hi
