"""``compare --tuned good=... --tuned worse=...``: two comparisons with one base, one side-by-side index
(HTML, Markdown, JSON, JUnit), each candidate's own reports, the worst verdict's exit code, and the
suite's automatic preference estimate (a pairwise judge on scripted backends)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from tunegate.cli._compare import labelled_specs
from tunegate.cli.main import app
from tunegate.errors import ConfigError
from tunegate.tasks._data import package_data, read_jsonl

N = 40


def _script(path: Path, rows: list[dict[str, object]], **options: object) -> str:
    lines = [json.dumps({"options": {"unscripted": "hash", **options}})] + [json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f"mock:{path}"


def test_two_candidates_side_by_side_with_automatic_preference(tmp_path: Path) -> None:
    rows = read_jsonl(package_data("triviaqa", "eval.jsonl"))[:N]
    wrong = [{"prompt": r["context"], "text": " no idea"} for r in rows]
    right = [{"prompt": r["context"], "text": " " + str(r["answer"])} for r in rows]
    base = _script(tmp_path / "base.jsonl", wrong)
    good = _script(tmp_path / "good.jsonl", right)
    worse = _script(tmp_path / "worse.jsonl", wrong[: N // 2] + right[N // 2 :])
    judge = _script(tmp_path / "judge.jsonl", [], default_text="tie")
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f"name: pair\ntasks:\n  - task: triviaqa\n    limit: {N}\n    gates:\n      - {{metric: exact_match, "
        f"min_gain: 0.6}}\npreference: {{judge: '{judge}', tasks: [triviaqa], limit: 5}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app,
        [
            "compare",
            "--base",
            base,
            "--tuned",
            f"good={good}",
            "--tuned",
            f"worse={worse}",
            "--suite",
            str(suite),
            "--db",
            f"sqlite:///{tmp_path / 's.db'}",
            "-q",
            "--html",
            str(out / "r.html"),
            "--json",
            str(out / "r.json"),
            "--markdown",
            str(out / "r.md"),
            "--junit",
            str(out / "r.xml"),
        ],
    )
    # good: +100 points passes a min_gain of 60; worse: +50 fails it -> the worst verdict's exit code
    assert res.exit_code == 1, res.output
    assert "good: PASS" in res.output and "worse: FAIL" in res.output
    assert "judged automatically" in res.output
    doc = json.loads((out / "r.json").read_text(encoding="utf-8"))
    assert doc["schema"] == "tunegate.comparisons/v1" and doc["exit_code"] == 1
    assert [c["label"] for c in doc["candidates"]] == ["good", "worse"]
    verdicts = [c["result"]["verdict"] for c in doc["candidates"]]
    assert verdicts == ["PASS", "FAIL"]
    deltas = [c["result"]["tasks"][0]["metrics"][0]["delta"] for c in doc["candidates"]]
    assert deltas == [1.0, 0.5]
    # each candidate's own reports, unchanged single-run format
    for label, verdict in (("good", "PASS"), ("worse", "FAIL")):
        own = json.loads((out / f"r-{label}.json").read_text(encoding="utf-8"))
        assert own["verdict"] == verdict and own["schema"] == "tunegate.result/v1"
        assert f'class="verdict {verdict}"' in (out / f"r-{label}.html").read_text(encoding="utf-8")
        # the preference row: the judge's win rate (ties everywhere -> 50%), shown, not gated
        pref = next(r for r in own["scorecard"] if r["dimension"] == "preference")
        assert pref["status"] == "ok" and pref["metric"] == "judge win rate" and pref["tuned"] == 0.5
        assert pref["gate"] is None and pref["n"] == 5
    page = (out / "r.html").read_text(encoding="utf-8")
    assert 'data-candidate="good"' in page and 'data-candidate="worse"' in page
    assert 'href="r-good.html"' in page and 'href="r-worse.html"' in page
    assert "+100.0" in page and "+50.0" in page
    md = (out / "r.md").read_text(encoding="utf-8")
    assert "**PASS**" in md and "**FAIL**" in md and "(r-good.html)" in md
    xml = ET.parse(out / "r.xml").getroot()
    suites = xml.findall("testsuite")
    assert [s.get("name") for s in suites] == ["tunegate.pair[good]", "tunegate.pair[worse]"]
    assert xml.get("tests") == "2" and xml.get("failures") == "1"


def test_labelled_specs() -> None:
    assert labelled_specs(["hf:m?adapter=x"]) == [("tuned", "hf:m?adapter=x")]
    assert labelled_specs(["a=hf:m?adapter=x", "hf:n"]) == [("a", "hf:m?adapter=x"), ("tuned2", "hf:n")]
    try:
        labelled_specs(["a=hf:m", "a=hf:n"])
    except ConfigError as e:
        assert "unique" in str(e)
    else:
        raise AssertionError("duplicate labels accepted")


def test_preference_tasks_must_name_suite_tasks(tmp_path: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\ntasks:\n  - task: triviaqa\npreference: {judge: 'mock:x', tasks: [trivia]}\n")
    res = CliRunner().invoke(app, ["validate", str(suite)])
    assert res.exit_code == 2 and "preference.tasks: trivia is not a task of this suite" in res.output
