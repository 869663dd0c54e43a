"""One gate's decision as a record with a readable reason, and a suite's gates decided as one family.

A thin scalar layer over :mod:`tunegate.stats._gate` (which is vectorised for the simulation): the
same function decides a real run and a simulated replay. Numbers in reasons are in metric units x100
("points"), the unit of every table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import stdtrit

from tunegate.stats._bootstrap import PairedEstimate
from tunegate.stats._gate import FAIL, PASS, GateArrays, GateRule, decide, decide_family
from tunegate.stats._moments import Moments

__all__ = ["GateDecision", "Outcome", "decide_gates", "gate_decision", "moments_of"]

Outcome = Literal["pass", "fail", "inconclusive"]


@dataclass(frozen=True, slots=True)
class GateDecision:
    """Outcome, a one-line ``reason`` and the numbers behind it (metric units).

    ``p_value``: the FAIL test's one-sided p (Holm-adjusted in a family of ``n_gates``); ``ci_low`` /
    ``ci_high``: the delta's ``1 - alpha`` interval; ``material``: the effect beyond the tolerance the
    gate must catch; ``detectable``: what it catches with ``power`` at this n; ``items_needed``: paired
    items for a rerun of an inconclusive gate (None otherwise).
    """

    outcome: Outcome
    reason: str
    alpha: float
    power: float
    material: float
    detectable: float
    p_value: float
    ci_low: float
    ci_high: float
    n_gates: int = 1
    items_needed: int | None = None

    @property
    def passed(self) -> bool:
        """True for a pass."""
        return self.outcome == "pass"


def moments_of(est: PairedEstimate) -> Moments:
    """The exact moments a :class:`PairedEstimate` carries (never back-solved from its CI)."""
    if est.se is None or est.df is None:
        raise ValueError("this estimate carries no exact standard error (build it with stats.estimate)")
    return Moments(
        delta=np.asarray(est.delta, dtype=np.float64),
        se=np.asarray(est.se, dtype=np.float64),
        sd=np.asarray(est.sd_delta or 0.0, dtype=np.float64),
        df=est.df,
        n=est.n,
        n_clusters=est.n_clusters or est.n,
        se_raw=np.asarray(est.se_raw, dtype=np.float64) if est.se_raw is not None else None,
        scale=est.scale if est.scale is not None else 1.0,
    )


def _factor(rule: GateRule) -> float:
    return 100.0 if rule.unit == "pts" else 1.0


def _num(x: float, rule: GateRule) -> str:
    return f"{_factor(rule) * x:+.{1 if rule.unit == 'pts' else 2}f}"


def _pts(x: float, rule: GateRule) -> str:
    return f"{_num(x, rule)} {rule.unit}"


def _abs(x: float, rule: GateRule) -> str:
    return f"{_factor(rule) * x:.{1 if rule.unit == 'pts' else 2}f} {rule.unit}"


def _ci(rule: GateRule, est: PairedEstimate) -> tuple[float, float]:
    """The delta's two-sided ``1 - alpha`` t interval at the gate's own alpha."""
    assert est.se is not None and est.df is not None
    half = float(stdtrit(est.df, 1.0 - rule.alpha / 2.0)) * est.se
    return est.delta - half, est.delta + half


def _reason(rule: GateRule, est: PairedEstimate, a: GateArrays, outcome: Outcome, k: int) -> str:
    lvl = f"{100 * (1 - rule.alpha):g}%"
    lo, hi = _ci(rule, est)
    s = f"delta {_pts(est.delta, rule)}, {lvl} CI [{_num(lo, rule)}, {_num(hi, rule)}], n={est.n}"
    s += f", FAIL-test p={float(a.p_fail):.3g}" + (f" (Holm over {k} gates)" if k > 1 else "")
    mat, det = rule.material, float(a.detectable)
    need = int(a.items_needed)
    if rule.kind == "min_gain":
        g0 = rule.threshold
        target = f"a gain above {_pts(g0, rule)}"
        if est.n < rule.min_n:
            return f"only {est.n} paired items (< min_n {rule.min_n}); run {need} items ({s})"
        if outcome == "pass":
            return f"shows {target} ({s})"
        if outcome == "fail":
            return f"could have shown a gain of {_pts(g0 + mat, rule)} and shows it is below that ({s})"
        if not bool(a.powered):
            return (
                f"cannot tell: a true gain of {_pts(g0 + mat, rule)} would pass only with power below "
                f"{rule.power:.0%} at this n (detectable {_abs(det, rule)} beyond the bound); "
                f"run {need} items ({s})"
            )
        return f"cannot tell whether the gain exceeds {_pts(g0, rule)}; run {need} items ({s})"
    d = rule.threshold
    word = "rise" if rule.sign < 0 else "drop"
    if est.n < rule.min_n:
        return f"only {est.n} paired items (< min_n {rule.min_n}); run {need} items ({s})"
    if outcome == "fail":
        return f"{word} beyond the allowed {_abs(d, rule)} ({s})"
    if outcome == "pass":
        return (
            f"a {word} of {_abs(d + mat, rule)} would have failed with >= {rule.power:.0%} power, and "
            f"the "
            f"data rule it out ({s})"
        )
    if not bool(a.powered):
        return (
            f"under-powered: this n catches a {word} of {_abs(d + det, rule)} with {rule.power:.0%} power, "
            f"not {_abs(d + mat, rule)}; run {need} items ({s})"
        )
    more = f"; run {need} items" if need else ""
    beyond = _abs(d, rule)
    return f"cannot rule out a {word} of {_abs(d + mat, rule)} nor show one beyond {beyond}{more} ({s})"


def _record(rule: GateRule, est: PairedEstimate, a: GateArrays, k: int) -> GateDecision:
    code = int(a.outcome)
    outcome: Outcome = "pass" if code == PASS else "fail" if code == FAIL else "inconclusive"
    need = int(a.items_needed)
    return GateDecision(
        outcome=outcome,
        reason=_reason(rule, est, a, outcome, k),
        alpha=rule.alpha,
        power=rule.power,
        material=rule.material,
        detectable=float(a.detectable),
        p_value=float(a.p_fail),
        ci_low=_ci(rule, est)[0],
        ci_high=_ci(rule, est)[1],
        n_gates=k,
        items_needed=need if outcome == "inconclusive" and need else None,
    )


def gate_decision(rule: GateRule, est: PairedEstimate) -> GateDecision:
    """Decide one gate alone (a family of one)."""
    return _record(rule, est, decide(rule, moments_of(est)), 1)


def decide_gates(rules: list[GateRule], estimates: list[PairedEstimate]) -> list[GateDecision]:
    """Decide a suite's statistical gates as one family (Holm over the FAIL tests)."""
    arrays = decide_family(rules, [moments_of(e) for e in estimates])
    k = len(rules)
    return [_record(r, e, a, k) for r, e, a in zip(rules, estimates, arrays, strict=True)]
