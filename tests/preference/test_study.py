"""Study logic on SQLite and PostgreSQL: balanced assignment, concurrent votes, results, the judge."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from tests.preference.conftest import Study, build_study
from tunegate.preference import ItemSpec, StudySettings, StudyStore, study_results
from tunegate.preference._judge import parse_verdict, run_judge
from tunegate.store import open_store


def test_assignment_is_balanced_k_raters_per_item(db_url: str) -> None:
    s = build_study(db_url, n=12, overlap=3, per_rater=6, raters=6)
    try:
        load = Counter(a.item_id for r in s.ss.raters(s.id) for a in s.ss.queue(r))
        assert set(load.values()) == {3} and len(load) == 12  # 6 raters x 6 = 36 = 12 items x 3
        for r in s.ss.raters(s.id):
            q = s.ss.queue(r)
            assert len({a.item_id for a in q}) == len(q) == 6  # never the same item twice
    finally:
        s.ss.store.close()


def test_concurrent_votes_lose_nothing_and_count_once(study: Study) -> None:
    raters = study.ss.raters(study.id)
    errors: list[BaseException] = []

    def hammer(rater_idx: int, pos: int) -> None:
        try:
            study.ss.vote(raters[rater_idx], pos, "A")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    # every (rater, position) voted by 3 threads at once: the same vote racing itself
    threads = [
        threading.Thread(target=hammer, args=(r, p)) for r in range(2) for p in range(6) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    votes = study.ss.votes(study.id)
    assert len(votes) == 12 and len({(v["rater_id"], v["item_id"]) for v in votes}) == 12
    assert len(study.ss.history(study.id)) == 36
    assert sorted(v["revision"] for v in votes) == [3] * 12


def test_results_statistics_on_known_votes(study: Study) -> None:
    for r in study.ss.raters(study.id):
        for a in study.ss.queue(r):
            tuned_is_a = a.answer_a.startswith("Tuned")
            choice = "A" if tuned_is_a else "B"
            if a.item_id == 0:
                choice = "tie"
            study.ss.vote(r, a.position, choice)
    res = study_results(study.ss, study.id, n_boot=300)
    wr = res["win_rate"]
    assert (wr["wins"], wr["losses"], wr["ties"]) == (10, 0, 2)
    assert wr["rate"] == (10 + 1) / 12
    assert res["clustered"] is not None  # two raters per item
    assert res["agreement"]["krippendorff_alpha"] == 1.0
    assert res["tags"]["code"]["n"] == 6
    assert res["length"]["n"] == 12
    assert res["bradley_terry"] is None


def test_bradley_terry_for_three_models(tmp_path: Path) -> None:
    ss = StudyStore(open_store(f"sqlite:///{tmp_path / 'bt.db'}"))
    models = {"m1": "s1", "m2": "s2", "m3": "s3"}
    items = [
        ItemSpec(f"q{i}", x, y, f"{x} says {i}", f"{y} says {i}")
        for i in range(10)
        for x, y in [("m1", "m2"), ("m1", "m3"), ("m2", "m3")]
    ]
    sid, _ = ss.create_study(StudySettings("bt", models, "m1", "m3", overlap=1, items_per_rater=30), items)
    ((rater, _),) = ss.invite(sid, ["r"])
    rank = {"m1": 0, "m2": 1, "m3": 2}
    for a in ss.queue(rater):
        left = a.answer_a.split()[0]
        right = a.answer_b.split()[0]
        ss.vote(
            rater,
            a.position,
            "A" if rank[left] > rank[right] or (a.item_id % 5 == 0 and rank[left] < rank[right]) else "B",
        )
    bt = study_results(ss, sid, n_boot=100)["bradley_terry"]
    assert [b["model"] for b in bt] == ["m3", "m2", "m1"]
    ss.store.close()


def test_judge_both_orders_and_agreement_with_humans(study: Study, tiny_model_dir: Path) -> None:
    assert parse_verdict(" 2.") == "2" and parse_verdict("Tie!") == "tie" and parse_verdict("??") == "tie"
    for r in study.ss.raters(study.id):
        for a in study.ss.queue(r):
            study.ss.vote(r, a.position, "A" if a.answer_a.startswith("Tuned") else "B")
    n = run_judge(study.ss, study.id, f"hf:{tiny_model_dir}")
    assert n == 6
    judged = study.ss.judgements(study.id)
    for j in judged:
        o1, o2 = j["detail"]["orders"]
        consistent = (o1, o2) in (("1", "2"), ("2", "1"))
        assert (j["winner"] != "tie") == consistent
    res = study_results(study.ss, study.id, n_boot=200)
    agree = res["judge"]["agreement"]
    assert agree["items"] == 6
    expected = sum(j["winner"] == "tuned" for j in judged) / 6  # the human majority is "tuned" everywhere
    assert agree["accuracy_vs_human_majority"] == expected
    assert res["preference"]["source"] == "judge"  # 12 human votes < 30: the judge's estimate is used
