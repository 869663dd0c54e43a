"""Exact McNemar test for paired correct/incorrect outcomes (McNemar 1947)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import bdtr  # binomial CDF; scipy.stats costs ~1 s to import

from tunegate.stats._arrays import as_pair, is_binary

__all__ = ["McNemarResult", "mcnemar_exact"]


@dataclass(frozen=True, slots=True)
class McNemarResult:
    """Discordant-pair counts and the exact two-sided p-value.

    ``b``: items base got right and tuned got wrong; ``c``: base wrong, tuned right; ``n``: all items.
    """

    b: int
    c: int
    p_value: float
    n: int

    @property
    def discordance(self) -> float:
        """Share of items on which the two models disagree, ``(b + c) / n`` (0.0 when ``n == 0``)."""
        return (self.b + self.c) / self.n if self.n else 0.0


def mcnemar_exact(
    base_correct: Sequence[bool | int] | ArrayLike, tuned_correct: Sequence[bool | int] | ArrayLike
) -> McNemarResult:
    """Exact two-sided McNemar test on the discordant pairs.

    ``p = min(1, 2 * Binom(b + c, 1/2).cdf(min(b, c)))``, and 1.0 when ``b + c == 0``.

    Concordant pairs carry no information about the difference and are ignored. Raises ``ValueError``
    when a value is not 0/1 (or bool) or the vectors differ in length.
    """
    base, tuned = as_pair(base_correct, tuned_correct, allow_empty=True)
    if not is_binary(base, tuned):
        raise ValueError("mcnemar_exact needs 0/1 (or bool) outcomes per item")
    b = int(np.count_nonzero((base == 1.0) & (tuned == 0.0)))
    c = int(np.count_nonzero((base == 0.0) & (tuned == 1.0)))
    p = 1.0 if b + c == 0 else min(1.0, 2.0 * float(bdtr(min(b, c), b + c, 0.5)))
    return McNemarResult(b=b, c=c, p_value=p, n=int(base.size))
