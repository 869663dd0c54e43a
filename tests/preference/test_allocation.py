"""Uncertainty allocation: the draw rule, its unbiasedness by simulation, and a study on both stores."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.preference.conftest import SECRETS, make_items
from tunegate.preference import StudySettings, StudyStore, create_app, study_results
from tunegate.preference._allocation import selection_probs
from tunegate.stats._winrate import des_raj_win_rate
from tunegate.store import open_store


def test_selection_probs_put_unrated_and_contested_items_first_with_a_floor() -> None:
    # items: unrated, 4 agreeing votes, 4 split votes, not eligible
    p = selection_probs([0, 4, 2, 0], [0, 4, 4, 0], [True, True, True, False], floor=0.3)
    assert p.sum() == pytest.approx(1.0)
    assert p[3] == 0.0
    assert p[0] > p[2] > p[1] >= 0.3 / 3
    flat = selection_probs([0, 4, 2], [0, 4, 4], [True] * 3, floor=1.0)
    assert flat == pytest.approx([1 / 3] * 3)
    batch = selection_probs(np.zeros((5, 4)), np.zeros((5, 4)), np.ones((5, 4), bool))
    assert batch.sum(axis=1) == pytest.approx([1.0] * 5)
    with pytest.raises(ValueError):
        selection_probs([0], [0], [True], floor=0.0)


def test_des_raj_known_values() -> None:
    # one rater, 4 items; draws with probabilities 1/2 then 1/3: z1 = (0 + 1/0.5)/4, z2 = (1 + 0.5/(1/3))/4
    wr = des_raj_win_rate([[(1.0, 0.5), (0.5, 1 / 3)]], 4)
    assert wr.rate == pytest.approx((0.5 + 2.5 / 4) / 2)
    assert (wr.wins, wr.ties, wr.n, wr.method) == (1, 1, 2, "des-raj")
    assert (wr.ci_low, wr.ci_high) == (0.0, 1.0)  # one rater: no between-rater spread to go by
    # an item outside the headline pair scores nothing but its draw still counts
    assert des_raj_win_rate([[(None, 0.5)], [(1.0, 0.25)]], 4).rate == pytest.approx(0.5)
    with pytest.raises(ValueError):
        des_raj_win_rate([[(1.0, 0.0)]], 4)


def _simulate(floor: float, sims: int = 2000, seed: int = 0) -> tuple[float, np.ndarray, np.ndarray, float]:
    """Studies of 20 items and 10 raters x 16 votes allocated by uncertainty, vectorised over studies.

    14 items are clear wins for the candidate (0.95), 6 are contested (0.4 win, 0.2 no preference):
    uncertainty allocation gives the contested ones more votes, so the plain mean leans to them."""
    rng = np.random.default_rng(seed)
    n, raters, per = 20, 10, 16
    p_win = np.where(np.arange(n) < 14, 0.95, 0.4)
    p_tie = np.where(np.arange(n) < 14, 0.0, 0.2)
    truth = float((p_win + p_tie / 2).mean())
    u = rng.random((sims, raters, n))
    votes = np.where(u < p_win, 1.0, np.where(u < p_win + p_tie, 0.5, 0.0))  # each rater's view
    sums, counts = np.zeros((sims, n)), np.zeros((sims, n))
    seen = np.zeros((sims, raters, n), bool)
    steps: list[list[list[tuple[float | None, float]]]] = [[[] for _ in range(raters)] for _ in range(sims)]
    raw = np.zeros(sims)
    s_idx = np.arange(sims)
    for r in rng.permutation(np.repeat(np.arange(raters), per)):  # raters interleave
        p = selection_probs(sums, counts, ~seen[:, r, :], floor)
        pick = np.minimum((rng.random((sims, 1)) > p.cumsum(axis=1)).sum(axis=1), n - 1)
        y, prob = votes[s_idx, r, pick], p[s_idx, pick]
        sums[s_idx, pick] += y
        counts[s_idx, pick] += 1
        seen[s_idx, r, pick] = True
        raw += y
        for s in range(sims):
            steps[s][r].append((float(y[s]), float(prob[s])))
    est = [des_raj_win_rate(steps[s], n) for s in range(sims)]
    rates = np.array([e.rate for e in est])
    covered = np.mean([e.ci_low <= truth <= e.ci_high for e in est])
    return truth, rates, raw / (raters * per), float(covered)


def test_uncertainty_allocation_keeps_the_win_rate_unbiased_by_simulation() -> None:
    """2,000 simulated studies: the Des Raj estimate is unbiased, the plain mean is not, CIs cover."""
    truth, rates, raw, covered = _simulate(floor=0.2)
    se = rates.std() / np.sqrt(rates.size)
    assert abs(rates.mean() - truth) < 4 * se, (rates.mean(), truth, se)
    # the test has power: the unweighted mean of the same votes is biased towards contested items
    raw_se = raw.std() / np.sqrt(raw.size)
    assert truth - raw.mean() > 8 * raw_se, (raw.mean(), truth, raw_se)
    assert covered >= 0.93, covered


def _uncertainty_study(url: str, n: int = 8, per_rater: int = 5) -> tuple[StudyStore, str, dict[str, str]]:
    ss = StudyStore(open_store(url))
    settings = StudySettings(
        "adaptive",
        dict(SECRETS),
        "base",
        "tuned",
        items_per_rater=per_rater,
        allocation="uncertainty",
        floor=0.25,
    )
    sid, _ = ss.create_study(settings, make_items(n))
    return ss, sid, {r.name: tok for r, tok in ss.invite(sid, ["ann", "bob", "cy"])}


def test_uncertainty_study_draws_items_one_at_a_time_and_reweights(db_url: str) -> None:
    ss, sid, tokens = _uncertainty_study(db_url)
    try:
        assert ss.assignments(sid) == []  # nothing is drawn at invite time
        for name, token in tokens.items():
            c = TestClient(create_app(ss), follow_redirects=False)
            c.get(f"/invite/{token}")
            seen = []
            for k in range(5):
                nxt = c.get("/api/next").json()
                assert nxt["total"] == 5 and nxt["done"] == k
                assert c.get("/api/next").json()["item"]["position"] == k  # asking again draws nothing new
                h = {"X-CSRF-Token": nxt["csrf"]}
                early = c.post("/api/vote", json={"position": k + 1, "choice": "A"}, headers=h)
                assert early.status_code == 400  # the next item is not drawn before this one is voted
                r = c.post(
                    "/api/vote", json={"position": k, "choice": "B" if name != "cy" else "A"}, headers=h
                )
                assert r.status_code == 200 and r.json()["total"] == 5
                seen.append(nxt["item"]["query"])
            assert len(set(seen)) == 5  # never the same item twice
            assert c.get("/api/next").json()["item"] is None
            assert c.get("/rate").status_code == 200
        rows = ss.assignments(sid)
        assert len(rows) == 15 and all(0 < r["prob"] <= 1 for r in rows)
        ann = next(r.id for r in ss.raters(sid) if r.name == "ann")
        first = next(r for r in rows if r["rater_id"] == ann and r["position"] == 0)
        assert first["prob"] == pytest.approx(1 / 8)  # the first draw: every item unrated, all equal
        res = study_results(ss, sid, n_boot=200)
        assert res["study"]["allocation"] == "uncertainty"
        dw = res["design_weighted"]
        assert dw is not None and dw["method"] == "des-raj" and dw["n"] == 15
        assert res["preference"]["method"] == "des-raj" and res["preference"]["win_rate"] == dw["rate"]
        assert res["preference"]["decided"] is False
    finally:
        ss.store.close()


def test_balanced_default_still_fixes_k_raters_per_item_at_invite(db_url: str) -> None:
    ss = StudyStore(open_store(db_url))
    try:
        settings = StudySettings("b", dict(SECRETS), "base", "tuned", overlap=2, items_per_rater=4)
        sid, _ = ss.create_study(settings, make_items(6))
        ss.invite(sid, ["a", "b", "c"])
        rows = ss.assignments(sid)
        per_item = np.bincount([r["item_id"] for r in rows], minlength=6)
        assert sorted(per_item) == [2] * 6 and all(r["prob"] is None for r in rows)
        res = study_results(ss, sid, n_boot=100)
        assert res["design_weighted"] is None and res["study"]["allocation"] == "balanced"
        with pytest.raises(Exception, match="allocation must be one of"):
            ss.create_study(
                StudySettings("x", dict(SECRETS), "base", "tuned", allocation="greedy"), make_items(2)
            )
    finally:
        ss.store.close()
