"""kill -9 in the middle of a generation task loses at most the sub-batch in flight.

``tunegate run`` generates 40 TriviaQA answers with the registered ``mock:`` backend (4 requests per
sub-batch, 0.1 s per request) and logs every backend call to a file; the process is SIGKILLed after a
few sub-batches are stored, then run again. Counting the backend calls of both runs shows what was
lost and that nothing stored was recomputed.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ITEMS, SUB = 40, 4


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(con.execute("SELECT count(*) FROM responses").fetchone()[0])
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def _calls(log: Path) -> list[int]:
    if not log.exists():
        return []
    return [json.loads(line)["n"] for line in log.read_text().splitlines() if line.strip()]


def test_kill_9_mid_generation_loses_at_most_one_sub_batch(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    script = tmp_path / "model.jsonl"
    options = {"unscripted": "hash", "delay": 0.1, "calls_log": str(log), "batch_size": SUB}
    script.write_text(json.dumps({"options": options}) + "\n", encoding="utf-8")
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: gen\ntasks:\n  - task: triviaqa\n    limit: {ITEMS}\n", encoding="utf-8")
    db = tmp_path / "run.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    cmd = [sys.executable, "-m", "tunegate", "run", "--model", f"mock:{script}", "--suite", str(suite)]
    cmd += ["--db", f"sqlite:///{db}", "-q"]

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _count(db) < 3 * SUB and time.monotonic() < deadline:  # written as each sub-batch ends
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = _count(db)
    first = _calls(log)
    assert 0 < stored < ITEMS, "nothing was stored before the end: writes are not per sub-batch"
    assert all(n <= SUB for n in first)
    lost = sum(first) - stored
    assert 0 <= lost <= SUB, f"kill -9 lost {lost} answers (more than one sub-batch of {SUB})"

    log.unlink()
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    again = _calls(log)
    assert sum(again) == ITEMS - stored  # exactly the unfinished requests
    assert len(again) == math.ceil((ITEMS - stored) / SUB)
    assert _count(db) == ITEMS
