"""Gate decisions on recorded per-item scores, replayed through ``compare_scores`` (the runner's path).

Each ``test_defect_N_*`` pins one defect of issue 10 ("Defects measured"); on the code before the
rewrite each of these scenarios gave the wrong outcome (noted per test).
"""

from __future__ import annotations

import json

import pytest
from scipy.special import ndtri, stdtrit

from tests.runner._replay import pairs, replay, scored, suite
from tunegate.runner import ComparisonResult
from tunegate.suite import GateSpec


def test_defect_1_zero_tolerance_needs_power() -> None:
    """A true 5-point drop on 100 items passed `max_drop: 0` (no power requirement); now inconclusive."""
    b, t = pairs(8, 3, 60, 29)  # delta -0.05
    r = replay(suite({"t": [{"max_drop": 0.0}]}), [scored("t", b, t)])
    (g,) = r.gates
    assert g.outcome == "inconclusive" and r.verdict == "INCONCLUSIVE" and r.exit_code == 3
    assert g.material == 0.05 and g.items_needed is not None and g.items_needed > 100
    assert f"run {g.items_needed} items" in g.reason and "under-powered" in g.reason


def test_defect_1_zero_tolerance_passes_when_powered() -> None:
    b, t = pairs(40, 40, 700, 220)  # A/A-like, n = 1000, discordance 8%
    r = replay(suite({"t": [{"max_drop": 0.0}]}), [scored("t", b, t)])
    assert r.gates[0].outcome == "pass" and r.verdict == "PASS" and r.exit_code == 0
    assert "would have failed with >= 80% power" in r.gates[0].reason


def _at_tolerance() -> tuple[list[float], list[float]]:
    return pairs(60, 30, 200, 110)  # n = 400, delta -0.075: alone, the FAIL test's p is about 0.01


def test_defect_2_holm_controls_the_tests_that_decide() -> None:
    """Ten tasks whose FAIL tests have p ~ 0.01: each fails alone; as a family Holm keeps them."""
    b, t = _at_tolerance()
    alone = replay(suite({"t": [{"max_drop": 0.02}]}), [scored("t", b, t)])
    assert alone.gates[0].outcome == "fail" and alone.gates[0].p_value is not None
    assert 0.0025 < alone.gates[0].p_value < 0.025
    names = [f"t{i}" for i in range(10)]
    family = replay(suite({n: [{"max_drop": 0.02}] for n in names}), [scored(n, b, t) for n in names])
    assert all(g.outcome != "fail" for g in family.gates)
    assert all(
        g.n_gates == 10 and g.p_value == pytest.approx(10 * alone.gates[0].p_value) for g in family.gates
    )
    assert "Holm over 10 gates" in family.gates[0].reason


def test_defect_2_a_clear_failure_survives_holm() -> None:
    b, t = _at_tolerance()
    bad = pairs(120, 20, 160, 100)  # delta -0.25
    names = [f"t{i}" for i in range(9)]
    tasks = [scored(n, b, t) for n in names] + [scored("bad", *bad)]
    r = replay(suite({n: [{"max_drop": 0.02}] for n in [*names, "bad"]}), tasks)
    assert [g.outcome for g in r.gates][-1] == "fail" and r.verdict == "FAIL" and r.exit_code == 1


def test_defect_4_alpha_flows_into_ci_power_and_labels() -> None:
    b, t = pairs(30, 25, 250, 95)
    r = replay(suite({"t": [{"max_drop": 0.05}]}, alpha=0.01), [scored("t", b, t)])
    m, g = r.tasks[0].metrics[0], r.gates[0]
    assert m.alpha == 0.01 and g.alpha == 0.01 and r.alpha == 0.01
    assert m.se is not None and m.df is not None
    q = float(stdtrit(m.df, 0.995))
    assert (m.ci_high - m.ci_low) / (2 * m.se) == pytest.approx(q)
    assert g.detectable == pytest.approx((q + float(ndtri(0.8))) * m.se)
    assert "99% CI" in g.reason and "95%" not in g.reason
    # a gate's own alpha beats the suite's, and the CLI/config alpha beats the suite's
    own = replay(suite({"t": [{"max_drop": 0.05, "alpha": 0.2}]}, alpha=0.01), [scored("t", b, t)])
    assert own.gates[0].alpha == 0.2 and "80% CI" in own.gates[0].reason
    assert replay(suite({"t": [{"max_drop": 0.05}]}), [scored("t", b, t)], alpha=0.1).gates[0].alpha == 0.1


def test_defect_5_min_gain_zero_means_shown_better_and_needs_power() -> None:
    """Identical-quality models failed `min_gain: 0` 97% of the time even when nothing could be shown."""
    b, t = pairs(10, 10, 50, 30)  # A/A, n = 100
    r = replay(suite({"t": [{"min_gain": 0.0}]}), [scored("t", b, t)])
    assert r.gates[0].outcome == "inconclusive" and r.gates[0].items_needed is not None
    big = pairs(100, 100, 1200, 600)  # A/A, n = 2000: powered, so "no gain" is a real FAIL
    r = replay(suite({"t": [{"min_gain": 0.0}]}), [scored("t", *big)])
    assert r.gates[0].outcome == "fail" and "could have shown a gain" in r.gates[0].reason
    gain = pairs(50, 150, 1200, 600)  # +5 points
    assert replay(suite({"t": [{"min_gain": 0.0}]}), [scored("t", *gain)]).gates[0].outcome == "pass"
    text = (GateSpec.model_fields["min_gain"].description or "").lower()
    assert "shown better" in text and "not be worse" not in text


def test_defect_6_no_flip_between_reruns_near_the_power_boundary() -> None:
    """The SD used to be back-solved from the bootstrap CI width, so the seed decided PASS/INCONCLUSIVE."""
    b, t = pairs(26, 25, 250, 99)  # n = 400 right at the power threshold of max_drop 0.05
    runs = [replay(suite({"t": [{"max_drop": 0.05}]}), [scored("t", b, t)], seed=s) for s in range(8)]
    assert len({(r.gates[0].outcome, r.gates[0].reason) for r in runs}) == 1
    assert len({r.tasks[0].metrics[0].boot_ci_low for r in runs}) > 1  # the bootstrap did move
    m = runs[0].tasks[0].metrics[0]
    assert m.sd == pytest.approx(((26 + 25) / 400 - (1 / 400) ** 2) ** 0.5 * (400 / 399) ** 0.5)


def test_defect_7_tiny_runs_never_pass_and_identical_outputs_do_not_collapse_the_ci() -> None:
    r = replay(suite({"t": [{"max_drop": 0.0}]}), [scored("t", [1, 0], [1, 0])])
    assert r.gates[0].outcome == "inconclusive" and "< min_n 30" in r.gates[0].reason
    assert r.gates[0].items_needed is not None and r.gates[0].items_needed >= 30
    same = [1.0] * 20 + [0.0] * 10
    m = replay(suite({"t": [{"max_drop": 0.0}]}), [scored("t", same, same)]).tasks[0].metrics[0]
    assert m.ci_low < 0.0 < m.ci_high  # rule-of-three floor: 0 of 30 disagreements still allows 10%
    custom = replay(suite({"t": [{"max_drop": 0.0}]}, min_n=2), [scored("t", [1, 0], [1, 0])])
    assert custom.gates[0].outcome == "inconclusive"  # n = 2 is allowed now, but far from powered


def test_defect_8_vacuous_runs_are_not_a_silent_pass() -> None:
    b, t = pairs(40, 40, 700, 220)
    no_gates = replay(suite({"t": []}), [scored("t", b, t)])
    assert no_gates.verdict == "INCONCLUSIVE" and no_gates.exit_code == 3
    assert any("no gates" in v for v in no_gates.vacuous) and any("VACUOUS" in w for w in no_gates.warnings)
    same = replay(suite({"t": [{"max_drop": 0.0}]}), [scored("t", b, b)], same_model=True)
    assert same.verdict == "INCONCLUSIVE" and any("same model" in v for v in same.vacuous)
    limited = replay(suite({"t": [{"max_drop": 0.0}]}), [scored("t", b, t)], limit=1000)
    assert limited.verdict == "INCONCLUSIVE" and any("--limit 1000" in v for v in limited.vacuous)
    smoke = replay(
        suite({"t": [{"max_drop": 0.0}]}), [scored("t", b, b)], same_model=True, allow_vacuous=True
    )
    assert (
        smoke.verdict == "PASS" and smoke.exit_code == 0 and "allowed by --allow-vacuous" in smoke.warnings[0]
    )
    bad = pairs(120, 20, 760, 100)
    assert replay(suite({"t": [{"max_drop": 0.0}]}), [scored("t", *bad)], limit=1000).verdict == "FAIL"


def test_direction_lower_is_better_metric() -> None:
    """`higher_is_better=False` is read: a rise of a lower-is-better metric is a drop in quality."""
    base, tuned = pairs(20, 60, 200, 120)  # the metric rises by 10 points
    worse = scored("t", base, tuned, metric="asr", higher_is_better=False)
    assert replay(suite({"t": [{"max_drop": 0.02}]}), [worse]).gates[0].outcome == "fail"
    better = scored("t", tuned, base, metric="asr", higher_is_better=False)
    assert replay(suite({"t": [{"max_drop": 0.02}]}), [better]).gates[0].outcome != "fail"
    # max_rise is literal: a rise of more than the bound fails whatever the metric says
    r = replay(suite({"t": [{"max_rise": 0.02}]}), [scored("t", base, tuned, metric="asr")])
    assert r.gates[0].kind == "max_rise" and r.gates[0].outcome == "fail" and "rise" in r.gates[0].reason


def test_min_score_is_absolute_and_outside_the_family() -> None:
    base, tuned = [1.0] * 40, [1.0] * 38 + [0.0] * 2
    r = replay(suite({"t": [{"min_score": 1.0}, {"min_score": 0.9}]}), [scored("t", base, tuned)])
    assert [g.outcome for g in r.gates] == ["fail", "pass"] and r.gates[0].n_gates is None


def test_clusters_widen_the_interval() -> None:
    """Ten subjects of 40 items, each moving as a block: the cluster-robust SE sees it, per item does not."""
    base, tuned, labels = [], [], []
    for s in range(10):
        b, t = pairs(8, 0, 20, 12) if s % 2 else pairs(0, 8, 20, 12)
        base += b
        tuned += t
        labels += [f"s{s}"] * 40
    flat = replay(suite({"t": []}), [scored("t", base, tuned)]).tasks[0].metrics[0]
    clus = replay(suite({"t": []}), [scored("t", base, tuned, clusters=labels)]).tasks[0].metrics[0]
    assert clus.n_clusters == 10 and flat.n_clusters == 400
    assert clus.se is not None and flat.se is not None and clus.se > 1.5 * flat.se
    assert clus.df == 9 and "cluster" in clus.method
    assert clus.boot_ci_high is not None and clus.boot_ci_low is not None and flat.boot_ci_high is not None
    assert flat.boot_ci_low is not None
    assert clus.boot_ci_high - clus.boot_ci_low > 1.5 * (flat.boot_ci_high - flat.boot_ci_low)


def test_per_model_wilson_intervals_and_json_round_trip() -> None:
    b, t = pairs(8, 3, 60, 29)
    r = replay(suite({"t": [{"max_drop": 0.02}]}), [scored("t", b, t)])
    m = r.tasks[0].metrics[0]
    assert m.base_ci_low is not None and m.base_ci_high is not None
    assert m.base_ci_low < m.base < m.base_ci_high  # Wilson for 68/100: [0.583, 0.763]
    assert (m.base_ci_low, m.base_ci_high) == pytest.approx((0.5834, 0.7633), abs=1e-4)
    data = json.loads(json.dumps(r.to_json()))
    assert data["scorecard"][1]["gate"] == "inconclusive" and data["gates"][0]["alpha"] == 0.05
    assert ComparisonResult.from_json(data) == r
