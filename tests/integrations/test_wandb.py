"""``--wandb``: a comparison logged to a real offline W&B run, read back from the run's own file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.integrations._wandb_file import offline_runs, read_offline_run
from tests.integrations.conftest import MockPair, compare_without
from tunegate.cli.main import app
from tunegate.integrations import trackers
from tunegate.runner import ComparisonResult
from tunegate.store import Store

pytest.importorskip("wandb", reason="the wandb extra is not installed: pip install 'tunegate[wandb]'")


def test_comparison_reads_back_from_an_offline_run(
    comparison: ComparisonResult, store: Store, wandb_dir: Path
) -> None:
    (line,) = trackers(wandb="tunegate-tests")(comparison, store)
    (run_dir,) = offline_runs(wandb_dir)  # offline without being asked: WANDB_MODE was not set
    assert str(run_dir) in line and "offline" in line
    run = read_offline_run(run_dir)
    assert run.project == "tunegate-tests" and run.name == f"tracked-{comparison.run_id}"
    assert run.tags == ["FAIL"]  # the verdict
    (history,) = run.history  # one row: the whole result
    for tc in comparison.tasks:
        for m in tc.metrics:
            at = f"tunegate/{tc.task}/{m.metric}/"
            assert history[at + "delta"] == m.delta and history[at + "base"] == m.base
            assert history[at + "tuned"] == m.tuned and history[at + "p_value"] == m.p_value
            assert (history[at + "ci_low"], history[at + "ci_high"]) == (m.ci_low, m.ci_high)
    assert history["tunegate/gate/kept/exact_match/max_drop_0.02"] == -1.0
    assert history["tunegate/gate/answers/exact_match/min_gain_0"] == 1.0
    assert history["tunegate/exit_code"] == 1.0
    assert run.summary["tunegate/kept/exact_match/delta"] == comparison.tasks[1].metrics[0].delta
    assert run.summary["tunegate.verdict"] == "FAIL"
    assert run.config["tunegate.suite"] == "tracked"
    assert run.config["tunegate.base"] == comparison.base["spec"]
    assert run.config["tunegate.tuned"] == comparison.tuned["spec"]
    assert run.config["tunegate.gate.answers/rougeL/max_drop_0.05"] == "inconclusive"
    (art,) = run.artifacts
    assert art["type"] == "tunegate-report" and art["name"] == f"tunegate-{comparison.run_id}"
    assert sorted(art["files"]) == ["report.html", "result.json"]
    # offline, the artefact's files are staged under W&B's data folder until `wandb sync`
    staged = {k: Path(v) for k, v in art["files"].items()}
    assert 'class="verdict FAIL"' in staged["report.html"].read_text(encoding="utf-8")
    assert json.loads(staged["result.json"].read_text())["run_id"] == comparison.run_id


def test_a_mode_the_user_set_is_kept(
    comparison: ComparisonResult, store: Store, wandb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    (line,) = trackers(wandb="tunegate-tests")(comparison, store)
    assert line.startswith("W&B run ") and offline_runs(wandb_dir) == []  # disabled: nothing written


def test_cli_compare_logs_to_wandb(mock_pair: MockPair, wandb_dir: Path) -> None:
    args = ["compare", "--base", mock_pair.base, "--tuned", mock_pair.tuned, "--suite", str(mock_pair.suite)]
    res = CliRunner().invoke(app, [*args, "-q", "--db", mock_pair.db, "--wandb", "cli-project"])
    assert res.exit_code == 1, res.output
    assert "logged to W&B run" in res.output
    (run_dir,) = offline_runs(wandb_dir)
    run = read_offline_run(run_dir)
    assert run.project == "cli-project" and run.tags == ["FAIL"]
    assert run.history[0]["tunegate/kept/exact_match/tuned"] == 0.25


def test_missing_package_names_the_extra(mock_pair: MockPair, tmp_path: Path) -> None:
    proc = compare_without(mock_pair, tmp_path, "wandb", ["--wandb", "p"])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "pip install 'tunegate[wandb]'" in proc.stderr and "Traceback" not in proc.stderr
