"""``tunegate validate``: compare and regression suites, every problem at once, option values, warnings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _validate(target: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tunegate", "validate", str(target)],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
    )


def test_examples_validate() -> None:
    for name, kind in (("compare.yaml", "suite 'my-finetune'"), ("regression.yaml", "regression suite")):
        res = _validate(REPO / "examples" / name)
        assert res.returncode == 0, res.stderr
        assert res.stdout.startswith("ok: ") and kind in res.stdout and res.stderr == ""


def test_every_problem_is_listed(tmp_path: Path) -> None:
    suite = tmp_path / "bad.yaml"
    suite.write_text(
        "name: bad\ntasks:\n"
        "  - task: mmlu\n    shots: 3\n    options: {subjects: [astronomy, astronmy, quantum_cooking]}\n"
        "  - task: hellaswg\n"
        "  - task: triviaqa\n    options: {foo: 1}\n    gates:\n      - {metric: exact, max_drop: 0.0}\n"
    )
    res = _validate(suite)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    problems = [line for line in res.stderr.splitlines() if line.startswith("  - ")]
    assert len(problems) == 6, res.stderr
    text = "\n".join(problems)
    assert "shots must be one of 0, 5, got 3" in text
    assert "'astronmy'" in text and 'Did you mean "astronomy"' in text and "'quantum_cooking'" in text
    assert "unknown task 'hellaswg'" in text and "no option 'foo'" in text and "no metric 'exact'" in text
    assert "more problem" not in res.stderr


def test_schema_problems_are_all_listed(tmp_path: Path) -> None:
    suite = tmp_path / "keys.yaml"
    suite.write_text(
        "name: keys\ntasks:\n  - task: hellaswag\n    limt: 3\n    gates:\n"
        "      - {metric: acc_norm}\n      - {max_drop: 0.1, rulez: ci}\n"
    )
    res = _validate(suite)
    assert res.returncode == 2
    problems = [line for line in res.stderr.splitlines() if line.startswith("  - ")]
    assert len(problems) == 3, res.stderr
    assert any("'limt'" in p for p in problems) and any("'rulez'" in p for p in problems)
    # the other commands print one line that names the first problem and says there are more
    run = subprocess.run(
        [sys.executable, "-m", "tunegate", "compare", "--base", "x", "--tuned", "y", "--suite", str(suite)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
    assert "2 more problem(s): `tunegate validate` lists them all" in run.stderr


def test_unit_mistakes_warn_but_pass(tmp_path: Path) -> None:
    suite = tmp_path / "units.yaml"
    suite.write_text(
        "name: units\ntasks:\n  - task: hellaswag\n    gates:\n      - {metric: acc_norm, max_drop: 1}\n"
        "      - {min_score: 2}\n"
        "  - task: custom\n    name: tr\n"
        "    options: {path: x.jsonl, prompt: '{q}', reference: a, metrics: [bleu]}\n"
        "    gates:\n      - {max_drop: 0.02}\n      - {max_drop: 2}\n"
    )
    res = _validate(suite)
    assert res.returncode == 0, res.stderr
    warnings = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 3, res.stderr
    assert "max_drop: 1 on acc_norm (a 0-1 metric) allows every possible drop" in warnings[0]
    assert "write max_drop: 0.01" in warnings[0]
    assert "min_score: 2" in warnings[1] and "never be reached" in warnings[1]
    assert "bleu" in warnings[2] and "write max_drop: 2" in warnings[2]
