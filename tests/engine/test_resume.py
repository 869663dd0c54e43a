"""Crash-resume end to end: SIGKILL ``tunegate compare`` mid-run, run it again, and check that exactly
the unfinished requests were computed and that the result equals an uninterrupted run's.

Also the A/A check: a model compared with itself shows no difference at all.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

LIMIT = 40
TOTAL = 2 * 4 * LIMIT  # hellaswag: 4 loglikelihood requests per item, for two models


def _suite(tmp_path: Path, body: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def _cmd(base: str, tuned: str, suite: Path, db: Path, json_out: Path, batch_size: int = 4) -> list[str]:
    return [
        sys.executable, "-m", "tunegate", "compare",
        "--base", base, "--tuned", tuned,
        "--suite", str(suite), "--db", f"sqlite:///{db}",
        "--batch-size", str(batch_size), "-q", "--json", str(json_out),
    ]  # fmt: skip


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(con.execute("SELECT count(*) FROM responses").fetchone()[0])
        finally:
            con.close()
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def _runs(db: Path) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(
            "SELECT id, status, n_computed, n_cached FROM runs ORDER BY started_at DESC"
        ).fetchall()
    finally:
        con.close()


def _metrics(result: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    keep = ("base", "tuned", "delta", "ci_low", "ci_high", "p_value", "n", "discordant")
    return {(t["task"], m["metric"]): {k: m[k] for k in keep} for t in result["tasks"] for m in t["metrics"]}


def _finish(proc: subprocess.Popen[bytes], timeout: float = 120) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out.decode(errors="replace")


def test_killed_compare_resumes_computing_only_the_unfinished_requests(
    tmp_path: Path, tiny_model_dir: Path, tiny_adapter_dir: Path
) -> None:
    suite = _suite(tmp_path, f"name: resume\ntasks:\n  - task: hellaswag\n    limit: {LIMIT}\n")
    base, tuned = f"hf:{tiny_model_dir}", f"hf:{tiny_model_dir}?adapter={tiny_adapter_dir}"
    db, ref_db = tmp_path / "s.db", tmp_path / "ref.db"
    out, ref_out = tmp_path / "resumed.json", tmp_path / "ref.json"
    popen = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "cwd": tmp_path}

    # The uninterrupted reference run, in its own fresh database, alongside the run we will kill.
    ref = subprocess.Popen(_cmd(base, tuned, suite, ref_db, ref_out), **popen)  # type: ignore[call-overload]
    victim = subprocess.Popen(  # type: ignore[call-overload]
        _cmd(base, tuned, suite, db, tmp_path / "never.json"), **popen
    )
    try:
        # Kill it in the middle of the tuned model's requests: the base model is then fully cached
        # and the tuned one partly.
        deadline = time.monotonic() + 90
        while _count(db) < TOTAL // 2 + 8:
            assert victim.poll() is None, f"finished before it could be killed: {_finish(victim)}"
            assert time.monotonic() < deadline, "no responses were written in time"
            time.sleep(0.01)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
    assert victim.returncode == -signal.SIGKILL
    done = _count(db)
    assert TOTAL // 2 < done < TOTAL, f"killed too late to test resuming ({done}/{TOTAL} rows)"
    assert not (tmp_path / "never.json").exists()
    (killed_run,) = _runs(db)
    assert killed_run[1] == "running"  # never finished

    rc, log = _finish(subprocess.Popen(_cmd(base, tuned, suite, db, out), **popen))  # type: ignore[call-overload]
    assert rc in (0, 1, 3), log
    runs = _runs(db)
    assert len(runs) == 2
    run_id, status, n_computed, n_cached = runs[0]
    assert run_id != killed_run[0]
    assert status == "completed"
    assert (n_cached, n_computed) == (done, TOTAL - done)
    assert _count(db) == TOTAL

    ref_rc, ref_log = _finish(ref)
    assert ref_rc == rc, ref_log
    ((_, ref_status, ref_computed, ref_cached),) = _runs(ref_db)
    assert (ref_status, ref_computed, ref_cached) == ("completed", TOTAL, 0)

    resumed, reference = json.loads(out.read_text()), json.loads(ref_out.read_text())
    assert resumed["verdict"] == reference["verdict"]
    assert _metrics(resumed) == _metrics(reference)
    assert len(_metrics(resumed)) == 6  # acc, acc_norm, gold_logprob, gold_prob, brier, ece
    assert resumed["engine"]["base"]["computed"] + resumed["engine"]["tuned"]["computed"] == TOTAL - done


def test_a_model_compared_with_itself_shows_no_difference(tmp_path: Path, tiny_model_dir: Path) -> None:
    suite = _suite(
        tmp_path,
        "name: aa\ntasks:\n"
        "  - task: hellaswag\n    limit: 12\n    gates:\n      - max_drop: 0.02\n"
        "  - task: triviaqa\n    limit: 6\n    gates:\n      - metric: f1\n        max_drop: 0.02\n",
    )
    spec = f"hf:{tiny_model_dir}"
    out = tmp_path / "aa.json"
    proc = subprocess.run(
        _cmd(spec, spec, suite, tmp_path / "aa.db", out),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # an A/A run on a dozen items proves nothing: never a silent PASS (exit 3, vacuous and too few items)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["verdict"] == "INCONCLUSIVE"
    assert any("same model" in v for v in result["vacuous"])
    metrics = _metrics(result)
    assert {m for _, m in metrics} == {
        "acc", "acc_norm", "gold_logprob", "gold_prob", "brier", "ece", "exact_match", "f1"
    }  # fmt: skip
    for (task, metric), m in metrics.items():
        assert m["delta"] == 0.0, (task, metric, m)
        assert m["ci_low"] < 0.0 < m["ci_high"], (task, metric, m)  # no difference, but not "certainly 0"
        assert m["base"] == m["tuned"], (task, metric, m)
        if m["discordant"] is not None:
            assert m["discordant"] == [0, 0]
    assert [g["outcome"] for g in result["gates"]] == ["inconclusive", "inconclusive"]
    # the same weights share one cache: the "tuned" side was answered entirely from the base's answers
    assert result["engine"]["tuned"]["computed"] == 0
    assert result["engine"]["tuned"]["cached"] == result["engine"]["base"]["computed"] > 0
    assert result["tuned"]["loaded"] is False


@pytest.fixture(autouse=True)
def _no_inherited_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUNEGATE_DB", raising=False)
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")
    # One torch thread per process: on a small shared machine, several processes each spinning up a
    # thread per core make the tiny model ~3x slower. Every run in these tests uses the same setting.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("TUNEGATE_LOG", os.environ.get("TUNEGATE_LOG", "WARNING"))
