from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunegate.errors import ConfigError, DataError, UnknownNameError
from tunegate.models import GenerateResult
from tunegate.suite import build_task, load_suite
from tunegate.tasks import TASKS, TaskOptions
from tunegate.tasks.custom import CustomTask

ROWS = [
    {"question": "What colour is the sky?", "answer": "blue"},
    {"question": "What is 2+2?", "answer": ["four", "4"]},
    {"question": "Capital of France?", "answer": "Paris"},
]


def _jsonl(path: Path, rows: list[dict]) -> Path:  # type: ignore[type-arg]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _task(path: Path, **extra: object) -> CustomTask:
    opts = {"path": str(path), "prompt": "Q: {question}\nA:", "reference": "answer", **extra}
    return CustomTask(TaskOptions(extra=opts))


def test_prompt_fewshot_and_metrics(tmp_path: Path) -> None:
    assert TASKS.get("custom") is CustomTask
    task = _task(
        _jsonl(tmp_path / "d.jsonl", ROWS), fewshot=1, metrics=["rougeL", "exact_match"], stop=["\n"]
    )
    docs = task.docs()
    assert [d.id for d in docs] == ["2", "3"]  # row 1 is the shot
    (req,) = task.requests(docs[0])
    assert req.prompt == "Q: What colour is the sky?\nA: blue\n\nQ: What is 2+2?\nA:"
    assert req.stop == ("\n",) and req.max_new_tokens == 64
    assert [m.name for m in task.metrics] == ["rougeL", "exact_match"] and task.primary == "rougeL"
    assert [m.binary for m in task.metrics] == [False, True]
    s = task.score(docs[0], [GenerateResult(text=" 4 ")])
    assert s.values == {"rougeL": 1.0, "exact_match": 1.0}
    assert CustomTask.metrics[0].name == "exact_match" and CustomTask.primary == "exact_match"


def test_csv(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_text("question,answer\nWhat colour is the sky?,blue\n", encoding="utf-8")
    (doc,) = _task(p).docs()
    assert doc.id == "2" and _task(p).requests(doc)[0].prompt == "Q: What colour is the sky?\nA:"


def test_unknown_template_variable(tmp_path: Path) -> None:
    p = _jsonl(tmp_path / "d.jsonl", ROWS)
    with pytest.raises(ConfigError, match=r"\{questoin\}.*d\.jsonl row 1 has no field 'questoin'"):
        CustomTask(TaskOptions(extra={"path": str(p), "prompt": "{questoin}", "reference": "answer"})).docs()


def test_missing_field(tmp_path: Path) -> None:
    p = _jsonl(tmp_path / "d.jsonl", [ROWS[0], {"question": "x"}])
    with pytest.raises(DataError, match=r"d\.jsonl: row 2: missing field 'answer'"):
        _task(p).docs()
    p = _jsonl(tmp_path / "e.jsonl", [ROWS[0], {"answer": "x"}])
    with pytest.raises(DataError, match=r"e\.jsonl: row 2: missing field 'question'"):
        _task(p).docs()


@pytest.mark.parametrize("bad", [42, {"a": "b"}, [], ["ok", 3]])
def test_wrong_reference_type(tmp_path: Path, bad: object) -> None:
    p = _jsonl(tmp_path / "d.jsonl", [ROWS[0], ROWS[1], {"question": "q", "answer": bad}])
    with pytest.raises(DataError, match=r"d\.jsonl: row 3: field 'answer' must be a string"):
        _task(p).docs()


def test_unknown_metric(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match=r"(?i)did you mean.*rougeL"):
        _task(tmp_path / "d.jsonl", metrics=["rougel"])
    with pytest.raises(ConfigError, match="not a text metric"):
        _task(tmp_path / "d.jsonl", metrics=["acc"])


SUITE = """\
name: my-task
description: a user task without Python
tasks:
  - task: custom
    limit: 2
    options:
      path: {path}
      prompt: "Q: {{question}}\\nA:"
      reference: answer
      metrics: [rougeL, rouge1]
      max_new_tokens: 8
"""


def test_yaml_suite_end_to_end(tmp_path: Path, run_tiny) -> None:  # type: ignore[no-untyped-def]
    data = _jsonl(tmp_path / "d.jsonl", ROWS)
    suite_file = tmp_path / "suite.yaml"
    suite_file.write_text(SUITE.format(path=data), encoding="utf-8")
    suite = load_suite(suite_file)
    task = build_task(suite.tasks[0])
    out = run_tiny(task, 2)
    assert list(out.items) == ["1", "2"]
    for s in out.items.values():
        assert set(s.values) == {"rougeL", "rouge1"} and all(0.0 <= v <= 1.0 for v in s.values.values())


def test_gate_on_configured_metric_validates(tmp_path: Path) -> None:
    data = _jsonl(tmp_path / "d.jsonl", ROWS)
    suite_file = tmp_path / "suite.yaml"
    text = SUITE.format(path=data) + "    gates:\n      - metric: rougeL\n        max_drop: 0.05\n"
    suite_file.write_text(text, encoding="utf-8")
    load_suite(suite_file)
