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
