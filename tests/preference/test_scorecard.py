"""The scorecard's preference row and gates, fed from an A/B study of a stored compare run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.preference.test_cli import Server, _run
from tunegate.runner._result import ScorecardRow
from tunegate.runner._scorecard import DIMENSIONS, preference_gates, with_preference


def _pref(rate: float, lo: float, hi: float, n: int, source: str = "human") -> dict[str, object]:
    return {"study_id": "s1", "source": source, "win_rate": rate, "ci_low": lo, "ci_high": hi, "n": n}


def test_preference_gates_and_row() -> None:
    win, loss = preference_gates(_pref(0.62, 0.52, 0.71, 80))
    assert (win.outcome, loss.outcome) == ("pass", "pass") and win.task == "A/B study s1"
    win, loss = preference_gates(_pref(0.30, 0.20, 0.42, 80))
    assert (win.outcome, loss.outcome) == ("fail", "fail") and "significant loss" in loss.reason
    win, loss = preference_gates(_pref(0.45, 0.30, 0.60, 80))
    assert (win.outcome, loss.outcome) == ("fail", "pass")  # below 50%, not significantly
    win, loss = preference_gates(_pref(0.70, 0.40, 0.90, 10))
    assert win.outcome == "inconclusive" and "too few" in win.reason  # 10 human votes, no judge
    (win,) = preference_gates(_pref(0.70, 0.40, 0.90, 10, "judge"), ["min_win_rate"])
    assert win.outcome == "pass"  # the judge's estimate stands in for too few votes
    with pytest.raises(ValueError, match="unknown preference gate"):
        preference_gates(_pref(0.5, 0.4, 0.6, 40), ["max_win"])
    rows = [ScorecardRow(d, label, "not run") for d, label in DIMENSIONS]
    gates = preference_gates(_pref(0.30, 0.20, 0.42, 80, "judge"))
    out = with_preference(rows, _pref(0.30, 0.20, 0.42, 80, "judge"), gates)
    assert [r.dimension for r in out] == [d for d, _ in DIMENSIONS]
    row = next(r for r in out if r.dimension == "preference")
    assert row.status == "ok" and row.metric == "judge win rate" and row.gate == "fail"
    assert (row.tuned, row.base, row.n) == (0.30, 0.5, 80)
    assert row.delta == pytest.approx(-0.2) and row.ci_high == pytest.approx(-0.08)


def test_votes_on_a_study_of_a_stored_run_fill_the_preference_row_and_gate(
    tmp_path: Path, tiny_model_dir: Path, tiny_adapter_dir: Path
) -> None:
    """compare run -> ab create --from-run -> re-render (no row) -> judge (row from the judge) ->
    30 votes through the real server for the base answer -> re-render: human row, both gates fail."""
    from tunegate.preference import StudyStore
    from tunegate.runner._compare import CompareConfig, compare_models
    from tunegate.store import open_store
    from tunegate.suite._load import load_suite

    db = f"sqlite:///{tmp_path / 'c.db'}"
    suite = tmp_path / "s.yaml"
    suite.write_text("name: gen\ntasks:\n  - task: triviaqa\n    limit: 10\n")
    spec = f"hf:{tiny_model_dir}"
    store = open_store(db)
    res = compare_models(
        CompareConfig(suite=load_suite(suite), base=spec, tuned=f"{spec}?adapter={tiny_adapter_dir}"), store
    )
    run_id, stored_exit = res.run_id, res.exit_code
    store.close()
    assert stored_exit != 1

    r = _run("report", run_id, "--db", db)
    assert r.returncode == stored_exit, r.stderr
    assert "preference: not run" in r.stdout

    r = _run(
        "ab", "create", "--from-run", run_id, "--overlap", "3", "--items-per-rater", "10",
        "--rater", "ann", "--rater", "bob", "--rater", "cy", "--db", db,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    links = dict(re.findall(r"^\s+(ann|bob|cy)\s+\S+(/invite/\S+)$", r.stdout, re.M))
    assert "10 items" in r.stdout and len(links) == 3

    r = _run("ab", "judge", re.search(r"study (\w+):", r.stdout).group(1), "--judge", spec, "--db", db, "-q")  # type: ignore[union-attr]
    assert r.returncode == 0, r.stderr
    html = tmp_path / "judge.html"
    r = _run("report", run_id, "--db", db, "--html", str(html), "--json", str(tmp_path / "judge.json"))
    assert r.returncode in (0, 1, 3), r.stderr
    assert "from the automatic judge (only 0 human votes" in r.stdout
    row = next(
        x
        for x in json.loads((tmp_path / "judge.json").read_text())["scorecard"]
        if x["dimension"] == "preference"
    )
    assert row["status"] == "ok" and row["metric"] == "judge win rate" and row["n"] == 10

    ss = StudyStore(open_store(db))
    flips = {
        (a["rater_id"], a["position"]): a["flip"] for a in ss.assignments(ss.studies_for_run(run_id)[0]["id"])
    }
    ids = {r.name: r.id for r in ss.raters(ss.studies_for_run(run_id)[0]["id"])}
    ss.store.close()
    srv = Server(db)
    srv.start()
    try:
        for name, link in links.items():
            c = httpx.Client(base_url=f"http://127.0.0.1:{srv.port}")
            assert c.get(link).status_code == 303
            n = c.get("/api/next").json()
            while n["item"] is not None:
                pos = n["item"]["position"]
                base_letter = "B" if flips[(ids[name], pos)] else "A"  # the owner knows; the rater does not
                v = c.post(
                    "/api/vote",
                    json={"position": pos, "choice": base_letter},
                    headers={"X-CSRF-Token": n["csrf"]},
                )
                assert v.status_code == 200, v.text
                n = c.get("/api/next").json()
    finally:
        srv.stop()

    html, js = tmp_path / "r.html", tmp_path / "r.json"
    r = _run(
        "report",
        run_id,
        "--db",
        db,
        "--html",
        str(html),
        "--json",
        str(js),
        "--junit",
        str(tmp_path / "j.xml"),
    )
    assert r.returncode == 1, r.stdout + r.stderr  # the tuned model lost every vote: a failing gate
    assert "tuned wins 0.0%" in r.stdout and "from human votes (30)" in r.stdout
    data = json.loads(js.read_text())
    assert data["verdict"] == "FAIL"
    row = next(x for x in data["scorecard"] if x["dimension"] == "preference")
    assert row["metric"] == "human win rate" and row["n"] == 30 and row["gate"] == "fail"
    kinds = {g["rule"]: g["outcome"] for g in data["gates"] if g["task"].startswith("A/B study")}
    assert kinds == {"min_win_rate": "fail", "no_significant_loss": "fail"}
    page = html.read_text()
    assert re.search(
        r'<tr data-dimension="preference"><td>human preference</td><td>human win rate</td>', page
    )
    assert (
        "no_significant_loss" in (tmp_path / "j.xml").read_text()
        or "A/B study" in (tmp_path / "j.xml").read_text()
    )
    # the gates can be switched off; the row stays
    r = _run("report", run_id, "--db", db, "--no-preference-gates")
    assert r.returncode == stored_exit and "tuned wins 0.0%" in r.stdout
    assert _run("report", "nosuchrun", "--db", db).returncode == 2
    assert _run("report", run_id, "--db", db, "--preference-gate", "nope").returncode == 2
