"""Unit tests of tunegate.stats with hand-checked values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunegate.stats import (
    PairedEstimate,
    _bootstrap,
    binary_sd,
    detection_power,
    gate_decision,
    holm,
    items_needed,
    mcnemar_exact,
    minimum_detectable_effect,
    paired_bootstrap,
    paired_p_value,
    sign_flip_p_value,
)

# z_{0.95} + z_{0.80}, z_{0.975} + z_{0.80}
Z1 = 1.6448536269514722 + 0.8416212335729143
Z2 = 1.959963984540054 + 0.8416212335729143


def _pairs(b: int, c: int, same: int = 0) -> tuple[list[int], list[int]]:
    """Outcome vectors with b items base-only right, c tuned-only right and `same` items both right."""
    return [1] * b + [0] * c + [1] * same, [0] * b + [1] * c + [1] * same


# --- McNemar ---------------------------------------------------------------------------------------


def test_mcnemar_b0_c5() -> None:
    r = mcnemar_exact(*_pairs(0, 5, same=3))
    assert (r.b, r.c, r.n) == (0, 5, 8)
    assert r.p_value == pytest.approx(0.0625)  # 2 * 0.5**5
    assert r.discordance == pytest.approx(5 / 8)


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [(0, 0, 1.0), (1, 1, 1.0), (2, 8, 2 * 56 / 1024), (8, 2, 2 * 56 / 1024), (0, 1, 1.0), (3, 0, 0.25)],
)
def test_mcnemar_values(b: int, c: int, p: float) -> None:
    assert mcnemar_exact(*_pairs(b, c, same=4)).p_value == pytest.approx(p)


def test_mcnemar_accepts_bools_and_rejects_non_binary() -> None:
    assert mcnemar_exact([True, False], [False, True]).p_value == 1.0
    with pytest.raises(ValueError, match="0/1"):
        mcnemar_exact([0.5, 1], [1, 1])
    with pytest.raises(ValueError, match="equal lengths"):
        mcnemar_exact([1, 0], [1])


# --- Holm ------------------------------------------------------------------------------------------


def test_holm_hand_checked() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_holm_caps_at_one_keeps_order_and_is_monotone() -> None:
    assert holm([0.5, 0.6]) == [1.0, 1.0]
    assert holm([0.2]) == [0.2]
    assert holm([]) == []
    p = [0.04, 0.001, 0.02, 0.3, 0.011]
    adj = holm(p)
    order = np.argsort(p)
    assert all(np.diff(np.asarray(adj)[order]) >= 0)
    assert all(a >= q for a, q in zip(adj, p, strict=True))


@pytest.mark.parametrize("bad", [[0.1, 1.5], [-0.1], [float("nan")]])
def test_holm_rejects_invalid(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        holm(bad)


# --- paired p-values ---------------------------------------------------------------------------------


def test_sign_flip_exact_values() -> None:
    assert sign_flip_p_value(np.array([1.0, 2.0, 3.0])) == pytest.approx(2 / 8)
    assert sign_flip_p_value(np.ones(6)) == pytest.approx(2 / 64)
    assert sign_flip_p_value(np.array([1.0, -1.0])) == 1.0
    assert sign_flip_p_value(np.zeros(5)) == 1.0
    # zeros carry no sign: they neither count towards k nor change p
    assert sign_flip_p_value(np.array([1.0, 2.0, 3.0, 0.0, 0.0])) == pytest.approx(2 / 8)


def test_sign_flip_monte_carlo_is_deterministic_and_never_zero() -> None:
    d = np.ones(40)
    assert sign_flip_p_value(d) == pytest.approx(1 / 10_001)
    rng = np.random.default_rng(3)
    x = rng.normal(0.1, 1.0, 300)
    assert sign_flip_p_value(x, seed=7) == sign_flip_p_value(x, seed=7)


def test_sign_flip_equals_mcnemar_on_binary_data() -> None:
    base, tuned = _pairs(2, 8, same=5)
    d = np.asarray(tuned, float) - np.asarray(base, float)
    assert sign_flip_p_value(d) == pytest.approx(mcnemar_exact(base, tuned).p_value)


def test_paired_p_value_dispatch() -> None:
    base, tuned = _pairs(0, 5)
    assert paired_p_value(base, tuned, binary=True) == pytest.approx(0.0625)
    assert paired_p_value([0.0, 0.0, 0.0], [1.0, 2.0, 3.0], binary=False) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        paired_p_value([0.2], [0.3], binary=True)


# --- bootstrap -----------------------------------------------------------------------------------------


def test_bootstrap_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one item"):
        paired_bootstrap([], [])
    with pytest.raises(ValueError, match="equal lengths"):
        paired_bootstrap([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        paired_bootstrap([1.0, float("nan")], [1.0, 2.0])
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0], n_boot=0)
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0], alpha=1.0)


def test_bootstrap_single_item_collapses() -> None:
    e = paired_bootstrap([1], [0])
    assert (e.delta, e.ci_low, e.ci_high, e.n) == (-1.0, -1.0, -1.0, 1)
    assert "n=1" in e.method and "collapses" in e.method
    assert e.sd_delta is None and e.p_value == 1.0


def test_bootstrap_all_equal_deltas_gives_point_ci() -> None:
    base = [0.5, 0.25, 0.125, 0.0]
    e = paired_bootstrap(base, [x + 0.25 for x in base])
    assert e.ci_low == e.ci_high == e.delta == pytest.approx(0.25)
    assert "all per-item differences equal" in e.method
    same = paired_bootstrap([1, 0, 1], [1, 0, 1])
    assert (same.delta, same.ci_low, same.ci_high, same.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_bootstrap_hand_checked_point_values_and_fields() -> None:
    base, tuned = _pairs(2, 8, same=10)  # 20 items: base 12/20, tuned 18/20
    e = paired_bootstrap(base, tuned, alpha=0.1)
    assert (e.base, e.tuned, e.delta, e.n, e.alpha) == pytest.approx((0.6, 0.9, 0.3, 20, 0.1))
    assert e.p_value == pytest.approx(2 * 56 / 1024) and "McNemar" in e.method and "90% CI" in e.method
    assert e.ci_low < e.delta < e.ci_high
    assert e.sd_delta == pytest.approx(float(np.std(np.subtract(tuned, base), ddof=1)))
    assert "sign-flip" in paired_bootstrap(base, tuned, binary=False).method


def test_bootstrap_deterministic_per_seed_and_chunk_independent(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    b = rng.random(300)
    t = b + rng.normal(0.02, 0.1, 300)
    e0 = paired_bootstrap(b, t, seed=5)
    assert paired_bootstrap(b, t, seed=5) == e0
    assert paired_bootstrap(b, t, seed=6).ci_low != e0.ci_low
    monkeypatch.setattr(_bootstrap, "_CHUNK_ELEMENTS", 300 * 7)  # 7 resamples per chunk
    assert paired_bootstrap(b, t, seed=5) == e0


def test_bootstrap_is_paired() -> None:
    """Item difficulty dominates the scores but cancels in the differences: the CI must be narrow."""
    rng = np.random.default_rng(1)
    difficulty = rng.random(500)
    b = difficulty + rng.normal(0, 0.01, 500)
    t = difficulty + 0.01 + rng.normal(0, 0.01, 500)
    e = paired_bootstrap(b, t)
    expected_half = 1.96 * float(np.std(t - b, ddof=1)) / math.sqrt(500)
    assert (e.ci_high - e.ci_low) / 2 == pytest.approx(expected_half, rel=0.15)
    assert e.ci_low > 0.0


def test_bootstrap_other_statistic_has_no_p_value() -> None:
    e = paired_bootstrap([1.0, 2.0, 3.0, 10.0], [1.5, 2.5, 3.0, 4.0], statistic=np.median)
    assert e.delta == pytest.approx(0.25)  # medians 2.75 and 2.5
    assert e.p_value is None and "not computed" in e.method


# --- power -----------------------------------------------------------------------------------------------


def test_mde_hand_checked() -> None:
    assert minimum_detectable_effect(1.0, 100) == pytest.approx(Z1 / 10)
    assert minimum_detectable_effect(1.0, 100, one_sided=False) == pytest.approx(Z2 / 10)
    assert minimum_detectable_effect(None, 100, binary_discordance=0.2) == pytest.approx(
        math.sqrt(0.2) * Z1 / 10
    )
    # no observed discordance: rule-of-three floor 3/n
    assert minimum_detectable_effect(None, 100, binary_discordance=0.0) == pytest.approx(
        math.sqrt(0.03) * Z1 / 10
    )
    assert minimum_detectable_effect(0.0, 100) == 0.0
    with pytest.raises(ValueError):
        minimum_detectable_effect(None, 100)
    with pytest.raises(ValueError):
        minimum_detectable_effect(1.0, 0)


def test_binary_sd_floor() -> None:
    assert binary_sd(0.25, 1000) == pytest.approx(0.5)
    assert binary_sd(0.0, 10) == pytest.approx(math.sqrt(0.3))
    assert binary_sd(0.0, 2) == 1.0


def test_items_needed_and_power_round_trip() -> None:
    assert items_needed(0.1, 1.0) == math.ceil((Z1 / 0.1) ** 2) == 619
    assert items_needed(-0.1, 1.0) == 619
    assert items_needed(0.1, 0.0) == 2
    mde = minimum_detectable_effect(0.4, 250, alpha=0.025)
    assert detection_power(mde, 0.4, 250, alpha=0.025) == pytest.approx(0.8)
    assert items_needed(mde, 0.4, alpha=0.025) == 250
    assert detection_power(0.0, 1.0, 100) == pytest.approx(0.05)
    with pytest.raises(ValueError):
        items_needed(0.0, 1.0)


# --- gate --------------------------------------------------------------------------------------------------


def _est(
    delta: float, low: float, high: float, *, n: int = 400, sd: float | None = 0.1, p: float | None = 0.5
) -> PairedEstimate:
    return PairedEstimate(0.7, 0.7 + delta, delta, low, high, n, "test", p, 0.05, sd)


def test_gate_max_drop_fail_and_pass() -> None:
    fail = gate_decision(_est(-0.04, -0.05, -0.02, p=0.001), max_drop=0.01)
    assert fail.outcome == "fail" and not fail.passed and fail.bound == -0.01 and "worse than" in fail.reason
    ok = gate_decision(_est(0.0, -0.005, 0.01), max_drop=0.01)
    assert ok.outcome == "pass" and ok.passed and "within" in ok.reason


def test_gate_straddle_depends_on_power() -> None:
    # n=400, sd=0.1: detectable excess = Z2 * 0.1 / 20 = 0.014 > 0.01 -> inconclusive
    d = gate_decision(_est(-0.008, -0.018, 0.002), max_drop=0.01)
    assert d.outcome == "inconclusive"
    assert d.detectable == pytest.approx(Z2 * 0.1 / 20)
    assert d.items_needed == math.ceil((Z2 * 0.1 / 0.01) ** 2) == 785
    assert "785" in d.reason
    # n=1000: detectable 0.0089 <= 0.01 -> pass (a drop of 0.02 would fail with 80% power)
    assert gate_decision(_est(-0.008, -0.014, -0.002, n=1000), max_drop=0.01).outcome == "pass"
    # "significant" never asks for more items; max_drop=0 sets no power requirement
    assert gate_decision(_est(-0.008, -0.018, 0.002), max_drop=0.01, rule="significant").outcome == "pass"
    assert gate_decision(_est(-0.008, -0.018, 0.002), max_drop=0.0).outcome == "pass"
    # an explicit material effect overrides the default
    tight = gate_decision(_est(-0.008, -0.018, 0.002, n=1000), max_drop=0.01, material_effect=0.005)
    assert tight.outcome == "inconclusive" and tight.items_needed == math.ceil((Z2 * 0.1 / 0.005) ** 2)


def test_gate_sd_recovered_from_ci_width_when_missing() -> None:
    half = 1.959963984540054 * 0.1 / 20
    d = gate_decision(_est(-0.008, -0.008 - half, -0.008 + half, sd=None), max_drop=0.01)
    assert d.items_needed == 785


def test_gate_exact_test_guards_tiny_samples() -> None:
    e = paired_bootstrap([1, 1, 1], [0, 0, 0])  # bootstrap CI [-1, -1] but McNemar p = 0.25
    d = gate_decision(e, max_drop=0.0)
    assert d.outcome == "inconclusive" and d.items_needed == 6  # 2 * 0.5**6 < 0.05 <= 2 * 0.5**5
    one = gate_decision(paired_bootstrap([1], [0]), max_drop=0.0)
    assert one.outcome == "inconclusive" and one.items_needed == 6


def test_gate_identical_models_pass() -> None:
    e = paired_bootstrap([1, 0, 1, 1], [1, 0, 1, 1])
    assert gate_decision(e, max_drop=0.0).outcome == "pass"
    assert gate_decision(e, max_drop=0.01).outcome == "pass"


def test_gate_min_gain() -> None:
    assert gate_decision(_est(0.05, 0.03, 0.07, p=0.001), min_gain=0.02).outcome == "pass"
    assert gate_decision(_est(0.05, 0.03, 0.07, p=0.2), min_gain=0.0).outcome == "inconclusive"
    assert gate_decision(_est(0.0, -0.02, 0.01), min_gain=0.02).outcome == "fail"
    assert gate_decision(_est(0.01, -0.01, 0.03), min_gain=0.0).outcome == "fail"
    d = gate_decision(_est(0.02, 0.005, 0.035), min_gain=0.01)
    assert d.outcome == "inconclusive" and d.items_needed == 785
    assert gate_decision(_est(0.02, 0.005, 0.035), min_gain=0.01, rule="significant").outcome == "fail"


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"max_drop": 0.01, "min_gain": 0.0}, {"max_drop": -0.01}, {"max_drop": 0.01, "rule": "x"}],
)
def test_gate_rejects_bad_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        gate_decision(_est(0.0, -0.01, 0.01), **kwargs)  # type: ignore[arg-type]
