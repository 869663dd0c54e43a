"""Paired p-values: McNemar for 0/1 metrics, a sign-flip (paired permutation) test otherwise."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from tunegate.stats._arrays import FloatArray, as_pair
from tunegate.stats._mcnemar import mcnemar_exact

__all__ = ["EXACT_MAX_NONZERO", "paired_p_value", "sign_flip_p_value"]

EXACT_MAX_NONZERO = 16
"""Up to this many non-zero differences the sign-flip test enumerates all ``2**k`` sign patterns."""

_CHUNK_ELEMENTS = 4_000_000


def sign_flip_p_value(deltas: FloatArray, *, n_flips: int = 10_000, seed: int = 0) -> float:
    """Two-sided sign-flip test of "mean difference is 0" on per-item differences.

    Under the null each difference is equally likely to have either sign. Zero differences cannot
    change sign and are dropped. Exact (all ``2**k`` patterns) when ``k <= 16`` non-zero differences
    remain; otherwise Monte Carlo with ``n_flips`` random patterns from ``seed`` and the add-one
    estimate ``(1 + hits) / (1 + n_flips)``, which never returns 0 (Phipson & Smyth 2010).
    """
    if n_flips < 1:
        raise ValueError(f"n_flips must be >= 1, got {n_flips}")
    d = np.abs(deltas[deltas != 0.0])
    k = int(d.size)
    if k == 0:
        return 1.0
    observed = abs(float(deltas.sum()))
    threshold = observed - 1e-9 * float(d.sum())  # ties within rounding count as "at least as extreme"
    if k <= EXACT_MAX_NONZERO:
        patterns = (np.arange(2**k)[:, None] >> np.arange(k)) & 1
        sums = (1.0 - 2.0 * patterns) @ d
        return float(np.count_nonzero(np.abs(sums) >= threshold)) / float(2**k)
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_ELEMENTS // k)
    total = float(d.sum())
    hits = 0
    done = 0
    while done < n_flips:
        m = min(rows, n_flips - done)
        # one random bit per item; a set bit flips the sign: sum(+-d) = sum(d) - 2 * (bits @ d)
        packed = rng.integers(0, 256, size=(m, (k + 7) // 8), dtype=np.uint8)
        bits = np.unpackbits(packed, axis=1, count=k)
        hits += int(np.count_nonzero(np.abs(total - 2.0 * (bits @ d)) >= threshold))
        done += m
    return (1.0 + hits) / (1.0 + n_flips)


def paired_p_value(
    base: Sequence[float] | ArrayLike,
    tuned: Sequence[float] | ArrayLike,
    *,
    binary: bool,
    n_flips: int = 10_000,
    seed: int = 0,
) -> float:
    """Two-sided p-value for "no difference between the models".

    ``binary=True``: exact McNemar test on the discordant pairs (values must be 0/1).
    ``binary=False``: sign-flip test of the mean per-item difference, exact for at most 16 non-zero
    differences, else Monte Carlo with ``n_flips`` flips and a fixed ``seed`` (deterministic).
    """
    b, t = as_pair(base, tuned)
    if binary:
        return mcnemar_exact(b, t).p_value
    return sign_flip_p_value(t - b, n_flips=n_flips, seed=seed)
