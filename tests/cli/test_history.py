"""``tunegate history`` after a real ``tunegate compare`` is stopped with Ctrl-C (SIGINT) and with
``kill -9``: both runs are listed as ``interrupted`` (never ``failed``, never ``running`` forever)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


def _responses(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(con.execute("SELECT count(*) FROM responses").fetchone()[0])
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def _stop_midway(cmd: list[str], db: Path, sig: signal.Signals, env: dict[str, str]) -> int:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 120
        while _responses(db) < 8:
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "no responses were written in time"
            time.sleep(0.02)
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode


def test_stopped_compares_are_listed_as_interrupted(
    tmp_path: Path, tiny_model_dir: Path, tiny_adapter_dir: Path
) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text("name: stopped\ntasks:\n  - task: hellaswag\n    limit: 60\n", encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}

    def cmd(db: Path) -> list[str]:
        return [
            sys.executable, "-m", "tunegate", "compare",
            "--base", f"hf:{tiny_model_dir}", "--tuned", f"hf:{tiny_model_dir}?adapter={tiny_adapter_dir}",
            "--suite", str(suite), "--db", f"sqlite:///{db}", "--batch-size", "2", "-q",
        ]  # fmt: skip

    ctrl_c, killed = tmp_path / "ctrl-c.db", tmp_path / "killed.db"
    assert _stop_midway(cmd(ctrl_c), ctrl_c, signal.SIGINT, env) == 130
    assert _stop_midway(cmd(killed), killed, signal.SIGKILL, env) == -signal.SIGKILL

    def statuses(db: Path) -> list[tuple[str]]:
        con = sqlite3.connect(db)
        try:
            return con.execute("SELECT status FROM runs").fetchall()
        finally:
            con.close()

    assert statuses(ctrl_c) == [("interrupted",)]  # recorded by the run itself
    assert statuses(killed) == [("running",)]  # the killed process could record nothing
    for db in (ctrl_c, killed):
        listing = subprocess.run(
            [sys.executable, "-m", "tunegate", "history", "--db", f"sqlite:///{db}"],
            capture_output=True,
            text=True,
            env=env,
        )
        assert listing.returncode == 0, listing.stderr
        out = listing.stdout
        assert "interrupted" in out and "running" not in out and "failed" not in out, out
        assert statuses(db) == [("interrupted",)]  # and it is saved so
