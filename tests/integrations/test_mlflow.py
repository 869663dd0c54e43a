"""``--mlflow``: a comparison logged to a real MLflow store, read back with ``MlflowClient``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.integrations.conftest import MockPair, compare_without
from tunegate.cli.main import app
from tunegate.integrations import trackers
from tunegate.runner import ComparisonResult
from tunegate.store import Store

pytest.importorskip("mlflow", reason="the mlflow extra is not installed: pip install 'tunegate[mlflow]'")


def _only_run(uri: str, experiment: str = "tunegate"):  # type: ignore[no-untyped-def]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no experiment {experiment!r} in {uri}"
    (run,) = client.search_runs([exp.experiment_id])
    return client, run


def test_comparison_reads_back_from_a_file_store(
    comparison: ComparisonResult,
    store: Store,
    tmp_path: Path,
    mlflow_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uri = f"file:{tmp_path / 'mlruns'}"
    (line,) = trackers(mlflow=uri)(comparison, store)
    assert line.startswith("MLflow run ") and uri in line
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ  # the opt-in lasted for the logging only

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 reads a file store only with it
    client, run = _only_run(uri)
    assert run.info.run_id in line and run.info.status == "FINISHED"
    assert run.info.run_name == f"tracked-{comparison.run_id}"
    metrics, params, tags = run.data.metrics, run.data.params, run.data.tags
    # every paired metric of every task, with its interval and p-value: the result's own numbers
    for tc in comparison.tasks:
        for m in tc.metrics:
            at = f"tunegate/{tc.task}/{m.metric}/"
            assert metrics[at + "base"] == m.base and metrics[at + "tuned"] == m.tuned
            assert metrics[at + "delta"] == m.delta and metrics[at + "n"] == m.n
            assert (metrics[at + "ci_low"], metrics[at + "ci_high"]) == (m.ci_low, m.ci_high)
            assert metrics[at + "p_value"] == m.p_value
    (row,) = [r for r in comparison.scorecard if r.status == "ok"]
    assert metrics["tunegate/scorecard/task/delta"] == row.delta
    assert metrics["tunegate/scorecard/task/ci_low"] == row.ci_low
    # every gate's outcome (1 pass, 0 inconclusive, -1 fail), as a number and as a tag
    assert metrics["tunegate/gate/answers/exact_match/min_gain_0"] == 1.0
    assert metrics["tunegate/gate/answers/rougeL/max_drop_0.05"] == 0.0
    assert metrics["tunegate/gate/kept/exact_match/max_drop_0.02"] == -1.0
    assert tags["tunegate.gate.kept/exact_match/max_drop_0.02"] == "fail"
    assert [metrics[f"tunegate/gates/{o}"] for o in ("pass", "inconclusive", "fail")] == [1.0, 1.0, 1.0]
    # the verdict and exit code, the suite and both models
    assert comparison.verdict == "FAIL" and tags["tunegate.verdict"] == "FAIL"
    assert metrics["tunegate/exit_code"] == 1.0 and tags["tunegate.exit_code"] == "1"
    assert tags["tunegate.run_id"] == comparison.run_id
    assert params["tunegate.suite"] == "tracked" and params["tunegate.alpha"] == "0.05"
    assert params["tunegate.base"] == comparison.base["spec"]
    assert params["tunegate.tuned"] == comparison.tuned["spec"]
    assert params["tunegate.tuned_fingerprint"] == comparison.tuned["fingerprint"]
    assert client.get_metric_history(run.info.run_id, "tunegate/kept/exact_match/delta")[0].step == 0
    # the HTML report (written to a temporary folder: no --html) and the JSON result as artefacts
    assert sorted(a.path for a in client.list_artifacts(run.info.run_id, "tunegate")) == [
        "tunegate/report.html",
        "tunegate/result.json",
    ]
    html = Path(client.download_artifacts(run.info.run_id, "tunegate/report.html", str(tmp_path / "dl")))
    assert 'class="verdict FAIL"' in html.read_text(encoding="utf-8")
    back = json.loads(Path(client.download_artifacts(run.info.run_id, "tunegate/result.json")).read_text())
    assert back["run_id"] == comparison.run_id and back["schema"] == "tunegate.result/v1"


def test_default_is_mlflows_own_store_in_the_current_folder(
    comparison: ComparisonResult,
    store: Store,
    tmp_path: Path,
    mlflow_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--mlflow default`` with no MLFLOW_TRACKING_URI: MLflow 3's default, sqlite:///mlflow.db here."""
    monkeypatch.chdir(tmp_path)
    (line,) = trackers(mlflow="default")(comparison, store)
    assert (tmp_path / "mlflow.db").is_file() and "sqlite:///" in line
    _, run = _only_run(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert run.data.tags["tunegate.verdict"] == "FAIL"
    assert run.data.metrics["tunegate/answers/exact_match/delta"] == comparison.tasks[0].metrics[0].delta


def test_cli_compare_logs_the_users_html_report(
    mock_pair: MockPair, tmp_path: Path, mlflow_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"file:{tmp_path / 'cli-runs'}"
    html = tmp_path / "out" / "report.html"
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "ci-gate")
    args = ["compare", "--base", mock_pair.base, "--tuned", mock_pair.tuned, "--suite", str(mock_pair.suite)]
    res = CliRunner().invoke(app, [*args, "-q", "--db", mock_pair.db, "--html", str(html), "--mlflow", uri])
    assert res.exit_code == 1, res.output  # the verdict's exit code, unchanged by the logging
    assert "logged to MLflow run" in res.output
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client, run = _only_run(uri, "ci-gate")
    assert run.data.tags["tunegate.verdict"] == "FAIL" and run.data.params["tunegate.suite"] == "tracked"
    logged = Path(client.download_artifacts(run.info.run_id, "tunegate/report.html", str(tmp_path / "dl")))
    assert logged.read_bytes() == html.read_bytes()  # the report the user asked for, as written


def test_unreachable_server_is_one_line_exit_2(
    mock_pair: MockPair, mlflow_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    args = ["compare", "--base", mock_pair.base, "--tuned", mock_pair.tuned, "--suite", str(mock_pair.suite)]
    res = CliRunner().invoke(app, [*args, "-q", "--db", mock_pair.db, "--mlflow", "http://127.0.0.1:9"])
    assert res.exit_code == 2, res.output
    assert "error: MLflow (http://127.0.0.1:9)" in res.output and "Traceback" not in res.output


def test_missing_package_names_the_extra(mock_pair: MockPair, tmp_path: Path) -> None:
    proc = compare_without(mock_pair, tmp_path, "mlflow", ["--mlflow", "default"])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "pip install 'tunegate[mlflow]'" in proc.stderr and "Traceback" not in proc.stderr
    assert "FAIL" not in proc.stdout  # it stopped before comparing


def test_cli_regress_logs_its_cases(
    mock_pair: MockPair, tmp_path: Path, mlflow_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = tmp_path / "reg.yaml"
    suite.write_text(
        "name: reg\ndefaults: {max_new_tokens: 4}\ncases:\n"
        "  - {id: short, prompt: hi, assert: [{type: max-length, value: 1000}]}\n"
        "  - {id: magic, prompt: hi, assert: [{type: contains, value: ZZZQQQ}]}\n",
        encoding="utf-8",
    )
    uri = f"file:{tmp_path / 'reg-runs'}"
    args = ["regress", str(suite), "--model", mock_pair.base, "--db", mock_pair.db, "-q", "--mlflow", uri]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 1, res.output  # "magic" fails
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client, run = _only_run(uri)
    m = run.data.metrics
    assert (m["tunegate/pass_rate"], m["tunegate/failed"], m["tunegate/exit_code"]) == (0.5, 1.0, 1.0)
    assert (m["tunegate/case/short/pass_fraction"], m["tunegate/case/magic/pass_fraction"]) == (1.0, 0.0)
    assert run.data.tags["tunegate.verdict"] == "FAIL" and run.data.params["tunegate.model"] == mock_pair.base
    assert [a.path for a in client.list_artifacts(run.info.run_id, "tunegate")] == ["tunegate/result.json"]


def test_mlflow_run_id_logs_into_that_run_and_leaves_it_open(
    comparison: ComparisonResult,
    store: Store,
    tmp_path: Path,
    mlflow_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A CI job that already has an MLflow run sets MLFLOW_RUN_ID: the result joins it."""
    from mlflow.tracking import MlflowClient

    uri = f"file:{tmp_path / 'shared'}"
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(uri)
    exp_id = client.create_experiment("ci")
    job = client.create_run(exp_id, run_name="the CI job").info.run_id
    monkeypatch.setenv("MLFLOW_RUN_ID", job)
    (line,) = trackers(mlflow=uri)(comparison, store)
    assert job in line
    run = client.get_run(job)
    assert run.info.status == "RUNNING" and run.data.tags["tunegate.verdict"] == "FAIL"
    assert run.data.metrics["tunegate/kept/exact_match/delta"] == comparison.tasks[1].metrics[0].delta
    assert client.get_experiment_by_name("tunegate") is None  # no second run, no new experiment
