"""Pluggable paired estimators: one per metric, looked up by name in a small registry.

An estimator turns the paired per-item scores of one metric (and optional cluster labels) into a
:class:`PairedEstimate` whose ``delta``, ``se`` and ``df`` the gate tests. The default,
``paired_mean``, is the mean per-item difference with its exact (cluster-robust) standard error,
a Student-t ``1 - alpha`` interval, a paired (cluster) percentile bootstrap interval as a cross-check
and each model's own interval (Wilson for 0/1 scores). A judge-error-corrected attack success rate
registers another estimator with :func:`register_estimator` and names it in its ``MetricInfo``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from scipy.special import ndtri, stdtrit

from tunegate.stats._arrays import FloatArray, as_pair, is_binary
from tunegate.stats._bootstrap import PairedEstimate, paired_bootstrap
from tunegate.stats._moments import IntArray, cluster_codes, floor_scale, mean_se

__all__ = [
    "DEFAULT_ESTIMATOR",
    "Estimator",
    "estimate",
    "estimator_names",
    "register_estimator",
    "score_interval",
    "wilson_interval",
]

DEFAULT_ESTIMATOR = "paired_mean"


class Estimator(Protocol):
    """``(base, tuned, clusters, *, alpha, n_boot, seed, binary) -> PairedEstimate``."""

    def __call__(
        self,
        base: FloatArray,
        tuned: FloatArray,
        clusters: Sequence[str | None] | None,
        *,
        alpha: float,
        n_boot: int,
        seed: int,
        binary: bool,
    ) -> PairedEstimate: ...


_REGISTRY: dict[str, Estimator] = {}


def register_estimator(name: str) -> Callable[[Estimator], Estimator]:
    """Decorator: make ``fn`` available to metrics as ``MetricInfo(estimator=name)``."""

    def deco(fn: Estimator) -> Estimator:
        if name in _REGISTRY:
            raise ValueError(f"estimator {name!r} is already registered")
        _REGISTRY[name] = fn
        return fn

    return deco


def estimator_names() -> list[str]:
    """Registered estimator names, sorted."""
    return sorted(_REGISTRY)


def wilson_interval(successes: float, n: float, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of a proportion (Wilson 1927); ``n`` may be an effective sample size."""
    if n <= 0:
        raise ValueError("n must be > 0")
    z = float(ndtri(1.0 - alpha / 2.0))
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _interval(values: FloatArray, codes: IntArray | None, alpha: float, binary: bool) -> tuple[float, float]:
    mo = mean_se(values, clusters=codes, scale=0.0)
    mean = float(mo.delta)
    if binary:
        n = values.size
        iid = mean * (1 - mean) / n
        deff = float(mo.se) ** 2 / iid if iid > 0 and codes is not None else 1.0
        n_eff = n / max(deff, 1.0)
        return wilson_interval(mean * n_eff, n_eff, alpha)
    half = float(stdtrit(mo.df, 1.0 - alpha / 2.0)) * float(mo.se)
    return mean - half, mean + half


def score_interval(
    values: Sequence[float] | FloatArray,
    *,
    clusters: Sequence[str | None] | None = None,
    alpha: float = 0.05,
    binary: bool | None = None,
) -> tuple[float, float, float]:
    """One model's mean score and its ``1 - alpha`` interval: ``(mean, low, high)``.

    Wilson for 0/1 scores (with a cluster design effect when ``clusters`` are given), else the mean
    plus/minus Student's t times the (cluster-robust) standard error.
    """
    arr, _ = as_pair(values, values)
    is_bin = is_binary(arr) if binary is None else binary
    codes = cluster_codes(list(clusters), arr.size) if clusters is not None else None
    low, high = _interval(arr, codes, alpha, is_bin)
    return float(arr.mean()), low, high


@register_estimator(DEFAULT_ESTIMATOR)
def paired_mean(
    base: FloatArray,
    tuned: FloatArray,
    clusters: Sequence[str | None] | None,
    *,
    alpha: float,
    n_boot: int,
    seed: int,
    binary: bool,
) -> PairedEstimate:
    """Mean difference; t interval on the exact SE; bootstrap cross-check; per-model intervals."""
    boot = paired_bootstrap(
        base, tuned, n_boot=n_boot, alpha=alpha, seed=seed, binary=binary, clusters=clusters
    )
    codes = cluster_codes(list(clusters), base.size) if clusters is not None else None
    mo = mean_se(tuned - base, clusters=codes, scale=floor_scale(base, tuned))
    half = float(stdtrit(mo.df, 1.0 - alpha / 2.0)) * float(mo.se)
    unit = f"{mo.n_clusters} clusters" if codes is not None else f"{mo.n} items"
    method = (
        f"{100 * (1 - alpha):g}% CI: mean difference +/- t({mo.df:g}) x exact SE"
        f" ({'cluster-robust, ' if codes is not None else ''}{unit}, rule-of-three floor);"
        f" cross-check: {boot.method}"
    )
    return replace(
        boot,
        ci_low=boot.delta - half,
        ci_high=boot.delta + half,
        method=method,
        se=float(mo.se),
        df=mo.df,
        n_clusters=mo.n_clusters,
        se_raw=float(mo.se_raw) if mo.se_raw is not None else None,
        scale=mo.scale,
        boot_ci=(boot.ci_low, boot.ci_high),
        base_ci=_interval(base, codes, alpha, binary),
        tuned_ci=_interval(tuned, codes, alpha, binary),
    )


def estimate(
    base: Sequence[float] | FloatArray,
    tuned: Sequence[float] | FloatArray,
    *,
    clusters: Sequence[str | None] | None = None,
    estimator: str = DEFAULT_ESTIMATOR,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
    binary: bool | None = None,
) -> PairedEstimate:
    """The paired estimate of one metric with the registered ``estimator`` (default ``paired_mean``)."""
    if estimator not in _REGISTRY:
        from tunegate.registry import did_you_mean

        raise ValueError(f"unknown estimator {estimator!r}.{did_you_mean(estimator, estimator_names())}")
    b, t = as_pair(base, tuned)
    is_bin = is_binary(b, t) if binary is None else binary
    return _REGISTRY[estimator](b, t, clusters, alpha=alpha, n_boot=n_boot, seed=seed, binary=is_bin)
