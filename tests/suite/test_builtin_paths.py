"""A built-in suite's relative files resolve beside it in the package, whatever the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunegate.suite import load_suite


def test_builtin_demo_finds_its_regression_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # nothing relative to the working directory
    suite = load_suite("demo")
    reg = next(t for t in suite.tasks if t.task == "regression")
    path = Path(reg.options["suite"])
    assert path.is_absolute() and path.is_file() and path.parent.name == "regression"
    from tunegate.suite import build_task

    assert len(build_task(reg).docs()) >= 5  # the regression cases load from there


def test_user_suite_paths_stay_as_written(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("name: s\ntasks:\n  - task: triviaqa\n    data: rows.jsonl\n", encoding="utf-8")
    assert load_suite(str(f)).tasks[0].data == "rows.jsonl"
