"""Simulated replays through the real gate code (``mean_se`` -> ``decide_family``): error rates.

Paired 0/1 outcomes with discordance ``Q`` and a true difference ``delta`` (see
``bench/simulate_gates.py``, which prints the full tables quoted in docs/statistics.md). Seeded, so
not flaky; bounds are the nominal rate plus about 3 binomial SDs of ``R`` replays.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunegate.stats import FAIL, INCONCLUSIVE, PASS, GateRule, decide_family, mean_se

R = 1000
Q = 0.2
SLACK = 3 * math.sqrt(0.05 * 0.95 / R)  # 2.1 points at a 5% rate


def _diffs(
    rng: np.random.Generator, shape: tuple[int, ...], delta: float | np.ndarray, q: float = Q
) -> np.ndarray:
    p_b, p_c = (q - np.asarray(delta)) / 2.0, (q + np.asarray(delta)) / 2.0
    u = rng.random(shape)
    return np.where(u < p_b, -1.0, np.where(u < p_b + p_c, 1.0, 0.0))


def _outcomes(rule: GateRule, d: np.ndarray) -> np.ndarray:
    (a,) = decide_family([rule], [mean_se(d)])
    return a.outcome


@pytest.mark.parametrize("tol", [0.0, 0.02, 0.05])
@pytest.mark.parametrize("n", [30, 400, 2000])
def test_single_gate_error_rates(tol: float, n: int) -> None:
    rng = np.random.default_rng(int(1000 * tol) + n)
    rule = GateRule("max_drop", tol)
    big = tol + rule.material
    aa = _outcomes(rule, _diffs(rng, (R, n), 0.0))
    at_tol = _outcomes(rule, _diffs(rng, (R, n), -tol))
    at_big = _outcomes(rule, _diffs(rng, (R, n), -big))
    assert np.mean(aa == FAIL) <= 0.05 + SLACK
    assert np.mean(at_tol == FAIL) <= rule.alpha + SLACK  # FAIL rate at the tolerance <= alpha
    assert np.mean(at_big == PASS) <= 0.05 + SLACK  # a true drop of tolerance + material never passes
    (a,) = decide_family([rule], [mean_se(_diffs(rng, (R, n), -big))])
    if np.mean(a.powered) > 0.95:  # where the gate claims power, the FAIL test has it
        assert np.mean(a.outcome == FAIL) >= rule.power - 3 * math.sqrt(0.16 / R)


def test_defect_1_five_point_drop_on_100_items_does_not_pass_zero_tolerance() -> None:
    """Old code: PASS 74% of the time (no power requirement for max_drop 0)."""
    rng = np.random.default_rng(1)
    out = _outcomes(GateRule("max_drop", 0.0), _diffs(rng, (R, 100), -0.05))
    assert np.mean(out == PASS) <= 0.05


def test_defect_2_ten_tasks_at_their_tolerance_fail_the_suite_at_most_alpha() -> None:
    """Old code: 21.5% suite FAIL (Holm on the wrong test, CI decided unadjusted)."""
    rng = np.random.default_rng(2)
    rule = GateRule("max_drop", 0.02)
    d = _diffs(rng, (R, 10, 400), -0.02)
    arrays = decide_family([rule] * 10, [mean_se(d[:, j]) for j in range(10)])
    suite_fail = np.any(np.stack([a.outcome == FAIL for a in arrays]), axis=0)
    assert np.mean(suite_fail) <= 0.05 + SLACK


def test_defect_3_57_aa_tasks_of_100_items() -> None:
    """Old code: 58% FAIL. Now the family's FAIL rate is controlled; INCONCLUSIVE says why (power)."""
    rng = np.random.default_rng(3)
    rule = GateRule("max_drop", 0.02)
    reps = 300
    d = _diffs(rng, (reps, 57, 100), 0.0)
    arrays = decide_family([rule] * 57, [mean_se(d[:, j]) for j in range(57)])
    out = np.stack([a.outcome for a in arrays], axis=-1)
    assert np.mean((out == FAIL).any(axis=-1)) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps)
    assert np.all(~np.stack([a.powered for a in arrays])[out.T == INCONCLUSIVE])


def test_defect_6_aa_outcome_is_stable_at_n_400() -> None:
    """Old code: 74% PASS / 26% INCONCLUSIVE on A/A at n=400, max_drop 0.05 (SD from the CI width)."""
    rng = np.random.default_rng(6)
    for q in (0.1, 0.2):
        out = _outcomes(GateRule("max_drop", 0.05), _diffs(rng, (R, 400), 0.0, q=q))
        top = max(np.mean(out == PASS), np.mean(out == INCONCLUSIVE))
        assert top >= 0.95, (q, np.mean(out == PASS))


def test_clustered_se_keeps_the_fail_rate_under_cluster_effects() -> None:
    """57 subjects x 100 items with subject-level shifts: per-item SE over-fails, cluster-robust does not."""
    rng = np.random.default_rng(7)
    reps, k, per = 400, 57, 100
    labels = np.repeat(np.arange(k), per)
    rule = GateRule("max_drop", 0.02)
    shift = np.clip(-0.02 + rng.normal(0.0, 0.08, (reps, k)), -Q, Q)
    d = _diffs(rng, (reps, k * per), np.repeat(shift, per, axis=1))
    naive = decide_family([rule], [mean_se(d)])[0].outcome
    robust = decide_family([rule], [mean_se(d, clusters=labels)])[0].outcome
    assert np.mean(robust == FAIL) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps)
    assert np.mean(naive == FAIL) > np.mean(robust == FAIL) + 0.03
