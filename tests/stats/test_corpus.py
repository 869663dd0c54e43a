"""Drift, Brier and ECE on hand-computed cases; ECE against an independent numpy reimplementation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunegate.metrics import choice_signals
from tunegate.stats import expected_calibration_error, paired_corpus_bootstrap


def test_choice_signals_known_answer() -> None:
    # two choices with log-likelihoods ln(3), ln(1): p = (3/4, 1/4)
    s = choice_signals([math.log(3.0), 0.0], gold=1)
    assert s["gold_logprob"] == 0.0
    assert s["gold_prob"] == pytest.approx(0.25)
    assert s["brier"] == pytest.approx((0.75 - 0) ** 2 + (0.25 - 1) ** 2)  # 1.125
    assert s["confidence"] == pytest.approx(0.75) and s["correct"] == 0.0


def test_ece_hand_computed() -> None:
    # bin (0.5, 0.6]: confidences .55, .55, accuracy 1/2 -> gap .05, weight 2/4
    # bin (0.9, 1.0]: confidences .95, 1.0, accuracy 1 -> gap .025, weight 2/4
    conf = np.array([0.55, 0.55, 0.95, 1.0])
    correct = np.array([1.0, 0.0, 1.0, 1.0])
    assert expected_calibration_error(conf, correct) == pytest.approx(0.5 * 0.05 + 0.5 * 0.025)


def _reference_ece(conf: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> float:
    """Written independently: loop over the equal-width bins (lo, hi], confidence 0 in the first."""
    total = 0.0
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    for k in range(n_bins):
        lo, hi = edges[k], edges[k + 1]
        inside = (conf > lo) & (conf <= hi) if k else (conf >= lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    return float(total)


def test_ece_matches_reference() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        conf = rng.uniform(0.25, 1.0, size=200).round(3)
        correct = (rng.uniform(size=200) < conf).astype(float)
        assert expected_calibration_error(conf, correct) == pytest.approx(_reference_ece(conf, correct))


def test_paired_ece_bootstrap() -> None:
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.3, 1.0, size=300)
    correct = (rng.uniform(size=300) < conf).astype(float)
    base = {"confidence": conf, "correct": correct}
    # tuned: overconfident on every item, same answers
    tuned = {"confidence": np.minimum(1.0, conf + 0.3), "correct": correct}
    est = paired_corpus_bootstrap("ece", base, tuned, n_boot=500, seed=1)  # type: ignore[arg-type]
    assert est.delta == pytest.approx(est.tuned - est.base)
    assert est.ci_low <= est.delta <= est.ci_high and est.ci_low > 0
    assert est.se is not None and est.se > 0 and est.df == 299
    same = paired_corpus_bootstrap("ece", base, base, n_boot=200)  # type: ignore[arg-type]
    # no difference, but not "certainly 0": the rule-of-three floor keeps an A/A interval open
    assert same.delta == 0 and same.se_raw == 0 and same.se == pytest.approx(3**0.5 / 300)
    assert same.ci_low < 0 < same.ci_high


def test_drift_and_ece_gates_in_a_suite() -> None:
    """``metric: gold_logprob, max_drop`` and ``metric: ece, max_rise`` decide on recorded scores."""
    from tunegate.runner import CompareConfig, ScoredTask, TaskScores, compare_scores
    from tunegate.suite import SuiteSpec
    from tunegate.tasks import CHOICE_SIGNALS, ItemScore, MetricInfo

    rng = np.random.default_rng(3)

    def scores(shift: float) -> TaskScores:
        items = {}
        for i in range(200):
            lls = [float(x) for x in rng.normal(size=4)]
            lls[0] += 1.0 - shift  # the gold choice loses `shift` nats in the tuned model
            items[str(i)] = ItemScore({"acc": float(int(np.argmax(lls)) == 0), **choice_signals(lls, 0)})
        return TaskScores("mc", items)

    suite = SuiteSpec.model_validate(
        {
            "name": "drift",
            "tasks": [
                {
                    "task": "mmlu",
                    "name": "mc",
                    "gates": [
                        {"metric": "gold_logprob", "max_drop": 0.5},
                        {"metric": "ece", "max_rise": 0.5},
                    ],
                }
            ],
        }
    )
    st = ScoredTask("mc", (MetricInfo("acc", binary=True), *CHOICE_SIGNALS), "acc", scores(0.0), scores(3.0))
    res = compare_scores(CompareConfig(suite=suite, base="a", tuned="b", n_boot=300), [st])
    outcome = {g.metric: g.outcome for g in res.gates}
    assert outcome["gold_logprob"] == "fail"  # a 3-nat drop beyond the allowed 0.5
    assert res.tasks[0].metric("gold_logprob").delta == pytest.approx(-3.0, abs=0.4)
    assert res.verdict == "FAIL"
