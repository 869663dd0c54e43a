"""End to end on the tiny model: ``compare --html --junit`` writes both reports; ``diff`` reads the store."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from tunegate.cli.main import app
from tunegate.store import open_store

SUITE = """\
name: tiny
tasks:
  - task: hellaswag
    limit: 6
    gates:
      - metric: acc_norm
        max_drop: 0.02
"""


def test_compare_writes_html_and_junit_then_diff(
    tiny_model_dir: Path, tiny_adapter_dir: Path, tmp_path: Path
) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    base, tuned = f"hf:{tiny_model_dir}", f"hf:{tiny_model_dir}?adapter={tiny_adapter_dir}"
    html, junit = tmp_path / "out" / "report.html", tmp_path / "out" / "junit.xml"
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "compare",
            "--base",
            base,
            "--tuned",
            tuned,
            "--suite",
            str(suite),
            "--limit",
            "6",
            "-q",
            "--html",
            str(html),
            "--junit",
            str(junit),
            "--markdown",
            str(tmp_path / "md" / "summary.md"),
        ],
    )
    assert res.exit_code in (0, 1, 3), res.output
    assert res.output.count("WARNING") == 1 and "--limit 6" in res.output  # the warning, once
    summary = (tmp_path / "md" / "summary.md").read_text(encoding="utf-8")
    assert "[Full HTML report](../out/report.html)" in summary  # relative to the Markdown file
    verdict = {0: "PASS", 1: "FAIL", 3: "INCONCLUSIVE"}[res.exit_code]

    page = html.read_text(encoding="utf-8")
    assert f'class="verdict {verdict}"' in page and "--limit 6" in page
    suite_el = ET.parse(junit).getroot().find("testsuite")
    assert suite_el is not None and suite_el.get("name") == "tunegate.tiny"
    (case,) = suite_el.findall("testcase")
    assert (case.get("classname"), case.get("name")) == ("hellaswag", "acc_norm max_drop 0.02")
    assert (case.find("failure") is not None) == (verdict == "FAIL")

    res = runner.invoke(app, ["run", "--model", base, "--suite", str(suite), "--limit", "6", "-q"])
    assert res.exit_code == 0, res.output
    run_id, compare_id = (r.id for r in open_store().list_runs())
    res = runner.invoke(app, ["diff", compare_id, run_id, "--role", "base"], terminal_width=200)
    assert res.exit_code == 0, res.output
    # the same model, from the response cache: every paired delta is exactly zero
    assert res.output.count("[+0.0, +0.0]") == 7 and "unpaired" not in res.output, res.output
