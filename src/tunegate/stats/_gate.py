"""The verdict of one gate: each outcome is a test of its own hypothesis (rules in docs/statistics.md).

Everything is in *goodness* units ``g = sign * delta`` (``sign = -1`` for a lower-is-better metric or a
``max_rise`` gate), so one rule serves every direction. With tolerance ``d``, material effect ``m``
(the suite's ``min_detectable``, else ``d``, else :data:`DEFAULT_MATERIAL`) and ``D = d + m``:

=========  ==========================================================================================
max_drop   FAIL: reject ``g >= -d`` (Holm over the suite's FAIL tests). PASS: not FAIL, *powered*
           (a true ``g = -D`` would FAIL with ``power``) and reject ``g <= -D``. Else INCONCLUSIVE.
min_gain   PASS: reject ``g <= g0``. FAIL: not PASS, powered (a true ``g = g0 + m`` would PASS with
           ``power``) and reject ``g >= g0 + m`` (Holm). Else INCONCLUSIVE.
=========  ==========================================================================================

Each test is one-sided at ``alpha / 2`` — the side of the two-sided ``1 - alpha`` interval the report
shows — on the studentised mean difference ``(g - bound) / se`` with ``se`` from :func:`mean_se` and
Student's t on ``df`` degrees of freedom. Below ``min_n`` paired items every gate is INCONCLUSIVE.
All functions take arrays of replays, so ``bench/simulate_gates.py`` runs exactly this code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri, stdtr, stdtrit  # scipy.stats costs ~1 s to import

from tunegate.stats._moments import Moments

__all__ = [
    "DEFAULT_MATERIAL",
    "DEFAULT_MIN_N",
    "DEFAULT_POWER",
    "FAIL",
    "INCONCLUSIVE",
    "PASS",
    "GateArrays",
    "GateKind",
    "GateRule",
    "decide",
    "decide_family",
    "fail_p_values",
    "holm_adjust",
]

GateKind = Literal["max_drop", "max_rise", "min_gain"]
FloatArray = NDArray[np.float64]

PASS, FAIL, INCONCLUSIVE = 0, 1, 2
#: default paired items below which a gate is INCONCLUSIVE whatever the data say
DEFAULT_MIN_N = 30
#: material effect (metric units) of a gate with zero tolerance when the suite sets no ``min_detectable``
DEFAULT_MATERIAL = 0.05
DEFAULT_POWER = 0.8


@dataclass(frozen=True, slots=True)
class GateRule:
    """One statistical gate: kind, threshold (metric units) and the levels it is decided at."""

    kind: GateKind
    threshold: float
    higher_is_better: bool = True
    alpha: float = 0.05
    power: float = DEFAULT_POWER
    min_detectable: float | None = None
    min_n: int = DEFAULT_MIN_N
    #: how reasons print numbers: "pts" (x100, a rate in points) or a native unit such as "nats" (x1)
    unit: str = "pts"

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if not 0.0 < self.power < 1.0:
            raise ValueError(f"power must be in (0, 1), got {self.power}")
        if not math.isfinite(self.threshold) or (self.kind != "min_gain" and self.threshold < 0.0):
            raise ValueError(f"{self.kind} must be finite{'' if self.kind == 'min_gain' else ' and >= 0'}")
        if self.min_detectable is not None and not self.min_detectable > 0.0:
            raise ValueError(f"min_detectable must be > 0, got {self.min_detectable}")
        if self.min_n < 2:
            raise ValueError(f"min_n must be >= 2, got {self.min_n}")

    @property
    def sign(self) -> float:
        """+1 when a larger metric value is better for this gate, -1 otherwise."""
        if self.kind == "max_rise":
            return -1.0
        return 1.0 if self.higher_is_better else -1.0

    @property
    def material(self) -> float:
        """The effect beyond the tolerance the gate must be able to catch (metric units)."""
        if self.min_detectable is not None:
            return self.min_detectable
        if self.kind != "min_gain" and self.threshold > 0.0:
            return self.threshold
        if self.kind == "min_gain" and self.threshold > 0.0:
            return self.threshold
        return DEFAULT_MATERIAL


@dataclass(frozen=True, slots=True)
class GateArrays:
    """Outcomes (:data:`PASS`, :data:`FAIL`, :data:`INCONCLUSIVE`) and the numbers behind them, per replay.

    ``p_fail`` is the FAIL test's one-sided p-value (Holm-adjusted when decided in a family);
    ``detectable``: the true effect beyond the bound caught with ``power``; ``items_needed``: paired
    items a rerun needs to decide an inconclusive gate (0 where none is needed or none can be given).
    """

    outcome: NDArray[np.int64]
    p_fail: FloatArray
    p_pass: FloatArray
    powered: NDArray[np.bool_]
    detectable: FloatArray
    items_needed: NDArray[np.int64]


def _t(df: float, q: float) -> float:
    return float(stdtrit(df, q))


def _cdf(df: float, num: FloatArray, se: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0.0, num / np.where(se > 0.0, se, 1.0), np.where(num > 0, np.inf, -np.inf))
    return np.asarray(stdtr(df, z), dtype=np.float64)


def fail_p_values(rule: GateRule, m: Moments) -> FloatArray:
    """One-sided p-value of the FAIL test (small: evidence the gate is violated), unadjusted."""
    g = rule.sign * m.delta
    if rule.kind == "min_gain":
        return _cdf(m.df, g - (rule.threshold + rule.material), m.se)
    return _cdf(m.df, g + rule.threshold, m.se)


def holm_adjust(p: FloatArray) -> FloatArray:
    """Holm step-down adjusted p-values along the last axis (a family of ``k`` tests per replay)."""
    p = np.asarray(p, dtype=np.float64)
    k = p.shape[-1]
    if k == 0:
        return p
    order = np.argsort(p, axis=-1, kind="stable")
    sorted_p = np.take_along_axis(p, order, axis=-1)
    scaled = np.minimum(1.0, (k - np.arange(k)) * sorted_p)
    mono = np.maximum.accumulate(scaled, axis=-1)
    out = np.empty_like(p)
    np.put_along_axis(out, order, mono, axis=-1)
    return out


def _needed(n: int, se: FloatArray, quantile: float, distance: FloatArray) -> NDArray[np.int64]:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(distance > 0.0, quantile * se / np.where(distance > 0.0, distance, 1.0), np.nan)
        need = np.ceil(n * ratio**2 - 1e-9)
    return np.where(np.isfinite(need), np.maximum(need, n + 1), 0).astype(np.int64)


def decide(rule: GateRule, m: Moments, *, p_fail: FloatArray | None = None, n_gates: int = 1) -> GateArrays:
    """Decide one gate on (a batch of) paired moments.

    ``p_fail``: the Holm-adjusted FAIL p-values when the gate is one of a family (default: its own,
    unadjusted); ``n_gates``: the family's size, used for the power requirement (power is claimed at
    the Bonferroni level ``alpha / (2 * n_gates)``, which Holm never does worse than).
    """
    if n_gates < 1:
        raise ValueError(f"n_gates must be >= 1, got {n_gates}")
    half = rule.alpha / 2.0
    g = rule.sign * m.delta
    se = m.se
    raw_fail = fail_p_values(rule, m)
    pf = raw_fail if p_fail is None else np.asarray(p_fail, dtype=np.float64)
    q = _t(m.df, 1.0 - half)
    q_fam = _t(m.df, 1.0 - half / n_gates)
    z_pow = float(ndtri(rule.power))
    mat = rule.material
    enough = m.n >= rule.min_n
    if rule.kind == "min_gain":
        g0 = rule.threshold
        p_pass = _cdf(m.df, -(g - g0), se)
        detectable = (q + z_pow) * se
        powered = detectable <= mat + 1e-12
        passed = enough & (p_pass < half)
        failed = enough & ~passed & powered & (pf < half)
        dist = np.maximum(g - g0, g0 + mat - g)
    else:
        d = rule.threshold
        p_pass = _cdf(m.df, -(g + d + mat), se)
        detectable = (q_fam + z_pow) * se
        powered = detectable <= mat + 1e-12
        failed = enough & (pf < half)
        passed = enough & ~failed & powered & (p_pass < half)
        dist = np.maximum(-d - g, g + d + mat)
    outcome = np.where(failed, FAIL, np.where(passed, PASS, INCONCLUSIVE)).astype(np.int64)
    q_need = q_fam if rule.kind != "min_gain" else q
    target = np.full_like(np.asarray(se, dtype=np.float64), mat / (q_need + z_pow))
    n_power = np.maximum(np.ceil(m.items_for_se(target) - 1e-9), m.n + 1).astype(np.int64)
    n_decide = _needed(m.n, se, q, dist)
    need = np.where(powered, n_decide, n_power)
    need = np.where(enough, need, np.maximum(need, rule.min_n))
    need = np.where(outcome == INCONCLUSIVE, need, 0).astype(np.int64)
    return GateArrays(outcome, pf, p_pass, powered, detectable, need)


def decide_family(rules: list[GateRule], moments: list[Moments]) -> list[GateArrays]:
    """Decide a suite's statistical gates together: Holm over their FAIL tests, power at ``alpha/k``."""
    if len(rules) != len(moments):
        raise ValueError("one Moments per rule")
    if not rules:
        return []
    raw = np.stack(
        [
            np.broadcast_to(fail_p_values(r, mo), np.shape(mo.delta))
            for r, mo in zip(rules, moments, strict=True)
        ],
        axis=-1,
    )
    adj = holm_adjust(raw)
    k = len(rules)
    return [
        decide(r, mo, p_fail=adj[..., i], n_gates=k)
        for i, (r, mo) in enumerate(zip(rules, moments, strict=True))
    ]
