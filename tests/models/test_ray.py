"""``ray:``: a real local Ray cluster (``num_cpus=2``) with two workers holding the tiny hf model.

The answers are those of a single-process run, item for item; the cache does not depend on the
number of workers; a worker killed with ``ray.kill`` in the middle of a run is replaced, its unanswered
sub-batch is sent again, and every request is stored exactly once. ~40 s (the cluster starts once).
Run under the CPU lock: the cluster and its workers take both cores for a while.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tunegate.engine import Engine
from tunegate.errors import ModelSpecError
from tunegate.models import GenerateRequest, LoglikelihoodRequest, Model
from tunegate.store import Store, open_store

ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'tunegate[ray]'")

from tunegate.models._ray import RayBackend, ray_spec, shutdown_local_cluster  # noqa: E402

LL = [LoglikelihoodRequest(f"Item {i}: the answer is", f" {i * 7 % 13} apples") for i in range(24)]
GEN = [GenerateRequest(f"Say {i}", max_new_tokens=5) for i in range(6)]


@pytest.fixture(scope="module", autouse=True)
def cluster() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUNEGATE_RAY_TMP", tempfile.mkdtemp(prefix="tg-ray-test-"))  # short: unix sockets
        mp.setenv("TUNEGATE_RAY_CPUS", "2")
        yield
        shutdown_local_cluster()


def _store(path: Path) -> Store:
    return open_store(f"sqlite:///{path}")


def _rows(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as c:
        total, distinct = c.execute("select count(*), count(distinct key) from responses").fetchone()
    return int(total), int(distinct)


def _single(tiny_model_dir: Path, tmp_path: Path) -> tuple[list[Any], list[Any]]:
    store = _store(tmp_path / "single.db")
    eng = Engine(Model(f"hf:{tiny_model_dir}"), store, batch_size=4)
    out = eng.run(LL), eng.run(GEN)
    store.close()
    return out


def test_two_workers_answer_like_one_process_and_share_its_cache(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    want_ll, want_gen = _single(tiny_model_dir, tmp_path)
    model = Model(ray_spec(f"hf:{tiny_model_dir}", workers=2))
    assert model.fingerprint == Model(f"hf:{tiny_model_dir}").fingerprint  # the cache ignores Ray
    store = _store(tmp_path / "ray.db")
    eng = Engine(model, store, batch_size=4)
    assert eng.run(LL) == want_ll and eng.run(GEN) == want_gen  # exact, item for item
    backend = model.backend
    assert isinstance(backend, RayBackend) and len(backend.actors) == 2
    pids = {ray.get(a.pid.remote()) for a in backend.actors}
    assert len(pids) == 2  # two worker processes, each with its own replica
    calls = ray.get([a.call.remote("generate", GEN[:1]) for a in backend.actors])
    assert calls[0] == calls[1] == want_gen[:1]
    assert eng.stats.computed == len(LL) + len(GEN) and _rows(tmp_path / "ray.db") == (30, 30)
    backend.close()
    # another worker count: the same fingerprint, so everything comes from the cache, nothing loads
    other = Model(ray_spec(f"hf:{tiny_model_dir}", workers=1))
    again = Engine(other, store, batch_size=4)
    assert again.run(LL) == want_ll and again.stats.computed == 0 and not other.loaded
    store.close()


class _KillOnce:
    """Progress that kills one worker after the first sub-batch lands (the run is then mid-way)."""

    def __init__(self, model: Model) -> None:
        self.model, self.killed, self.advanced = model, False, 0

    def task(self, description: str, total: int) -> Any:
        return None

    def advance(self, handle: Any, n: int = 1, tokens: int = 0) -> None:
        self.advanced += n
        if not self.killed:
            backend = self.model.backend
            assert isinstance(backend, RayBackend)
            ray.kill(backend.actors[1])
            self.killed = True

    def note(self, text: str) -> None:
        pass

    def __enter__(self) -> _KillOnce:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def test_a_worker_killed_mid_run_loses_nothing_and_computes_nothing_twice(tmp_path: Path) -> None:
    # the mock backend (a real registered backend) sleeps 0.1 s per request, so the kill lands while
    # the worker holds a sub-batch, and it logs every call it starts to a file: calls can be counted
    calls_log = tmp_path / "calls.jsonl"
    script = tmp_path / "script.jsonl"
    opts = {"unscripted": "hash", "delay": 0.1, "calls_log": str(calls_log), "batch_size": 2}
    script.write_text(json.dumps({"options": opts}) + "\n", encoding="utf-8")
    single = _store(tmp_path / "single.db")
    want = Engine(Model(f"mock:{script}"), single).run(LL)
    single.close()
    calls_log.unlink()

    model = Model(ray_spec(f"mock:{script}", workers=2))
    progress = _KillOnce(model)
    store = _store(tmp_path / "fault.db")
    stored: list[str] = []
    real_put = store.put_responses

    def put(rows: Any) -> None:
        rows = list(rows)
        stored.extend(r[0] for r in rows)
        real_put(rows)

    store.put_responses = put  # type: ignore[method-assign]  # a spy: the real write still happens
    eng = Engine(model, store, progress=progress)
    got = eng.run(LL)
    backend = model.backend
    assert isinstance(backend, RayBackend)
    assert progress.killed and backend.replaced == 1 and backend.resent == 1  # replaced, batch re-sent
    assert got == want  # the run completed, with the single-process answers
    n_batches = len(LL) // 2
    # the engine asked once per sub-batch and stored each request once; the backend started at most one
    # call more than there are sub-batches: the one the killed worker never finished (none when the kill
    # landed while that call was still queued at the worker)
    assert eng.stats.backend_calls == backend.answered == n_batches and eng.stats.computed == len(LL)
    assert len(stored) == len(set(stored)) == len(LL) and _rows(tmp_path / "fault.db") == (24, 24)
    assert n_batches <= len(calls_log.read_text().splitlines()) <= n_batches + backend.resent
    assert len({ray.get(a.pid.remote()) for a in backend.actors}) == 2  # the replacement: a new process
    backend.close()
    store.close()


def test_bad_ray_specs_are_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(ModelSpecError, match="workers"):
        _ = Model(f"ray:hf:{tiny_model_dir}?workers=0").fingerprint
    with pytest.raises(ModelSpecError, match="another ray"):
        _ = Model(f"ray:ray:hf:{tiny_model_dir}").fingerprint
    with pytest.raises(ModelSpecError, match="already a ray"):
        ray_spec(f"ray:hf:{tiny_model_dir}", 2)


def _responses(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as c:
        return dict(c.execute("select key, response from responses").fetchall())


def test_cli_run_with_ray_workers_stores_what_a_single_process_stores(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: t\ntasks:\n  - task: triviaqa\n    limit: 6\n", encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
        "TUNEGATE_RAY_TMP": tempfile.mkdtemp(prefix="tg-ray-cli-"),
    }
    out = {}
    for name, extra in (("single", []), ("ray", ["--ray-workers", "2"])):
        db = tmp_path / f"{name}.db"
        cmd = [
            sys.executable,
            "-m",
            "tunegate",
            "run",
            "--model",
            f"hf:{tiny_model_dir}",
            "--suite",
            str(suite),
        ]
        proc = subprocess.run(
            [*cmd, "--db", f"sqlite:///{db}", "-q", *extra],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        out[name] = _responses(db)
    assert out["ray"] == out["single"] and len(out["ray"]) >= 6  # same keys, same answers


def test_cli_refuses_a_bad_worker_count(tiny_model_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    cmd = [
        sys.executable,
        "-m",
        "tunegate",
        "run",
        "--model",
        f"ray:hf:{tiny_model_dir}",
        "--ray-workers",
        "2",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "already a ray" in proc.stderr


def test_cli_ray_address_joins_an_existing_cluster(tiny_model_dir: Path, tmp_path: Path) -> None:
    auth = {**os.environ, "RAY_AUTH_MODE": "disabled"}  # a throwaway loopback cluster: no token
    head = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("_ray_head.py")),
            tempfile.mkdtemp(prefix="tg-ray-head-"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=auth,
    )
    try:
        assert head.stdout is not None
        address = head.stdout.readline().strip()
        assert ":" in address, address
        suite = tmp_path / "suite.yaml"
        suite.write_text("name: t\ntasks:\n  - task: triviaqa\n    limit: 3\n", encoding="utf-8")
        env = {**auth, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
        cmd = [
            sys.executable,
            "-m",
            "tunegate",
            "run",
            "--model",
            f"hf:{tiny_model_dir}",
            "--suite",
            str(suite),
        ]
        cmd += [
            "--db",
            f"sqlite:///{tmp_path / 'r.db'}",
            "-q",
            "--ray-address",
            address,
            "--ray-workers",
            "2",
        ]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert len(_responses(tmp_path / "r.db")) >= 3
    finally:
        assert head.stdin is not None
        head.stdin.close()  # the head shuts its cluster down
        head.wait(timeout=60)
        if head.stdout is not None:
            head.stdout.close()
