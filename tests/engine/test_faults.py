"""The engine's shared policy against misbehaving servers on 127.0.0.1 (``_fake_openai_server``):
an overall deadline beats a trickling server, NaN and strings are never stored as answers, a huge
body is refused while it is read, a dropped connection is retried, and Ctrl-C with requests in
flight exits 130 within 2 s keeping what finished.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.models._fake_openai_server import FakeOpenAIServer
from tunegate.engine import Engine
from tunegate.errors import BackendError
from tunegate.models import GenerateRequest, GenerateResult, LoglikelihoodRequest, Model
from tunegate.store import Store, open_store


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    srv = FakeOpenAIServer(trickle_seconds=0.2, answer_first=4).start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _policy(server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEGATE_OPENAI_TIMEOUT", "0.5")  # per read: a trickle never trips it
    monkeypatch.setenv("TUNEGATE_BACKOFF", "0.01")
    monkeypatch.setenv("TUNEGATE_ATTEMPTS", "2")
    server.reset()


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'faults.db'}")
    yield s
    s.close()


def _stored(store: Store) -> int:
    import sqlalchemy as sa

    with store.engine.connect() as c:
        return int(c.execute(sa.text("SELECT count(*) FROM responses")).scalar_one())


Make = Callable[[str], Engine]


@pytest.fixture()
def engine(server: FakeOpenAIServer, store: Store) -> Make:
    return lambda model: Engine(Model(f"openai:{model}?base_url={server.url}"), store)


def test_a_trickling_server_hits_the_overall_deadline(
    server: FakeOpenAIServer, engine: Make, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNEGATE_DEADLINE", "1")
    start = time.monotonic()
    with pytest.raises(BackendError, match=r"within the 1 s deadline.*gave up after 2 attempts"):
        engine("trickle").run([GenerateRequest("say x")])
    elapsed = time.monotonic() - start
    # the body is ~200 bytes at 5 bytes/s: without an overall deadline this takes 40 s per attempt
    assert elapsed < 5, elapsed
    assert server.calls["trickle"] == 2 and _stored(store) == 0


@pytest.mark.parametrize(
    ("model", "why"),
    [("nan", "not a finite number"), ("strings", "token_logprobs hold something other than numbers")],
)
def test_nan_and_string_logprobs_are_never_stored(engine: Make, store: Store, model: str, why: str) -> None:
    with pytest.raises(BackendError, match=why):
        engine(model).run([LoglikelihoodRequest("The cat sat on the", " mat")])
    assert _stored(store) == 0


@pytest.mark.parametrize("model", ["huge", "hugechunked"])
def test_a_huge_body_is_refused_while_read(
    engine: Make, store: Store, monkeypatch: pytest.MonkeyPatch, model: str
) -> None:
    monkeypatch.setenv("TUNEGATE_MAX_RESPONSE_BYTES", "100000")
    with pytest.raises(BackendError, match="response cap of 100,000 bytes"):
        engine(model).run([GenerateRequest("say x")])
    assert _stored(store) == 0


def test_a_dropped_connection_is_retried(server: FakeOpenAIServer, engine: Make, store: Store) -> None:
    (res,) = engine("drop").run([GenerateRequest("say x")])
    assert isinstance(res, GenerateResult) and res.text.startswith(" x is")
    assert server.calls["drop"] == 2 and _stored(store) == 1


def test_ctrl_c_with_requests_in_flight_exits_130_within_2_s(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: hang\ntasks:\n  - task: triviaqa\n    limit: 12\n", encoding="utf-8")
    db = tmp_path / "run.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    env.pop("TUNEGATE_DEADLINE", None)
    cmd = [sys.executable, "-m", "tunegate", "run", "--model", f"openai:hang?base_url={server.url}"]
    cmd += ["--suite", str(suite), "--db", f"sqlite:///{db}", "-q"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        # wait for the first answers to be stored and later requests to be held by the server
        while time.monotonic() < deadline and not (server.in_flight >= 2 and _count(db) >= 4):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        assert server.in_flight >= 2, "no requests in flight"
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=10)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
    assert rc == 130, err.decode()
    assert took < 2.0, f"exit took {took:.2f} s"
    assert b"Traceback" not in err
    assert _count(db) == 4  # the answers that finished are kept


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


def test_ctrl_c_during_a_local_forward_pass_exits_130_within_2_s(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """A local backend call cannot be cancelled; the process still leaves at once (not aborting in
    torch's threads at shutdown), keeping every stored sub-batch."""
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: gen\ntasks:\n  - task: triviaqa\n    limit: 400\n", encoding="utf-8")
    db = tmp_path / "run.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    cmd = [sys.executable, "-m", "tunegate", "run", "--model", f"hf:{tiny_model_dir}", "--suite", str(suite)]
    cmd += ["--db", f"sqlite:///{db}", "-q"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while _count(db) < 16 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        before = _count(db)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=10)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
    assert rc == 130, (rc, err.decode()[-2000:])
    assert took < 2.0, f"exit took {took:.2f} s"
    assert 16 <= before <= _count(db) < 400
