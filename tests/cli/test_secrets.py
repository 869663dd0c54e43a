"""A password in an OpenAI ``base_url`` and the API key never reach any output or record.

A real compare against the loopback OpenAI-compatible server, with every report written; then the
terminal output, each report file and a full dump of the SQLite store are searched for both secrets.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.models._fake_openai_server import FakeOpenAIServer

PASSWORD = "s3cretPW"
API_KEY = "sk-topsecret-0123"


@pytest.fixture()
def server() -> Iterator[FakeOpenAIServer]:
    s = FakeOpenAIServer().start()
    try:
        yield s
    finally:
        s.stop()


def test_base_url_password_and_api_key_are_in_no_output(server: FakeOpenAIServer, tmp_path: Path) -> None:
    url = server.url.replace("http://", f"http://alice:{PASSWORD}@")
    spec = f"openai:m?base_url={url}&api_key_env=TG_TEST_KEY"
    (tmp_path / "s.yaml").write_text("name: s\ntasks:\n  - task: hellaswag\n    limit: 2\n")
    db = tmp_path / "s.db"
    out = {k: tmp_path / f"r.{k}" for k in ("json", "markdown", "html", "junit")}
    cmd = [sys.executable, "-m", "tunegate", "compare", "--base", spec, "--tuned", spec, "--suite", "s.yaml"]
    cmd.append("--allow-vacuous")  # an A/A run without gates, vacuous on purpose
    res = subprocess.run(
        [*cmd, "--db", f"sqlite:///{db}", *(a for k, p in out.items() for a in (f"--{k}", str(p)))],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TG_TEST_KEY": API_KEY, "COLUMNS": "250", "TUNEGATE_OPENAI_BACKOFF": "0"},
    )
    assert res.returncode == 0, res.stderr
    assert server.calls, "the backend never reached the server"
    texts = {"stdout": res.stdout, "stderr": res.stderr}
    texts.update({k: p.read_text(encoding="utf-8") for k, p in out.items()})
    with sqlite3.connect(db) as c:
        texts["store"] = "\n".join(c.iterdump())
    for where, text in texts.items():
        assert PASSWORD not in text, where
        assert API_KEY not in text, where
    assert (
        "alice:***@" in texts["json"] and "alice:***@" in texts["store"] and "alice:***@" in texts["stdout"]
    )
    # the password did reach the server: httpx sent it as Basic auth
    assert any("authorization" in {h.lower() for h in headers} for _, headers, _ in server.requests)
