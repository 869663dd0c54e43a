"""The result store: the response cache, runs, per-item scores and comparisons.

SQLite by default (a file under ``.tunegate/``), any SQLAlchemy URL otherwise (tested on PostgreSQL).
The schema is brought to the latest alembic revision when a store is opened (on PostgreSQL under an
advisory lock, so concurrent first runs on a new schema migrate it once). Every write commits at once,
so a crash loses at most the batch in flight.

Failures of the database itself (not a database, disk full, read-only, connection lost) are a
one-line ``StoreError``, raised from the engine's ``handle_error`` hook, with URL passwords masked.
A SQLite file is created private (0600; the default folder ``.tunegate/`` 0700); one that cannot
be written is opened read-only (``immutable``): it can be listed, and a write says "read-only".
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tunegate._display import mask_url
from tunegate.errors import StoreError
from tunegate.store import _schema as t

__all__ = ["Store", "open_store"]

_MIGRATIONS = Path(__file__).parent / "migrations"
_CHUNK = 500


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _current_revision(conn: sa.Connection) -> str | None:
    """The store's alembic revision, read with plain SQL (importing alembic costs ~0.3 s)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _migrate(engine: Engine, shown: str, *, read_only: bool = False) -> None:
    with engine.connect() as conn:
        if _current_revision(conn) == t.SCHEMA_REVISION:
            return
    if read_only:
        raise StoreError(f"store {shown} is read-only and its schema needs an upgrade")
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # One migrator per schema at a time; the lock ends with this transaction. The others wait,
            # then find the schema at head.
            key = "hashtext('tunegate-migrate:' || coalesce(current_schema(), ''))"
            conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({key})"))
            if _current_revision(conn) == t.SCHEMA_REVISION:
                return
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _why(exc: BaseException | None) -> str:
    lines = str(exc).strip().splitlines() if exc is not None else []
    return lines[0] if lines else type(exc).__name__


def _sqlite_file(url: sa.URL) -> Path | None:
    db = url.database
    if url.get_backend_name() != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def _writable(path: Path) -> bool:
    try:
        if os.statvfs(path.parent).f_flag & os.ST_RDONLY:
            return False
    except OSError:
        return False
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def _prepare_sqlite_file(path: Path) -> bool:
    """Create a new store file private (0600); False when an existing one cannot be written."""
    if path.exists():
        return _writable(path)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    except OSError as e:
        raise StoreError(f"cannot create store file {path}: {e.strerror or e}") from None
    return True


def _on_error(engine: Engine, shown: str) -> None:
    """Turn the database's own failures into one-line StoreErrors (bugs keep their traceback)."""

    @sa.event.listens_for(engine, "handle_error")
    def _store_error(ctx: sa.engine.ExceptionContext) -> None:
        exc = ctx.sqlalchemy_exception
        if type(exc) not in (sa.exc.OperationalError, sa.exc.DatabaseError):
            return
        why = _why(ctx.original_exception)
        low = why.lower()
        if "readonly" in low or "read-only" in low:
            raise StoreError(f"store {shown} is read-only ({why}); nothing was written")
        if "disk is full" in low or "no space" in low or "disk i/o error" in low:
            raise StoreError(
                f"store {shown}: {why} (is the disk full?); free some space and run the same command again "
                "(what was stored before is kept)"
            )
        if "not a database" in low:
            raise StoreError(f"store {shown} is not a tunegate database ({why})")
        raise StoreError(f"store {shown}: {why}")


def open_store(url: str | None = None) -> Store:
    """Open (and migrate) the store at ``url``; the default is the project's SQLite file."""
    from tunegate._paths import default_db_url

    url = url or default_db_url()
    for prefix in ("postgresql://", "postgres://"):  # psycopg 3 is the driver we install
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    read_only = False
    shown = mask_url(url)
    try:
        file = _sqlite_file(sa.make_url(url))
        if file is not None and not _prepare_sqlite_file(file):
            read_only = True  # immutable: reading never needs to write the -wal/-shm files
            url = f"sqlite:///file:{quote(str(file.resolve()))}?immutable=1&uri=true"
        engine = sa.create_engine(url, future=True)
    except (sa.exc.ArgumentError, ImportError, sa.exc.NoSuchModuleError) as e:
        raise StoreError(
            f"cannot use database URL {mask_url(url)!r}: {e}. Use sqlite:///path.db or "
            "postgresql://user@host/db (PostgreSQL needs: pip install 'psycopg[binary]')"
        ) from None
    shown = mask_url(engine.url.render_as_string(hide_password=True)) if not read_only else shown
    _on_error(engine, shown)
    if engine.dialect.name == "sqlite" and read_only:

        @sa.event.listens_for(engine, "connect")
        def _query_only(dbapi_conn: Any, _: Any) -> None:
            dbapi_conn.execute("PRAGMA query_only=ON")

    elif engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    try:
        _migrate(engine, shown, read_only=read_only)
    except StoreError as e:
        raise StoreError(f"cannot open database: {e}") from None
    except sa.exc.DBAPIError as e:
        raise StoreError(f"cannot open database {shown!r}: {_why(e.orig)}") from None
    return Store(engine, shown)


class Store:
    """Typed access to the store's tables."""

    def __init__(self, engine: Engine, url: str | None = None) -> None:
        self.engine = engine
        self._url = url

    @property
    def url(self) -> str:
        """The store's URL as shown to people (password masked)."""
        return self._url or self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    # -- models and the response cache -------------------------------------------------------------
    def remember_model(self, fingerprint: str, spec: str) -> None:
        with self.engine.begin() as c:
            if c.execute(
                sa.select(t.models.c.fingerprint).where(t.models.c.fingerprint == fingerprint)
            ).first():
                return
            c.execute(sa.insert(t.models).values(fingerprint=fingerprint, spec=spec, created_at=_now()))

    def get_responses(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Cached responses for the given keys (missing keys are absent)."""
        found: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as c:
            for chunk in _chunks(list(keys)):
                q = sa.select(t.responses.c.key, t.responses.c.response).where(t.responses.c.key.in_(chunk))
                found.update({k: r for k, r in c.execute(q)})
        return found

    def put_responses(self, rows: Iterable[tuple[str, str, str, dict[str, Any], dict[str, Any]]]) -> None:
        """Insert (key, fingerprint, kind, request, response) rows in one transaction; a key already
        stored (or repeated in ``rows``) keeps its first value, also when two writers race."""
        now = _now()
        values: dict[str, dict[str, Any]] = {}
        for k, fp, kind, req, res in rows:
            values.setdefault(
                k,
                {
                    "key": k,
                    "fingerprint": fp,
                    "kind": kind,
                    "request": req,
                    "response": res,
                    "created_at": now,
                },
            )
        if not values:
            return
        with self.engine.begin() as c:
            for chunk in _chunks(list(values.values())):
                c.execute(self._insert_ignoring_duplicates(), list(chunk))

    def _insert_ignoring_duplicates(self) -> Any:
        name = self.engine.dialect.name
        if name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(t.responses).on_conflict_do_nothing(index_elements=["key"])
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(t.responses).on_conflict_do_nothing(index_elements=["key"])
        return sa.insert(t.responses).prefix_with("IGNORE")  # MySQL / MariaDB

    def count_responses(self, fingerprint: str | None = None) -> int:
        q = sa.select(sa.func.count()).select_from(t.responses)
        if fingerprint:
            q = q.where(t.responses.c.fingerprint == fingerprint)
        with self.engine.connect() as c:
            return int(c.execute(q).scalar_one())

    # -- runs --------------------------------------------------------------------------------------
    def start_run(
        self, *, kind: str, suite: str, suite_hash: str, base: str | None, tuned: str, config: dict[str, Any]
    ) -> str:
        run_id = uuid.uuid4().hex[:12]
        with self.engine.begin() as c:
            c.execute(
                sa.insert(t.runs).values(
                    id=run_id,
                    kind=kind,
                    suite=suite,
                    suite_hash=suite_hash,
                    base=base,
                    tuned=tuned,
                    status="running",
                    config=config,
                    started_at=_now(),
                    n_computed=0,
                    n_cached=0,
                )
            )
        return run_id

    def finish_run(
        self, run_id: str, *, status: str, result: dict[str, Any] | None, n_computed: int, n_cached: int
    ) -> None:
        with self.engine.begin() as c:
            c.execute(
                sa.update(t.runs)
                .where(t.runs.c.id == run_id)
                .values(
                    status=status, result=result, n_computed=n_computed, n_cached=n_cached, finished_at=_now()
                )
            )

    def get_run(self, run_id: str) -> dict[str, Any]:
        with self.engine.connect() as c:
            row = (
                c.execute(sa.select(t.runs).where(t.runs.c.id.startswith(run_id, autoescape=True)))
                .mappings()
                .all()
            )
        if not row:
            raise StoreError(f"no run {run_id!r} in {self.url}; `tunegate history` lists runs")
        if len(row) > 1:
            raise StoreError(
                f"run id {run_id!r} is ambiguous ({len(row)} runs start with it); give more of it"
            )
        return dict(row[0])

    def list_runs(self, suite: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        q = sa.select(t.runs).order_by(t.runs.c.started_at.desc()).limit(limit)
        if suite:
            q = q.where(t.runs.c.suite == suite)
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(q).mappings()]

    # -- per-item scores and comparisons ------------------------------------------------------------
    def put_scores(self, run_id: str, rows: Iterable[tuple[str, str, str, str, float, str | None]]) -> None:
        """Insert (role, task, item, metric, value, output) rows of a run."""
        values = [
            {"run_id": run_id, "role": r, "task": tk, "item": i, "metric": m, "value": v, "output": o}
            for r, tk, i, m, v, o in rows
        ]
        with self.engine.begin() as c:
            for chunk in _chunks(values):
                c.execute(sa.insert(t.scores), list(chunk))

    def get_scores(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            q = sa.select(t.scores).where(t.scores.c.run_id == run_id)
            return [dict(r) for r in c.execute(q).mappings()]

    def put_comparisons(self, run_id: str, rows: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
        values = [{"run_id": run_id, "task": tk, "metric": m, "data": d} for tk, m, d in rows]
        if values:
            with self.engine.begin() as c:
                c.execute(sa.insert(t.comparisons), values)

    def get_comparisons(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            q = sa.select(t.comparisons).where(t.comparisons.c.run_id == run_id)
            return [dict(r) for r in c.execute(q).mappings()]
