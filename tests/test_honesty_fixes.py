"""Each fix of issue 9's "honesty fixes" list, checked so it cannot quietly come back."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tunegate.cli.main import app
from tunegate.errors import SuiteError
from tunegate.suite import load_suite


def _suite(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "suite.yaml"
    p.write_text(textwrap.dedent(body), encoding="utf-8")
    return p


def test_the_custom_task_docstring_example_is_a_valid_suite(tmp_path: Path) -> None:
    import tunegate.tasks.custom as custom

    doc = custom.__doc__ or ""
    example = doc.split("::", 1)[1].split("\n\n", 2)[1]  # the indented YAML block after "::"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "support.jsonl").write_text('{"question": "q", "answer": "a"}\n' * 3)
    suite = _suite(tmp_path, "name: docs\n" + textwrap.dedent(example))
    spec = load_suite(suite)
    assert spec.tasks[0].label == "support-answers"


def test_mc2_reports_mc2_and_a_gate_on_acc_says_so(tmp_path: Path) -> None:
    from tunegate.tasks.truthfulqa import TruthfulQAMC2

    assert [m.name for m in TruthfulQAMC2.metrics] == ["mc2"] and TruthfulQAMC2.primary == "mc2"
    ok = _suite(
        tmp_path, "name: t\ntasks:\n  - task: truthfulqa_mc2\n    gates: [{metric: mc2, max_drop: 0.01}]\n"
    )
    assert load_suite(ok).tasks[0].gates[0].metric == "mc2"
    bad = _suite(
        tmp_path, "name: t\ntasks:\n  - task: truthfulqa_mc2\n    gates: [{metric: acc, max_drop: 0.01}]\n"
    )
    with pytest.raises(SuiteError, match=r"reports no metric 'acc'.*Its metrics: mc2"):
        load_suite(bad)


def test_hellaswag_few_shot_reads_its_file_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import tunegate.tasks.hellaswag as hs
    from tunegate.tasks import TaskOptions

    reads: list[object] = []
    real = hs.read_jsonl

    def counting(*a: object, **k: object) -> object:
        reads.append(a)
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(hs, "read_jsonl", counting)
    task = hs.HellaSwag(TaskOptions(limit=20, shots=3))
    for doc in task.docs():
        task.requests(doc)
    assert len(reads) == 1


def test_task_batch_size_is_refused_not_silently_ignored(tmp_path: Path) -> None:
    bad = _suite(tmp_path, "name: t\ntasks:\n  - task: hellaswag\n    batch_size: 4\n")
    with pytest.raises(SuiteError, match="batch_size"):
        load_suite(bad)


def test_compare_has_no_resume_flag() -> None:
    res = CliRunner().invoke(app, ["compare", "--help"], terminal_width=200)
    assert res.exit_code == 0 and "--resume" not in res.output
    res = CliRunner().invoke(app, ["compare", "--base", "hf:x", "--tuned", "hf:y", "--resume"])
    assert res.exit_code == 2 and "No such option" in res.output


def test_unused_names_are_gone() -> None:
    import dataclasses

    import tunegate.models as models
    from tunegate.runner import CompareConfig

    assert not hasattr(models, "load_model")
    assert "extra" not in {f.name for f in dataclasses.fields(CompareConfig)}
