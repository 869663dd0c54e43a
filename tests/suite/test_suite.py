"""Suite files: validation errors name the file, the key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunegate.errors import SuiteError
from tunegate.suite import build_task, builtin_suites, load_suite


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "suite.yaml"
    p.write_text(text)
    return p


def test_builtin_demo_suite_is_valid() -> None:
    assert "demo" in builtin_suites()
    suite = load_suite("demo")
    # five dimensions: target task, retention (two tasks), safety, regression; preference by a judge
    assert [t.task for t in suite.tasks] == ["triviaqa", "hellaswag", "mmlu", "safety", "regression"]
    assert [t.task for t in suite.tasks if t.gates] == ["triviaqa", "hellaswag", "regression"]
    assert suite.preference is not None and suite.preference.tasks == ("triviaqa",)


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        (
            "name: x\ntasks:\n  - task: hellaswag\n    limt: 5\n",
            ["suite.yaml", "limt", 'Did you mean "limit"', "Allowed keys"],
        ),
        ("name: x\ntasks:\n  - task: hellaswagg\n", ["tasks.0.task", 'Did you mean "hellaswag"']),
        (
            "name: x\ntasks:\n  - task: hellaswag\n    gates:\n      - {max_drop: 0.1, min_gain: 0}\n",
            ["exactly one of"],
        ),
        (
            "name: x\ntasks:\n  - task: hellaswag\n    gates:\n      - {metric: acc_nrm, max_drop: 0.1}\n",
            ['Did you mean "acc_norm"'],
        ),
        (
            "name: x\ntasks:\n  - task: hellaswag\n    gates:\n      - {max_dorp: 0.1}\n",
            ["max_dorp", "gates"],
        ),
        ("name: x\ntasks: []\n", ["tasks"]),
        ("name: x\ntasks:\n  - task: hellaswag\n    limit: -3\n", ["tasks.0.limit", "greater than 0"]),
        ("name: [unclosed\n", ["not valid YAML", "line"]),
        ("- just a list\n", ["mapping"]),
        ("name: x\ntasks:\n  - task: hellaswag\n  - task: hellaswag\n", ["appear twice"]),
    ],
)
def test_malformed_suites_get_one_clear_error(tmp_path: Path, text: str, needles: list[str]) -> None:
    with pytest.raises(SuiteError) as info:
        load_suite(_write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message


def test_missing_suite_file_and_unknown_name() -> None:
    with pytest.raises(SuiteError, match="suite file not found"):
        load_suite("nope/suite.yaml")
    with pytest.raises(SuiteError, match='Did you mean "demo"'):
        load_suite("dmeo")


def test_task_options_reach_the_task(tmp_path: Path) -> None:
    suite = load_suite(_write(tmp_path, "name: x\ntasks:\n  - task: hellaswag\n    limit: 3\n    shots: 2\n"))
    task = build_task(suite.tasks[0])
    docs = task.docs()
    assert len(docs) == 3
    ctx = task.requests(docs[0])[0].context
    assert ctx.count("\n\n") == 2  # two shots, each followed by a blank line
    assert ctx == task.requests(docs[0])[0].context  # the same shots every time


def test_unreadable_dataset_row_is_a_data_error(tmp_path: Path) -> None:
    from tunegate.errors import DataError

    bad = tmp_path / "hs.jsonl"
    bad.write_text(
        '{"ind": 1, "activity_label": "a", "ctx_a": "b", "ctx_b": "c", "endings": ["x"], "label": 0}\n{oops\n'
    )
    suite = load_suite(_write(tmp_path, f"name: x\ntasks:\n  - task: hellaswag\n    data: {bad}\n"))
    with pytest.raises(DataError, match=r"hs.jsonl:2: not valid JSON"):
        build_task(suite.tasks[0]).docs()


def test_hub_dataset_ids_are_refused_offline_with_a_fix(tmp_path: Path) -> None:
    from tunegate.errors import DataError

    suite = load_suite(
        _write(tmp_path, "name: x\ntasks:\n  - task: hellaswag\n    data: hf:Rowan/hellaswag@validation\n")
    )
    with pytest.raises(DataError, match="HF_HUB_OFFLINE is set; give a local file"):
        build_task(suite.tasks[0]).docs()
