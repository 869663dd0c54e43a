"""Running suites on the tiny model: the store, reports, baseline, reference, CLI, watch, plugin."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tunegate.cli.main import app
from tunegate.regression import load_regression_suite, run_regression
from tunegate.store import open_store

SUITE = {
    "name": "tiny",
    "defaults": {"max_new_tokens": 6},
    "cases": [
        {
            "id": "any",
            "prompt": "Hello {{who}}",
            "vars": [{"who": "a"}, {"who": "b"}],
            "assert": [{"type": "min-length", "value": 0}],
        },
        {"id": "never", "prompt": "Say x", "assert": [{"type": "contains", "value": "ZZZQQQ"}]},
        {"id": "greedy", "prompt": "Hi", "repeat": 3, "assert": [{"type": "not-contains", "value": "ZZZ"}]},
        {"id": "judged", "prompt": "Hi", "assert": [{"type": "llm-rubric", "value": "is polite"}]},
    ],
}


def _write(tmp_path: Path, data: dict, name: str = "suite.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    return p


def test_run_stores_scores_and_caches(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = {**SUITE, "defaults": {**SUITE["defaults"], "judge": f"hf:{tiny_model_dir}"}}
    suite = load_regression_suite(_write(tmp_path, data))
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    r = run_regression(suite, f"hf:{tiny_model_dir}", store)
    status = {c.id: c.status for c in r.cases}
    assert status["any[0]"] == status["any[1]"] == status["greedy"] == "passed"
    assert status["never"] == "failed" and r.exit_code() == 1
    assert any("identical" in n for n in r.notes)  # temperature 0 repeats are asked once
    assert "judge" in r.cases[-1].reason  # the random tiny judge gives no verdict or FAIL
    scores = store.get_scores(r.run_id or "")
    assert {(s.item, s.metric, s.value) for s in scores} >= {
        ("never", "pass", 0.0),
        ("any[0]", "pass", 1.0),
    }
    run = store.get_run(r.run_id or "")
    assert run.kind == "regress" and run.status == "completed" and run.result
    assert run.result["summary"]["failed"] == 2
    again = run_regression(suite, f"hf:{tiny_model_dir}", store, baseline="last")
    assert store.get_run(again.run_id or "").n_computed == 0  # everything, judge included, was cached
    assert again.baseline_run == r.run_id
    assert {again.baseline_category(c) for c in again.cases} == {"passing", "still failing"}


def test_flaky_and_threshold(tmp_path: Path, tiny_model_dir: Path) -> None:
    # sampling at a high temperature: repeats differ; one of them starting with "x" is unlikely to be all
    case = {
        "id": "f",
        "prompt": "Hi",
        "repeat": 6,
        "temperature": 5.0,
        "threshold": 0.0,
        "assert": [{"type": "regex", "value": "^[\\s\\S]{0,3}$|a"}],
    }
    suite = load_regression_suite(
        _write(tmp_path, {"name": "fl", "defaults": {"max_new_tokens": 6}, "cases": [case]})
    )
    r = run_regression(suite, f"hf:{tiny_model_dir}", open_store(f"sqlite:///{tmp_path / 's.db'}"))
    c = r.cases[0]
    assert len(set(c.outputs)) > 1  # seeds 0..5 sampled different answers
    assert c.ok and r.exit_code() == 0
    if 0 < c.fraction < 1:
        assert c.status == "flaky" and r.exit_code(strict_flaky=True) == 1


def test_cli_regress_reports(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = {**SUITE, "cases": SUITE["cases"][:3]}
    path = _write(tmp_path, data)
    db = f"sqlite:///{tmp_path / 's.db'}"
    model = f"hf:{tiny_model_dir}"
    runner = CliRunner()
    args = ["regress", str(path), "--model", model, "--db", db, "-q"]
    res = runner.invoke(
        app, [*args, "--junit", str(tmp_path / "j.xml"), "--markdown", str(tmp_path / "m.md")]
    )
    assert res.exit_code == 1, res.output
    root = ET.parse(tmp_path / "j.xml").getroot()
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["any[0]", "any[1]", "never", "greedy"]
    assert "ZZZQQQ" in (cases[2].find("failure").get("message") or "")  # type: ignore[union-attr]
    assert "| `never` | ❌ failed" in (tmp_path / "m.md").read_text()
    res = runner.invoke(
        app, [*args, "--baseline", "last", "--reference", model, "--json", str(tmp_path / "r.json")]
    )
    out = json.loads((tmp_path / "r.json").read_text())
    never = next(c for c in out["cases"] if c["id"] == "never")
    assert never["baseline"] == "still failing" and never["reference"] == "failed"
    assert never["reference_verdict"] == "gap that was always there"
    assert res.exit_code == 1


@pytest.mark.parametrize(
    ("suite", "needle"),
    [
        (
            {
                "name": "x",
                "cases": [{"id": "a", "prompt": "p", "assert": [{"type": "regexx", "value": "a"}]}],
            },
            'Did you mean "regex"',
        ),
        (
            {"name": "x", "cases": [{"id": "a", "prompt": "{{q}}", "assert": [{"type": "json-valid"}]}]},
            "placeholder {{q}} names no variable",
        ),
    ],
)
def test_cli_config_error_exit_2(tmp_path: Path, suite: dict, needle: str) -> None:
    path = _write(tmp_path, suite)
    res = subprocess.run(
        [sys.executable, "-m", "tunegate", "regress", str(path), "--model", "hf:/x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2
    assert needle in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) <= 3


def test_watch_once_evaluates_each_checkpoint_once(tmp_path: Path, tiny_model_dir: Path) -> None:
    import shutil

    out = tmp_path / "run"
    shutil.copytree(tiny_model_dir, out / "checkpoint-1")
    suite = _write(tmp_path, {**SUITE, "cases": SUITE["cases"][:1]})
    args = ["watch", str(out), "--suite", str(suite), "--once", "--db", f"sqlite:///{tmp_path / 's.db'}"]
    runner = CliRunner()
    first = runner.invoke(app, args)
    assert first.exit_code == 0 and "checkpoint-1" in first.output, first.output
    again = runner.invoke(app, args)
    assert "checkpoint-1" not in again.output and "no new checkpoint" in again.output
    shutil.copytree(tiny_model_dir, out / "checkpoint-2")
    third = runner.invoke(app, args)
    assert "checkpoint-2" in third.output and "checkpoint-1" not in third.output


def test_watch_evaluates_adapter_checkpoints_on_their_base(
    tmp_path: Path, tiny_model_dir: Path, tiny_adapter_dir: Path
) -> None:
    import shutil

    out = tmp_path / "lora-run"
    shutil.copytree(tiny_adapter_dir, out / "checkpoint-5")
    suite = _write(tmp_path, {**SUITE, "cases": SUITE["cases"][:1]})
    db = f"sqlite:///{tmp_path / 's.db'}"
    args = ["watch", str(out), "--suite", str(suite), "--once", "--db", db, "--base", f"hf:{tiny_model_dir}"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0 and "checkpoint-5" in res.output, res.output
    from tunegate.store import open_store

    (run,) = open_store(db).list_runs(kind="regress")
    assert run.spec("tuned") == f"hf:{tiny_model_dir}?adapter={(out / 'checkpoint-5').resolve()}"


def test_pytest_plugin_collects_cases(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = {**SUITE, "cases": SUITE["cases"][:2]}
    (tmp_path / "behaviour.tunegate.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-rA",
        "--tunegate-model",
        f"hf:{tiny_model_dir}",
        "--tunegate-db",
        f"sqlite:///{tmp_path / 's.db'}",
    ]
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "1 failed, 2 passed" in res.stdout, res.stdout + res.stderr
    assert "ZZZQQQ" in res.stdout
    res = subprocess.run(cmd[:5], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "no tests ran" in res.stdout  # without --tunegate-model nothing is collected
