"""The second round: tasks and assertions ask other roles (a judge) for more requests after the first
answers, and the runner batches every item's round together.

Models are the registered ``mock:`` backend (scripted answers; here it stands in for a judge model
that would be too slow to run many times on this CPU), so backend calls can be counted exactly.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from tunegate.engine import Engine, Roles
from tunegate.models import GenerateRequest, GenerateResult, Model, Result, RoleRequest
from tunegate.regression import load_regression_suite, run_regression
from tunegate.runner import CompareConfig, compare_models, evaluate_task
from tunegate.store import Store, open_store
from tunegate.suite import load_suite
from tunegate.tasks import Doc, ItemScore, MetricInfo, Task

N_CASES = 12
JUDGE_BATCH = 8


def _script(path: Path, **options: Any) -> Path:
    lines = [json.dumps({"options": options})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'rounds.db'}")


def _calls(log: Path) -> list[int]:
    return [json.loads(x)["n"] for x in log.read_text().splitlines()] if log.exists() else []


def _suite(tmp_path: Path, judge: str) -> Path:
    cases = [
        {"id": f"c{i}", "prompt": f"Question {i}?", "assert": [{"type": "llm-rubric", "value": "is helpful"}]}
        for i in range(N_CASES)
    ]
    path = tmp_path / "regression.yaml"
    data = {"name": "judged", "defaults": {"judge": judge, "max_new_tokens": 8}, "cases": cases}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_llm_rubric_judge_calls_are_batched(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "judge-calls.jsonl"
    judge = _script(tmp_path / "judge.jsonl", default_text="PASS", calls_log=str(log), batch_size=JUDGE_BATCH)
    target = _script(tmp_path / "target.jsonl", unscripted="hash")
    suite = load_regression_suite(_suite(tmp_path, f"mock:{judge}"))
    result = run_regression(suite, f"mock:{target}", store)
    assert [c.status for c in result.cases] == ["passed"] * N_CASES
    # one judge request per case, asked in batches: 2 backend calls, not 12
    assert _calls(log) == [JUDGE_BATCH, N_CASES - JUDGE_BATCH]
    again = run_regression(suite, f"mock:{target}", store)
    assert [c.status for c in again.cases] == ["passed"] * N_CASES
    assert len(_calls(log)) == 2  # cached: the judge was not asked again


def test_regression_task_in_a_comparison_batches_its_judge_round(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "judge-calls.jsonl"
    judge = _script(tmp_path / "judge.jsonl", default_text="FAIL", calls_log=str(log), batch_size=JUDGE_BATCH)
    base = _script(tmp_path / "base.jsonl", unscripted="hash")
    tuned = _script(tmp_path / "tuned.jsonl", unscripted="hash", default_text=" a tuned answer")
    reg = _suite(tmp_path, f"mock:{judge}")
    suite_file = tmp_path / "suite.yaml"
    suite_file.write_text(
        yaml.safe_dump({"name": "s", "tasks": [{"task": "regression", "options": {"suite": str(reg)}}]}),
        encoding="utf-8",
    )
    cfg = CompareConfig(suite=load_suite(str(suite_file)), base=f"mock:{base}", tuned=f"mock:{tuned}")
    result = compare_models(cfg, store)
    (task,) = result.tasks
    assert task.metric("pass").base == task.metric("pass").tuned == 0.0  # the judge says FAIL to all
    calls = _calls(log)
    assert sum(calls) == 2 * N_CASES  # every answer of both models judged once ...
    assert len(calls) == 2 * math.ceil(N_CASES / JUDGE_BATCH)  # ... in batches, one round per model


class _Polite(Task):
    """A task with a second round: a judge grades each generated answer."""

    name = "polite"
    metrics: ClassVar[tuple[MetricInfo, ...]] = (MetricInfo("polite", binary=True),)
    primary = "polite"

    def all_docs(self) -> list[Doc]:
        return [Doc(id=f"d{i}", data={"q": f"Greet person {i}"}) for i in range(5)]

    def requests(self, doc: Doc) -> list[GenerateRequest]:  # type: ignore[override]
        return [GenerateRequest(doc.data["q"], max_new_tokens=8)]

    def second_round(self, doc: Doc, results: Sequence[Result]) -> Sequence[RoleRequest]:
        assert isinstance(results[0], GenerateResult)
        return [RoleRequest("judge", GenerateRequest(f"Polite? {results[0].text}", max_new_tokens=2))]

    def score_rounds(self, doc: Doc, results: Sequence[Result], second: Sequence[Result]) -> ItemScore:
        (verdict,) = second
        assert isinstance(verdict, GenerateResult)
        return ItemScore({"polite": float(verdict.text.startswith("YES"))}, output=verdict.text)

    def score(self, doc: Doc, results: Sequence[Result]) -> ItemScore:
        raise AssertionError("a task with a second round is scored by score_rounds")


def test_second_round_asks_the_role_assigned_by_the_run(tmp_path: Path, store: Store) -> None:
    target = tmp_path / "target.jsonl"
    target.write_text(
        json.dumps({"options": {"unscripted": "hash"}})
        + "\n"
        + json.dumps({"prompt": "Greet person 3", "text": " Go away."})
        + "\n",
        encoding="utf-8",
    )
    judge = tmp_path / "judge.jsonl"
    judge.write_text(
        json.dumps({"options": {"default_text": "YES"}})
        + "\n"
        + json.dumps({"prompt": "Polite?  Go away.", "text": "NO"})
        + "\n",
        encoding="utf-8",
    )
    roles = Roles(store, models={"target": f"mock:{target}", "judge": f"mock:{judge}"})
    task = _Polite()
    scores = evaluate_task(roles.engine("target"), "polite", task, task.docs(), roles)
    assert {d: s.values["polite"] for d, s in scores.items.items()} == {
        "d0": 1.0,
        "d1": 1.0,
        "d2": 1.0,
        "d3": 0.0,
        "d4": 1.0,
    }
    judge_engine = roles.engine("judge")
    assert judge_engine.stats.backend_calls == 1 and judge_engine.stats.computed == 5  # one batch
    assert judge_engine.label == "judge"


def test_a_role_nobody_plays_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    from tunegate.errors import ConfigError

    roles = Roles(store)
    with pytest.raises(ConfigError, match="no model plays the 'attacker' role"):
        roles.engine("attacker")
    with pytest.raises(ConfigError, match="unknown role 'jduge'"):
        roles.assign("jduge", "mock:x")
    assert isinstance(
        Roles(store, models={"judge": Model(f"mock:{_script(tmp_path / 'j.jsonl')}")}).engine("judge"), Engine
    )
