"""Agreement between raters: Cohen's kappa per pair, Krippendorff's alpha (nominal), near-chance raters.

Labels are the vote as it maps onto the models ("tuned", "base", "tie", "both_bad"), so that two raters
who saw A/B in different orders are compared on what they meant. Kappa (Cohen 1960) uses the items both
raters voted on; alpha (Krippendorff 2004, the coincidence-matrix form) uses every item with >= 2 votes
and tolerates missing votes. A rater is flagged near chance when their kappa against the majority of
the *other* raters, on the items they share, is below ``threshold`` (default 0.2, "slight" agreement in
Landis & Koch 1977) with at least ``min_items`` shared items.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

__all__ = [
    "PairKappa",
    "RaterFlag",
    "cohen_kappa",
    "krippendorff_alpha",
    "near_chance_raters",
    "pairwise_kappas",
]

#: {rater: {item: label}}
Ratings = Mapping[Hashable, Mapping[Hashable, Hashable]]


@dataclass(frozen=True, slots=True)
class PairKappa:
    rater_a: str
    rater_b: str
    n: int
    kappa: float | None


@dataclass(frozen=True, slots=True)
class RaterFlag:
    rater: str
    n: int
    kappa: float | None
    near_chance: bool


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two equal-length label lists; None when undefined (no items, or p_e == 1)."""
    if len(a) != len(b):
        raise ValueError("cohen_kappa needs two label lists of the same length")
    n = len(a)
    if n == 0:
        return None
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb.get(k, 0) for k in ca) / (n * n)
    if pe >= 1:
        return None
    return (po - pe) / (1 - pe)


def pairwise_kappas(ratings: Ratings) -> list[PairKappa]:
    """Cohen's kappa for every pair of raters that share at least one item."""
    out = []
    for ra, rb in combinations(sorted(ratings, key=str), 2):
        shared = sorted(set(ratings[ra]) & set(ratings[rb]), key=str)
        if not shared:
            continue
        k = cohen_kappa([ratings[ra][i] for i in shared], [ratings[rb][i] for i in shared])
        out.append(PairKappa(str(ra), str(rb), len(shared), k))
    return out


def krippendorff_alpha(ratings: Ratings) -> float | None:
    """Nominal Krippendorff's alpha over every item with at least two labels; None when undefined."""
    by_item: dict[Hashable, list[Hashable]] = defaultdict(list)
    for r in ratings.values():
        for item, label in r.items():
            by_item[item].append(label)
    units = [v for v in by_item.values() if len(v) >= 2]
    labels = sorted({x for u in units for x in u}, key=str)
    if not units or len(labels) < 2:
        return None
    li = {x: i for i, x in enumerate(labels)}
    o = np.zeros((len(labels), len(labels)))
    for u in units:
        c = np.bincount([li[x] for x in u], minlength=len(labels)).astype(float)
        o += (np.outer(c, c) - np.diag(c)) / (len(u) - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    d_o = n - np.trace(o)
    d_e = (n * n - (n_c**2).sum()) / (n - 1)
    if d_e == 0:
        return None
    return float(1 - d_o / d_e)


def near_chance_raters(ratings: Ratings, threshold: float = 0.2, min_items: int = 5) -> list[RaterFlag]:
    """Each rater's kappa against the other raters' majority label (ties in the majority: skipped)."""
    out = []
    for r in sorted(ratings, key=str):
        mine, theirs = [], []
        for item, label in ratings[r].items():
            others = Counter(ratings[o][item] for o in ratings if o != r and item in ratings[o])
            if not others:
                continue
            top = others.most_common(2)
            if len(top) > 1 and top[0][1] == top[1][1]:
                continue
            mine.append(label)
            theirs.append(top[0][0])
        k = cohen_kappa(mine, theirs) if mine else None
        flag = len(mine) >= min_items and (k is None or k < threshold)
        out.append(RaterFlag(str(r), len(mine), k, flag))
    return out
