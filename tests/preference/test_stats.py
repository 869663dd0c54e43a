"""Preference statistics against known answers (tests/preference/data) and by simulation."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pytest

from tunegate.stats._agreement import (
    cohen_kappa,
    krippendorff_alpha,
    near_chance_raters,
    pairwise_kappas,
)
from tunegate.stats._bradley_terry import bradley_terry, bt_strengths
from tunegate.stats._confseq import betting_log_wealth, confidence_sequence
from tunegate.stats._prefbias import length_controlled, per_tag, position_bias
from tunegate.stats._winrate import clustered_win_rate, sign_test, wilson_interval, win_rate

KNOWN: dict[str, Any] = json.loads((Path(__file__).parent / "data" / "known_answers.json").read_text())


@pytest.mark.parametrize("case", KNOWN["wilson"])
def test_wilson_known_values(case: dict[str, Any]) -> None:
    lo, hi = wilson_interval(case["successes"], case["n"])
    assert lo == pytest.approx(case["low"], abs=5e-5)
    assert hi == pytest.approx(case["high"], abs=5e-5)


@pytest.mark.parametrize("case", KNOWN["sign_test"])
def test_sign_test_known_values(case: dict[str, Any]) -> None:
    assert sign_test(case["wins"], case["losses"]) == pytest.approx(case["p"], rel=1e-9)


def test_win_rate_counts_ties_and_both_bad_as_half_and_sign_test_ignores_them() -> None:
    votes = [1.0] * 9 + [0.0] + [0.5] * 10  # 9 wins, 1 loss, 10 ties/both-bad
    wr = win_rate(votes)
    assert (wr.wins, wr.losses, wr.ties, wr.n) == (9, 1, 10, 20)
    assert wr.rate == pytest.approx(14 / 20)
    assert wr.p_value == pytest.approx(KNOWN["sign_test"][0]["p"])
    assert (wr.ci_low, wr.ci_high) == pytest.approx(wilson_interval(14, 20))
    with pytest.raises(ValueError):
        win_rate([0.3])


def test_clustered_bootstrap_is_wider_than_wilson_when_raters_agree_within_items() -> None:
    rng = np.random.default_rng(0)
    item_pref = rng.choice([0.0, 1.0], size=40, p=[0.4, 0.6])
    scores = np.repeat(item_pref, 5)  # 5 raters per item, all agreeing: 40 effective votes, not 200
    items = np.repeat(np.arange(40), 5)
    naive = win_rate(scores)
    cl = clustered_win_rate(scores, items, n_boot=2000)
    assert cl.rate == pytest.approx(naive.rate)
    assert (cl.ci_high - cl.ci_low) > 1.8 * (naive.ci_high - naive.ci_low)
    per_item = win_rate(item_pref)  # the honest width is about that of 40 independent votes
    assert (cl.ci_high - cl.ci_low) == pytest.approx(per_item.ci_high - per_item.ci_low, rel=0.25)


@pytest.mark.parametrize("case", KNOWN["kappa"])
def test_cohen_kappa_known_values(case: dict[str, Any]) -> None:
    a = ["y"] * (case["yy"] + case["yn"]) + ["n"] * (case["ny"] + case["nn"])
    b = ["y"] * case["yy"] + ["n"] * case["yn"] + ["y"] * case["ny"] + ["n"] * case["nn"]
    assert cohen_kappa(a, b) == pytest.approx(case["kappa"], abs=5e-5)


def _coders() -> dict[int, dict[int, int]]:
    rows = KNOWN["alpha_nominal"]["coders"]
    return {c: {u: v for u, v in enumerate(row) if v is not None} for c, row in enumerate(rows)}


def test_krippendorff_alpha_known_value_and_package() -> None:
    assert krippendorff_alpha(_coders()) == pytest.approx(KNOWN["alpha_nominal"]["alpha"], abs=5e-4)
    rng = np.random.default_rng(3)
    for _ in range(20):
        data = rng.integers(0, 4, size=(5, 30)).astype(float)
        data[rng.random(data.shape) < 0.3] = np.nan
        ours = krippendorff_alpha(
            {c: {u: int(v) for u, v in enumerate(row) if not np.isnan(v)} for c, row in enumerate(data)}
        )
        ref = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        assert ours == pytest.approx(ref, abs=1e-9)


def test_near_chance_rater_is_flagged_and_agreeing_raters_are_not() -> None:
    rng = np.random.default_rng(1)
    truth = rng.choice(["tuned", "base", "tie"], size=60)
    ratings: dict[str, dict[int, str]] = {}
    for r in ("r1", "r2", "r3"):
        ratings[r] = {
            i: (t if rng.random() < 0.9 else str(rng.choice(["tuned", "base"]))) for i, t in enumerate(truth)
        }
    ratings["coin"] = {i: str(rng.choice(["tuned", "base", "tie"])) for i in range(60)}
    flags = {f.rater: f for f in near_chance_raters(ratings)}
    assert flags["coin"].near_chance
    assert not any(flags[r].near_chance for r in ("r1", "r2", "r3"))
    pairs = {(p.rater_a, p.rater_b): p for p in pairwise_kappas(ratings)}
    assert pairs[("r1", "r2")].kappa is not None and pairs[("r1", "r2")].kappa > 0.6
    assert pairs[("coin", "r1")].n == 60


def test_bradley_terry_two_models_has_the_closed_form() -> None:
    case = KNOWN["bradley_terry_two_models"]
    votes = [1.0] * case["wins"] + [0.0] * case["losses"]
    r = {x.model: x for x in bradley_terry(["a"] * len(votes), ["b"] * len(votes), votes, n_boot=200)}
    assert r["a"].rating - r["b"].rating == pytest.approx(case["rating_diff"], abs=0.01)
    assert r["a"].ci_low < r["a"].rating < r["a"].ci_high


def test_bradley_terry_mle_satisfies_the_score_equations_and_recovers_strengths() -> None:
    rng = np.random.default_rng(2)
    true = np.array([0.0, 100.0, 250.0])
    a, b, s = [], [], []
    for _ in range(3000):
        i, j = rng.choice(3, size=2, replace=False)
        p = 1 / (1 + 10 ** ((true[j] - true[i]) / 400))
        a.append(f"m{i}")
        b.append(f"m{j}")
        s.append(float(rng.random() < p))
    ratings = {x.model: x for x in bradley_terry(a, b, s, n_boot=100)}
    diff = ratings["m2"].rating - ratings["m0"].rating
    assert diff == pytest.approx(250, abs=40)
    assert ratings["m2"].ci_low < ratings["m2"].rating < ratings["m2"].ci_high
    w = np.zeros((3, 3))
    for x, y, v in zip(a, b, s, strict=True):
        w[int(x[1]), int(y[1])] += v
        w[int(y[1]), int(x[1])] += 1 - v
    p = bt_strengths(w)
    games = w + w.T
    expected = (games * p[:, None] / (p[:, None] + p[None, :])).sum(axis=1)
    assert expected == pytest.approx(w.sum(axis=1), rel=1e-6)


def test_confidence_sequence_coverage_with_peeking_after_every_vote() -> None:
    """1,000 simulated studies per truth, 400 votes each, the owner looking after every vote."""
    rng = np.random.default_rng(12345)
    threshold = math.log(1 / 0.05)
    for probs in [(0.5, 0.2, 0.3), (0.25, 0.5, 0.25), (0.65, 0.15, 0.2), (0.1, 0.1, 0.8)]:
        x = rng.choice([1.0, 0.5, 0.0], p=probs, size=(1000, 400))
        truth = probs[0] + probs[1] / 2
        ever_excluded = (betting_log_wealth(x, truth) >= threshold).any(axis=1)
        coverage = 1 - ever_excluded.mean()
        assert coverage >= 0.95, (probs, coverage)


def test_confidence_sequence_decides_a_clear_difference_and_projects_votes_otherwise() -> None:
    rng = np.random.default_rng(7)
    clear = rng.choice([1.0, 0.5, 0.0], p=[0.7, 0.1, 0.2], size=150)
    cs = confidence_sequence(clear)
    assert cs.decided and cs.verdict == "candidate wins" and cs.more_votes is None
    assert cs.low > 0.5 and cs.low <= cs.estimate <= cs.high
    early = clear[:15]
    cs15 = confidence_sequence(early)
    assert not cs15.decided and cs15.more_votes is not None and cs15.more_votes > 0
    # the sequence is narrower than nothing and contains the Wilson interval's centre
    lo, hi = wilson_interval(float(clear.sum()), clear.size)
    assert cs.low < (lo + hi) / 2 < cs.high
    assert confidence_sequence([]).verdict == "undecided"
    assert confidence_sequence([0.5] * 50).more_votes is None


def test_position_bias_length_control_and_tags() -> None:
    pb = position_bias([True] * 30 + [False] * 10 + [None] * 5)
    assert (pb.left_wins, pb.decisive) == (30, 40) and pb.p_value < 0.01
    rng = np.random.default_rng(5)
    d = rng.normal(0, 200, size=2000)
    # raters prefer the longer answer; at equal length it is a coin flip
    p = 1 / (1 + np.exp(-2.0 * np.tanh(d / d.std())))
    y = (rng.random(2000) < p).astype(float)
    lc = length_controlled(y, d)
    assert lc.length_coef == pytest.approx(2.0, abs=0.4)
    assert lc.lc_win_rate == pytest.approx(0.5, abs=0.05)
    assert lc.win_rate_when_longer is not None and lc.win_rate_when_longer > 0.7
    tags = per_tag([1.0, 0.0, 1.0, 0.5], [["code"], ["chat"], ["code", "chat"], []])
    assert tags["code"].rate == 1.0 and tags["chat"].rate == 0.5 and set(tags) == {"code", "chat"}
