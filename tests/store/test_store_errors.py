"""The store's own failures: not a database, read-only, disk full, concurrent first use, permissions.

Read-only and disk-full stores are real: a small tmpfs mounted by the test (skipped, saying why, where
mounting is not permitted). Each failure is one line, exit 2, no traceback, and what was stored before
is unchanged.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_URL, _pg_available
from tunegate.errors import StoreError
from tunegate.store import open_store


def _tunegate(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tunegate", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "250", **(env or {})},
    )


def _one_line_error(res: subprocess.CompletedProcess[str], needle: str) -> None:
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert needle in lines[0], lines[0]


def _seed(url: str) -> str:
    s = open_store(url)
    try:
        return s.start_run(
            kind="compare", suite="s", suite_hash="h" * 64, roles={"base": "b", "tuned": "t"}, config={}
        )
    finally:
        s.close()


@pytest.fixture()
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of its own (so it can be filled, or remounted read-only)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.decode().strip() or 'not root'})")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database " * 100)
    res = _tunegate("history", "--db", f"sqlite:///{bad}", cwd=tmp_path)
    _one_line_error(res, "not a tunegate database")
    assert bad.read_bytes() == b"this is not a database " * 100


def test_a_new_sqlite_store_is_private(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    _seed(f"sqlite:///{path}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for suffix in ("-wal", "-shm"):  # SQLite gives its side files the database file's mode
        side = path.with_name(path.name + suffix)
        assert not side.exists() or stat.S_IMODE(side.stat().st_mode) == 0o600
    res = _tunegate("history", cwd=tmp_path, env={"TUNEGATE_HOME": str(tmp_path / "home")})
    assert res.returncode == 0, res.stderr
    assert stat.S_IMODE((tmp_path / "home").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "home" / "tunegate.db").stat().st_mode) == 0o600


def test_a_read_only_store_can_be_listed_and_a_write_says_read_only(
    tmpfs: Path, tmp_path: Path, tiny_model_dir: Path
) -> None:
    url = f"sqlite:///{tmpfs / 's.db'}"
    run_id = _seed(url)
    before = _tunegate("history", "--db", url, cwd=tmp_path)
    assert before.returncode == 0 and run_id in before.stdout, before.stderr
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    listed = _tunegate("history", "--db", url, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == before.stdout
    store = open_store(url)
    with pytest.raises(StoreError, match="read-only") as e:
        store.start_run(kind="compare", suite="s", suite_hash="h", roles={"tuned": "t"}, config={})
    assert "\n" not in str(e.value) and str(tmpfs / "s.db") in str(e.value)
    store.close()
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\ntasks:\n  - task: hellaswag\n    limit: 1\n")
    res = _tunegate(
        "compare",
        "--base",
        f"hf:{tiny_model_dir}",
        "--tuned",
        f"hf:{tiny_model_dir}",
        "--suite",
        str(suite),
        "--db",
        url,
        cwd=tmp_path,
    )
    _one_line_error(res, "read-only")


def test_a_full_disk_is_one_line_and_the_store_stays_intact(
    tmpfs: Path, tmp_path: Path, tiny_model_dir: Path
) -> None:
    url = f"sqlite:///{tmpfs / 's.db'}"
    _seed(url)
    before = _tunegate("history", "--db", url, cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    filler = tmpfs / "filler"
    with filler.open("wb") as f, pytest.raises(OSError):  # fill the disk to the last byte
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\ntasks:\n  - task: hellaswag\n    limit: 4\n")
    model = f"hf:{tiny_model_dir}"
    res = _tunegate(
        "compare", "--base", model, "--tuned", model, "--suite", str(suite), "--db", url, "-q", cwd=tmp_path
    )
    _one_line_error(res, "disk")
    filler.unlink()
    after = _tunegate("history", "--db", url, cwd=tmp_path)
    assert after.returncode == 0 and after.stdout == before.stdout
    with sa.create_engine(url).connect() as c:
        assert c.execute(sa.text("PRAGMA integrity_check")).scalar_one() == "ok"


_MIGRATE = """
import sys
from tunegate.store import open_store
s = open_store(sys.argv[1])
print(len(s.list_runs()))
"""


def test_four_runs_migrate_a_new_postgresql_schema_once() -> None:
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_URL} (CI must start it)")
        pytest.skip(f"PostgreSQL is not reachable at {PG_URL}")
    admin = sa.create_engine(PG_URL)
    for attempt in range(3):  # three fresh schemas: a race that is lost only sometimes still shows
        schema = f"race_{uuid.uuid4().hex[:10]}"
        with admin.begin() as c:
            c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = f"{PG_URL}?options=-csearch_path%3D{schema}"
            procs = [
                subprocess.Popen(
                    [sys.executable, "-c", _MIGRATE, url],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(4)
            ]
            outs = [p.communicate(timeout=120) for p in procs]
            for p, (out, err) in zip(procs, outs, strict=True):
                assert p.returncode == 0, f"attempt {attempt}: {err}"
                assert out.strip() == "0"
            with admin.connect() as c:
                n = c.execute(sa.text(f'SELECT count(*) FROM "{schema}".alembic_version')).scalar_one()
            assert n == 1
        finally:
            with admin.begin() as c:
                c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
