"""Corpus statistics: metrics of a whole run that no item carries alone (expected calibration error).

A corpus statistic is a function of per-item input columns (``confidence``, ``correct``) registered
with :func:`register_corpus_statistic`; :func:`paired_corpus_bootstrap` compares it between base and
tuned by resampling items jointly (clusters whole, when given), so the pairing is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tunegate.stats._arrays import FloatArray
from tunegate.stats._bootstrap import PairedEstimate, floor_bootstrap_interval
from tunegate.stats._moments import cluster_codes

__all__ = [
    "CorpusStatistic",
    "corpus_statistic",
    "expected_calibration_error",
    "paired_corpus_bootstrap",
    "register_corpus_statistic",
]

CorpusFn = Callable[[Mapping[str, FloatArray]], float]


@dataclass(frozen=True)
class CorpusStatistic:
    """A registered corpus statistic: its name, the per-item columns it reads, its function."""

    name: str
    inputs: tuple[str, ...]
    fn: CorpusFn
    higher_is_better: bool = True


_REGISTRY: dict[str, CorpusStatistic] = {}


def register_corpus_statistic(
    name: str, inputs: Sequence[str], *, higher_is_better: bool = True
) -> Callable[[CorpusFn], CorpusFn]:
    """Register ``fn(columns) -> float`` as corpus statistic ``name`` reading ``inputs``."""

    def add(fn: CorpusFn) -> CorpusFn:
        _REGISTRY[name] = CorpusStatistic(name, tuple(inputs), fn, higher_is_better)
        return fn

    return add


def corpus_statistic(name: str) -> CorpusStatistic:
    """The corpus statistic registered as ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown corpus statistic {name!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def expected_calibration_error(confidence: FloatArray, correct: FloatArray, n_bins: int = 10) -> float:
    """ECE with ``n_bins`` equal-width bins on the confidence (Guo et al. 2017; HELM's ``ece_10_bin``).

    Bin ``b`` holds confidences in ``(b/n_bins, (b+1)/n_bins]`` (confidence 0 goes to the first bin);
    ECE = sum over bins of ``|B|/n * |accuracy(B) - mean confidence(B)|``.
    """
    conf = np.asarray(confidence, dtype=np.float64)
    acc = np.asarray(correct, dtype=np.float64)
    if conf.shape != acc.shape or conf.ndim != 1 or conf.size == 0:
        raise ValueError("ECE needs equal-length, non-empty confidence and correctness vectors")
    bins = np.clip(np.ceil(conf * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    gap = np.abs(
        np.bincount(bins, weights=acc, minlength=n_bins) - np.bincount(bins, weights=conf, minlength=n_bins)
    )
    return float(gap.sum() / conf.size)  # sum_b |B|/n * |sum(acc)/|B| - sum(conf)/|B|| = sum_b |gap_b| / n


@register_corpus_statistic("ece", ("confidence", "correct"), higher_is_better=False)
def _ece(cols: Mapping[str, FloatArray]) -> float:
    return expected_calibration_error(cols["confidence"], cols["correct"])


def _columns(
    stat: CorpusStatistic, rows: Mapping[str, Sequence[float]], idx: np.ndarray
) -> dict[str, FloatArray]:
    return {k: np.asarray(rows[k], dtype=np.float64)[idx] for k in stat.inputs}


def paired_corpus_bootstrap(
    name: str,
    base: Mapping[str, Sequence[float]],
    tuned: Mapping[str, Sequence[float]],
    *,
    clusters: list[str | None] | None = None,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
) -> PairedEstimate:
    """The corpus statistic ``name`` under both models, its difference and a paired bootstrap CI.

    ``base`` / ``tuned`` map each input column to per-item values in the same item order. Items (or
    whole clusters) are resampled jointly; the CI is the percentile interval of the resampled
    differences, ``se`` their SD (``df = n_clusters - 1``), ``p_value`` the two-sided bootstrap p of
    "no difference" (twice the smaller tail, at least 1/n_boot).
    """
    stat = corpus_statistic(name)
    n = len(base[stat.inputs[0]])
    if n < 2:
        raise ValueError(f"corpus statistic {name!r} needs at least 2 paired items, got {n}")
    every = np.arange(n)
    b0, t0 = stat.fn(_columns(stat, base, every)), stat.fn(_columns(stat, tuned, every))
    codes = cluster_codes(clusters, n)
    rng = np.random.default_rng(seed)
    if codes is None:
        draws = [rng.integers(0, n, size=n) for _ in range(n_boot)]
        g = n
    else:
        g = int(codes.max()) + 1
        members = [np.flatnonzero(codes == c) for c in range(g)]
        draws = [np.concatenate([members[c] for c in rng.integers(0, g, size=g)]) for _ in range(n_boot)]
    bs = np.array([stat.fn(_columns(stat, base, d)) for d in draws])
    ts = np.array([stat.fn(_columns(stat, tuned, d)) for d in draws])
    deltas = ts - bs
    q = [alpha / 2, 1 - alpha / 2]
    lo, hi = (float(x) for x in np.quantile(deltas, q))
    tail = min(float(np.mean(deltas <= 0)), float(np.mean(deltas >= 0)))
    se, se_raw, lo, hi = floor_bootstrap_interval(deltas, t0 - b0, lo, hi, g, alpha)  # range taken as 1
    return PairedEstimate(
        base=b0,
        tuned=t0,
        delta=t0 - b0,
        ci_low=lo,
        ci_high=hi,
        n=n,
        method="paired percentile bootstrap (corpus statistic; rule-of-three SE floor)",
        p_value=min(1.0, max(2 * tail, 1.0 / n_boot)),
        alpha=alpha,
        sd_delta=se * np.sqrt(g),  # the per-unit SD that gives this SE: power and items_needed scale by it
        se=se,
        df=float(g - 1),
        n_clusters=g,
        se_raw=se_raw,
        scale=1.0,
        boot_ci=(lo, hi),
        base_ci=tuple(float(x) for x in np.quantile(bs, q)),  # type: ignore[arg-type]
        tuned_ci=tuple(float(x) for x in np.quantile(ts, q)),  # type: ignore[arg-type]
    )
