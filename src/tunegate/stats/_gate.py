"""The CI verdict for one paired comparison: pass, fail or inconclusive (rules in docs/statistics.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy.special import ndtri  # scipy.stats costs ~1 s to import

from tunegate.stats._bootstrap import PairedEstimate
from tunegate.stats._power import items_needed, minimum_detectable_effect

__all__ = ["GateDecision", "Outcome", "Rule", "gate_decision"]

Outcome = Literal["pass", "fail", "inconclusive"]
Rule = Literal["ci", "significant"]

_EPS = 1e-12  # comparisons with the bound tolerate float rounding (0.7 - 0.71 != -0.01)


@dataclass(frozen=True, slots=True)
class GateDecision:
    """Verdict with a one-line ``reason``.

    ``bound`` is the delta the CI is compared with (``-max_drop`` or ``min_gain``). ``detectable`` is
    the true excess beyond the bound this comparison catches with the requested power (None when
    ``n < 2``). ``items_needed`` is set for inconclusive outcomes when it can be estimated.
    """

    outcome: Outcome
    reason: str
    rule: Rule
    bound: float
    detectable: float | None = None
    items_needed: int | None = None

    @property
    def passed(self) -> bool:
        """True for a pass."""
        return self.outcome == "pass"


def _fmt(x: float) -> str:
    return f"{x:+.4g}"


def _sd(est: PairedEstimate) -> float:
    if est.sd_delta is not None:
        return est.sd_delta
    z = float(ndtri(1.0 - est.alpha / 2.0))  # invert the CI width when the SD was not recorded
    return max(0.0, (est.ci_high - est.ci_low) / (2.0 * z)) * math.sqrt(est.n)


def _summary(est: PairedEstimate) -> str:
    p = "" if est.p_value is None else f", p={est.p_value:.3g}"
    level = f"{100 * (1 - est.alpha):g}%"
    return f"delta {_fmt(est.delta)}, {level} CI [{_fmt(est.ci_low)}, {_fmt(est.ci_high)}], n={est.n}{p}"


def _min_items(alpha: float) -> int:
    """Fewest items with which an exact two-sided paired test can reach p < alpha (all agree in sign)."""
    return math.floor(math.log2(2.0 / alpha)) + 1


def _needed(effect: float | None, sd: float, alpha: float, power: float) -> int:
    floor = _min_items(alpha)
    if effect is None or effect <= 0.0:
        return floor
    return max(floor, items_needed(effect, sd, alpha=alpha / 2.0, power=power, one_sided=True))


def gate_decision(
    estimate: PairedEstimate,
    *,
    max_drop: float | None = None,
    min_gain: float | None = None,
    rule: Rule = "ci",
    material_effect: float | None = None,
    power: float = 0.8,
) -> GateDecision:
    """Decide a max-drop gate (tuned may trail base by at most ``max_drop``) or a min-gain gate.

    Give exactly one of ``max_drop`` (>= 0, metric units) and ``min_gain``. Max-drop: FAIL when the CI
    lies wholly below ``-max_drop`` (and, when a p-value exists, the paired test rejects "no difference");
    PASS when it lies wholly at or above. A CI straddling the bound is PASS under ``rule="significant"``;
    under ``rule="ci"`` it is PASS only if the comparison would catch a drop ``material_effect`` beyond
    the bound with ``power`` (default ``material_effect``: ``max_drop`` itself, no requirement when it is
    0), else INCONCLUSIVE with ``items_needed``. Min-gain mirrors this with the burden of proof on the gain.
    """
    if (max_drop is None) == (min_gain is None):
        raise ValueError("give exactly one of max_drop and min_gain")
    if rule not in ("ci", "significant"):
        raise ValueError(f"rule must be 'ci' or 'significant', got {rule!r}")
    if material_effect is not None and not material_effect > 0.0:
        raise ValueError(f"material_effect must be > 0, got {material_effect}")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power}")
    if max_drop is not None and not (math.isfinite(max_drop) and max_drop >= 0.0):
        raise ValueError(f"max_drop must be finite and >= 0, got {max_drop}")
    if min_gain is not None and not math.isfinite(min_gain):
        raise ValueError(f"min_gain must be finite, got {min_gain}")
    if max_drop is not None:
        return _drop_gate(estimate, max_drop, rule, material_effect, power)
    assert min_gain is not None
    return _gain_gate(estimate, min_gain, rule, material_effect, power)


def _drop_gate(
    est: PairedEstimate, max_drop: float, rule: Rule, material: float | None, power: float
) -> GateDecision:
    bound = -max_drop if max_drop else 0.0
    summary = _summary(est)
    if est.n < 2:
        need = _min_items(est.alpha)
        why = f"n={est.n}: one item cannot show variability; at least {need} items are needed ({summary})"
        return GateDecision("inconclusive", why, rule, bound, None, need)
    sd = _sd(est)
    alpha = est.alpha
    detectable = minimum_detectable_effect(sd, est.n, alpha=alpha / 2.0, power=power, one_sided=True)
    material = material if material is not None else (max_drop if max_drop > 0.0 else None)
    allowed = f"the allowed drop of {max_drop:.4g}"
    tested = est.p_value is None or est.p_value < alpha
    if est.ci_high < bound - _EPS:
        if tested:
            return GateDecision("fail", f"worse than {allowed}: {summary}", rule, bound, detectable)
        effect = material if material is not None else bound - est.delta
        why = (
            f"the CI lies below {bound:+.4g} but the exact paired test does not reject (p >= {alpha:g}):"
            f" too few items to trust the bootstrap ({summary})"
        )
        return GateDecision("inconclusive", why, rule, bound, detectable, _needed(effect, sd, alpha, power))
    if est.ci_low >= bound - _EPS:
        return GateDecision("pass", f"within {allowed}: {summary}", rule, bound, detectable)
    catches = f"a drop of {max_drop + detectable:.4g} or more fails with {power:.0%} power at this n"
    if rule == "significant" or material is None or detectable <= material:
        why = f"no significant drop beyond {allowed} ({summary}); {catches}"
        return GateDecision("pass", why, rule, bound, detectable)
    need = _needed(material, sd, alpha, power)
    why = (
        f"the CI straddles {bound:+.4g} and only {catches}; about {need} items are needed to catch"
        f" a drop of {max_drop + material:.4g} ({summary})"
    )
    return GateDecision("inconclusive", why, rule, bound, detectable, need)


def _gain_gate(
    est: PairedEstimate, min_gain: float, rule: Rule, material: float | None, power: float
) -> GateDecision:
    bound = min_gain
    summary = _summary(est)
    if est.n < 2:
        need = _min_items(est.alpha)
        why = f"n={est.n}: one item cannot show variability; at least {need} items are needed ({summary})"
        return GateDecision("inconclusive", why, rule, bound, None, need)
    sd = _sd(est)
    alpha = est.alpha
    detectable = minimum_detectable_effect(sd, est.n, alpha=alpha / 2.0, power=power, one_sided=True)
    material = material if material is not None else (min_gain if min_gain > 0.0 else None)
    required = f"the required gain of {min_gain:+.4g}"
    tested = min_gain < 0.0 or est.p_value is None or est.p_value < alpha
    if est.ci_low > bound + _EPS:
        if tested:
            return GateDecision("pass", f"above {required}: {summary}", rule, bound, detectable)
        effect = material if material is not None else est.delta - bound
        why = (
            f"the CI lies above {min_gain:+.4g} but the exact paired test does not reject (p >= {alpha:g}):"
            f" too few items to trust the bootstrap ({summary})"
        )
        return GateDecision("inconclusive", why, rule, bound, detectable, _needed(effect, sd, alpha, power))
    if est.ci_high < bound - _EPS:
        return GateDecision("fail", f"below {required}: {summary}", rule, bound, detectable)
    shows = f"a gain of {min_gain + detectable:+.4g} or more passes with {power:.0%} power at this n"
    if rule == "significant" or material is None or detectable <= material:
        why = f"gain not shown to exceed {required} ({summary}); {shows}"
        return GateDecision("fail", why, rule, bound, detectable)
    need = _needed(material, sd, alpha, power)
    why = (
        f"the CI straddles {min_gain:+.4g} and only {shows}; about {need} items are needed to show"
        f" a gain of {min_gain + material:+.4g} ({summary})"
    )
    return GateDecision("inconclusive", why, rule, bound, detectable, need)
