"""Shared fixtures: a tiny in-memory model, isolated caches, and the two store backends."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._tiny import build_tiny_adapter, build_tiny_model

PG_URL = os.environ.get("TUNEGATE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# A shell starts background jobs (`(make test &)`) with Ctrl-C ignored, and an ignored signal stays
# ignored across exec: the Ctrl-C tests' subprocesses would never see their SIGINT. A handler does not
# survive exec, so with this one the subprocesses get Ctrl-C's default, as from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own store folder; the model cache stays shared (conversions are slow)."""
    monkeypatch.setenv("TUNEGATE_HOME", str(tmp_path / ".tunegate"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.delenv("TUNEGATE_DB", raising=False)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_adapter_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_adapter(tiny_model_dir, tmp_path_factory.mktemp("tiny") / "adapter")


def _pg_available() -> bool:
    try:
        import sqlalchemy as sa

        with sa.create_engine(PG_URL).connect() as c:
            c.execute(sa.text("select 1"))
        return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store URL on SQLite and on the real PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_URL} (CI must start it)")
        pytest.skip(f"PostgreSQL is not reachable at {PG_URL}")
    import sqlalchemy as sa

    schema = f"t_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
