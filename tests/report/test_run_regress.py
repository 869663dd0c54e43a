"""``tunegate run`` and ``tunegate regress`` reports, rendered by ``tunegate.report`` from their records.

A regress report renders the stored record (``tunegate.regress/v1``), so the same run read back from
its JSON renders byte for byte as it did live; every result family reads back through one door.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from tunegate.regression import CaseResult, RegressionResult, RegressReport, parse_regression_suite
from tunegate.regression._assertions import AssertionResult
from tunegate.report import (
    print_regression,
    print_run,
    read_result,
    render_regress_markdown,
    write_json,
    write_regress_junit,
)
from tunegate.runner import MetricScore, RunResult

SUITE = parse_regression_suite(
    {
        "name": "bot",
        "cases": [
            {"id": f"c{i}", "prompt": "hi", "repeat": 2, "assert": [{"type": "min-length", "value": 0}]}
            for i in range(4)
        ],
    }
)


def _cases(outcomes: list[tuple[bool, bool]]) -> list[CaseResult]:
    return [
        CaseResult(c, ["out|put\nline", "b"], [[AssertionResult(a, float(a), "too short")] for a in pair])
        for c, pair in zip(SUITE.cases, outcomes, strict=True)
    ]


def _regress() -> RegressionResult:
    got = _cases([(True, True), (True, False), (False, False), (False, True)])
    ref = {c.id: c for c in _cases([(True, True), (True, True), (False, False), (True, True)])}
    return RegressionResult(
        suite="bot",
        model="hf:/m [red]x[/]",
        cases=got,
        run_id="r2",
        reference="hf:/base",
        reference_cases=ref,
        baseline_run="r1",
        baseline={"c0": True, "c1": False, "c2": True},
        notes=["greedy: repeats are identical"],
    )


def _text(render: object, *args: object) -> str:
    buf = io.StringIO()
    render(*args, Console(file=buf, width=200, emoji=False))  # type: ignore[operator]
    return buf.getvalue()


def test_regress_reports_render_the_record_and_its_json_alike(tmp_path: Path) -> None:
    live = _regress().report()
    write_json(live, tmp_path / "r.json", sort_keys=False)
    back = read_result(json.loads((tmp_path / "r.json").read_text(encoding="utf-8")))
    assert isinstance(back, RegressReport) and back == live
    table = _text(print_regression, live)
    assert table == _text(print_regression, back)
    for needle in (
        "vs r1",
        "reference",
        "newly failing",
        "still failing",
        "1/2",
        "[red]x[/]",
        "note: greedy",
    ):
        assert needle in table, needle
    assert "4 case(s): 1 passed, 0 flaky, 3 failed (pass rate 25%)" in table
    md = render_regress_markdown(live)
    assert md == render_regress_markdown(back)
    assert "| `c2` | ❌ failed | 0/2 | newly failing | failed | gap that was always there; 0/2 repeats" in md
    assert "| `c1` | ❌ failed | 1/2 | still failing | passed | regression introduced by fine-tuning" in md
    assert "vs baseline: 1 newly failing, 0 fixed, 1 still failing, 1 passing, 1 new" in md
    write_regress_junit(back, tmp_path / "j.xml")
    cases = ET.parse(tmp_path / "j.xml").getroot().findall(".//testcase")
    assert [c.get("name") for c in cases] == ["c0", "c1", "c2", "c3"]
    assert [c.find("failure") is not None for c in cases] == [False, True, True, True]
    assert "out|put" in (cases[1].find("failure").text or "")  # type: ignore[union-attr]


def test_regress_report_without_baseline_or_reference_has_no_such_columns() -> None:
    r = RegressionResult(suite="bot", model="m", cases=_cases([(True, True)] * 4), run_id="r")
    table = _text(print_regression, r.report())
    assert "reference" not in table and "vs " not in table and "4 passed" in table
    assert "vs baseline" not in render_regress_markdown(r.report())


def _run_result(metric: str, mean: float, alpha: float = 0.05) -> RunResult:
    score = MetricScore("task [b]x[/b]", metric, 10, mean, mean - 1.0, mean + 1.0, alpha)
    return RunResult(run_id="r", suite="s", model={"spec": "hf:/m"}, tasks=(score,))


def test_run_table_in_points_at_its_alpha() -> None:
    acc = _text(print_run, _run_result("acc", 0.5))
    assert "50.0" in acc and "[-50.0, 150.0]" in acc and "95% CI" in acc and "[b]x[/b]" in acc
    bleu = _text(print_run, _run_result("bleu", 35.25, alpha=0.01))
    assert "35.2" in bleu and "3525" not in bleu  # BLEU is in points already: never ×100 again
    assert "99% CI" in bleu and "95% CI" not in bleu


def test_read_result_reads_every_family_and_refuses_others() -> None:
    run = _run_result("acc", 0.5)
    assert read_result(json.loads(json.dumps(run.to_json()))) == run
    with pytest.raises(ValueError, match=r"tunegate\.regress/v1"):
        read_result({"schema": "tunegate.unknown/v9"})
