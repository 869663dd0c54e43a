"""Simulated replays: the gate's false-fail rate on A/A comparisons and its power against known drops.

A "recorded" per-item correctness vector is drawn once from item difficulties; every model run replays
it with each item flipped independently with probability FLIP (decoding noise). Bounds use the binomial
SD of TRIALS runs: at a nominal 5% rate the fail count has mean 10 and SD sqrt(200 * .05 * .95) = 3.1,
so "at most 5% + 2 SD" is at most 16 of 200. The gate's real A/A fail rate is alpha/2 = 2.5% (one side
of a 95% CI), so this bound has a wide margin, and the simulation is seeded, hence not flaky.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunegate.stats import (
    GateDecision,
    PairedEstimate,
    detection_power,
    gate_decision,
    items_needed,
    paired_bootstrap,
)

N_ITEMS = 400
TRIALS = 200
FLIP = 0.1
N_BOOT = 1000
MAX_FAILS = 16  # 5% of 200 = 10, plus 2 binomial SDs (3.1) -> 16.2
DROP_ITEMS = 20  # injected drop: 20 of 400 items = 5 points


def _recorded(rng: np.random.Generator) -> np.ndarray:
    difficulty = rng.normal(0.0, 1.5, N_ITEMS)
    return (rng.random(N_ITEMS) < 1.0 / (1.0 + np.exp(difficulty - 1.0))).astype(np.float64)


def _run(recorded: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    flipped = rng.random(recorded.size) < FLIP
    return np.where(flipped, 1.0 - recorded, recorded)


def _with_drop(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = scores.copy()
    out[rng.choice(np.flatnonzero(out == 1.0), DROP_ITEMS, replace=False)] = 0.0
    return out


@pytest.fixture(scope="module")
def aa_estimates() -> list[PairedEstimate]:
    rng = np.random.default_rng(20240501)
    recorded = _recorded(rng)
    return [
        paired_bootstrap(_run(recorded, rng), _run(recorded, rng), n_boot=N_BOOT, seed=i)
        for i in range(TRIALS)
    ]


@pytest.fixture(scope="module")
def drop_estimates() -> list[PairedEstimate]:
    rng = np.random.default_rng(7)
    recorded = _recorded(rng)
    return [
        paired_bootstrap(_run(recorded, rng), _with_drop(_run(recorded, rng), rng), n_boot=N_BOOT, seed=i)
        for i in range(TRIALS)
    ]


def _outcomes(decisions: list[GateDecision]) -> dict[str, int]:
    return {k: sum(d.outcome == k for d in decisions) for k in ("pass", "fail", "inconclusive")}


def test_aa_zero_tolerance_fails_at_most_nominal(aa_estimates: list[PairedEstimate]) -> None:
    counts = _outcomes([gate_decision(e, max_drop=0.0) for e in aa_estimates])
    assert counts["fail"] <= MAX_FAILS, counts
    assert counts["pass"] >= TRIALS - MAX_FAILS, counts


def test_aa_powered_tolerance_passes(aa_estimates: list[PairedEstimate]) -> None:
    """With max_drop 0.07, 400 items suffice (detectable excess ~0.06), so A/A must pass >= 92%."""
    counts = _outcomes([gate_decision(e, max_drop=0.07) for e in aa_estimates])
    assert counts["pass"] >= TRIALS - MAX_FAILS, counts


def test_aa_underpowered_tolerance_is_inconclusive(aa_estimates: list[PairedEstimate]) -> None:
    """max_drop 0.01 on 400 noisy items cannot be judged: the gate says so and asks for ~14k items."""
    decisions = [gate_decision(e, max_drop=0.01) for e in aa_estimates]
    counts = _outcomes(decisions)
    assert counts["fail"] <= MAX_FAILS and counts["inconclusive"] >= TRIALS // 2, counts
    # discordance 2 * FLIP * (1 - FLIP) = 0.18, so sd ~ sqrt(0.18)
    analytic = items_needed(0.01, math.sqrt(2 * FLIP * (1 - FLIP)), alpha=0.025)
    needed = [d.items_needed for d in decisions if d.outcome == "inconclusive"]
    assert all(x is not None for x in needed)
    assert float(np.median([x for x in needed if x is not None])) == pytest.approx(analytic, rel=0.15)


def test_aa_bootstrap_ci_coverage(aa_estimates: list[PairedEstimate]) -> None:
    """The true delta is 0; the 95% CI should cover it in >= 95% - 3 SD (0.015) = 90% of trials."""
    covered = sum(e.ci_low <= 0.0 <= e.ci_high for e in aa_estimates)
    assert covered >= 180


@pytest.mark.parametrize("max_drop", [0.0, 0.01])
def test_known_drop_is_caught_with_analytic_power(
    drop_estimates: list[PairedEstimate], max_drop: float
) -> None:
    """A 5-point drop fails at least as often as the normal-approximation power claims, minus 3 SD."""
    caught = sum(gate_decision(e, max_drop=max_drop).outcome == "fail" for e in drop_estimates) / TRIALS
    sd = float(np.mean([e.sd_delta for e in drop_estimates if e.sd_delta is not None]))
    claimed = detection_power(DROP_ITEMS / N_ITEMS - max_drop, sd, N_ITEMS, alpha=0.025, one_sided=True)
    slack = 3.0 * math.sqrt(claimed * (1.0 - claimed) / TRIALS)
    assert caught >= claimed - slack, (caught, claimed)
    assert caught <= claimed + slack, (caught, claimed)  # calibrated, not merely conservative


def test_continuous_aa_fails_at_most_nominal() -> None:
    """A/A on a continuous [0, 1] score (ROUGE-like) uses the sign-flip test; same bound."""
    rng = np.random.default_rng(11)
    item_mean = rng.beta(2.0, 2.0, 200)

    def run() -> np.ndarray:
        return np.clip(item_mean + rng.normal(0.0, 0.1, item_mean.size), 0.0, 1.0)

    estimates = [paired_bootstrap(run(), run(), n_boot=N_BOOT, seed=i) for i in range(TRIALS)]
    counts = _outcomes([gate_decision(e, max_drop=0.0) for e in estimates])
    assert counts["fail"] <= MAX_FAILS, counts
    assert "sign-flip" in estimates[0].method
