"""The run lifecycle against real processes, on SQLite and PostgreSQL.

A run whose process is killed with SIGKILL must read back as ``interrupted`` (and be saved so), a
Ctrl-C must be recorded as ``interrupted`` (not ``failed``), a live run must stay ``running``, and a
run on another machine is judged by its heartbeat alone.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tunegate.store import Store, _lifecycle, open_store
from tunegate.store import _schema as t

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tunegate.store import open_store
    store = open_store(sys.argv[1])
    with store.run("compare", suite="s", suite_hash="h", roles={"base": "a", "tuned": "b"}, config={}) as run:
        Path(sys.argv[2]).write_text(run.id)
        time.sleep(120)
    """
)


def _start_child(db_url: str, tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    marker = tmp_path / "run-id"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, db_url, str(marker)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not marker.exists() or not marker.read_text():
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "the child never started its run"
        time.sleep(0.05)
    return proc, marker.read_text()


def _raw_status(store: Store, run_id: str) -> str:
    with store.engine.connect() as c:
        return str(c.execute(sa.select(t.runs.c.status).where(t.runs.c.id == run_id)).scalar_one())


def test_a_killed_run_is_shown_and_saved_as_interrupted(db_url: str, tmp_path: Path) -> None:
    proc, run_id = _start_child(db_url, tmp_path)
    store = open_store(db_url)
    try:
        assert store.get_run(run_id).status == "running"  # alive: left alone
        assert _raw_status(store, run_id) == "running"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert _raw_status(store, run_id) == "running"  # the dead process could record nothing
        (run,) = store.list_runs()
        assert run.id == run_id and run.status == "interrupted"
        assert run.finished_at is not None  # its last sign of life
        assert _raw_status(store, run_id) == "interrupted"  # and it is saved so
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        store.close()


def test_ctrl_c_is_recorded_as_interrupted_not_failed(db_url: str, tmp_path: Path) -> None:
    proc, run_id = _start_child(db_url, tmp_path)
    try:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    store = open_store(db_url)
    assert _raw_status(store, run_id) == "interrupted"
    assert store.get_run(run_id).status == "interrupted"
    store.close()


def _age(store: Store, run_id: str, *, host: str, pid: int, seconds: float) -> None:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
    with store.engine.begin() as c:
        c.execute(
            sa.update(t.runs).where(t.runs.c.id == run_id).values(host=host, pid=pid, heartbeat_at=when)
        )


def _new(store: Store) -> str:
    return store.start_run(kind="run", suite="s", suite_hash="h", roles={"model": "m"}, config={})


def test_a_run_elsewhere_is_judged_by_its_heartbeat(db_url: str) -> None:
    import os

    store = open_store(db_url)
    fresh, stale, reused = _new(store), _new(store), _new(store)
    stale_after = _lifecycle.STALE_AFTER_S
    _age(store, fresh, host="other-machine", pid=1, seconds=stale_after / 2)
    _age(store, stale, host="other-machine", pid=1, seconds=stale_after + 60)
    # our own pid is alive, but a heartbeat this old means the pid was reused by another process
    _age(store, reused, host=_lifecycle.this_host(), pid=os.getpid(), seconds=stale_after + 60)
    got = {r.id: r.status for r in store.list_runs()}
    assert got == {fresh: "running", stale: "interrupted", reused: "interrupted"}
    store.close()


def test_the_heartbeat_advances_while_the_run_lives(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_lifecycle, "HEARTBEAT_S", 0.05)
    store = open_store(db_url)
    with store.run("run", suite="s", suite_hash="h", roles={"model": "m"}, config={}) as run:
        first = store.get_run(run.id).heartbeat_at
        deadline = time.monotonic() + 10
        while store.get_run(run.id).heartbeat_at == first:
            assert time.monotonic() < deadline, "no heartbeat in 10 s"
            time.sleep(0.05)
    assert store.get_run(run.id).status == "completed"
    store.close()
