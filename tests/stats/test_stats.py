"""Unit tests of tunegate.stats with hand-checked values."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.special import ndtri, stdtr, stdtrit

from tunegate.stats import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    GateRule,
    Moments,
    PairedEstimate,
    _bootstrap,
    binary_sd,
    decide,
    detection_power,
    estimate,
    estimator_names,
    fail_p_values,
    gate_decision,
    holm,
    holm_adjust,
    items_needed,
    mcnemar_exact,
    mean_se,
    minimum_detectable_effect,
    paired_bootstrap,
    paired_p_value,
    register_estimator,
    score_interval,
    sign_flip_p_value,
    wilson_interval,
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


# --- moments, estimators, gate --------------------------------------------------------------------------


def test_mean_se_exact_clustered_and_floored() -> None:
    d = np.array([1.0, -1.0, 0.0, 0.0, 1.0, 1.0])
    m = mean_se(d)
    assert float(m.delta) == pytest.approx(1 / 3) and m.df == 5 and m.n_clusters == 6
    assert float(m.sd) == pytest.approx(np.std(d, ddof=1))
    assert float(m.se) == pytest.approx(max(np.std(d, ddof=1) / math.sqrt(6), math.sqrt(3) / 6))
    # CR1 by hand: clusters {0,1,2} and {3,4,5}: sums 0 and 2, sizes 3 and 3, mean 1/3
    cl = mean_se(d, clusters=np.array([0, 0, 0, 1, 1, 1]))
    resid = np.array([0 - 3 / 3, 2 - 3 / 3])
    assert float(cl.se) ** 2 == pytest.approx(max(2 / 1 * float(np.sum(resid**2)) / 36, 3 / 36))
    assert cl.df == 1 and cl.n_clusters == 2
    # identical outputs: the rule-of-three floor, never 0
    assert float(mean_se(np.zeros(30)).se) == pytest.approx(math.sqrt(3) / 30)
    # vectorised over replays: each row is its own replay
    rows = mean_se(np.stack([d, -d]))
    assert rows.delta.tolist() == pytest.approx([1 / 3, -1 / 3])


def test_estimate_registry_and_unknown_name() -> None:
    assert "paired_mean" in estimator_names()
    with pytest.raises(ValueError, match="unknown estimator"):
        estimate([1.0, 0.0], [1.0, 1.0], estimator="paired_maen")

    @register_estimator("test_half_delta")
    def half(base, tuned, clusters, *, alpha, n_boot, seed, binary):  # type: ignore[no-untyped-def]
        e = paired_bootstrap(base, tuned, n_boot=n_boot, alpha=alpha, seed=seed, binary=binary)
        return dataclasses.replace(e, delta=e.delta / 2)

    assert estimate([0.0, 0.0], [1.0, 1.0], estimator="test_half_delta").delta == 0.5
    with pytest.raises(ValueError, match="already registered"):
        register_estimator("test_half_delta")(half)


def test_wilson_interval_hand_checked() -> None:
    # 68/100 at 95%: statsmodels proportion_confint(68, 100, method="wilson") = (0.58337, 0.76331)
    assert wilson_interval(68, 100) == pytest.approx((0.583374, 0.763309), abs=1e-5)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    mean, lo, hi = score_interval([1.0] * 68 + [0.0] * 32)
    assert (mean, lo, hi) == pytest.approx((0.68, 0.583374, 0.763309), abs=1e-5)


def _rule(kind: str = "max_drop", t: float = 0.02, **kw: object) -> GateRule:
    return GateRule(kind, t, **kw)  # type: ignore[arg-type]


def _mom(delta: float, se: float, n: int = 400) -> Moments:
    return Moments(np.asarray(delta), np.asarray(se), np.asarray(se * math.sqrt(n)), float(n - 1), n, n)


def test_gate_fail_test_is_the_shifted_one_sided_t_test() -> None:
    r = _rule(t=0.02)
    m = _mom(-0.07, 0.02)
    assert float(fail_p_values(r, m)) == pytest.approx(float(stdtr(399, (-0.07 + 0.02) / 0.02)))
    a = decide(r, m)
    assert int(a.outcome) == FAIL  # p = 0.0064 < alpha/2
    assert int(decide(r, _mom(-0.055, 0.02)).outcome) != FAIL  # p = 0.04 > alpha/2


def test_gate_pass_needs_power_and_the_non_inferiority_test() -> None:
    r = _rule(t=0.02)  # material 0.02: must catch a drop of 0.04
    q = float(stdtrit(399, 0.975)) + float(ndtri(0.8))
    powered_se = 0.02 / q - 1e-6
    a = decide(r, _mom(0.0, powered_se))
    assert bool(a.powered) and int(a.outcome) == PASS
    b = decide(r, _mom(0.0, 0.02 / q + 1e-4))  # just under-powered
    assert not bool(b.powered) and int(b.outcome) == INCONCLUSIVE and int(b.items_needed) > 400
    c = decide(r, _mom(-0.028, powered_se))  # powered, not FAIL, but a drop of 0.04 is not ruled out
    assert int(c.outcome) == INCONCLUSIVE


def test_gate_min_n_and_family_power() -> None:
    r = _rule(t=0.05)
    few = decide(r, _mom(0.0, 0.001, n=29))
    assert int(few.outcome) == INCONCLUSIVE and int(few.items_needed) == 30
    alone = decide(r, _mom(0.0, 0.0175))
    in_57 = decide(r, _mom(0.0, 0.0175), n_gates=57)
    assert int(alone.outcome) == PASS and int(in_57.outcome) == INCONCLUSIVE  # power at alpha/57
    assert float(in_57.detectable) > float(alone.detectable)


def test_holm_adjust_matches_holm() -> None:
    p = [0.04, 0.001, 0.02, 0.3, 0.011]
    assert holm_adjust(np.asarray([p, p])).tolist() == [pytest.approx(holm(p))] * 2


def test_min_gain_mirrors_max_drop_on_swapped_models() -> None:
    """min_gain g PASSes exactly when max_drop g (unadjusted) FAILs with the models swapped."""
    for delta in (-0.05, 0.0, 0.03, 0.06, 0.1):
        gain = decide(_rule("min_gain", 0.02), _mom(delta, 0.015))
        drop = decide(_rule("max_drop", 0.02), _mom(-delta, 0.015))
        assert (int(gain.outcome) == PASS) == (int(drop.outcome) == FAIL)


def test_gate_decision_record_and_direction() -> None:
    e = estimate(*_pairs(300, 100, same=3600))  # delta -0.05 on 4000 items
    d = gate_decision(_rule(t=0.02), e)
    assert d.outcome == "fail" and not d.passed and d.alpha == 0.05 and d.n_gates == 1
    assert "drop beyond the allowed 2.0 pts" in d.reason
    better = gate_decision(_rule(t=0.02, higher_is_better=False), e)  # -5 points of a lower-is-better metric
    assert better.outcome == "pass" and better.passed
    assert gate_decision(_rule("max_rise", 0.02), e).outcome == "pass"
    with pytest.raises(ValueError, match="no exact standard error"):
        gate_decision(_rule(), PairedEstimate(0.5, 0.5, 0.0, -0.1, 0.1, 100, "hand-made", None))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "max_drop", "threshold": -0.01},
        {"kind": "max_drop", "threshold": 0.01, "alpha": 1.0},
        {"kind": "max_drop", "threshold": 0.01, "power": 0.0},
        {"kind": "max_drop", "threshold": 0.01, "min_n": 1},
        {"kind": "min_gain", "threshold": float("inf")},
        {"kind": "max_drop", "threshold": 0.01, "min_detectable": 0.0},
    ],
)
def test_gate_rule_rejects_bad_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        GateRule(**kwargs)  # type: ignore[arg-type]


def test_unbounded_metric_floor_uses_the_largest_change_not_the_score_range() -> None:
    """A gold log-likelihood (scores in tens of nats) that drops by 0.5 nats on every item, +/- 0.1:
    the interval must be about the changes' size (and agree with the p-value), not the scores' range."""
    from tunegate.stats import estimate, floor_scale

    rng = np.random.default_rng(3)
    base = -rng.uniform(20.0, 150.0, 100)
    tuned = base - 0.5 + rng.normal(0.0, 0.1, 100)
    est = estimate(base, tuned)
    assert est.ci_high < 0.0 and est.p_value is not None and est.p_value < 0.001
    assert est.ci_high - est.ci_low < 0.2  # the old range-based floor gave ~ +/- 2.6 nats here
    assert floor_scale(base, tuned) == pytest.approx(float(np.max(np.abs(tuned - base))))
    # nothing changed: the floor falls back to the scores' range, so the interval does not collapse
    same = estimate(base, base.copy())
    assert same.ci_high - same.ci_low > 2.0
    # 0/1 scores: one disagreement or many, the floor's scale is 1, as before
    b01 = np.array([1.0, 0.0, 1.0, 1.0])
    assert floor_scale(b01, np.array([1.0, 0.0, 0.0, 1.0])) == 1.0
    assert floor_scale(b01, b01.copy()) == 1.0


def test_gate_reason_in_native_units() -> None:
    """A log-likelihood gate speaks nats (x1), never points (x100)."""
    from tunegate.stats import GateRule, estimate, gate_decision

    rng = np.random.default_rng(5)
    base = -rng.uniform(20.0, 150.0, 200)
    est = estimate(base, base - 3.6 + rng.normal(0.0, 0.3, 200))
    d = gate_decision(GateRule("max_drop", 1.0, unit="nats"), est)
    assert d.outcome == "fail"
    assert "beyond the allowed 1.00 nats" in d.reason and "delta -3.6" in d.reason and "pts" not in d.reason
    rate = gate_decision(GateRule("max_drop", 0.02), estimate([1.0, 0.0] * 50, [1.0, 0.0] * 50))
    assert "pts" in rate.reason
