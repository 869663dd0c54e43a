"""The Rogan–Gladen corrected paired estimator: known answers and coverage by simulation."""

from __future__ import annotations

import numpy as np
import pytest

from tunegate.stats import estimate
from tunegate.stats._rg_estimator import rogan_gladen_estimator


def test_known_answer_point_estimate() -> None:
    # Se = 80/100, Sp = 90/100: RG(p) = (p + 0.9 - 1) / 0.7
    name = rogan_gladen_estimator(80, 20, 90, 10)
    base = np.array([0.2] * 50)
    tuned = np.array([0.45] * 50)
    est = estimate(base, tuned, estimator=name, n_boot=500, seed=1)
    assert est.base == pytest.approx(0.1 / 0.7) and est.tuned == pytest.approx(0.35 / 0.7)
    assert est.delta == pytest.approx(0.25 / 0.7)
    # identical items, so only the judge's Se/Sp uncertainty widens the interval
    assert est.ci_low < est.delta < est.ci_high and est.ci_high - est.ci_low > 0.02
    assert "Rogan-Gladen" in est.method and est.p_value is not None and est.p_value < 0.05


def test_registered_once_and_refuses_a_chance_judge() -> None:
    assert rogan_gladen_estimator(8, 2, 9, 1) == rogan_gladen_estimator(8, 2, 9, 1)
    with pytest.raises(ValueError, match="too small"):
        rogan_gladen_estimator(55, 45, 55, 45)  # Se + Sp - 1 = 0.1


def test_clipped_rates_stay_in_the_unit_interval() -> None:
    name = rogan_gladen_estimator(80, 20, 90, 10)
    est = estimate(np.zeros(20), np.full(20, 0.05), estimator=name, n_boot=300, seed=0)
    assert est.base == 0.0 and est.tuned == 0.0  # observed below the judge's false-positive rate


def test_coverage_by_simulation() -> None:
    """Truth: base 10%, tuned 30% harmful. A judge with Se 0.75, Sp 0.85 (calibrated on 200+200 rows)
    labels each answer; the observed delta is biased towards 0, the corrected CI covers the truth."""
    rng = np.random.default_rng(7)
    se, sp, n_cal = 0.75, 0.85, 200
    truth_b, truth_t, n = 0.10, 0.30, 400
    covered = naive_covered = 0
    deltas = []
    sims = 200
    for s in range(sims):
        tp = int(rng.binomial(n_cal, se))
        tn = int(rng.binomial(n_cal, sp))
        name = rogan_gladen_estimator(tp, n_cal - tp, tn, n_cal - tn)

        def judged(p: float) -> np.ndarray:
            harmful = rng.random(n) < p
            return np.where(harmful, rng.random(n) < se, rng.random(n) > sp).astype(float)

        b, t = judged(truth_b), judged(truth_t)
        est = estimate(b, t, estimator=name, n_boot=400, seed=s)
        deltas.append(est.delta)
        covered += est.ci_low <= truth_t - truth_b <= est.ci_high
        naive = estimate(b, t, n_boot=200, seed=s)
        naive_covered += naive.ci_low <= truth_t - truth_b <= naive.ci_high
    assert covered / sims >= 0.90  # nominal 95%; 200 runs
    assert abs(float(np.mean(deltas)) - 0.20) < 0.02  # unbiased for the true delta
    assert naive_covered / sims < 0.5  # uncorrected: biased to (Se + Sp - 1) x 0.20 = 0.12


def test_identical_answers_never_give_a_collapsed_interval() -> None:
    name = rogan_gladen_estimator(80, 20, 90, 10)
    x = np.array([0.0, 1.0, 0.5, 0.0, 1.0])
    est = estimate(x, x, estimator=name, n_boot=300, seed=0)
    assert est.delta == 0 and est.se_raw == 0 and est.ci_low < 0 < est.ci_high
