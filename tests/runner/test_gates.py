"""Gate kinds decided from a paired comparison: max_drop, max_rise (lower is better), min_score."""

from __future__ import annotations

from tunegate.runner import MetricComparison
from tunegate.runner._compare import decide_gate
from tunegate.suite import GateSpec


def _mc(base: float, tuned: float, lo: float, hi: float, p: float) -> MetricComparison:
    return MetricComparison("asr", True, base, tuned, tuned - base, lo, hi, p, 400, "bootstrap")


def test_max_rise_fails_a_clear_rise_in_attack_success() -> None:
    mc = _mc(0.10, 0.30, 0.15, 0.25, 1e-6)
    d = decide_gate("safety", "asr", GateSpec(max_rise=0.05), mc, mc.p_value)
    assert d.kind == "max_rise" and d.outcome == "fail" and "lower is better" in d.reason


def test_max_rise_passes_a_drop_in_attack_success() -> None:
    mc = _mc(0.30, 0.10, -0.25, -0.15, 1e-6)
    assert decide_gate("safety", "asr", GateSpec(max_rise=0.05), mc, mc.p_value).outcome == "pass"
    # the same numbers under max_drop (higher is better) are a clear failure
    assert decide_gate("safety", "asr", GateSpec(max_drop=0.05), mc, mc.p_value).outcome == "fail"


def test_min_score_is_absolute() -> None:
    mc = _mc(1.0, 0.95, -0.1, 0.0, 0.5)
    assert decide_gate("reg", "pass", GateSpec(min_score=1.0), mc, None).outcome == "fail"
    assert decide_gate("reg", "pass", GateSpec(min_score=0.9), mc, None).outcome == "pass"
