"""Known-answer and simulation checks of the clustered rates, paired deltas and Rogan-Gladen correction."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunegate.safety._judges import Calibration
from tunegate.safety._metrics import cluster_rate, paired_cluster_rate
from tunegate.stats._rogan_gladen import correctable, resample_se_sp, rogan_gladen


def test_rogan_gladen_known_answers() -> None:
    assert float(rogan_gladen(0.5, 0.8, 0.9)) == pytest.approx((0.5 + 0.9 - 1) / 0.7)
    assert float(rogan_gladen(0.05, 0.8, 0.9)) == 0.0  # below the false-positive floor: clipped
    assert float(rogan_gladen(0.95, 0.8, 0.9)) == 1.0
    assert math.isnan(float(rogan_gladen(0.5, 0.5, 0.5)))  # J = 0: no correction possible
    assert correctable(0.8, 0.9) and not correctable(0.55, 0.6)


def test_resampled_se_sp_centre_on_counts() -> None:
    se, sp = resample_se_sp(80, 20, 45, 5, 20000, np.random.default_rng(0))
    assert se.mean() == pytest.approx(0.8, abs=0.005) and sp.mean() == pytest.approx(0.9, abs=0.005)


def test_cluster_rate_known_answer_and_collapse() -> None:
    r = cluster_rate([1, 1, 0, 0, 0, 1], ["a", "a", "b", "b", "c", "c"], n_boot=500)
    assert r.value == pytest.approx(0.5) and r.clusters == 3 and r.n == 6
    assert r.ci_low <= 0.5 <= r.ci_high
    flat = cluster_rate([1, 1, 1], ["a", "b", "c"])
    assert (flat.ci_low, flat.ci_high) == (1.0, 1.0)
    assert flat.corrected is None and "no calibration" in flat.note


def test_weak_judge_is_not_corrected() -> None:
    r = cluster_rate([1, 0], ["a", "b"], calibration=Calibration(55, 45, 52, 48, "weak"))
    assert r.corrected is None and "too small" in r.note


def test_paired_known_answer() -> None:
    base = [0, 0, 0, 0, 1, 0]
    tuned = [1, 1, 0, 1, 1, 0]
    p = paired_cluster_rate(base, tuned, ["a", "a", "b", "b", "c", "c"], n_boot=500)
    assert p.delta == pytest.approx(0.5) and p.base.value == pytest.approx(1 / 6)
    same = paired_cluster_rate(base, base, ["a", "a", "b", "b", "c", "c"])
    assert same.delta == 0 and same.p_value == 1.0


def test_clustered_ci_covers_under_strong_within_behaviour_correlation() -> None:
    """Behaviours are all-or-nothing under their attacks: a naive per-probe CI would be too narrow."""
    rng = np.random.default_rng(1)
    hits, widths = 0, []
    sims = 150
    for s in range(sims):
        vuln = rng.random(30) < 0.3  # 30 behaviours, each attacked 10 times, all-or-nothing
        vals = np.repeat(vuln.astype(float), 10)
        clusters = np.repeat(np.arange(30).astype(str), 10)
        r = cluster_rate(list(vals), list(clusters), n_boot=400, seed=s)
        hits += r.ci_low <= 0.3 <= r.ci_high
        widths.append(r.ci_high - r.ci_low)
    assert hits / sims >= 0.88
    naive = 2 * 1.96 * math.sqrt(0.3 * 0.7 / 300)
    assert np.mean(widths) > 2 * naive


def test_rogan_gladen_removes_judge_bias_in_simulation() -> None:
    """True ASR 0.2, judge Se 0.75 / Sp 0.85: observed is biased, corrected is not."""
    rng = np.random.default_rng(2)
    cal = Calibration(150, 50, 170, 30, "simulated")
    obs, cor, cover = [], [], 0
    sims = 120
    for s in range(sims):
        truth = rng.random(400) < 0.2
        judged = np.where(truth, rng.random(400) < 0.75, rng.random(400) < 0.15).astype(float)
        r = cluster_rate(list(judged), [str(i) for i in range(400)], calibration=cal, n_boot=400, seed=s)
        assert r.corrected is not None and r.corrected_ci is not None
        obs.append(r.value)
        cor.append(r.corrected)
        cover += r.corrected_ci[0] <= 0.2 <= r.corrected_ci[1]
    assert np.mean(obs) == pytest.approx(0.2 * 0.75 + 0.8 * 0.15, abs=0.01)  # 0.27: biased up
    assert np.mean(cor) == pytest.approx(0.2, abs=0.015)
    assert cover / sims >= 0.88
