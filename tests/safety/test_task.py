"""``task: safety`` inside a compare suite, and the built-in ``safety`` suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunegate.errors import ConfigError, SuiteError
from tunegate.suite import build_task, load_suite


def test_builtin_safety_suite_validates() -> None:
    suite = load_suite("safety")
    (entry,) = suite.tasks
    task = build_task(entry)
    assert task.dimension == "safety"
    docs = task.docs()
    assert len(docs) == 10
    assert {task._pairs[d.data["index"]][0][0].category for d in docs} >= {"Malware/Hacking", "Privacy"}
    assert len(task.requests(docs[0])) == 7  # 6 attacks + the benign twin
    m = {x.name: x for x in task.metrics}
    assert not m["attack_success_rate"].higher_is_better and not m["over_refusal_rate"].higher_is_better


def test_unknown_option_and_category(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("name: s\ntasks:\n  - task: safety\n    options: {colour: red}\n")
    with pytest.raises(SuiteError, match="colour"):
        load_suite(f)
    f.write_text("name: s\ntasks:\n  - task: safety\n    options: {categories: [Hacking]}\n")
    with pytest.raises(ConfigError, match="unknown harm category"):
        build_task(load_suite(f).tasks[0]).docs()


def test_compare_fills_the_safety_row(tiny_model_dir: Path, tiny_adapter_dir: Path, tmp_path: Path) -> None:
    from tunegate.report import scorecard
    from tunegate.runner import CompareConfig, compare_models
    from tunegate.store import open_store

    f = tmp_path / "s.yaml"
    f.write_text(
        "name: s\ntasks:\n  - task: safety\n    limit: 3\n"
        "    options: {attacks: [direct, rot13], max_new_tokens: 4}\n"
        "    gates:\n      - {metric: attack_success_rate, max_rise: 0.5}\n"
        "      - {metric: attack_success_rate_corrected, max_rise: 0.5}\n"
    )
    cfg = CompareConfig(
        suite=load_suite(f),
        base=f"hf:{tiny_model_dir}",
        tuned=f"hf:{tiny_model_dir}?adapter={tiny_adapter_dir}",
        n_boot=200,
    )
    res = compare_models(cfg, open_store(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    (tc,) = res.tasks
    assert tc.dimension == "safety" and tc.n == 3
    assert tc.config["harm_judge_error"]["accuracy"] > 0.7
    row = next(r for r in scorecard(res) if r.dimension == "safety")
    assert row.status == "ok" and row.metric == "safety/attack_success_rate"
    assert res.gates[0].kind == "max_rise"
    corrected = tc.metric("attack_success_rate_corrected")
    assert corrected.estimator.startswith("rogan_gladen[") and "Rogan-Gladen" in corrected.method
    assert res.gates[1].metric == "attack_success_rate_corrected"
    # over-refusal is corrected with the refusal judge's counts, a different estimator
    assert tc.metric("over_refusal_rate_corrected").estimator != corrected.estimator


def test_model_judge_has_no_corrected_metric(tmp_path: Path) -> None:
    from tunegate.tasks.safety import SafetyTask

    names = [m.name for m in SafetyTask.metrics_for({"harm_judge": "builtin:gemma-3-270m"})]
    assert "attack_success_rate_corrected" not in names and "over_refusal_rate_corrected" in names
    f = tmp_path / "s.yaml"  # a gate on it is refused at validate time, naming what the task reports
    f.write_text(
        "name: s\ntasks:\n  - task: safety\n    options: {harm_judge: 'builtin:gemma-3-270m'}\n"
        "    gates:\n      - {metric: attack_success_rate_corrected, max_rise: 0.1}\n"
    )
    with pytest.raises(SuiteError, match="reports no metric 'attack_success_rate_corrected'"):
        load_suite(f)


def test_compare_asks_the_multi_turn_second_turn_of_each_model(
    tiny_model_dir: Path, tiny_adapter_dir: Path, tmp_path: Path
) -> None:
    """The escalation's second turn goes to the evaluated model itself, carrying its own round-1 answer."""
    import sqlite3

    from tunegate.runner import CompareConfig, compare_models
    from tunegate.store import open_store

    f = tmp_path / "s.yaml"
    f.write_text(
        "name: s\ntasks:\n  - task: safety\n    limit: 2\n"
        "    options: {attacks: [direct, multi_turn_escalation], max_new_tokens: 4}\n"
    )
    db = tmp_path / "db.sqlite"
    cfg = CompareConfig(
        suite=load_suite(f),
        base=f"hf:{tiny_model_dir}",
        tuned=f"hf:{tiny_model_dir}?adapter={tiny_adapter_dir}",
        n_boot=100,
    )
    res = compare_models(cfg, open_store(f"sqlite:///{db}"))
    (tc,) = res.tasks
    assert tc.n == 2
    rows = sqlite3.connect(db).execute("SELECT fingerprint, request, response FROM responses").fetchall()
    import json

    second = [(fp, json.loads(r)) for fp, r, _ in rows if '"assistant"' in r]
    # 2 behaviours x 2 models, each a 3-message history: question, the model's own answer, the ask
    assert len(second) == 4 and len({fp for fp, _ in second}) == 2
    answers = {(fp, json.dumps(json.loads(r)["prompt"])): json.loads(a)["text"] for fp, r, a in rows}
    for fp, req in second:
        first_turn = [req["prompt"][0]]
        assert req["prompt"][1]["role"] == "assistant"
        assert req["prompt"][1]["content"] == answers[(fp, json.dumps(first_turn))]


def test_metric_names_match_metrics_for() -> None:
    """``tunegate validate`` reads the cheap names; they must be what a run computes."""
    from tunegate.tasks.safety import SafetyTask

    for extra in ({}, {"judge": "mock:x"}, {"harm_judge": "mock:y"}):
        assert SafetyTask.metric_names(extra) == [m.name for m in SafetyTask.metrics_for(extra)]
