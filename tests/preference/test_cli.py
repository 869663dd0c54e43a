"""``tunegate ab`` end to end in real subprocesses: create (from queries answered by the tiny model
through the engine, and from a stored compare run), serve on loopback, vote, restart, report, export."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

TUNEGATE = [sys.executable, "-m", "tunegate"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TUNEGATE, *args], capture_output=True, text=True, timeout=300, env=env)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, db: str) -> None:
        self.db, self.port = db, _free_port()
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [*TUNEGATE, "ab", "serve", "--db", self.db, "--port", str(self.port)],
            text=True,
            stderr=subprocess.PIPE,
        )
        for _ in range(200):
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture()
def queries(tmp_path: Path) -> Path:
    p = tmp_path / "q.jsonl"
    rows = [
        {"prompt": "Say hello", "tags": ["chat"]},
        {"messages": [{"role": "user", "content": "Count to three"}], "tags": ["chat", "math"]},
        {"prompt": "Write `x = 1` in Python"},
    ]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return p


@pytest.fixture()
def server_db(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'ab.db'}"


def test_create_serve_vote_restart_report_export(
    queries: Path, server_db: str, tiny_model_dir: Path, tiny_adapter_dir: Path, tmp_path: Path
) -> None:
    base, tuned = f"hf:{tiny_model_dir}", f"hf:{tiny_model_dir}?adapter={tiny_adapter_dir}"
    r = _run(
        "ab", "create", "--queries", str(queries), "--model", f"base={base}", "--model", f"tuned={tuned}",
        "--overlap", "2", "--items-per-rater", "3", "--rater", "ann", "--rater", "bob",
        "--max-new-tokens", "8", "--db", server_db, "-q",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    sid = re.search(r"study (\w+):", r.stdout).group(1)  # type: ignore[union-attr]
    owner = re.search(r"owner token.*: (\S+)", r.stdout).group(1)  # type: ignore[union-attr]
    links = dict(re.findall(r"^\s+(ann|bob)\s+(\S+)$", r.stdout, re.M))
    assert set(links) == {"ann", "bob"} and "3 items" in r.stdout

    srv = Server(server_db)
    srv.start()
    try:
        clients = {}
        for name, link in links.items():
            c = httpx.Client(base_url=f"http://127.0.0.1:{srv.port}")
            assert c.get(link.replace("http://127.0.0.1:8000", "")).status_code == 303
            clients[name] = c
        ann = clients["ann"]
        nxt = ann.get("/api/next").json()
        assert nxt["total"] == 3
        assert (
            ann.post(
                "/api/vote", json={"position": 0, "choice": "A"}, headers={"X-CSRF-Token": nxt["csrf"]}
            ).status_code
            == 200
        )
        srv.stop()  # restart mid-study: nothing is lost, cookies and CSRF tokens still work
        srv.start()
        assert ann.get("/api/progress").json() == {"done": 1, "total": 3}
        for name, c in clients.items():
            n = c.get("/api/next").json()
            while n["item"] is not None:
                resp = c.post(
                    "/api/vote",
                    json={"position": n["item"]["position"], "choice": "B", "reason": name},
                    headers={"X-CSRF-Token": n["csrf"]},
                )
                assert resp.status_code == 200
                n = c.get("/api/next").json()
        res = httpx.get(
            f"http://127.0.0.1:{srv.port}/owner/{sid}/results", headers={"Authorization": f"Bearer {owner}"}
        )
        assert res.status_code == 200 and res.json()["votes"] == 6
    finally:
        srv.stop()

    for fmt in ("terminal", "markdown", "json", "html"):
        out = tmp_path / f"report.{fmt}"
        r = _run("ab", "report", sid, "--format", fmt, "--out", str(out), "--db", server_db)
        assert r.returncode == 0, r.stderr
        text = out.read_text()
        assert "win rate" in text.lower() or '"win_rate"' in text
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["win_rate"]["n"] == 6 and data["study"]["raters"] == 2
    assert "<svg" in (tmp_path / "report.html").read_text()
    r = _run("ab", "export", sid, "--format", "csv", "--db", server_db)
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()) == 7
    r = _run("ab", "export", sid, "--format", "jsonl", "--history", "--db", server_db)
    assert len(r.stdout.strip().splitlines()) == 6
    assert _run("ab", "report", "nosuchstudy", "--db", server_db).returncode == 2
    r = _run("ab", "create", "--queries", str(queries), "--db", server_db)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_create_from_a_stored_compare_run(
    tmp_path: Path, tiny_model_dir: Path, tiny_adapter_dir: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    suite = tmp_path / "s.yaml"
    suite.write_text("name: gen\ntasks:\n  - task: triviaqa\n    limit: 3\n")
    from tunegate.runner._compare import CompareConfig, compare_models
    from tunegate.store import open_store
    from tunegate.suite._load import load_suite

    store = open_store(db)
    spec = f"hf:{tiny_model_dir}"
    res = compare_models(
        CompareConfig(suite=load_suite(suite), base=spec, tuned=f"{spec}?adapter={tiny_adapter_dir}"), store
    )
    run_id = res.run_id
    store.close()
    r = _run("ab", "create", "--from-run", run_id, "--rater", "ann", "--db", db)
    assert r.returncode == 0, r.stderr
    assert "3 items" in r.stdout
    from tunegate.preference import StudyStore, result_for_run

    ss = StudyStore(open_store(db))
    (study,) = ss.studies_for_run(run_id)
    items = ss.items(study["id"])
    assert all(i["model_x"] == "base" and i["model_y"] == "tuned" for i in items)
    assert all(isinstance(i["query"], str) and len(i["query"]) > 10 for i in items)
    got = result_for_run(ss, run_id)
    assert got is not None and got["study"]["source_run_id"] == run_id and got["preference"]["n"] == 0
    assert result_for_run(ss, "norun") is None
    assert os.environ.get("TUNEGATE_HOME")
