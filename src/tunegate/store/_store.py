"""The result store: the response cache, runs, and per-item scores and texts, read as typed records.

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
import logging
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tunegate._display import mask_url
from tunegate.errors import StoreError
from tunegate.store import _schema as t
from tunegate.store._lifecycle import RunHandle, is_stale, this_host
from tunegate.store._records import (
    RUN_STATUSES,
    ItemRecord,
    ItemRow,
    ResponseRecord,
    RoleAnswer,
    RunRecord,
    RunStatus,
    ScoreRecord,
)

__all__ = ["Store", "open_store"]

log = logging.getLogger(__name__)

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

    def get_response_records(self, keys: Sequence[str]) -> dict[str, ResponseRecord]:
        """The cached responses for ``keys`` as typed records, with their requests (missing keys absent)."""
        found: dict[str, ResponseRecord] = {}
        with self.engine.connect() as c:
            for chunk in _chunks(list(keys)):
                q = sa.select(t.responses).where(t.responses.c.key.in_(chunk))
                for r in c.execute(q).mappings():
                    found[r["key"]] = ResponseRecord(
                        key=r["key"],
                        fingerprint=r["fingerprint"],
                        kind=r["kind"],
                        request=r["request"],
                        response=r["response"],
                        created_at=_aware(r["created_at"]),
                    )
        return found

    # -- runs --------------------------------------------------------------------------------------
    def run(
        self,
        kind: str,
        *,
        suite: str,
        suite_hash: str,
        roles: Mapping[str, str],
        config: Mapping[str, Any],
        parent: str | None = None,
        step: int | None = None,
        training: str | None = None,
    ) -> RunHandle:
        """Start a run; use as ``with store.run(...) as run:`` (see :mod:`tunegate.store._lifecycle`).

        ``step``/``training``: the run evaluates the checkpoint saved at that step of that training."""
        run_id = self.start_run(
            kind=kind,
            suite=suite,
            suite_hash=suite_hash,
            roles=roles,
            config=config,
            parent=parent,
            step=step,
            training=training,
        )
        return RunHandle(self, run_id)

    def start_run(
        self,
        *,
        kind: str,
        suite: str,
        suite_hash: str,
        roles: Mapping[str, str],
        config: Mapping[str, Any],
        parent: str | None = None,
        step: int | None = None,
        training: str | None = None,
    ) -> str:
        """Insert a ``running`` row owned by this process; prefer :meth:`run`, which also ends it."""
        if parent is not None:
            parent = self.get_run(parent).id
        run_id = uuid.uuid4().hex[:12]
        now = _now()
        with self.engine.begin() as c:
            c.execute(
                sa.insert(t.runs).values(
                    id=run_id,
                    kind=kind,
                    suite=suite,
                    suite_hash=suite_hash,
                    roles=dict(roles),
                    parent_id=parent,
                    status="running",
                    config=dict(config),
                    started_at=now,
                    n_computed=0,
                    n_cached=0,
                    pid=os.getpid(),
                    host=this_host(),
                    heartbeat_at=now,
                    step=step,
                    training=training[:255] if training is not None else None,
                )
            )
        return run_id

    def _beat(self, run_id: str) -> None:
        with self.engine.begin() as c:
            c.execute(
                sa.update(t.runs)
                .where(t.runs.c.id == run_id, t.runs.c.status == "running")
                .values(heartbeat_at=_now())
            )

    def finish_run(
        self,
        run_id: str,
        *,
        status: RunStatus,
        result: Mapping[str, Any] | None,
        n_computed: int,
        n_cached: int,
    ) -> None:
        if status not in RUN_STATUSES or status == "running":
            raise ValueError(f"a run cannot finish as {status!r}")
        with self.engine.begin() as c:
            c.execute(
                sa.update(t.runs)
                .where(t.runs.c.id == run_id)
                .values(
                    status=status,
                    result=dict(result) if result is not None else None,
                    n_computed=n_computed,
                    n_cached=n_cached,
                    finished_at=_now(),
                )
            )

    def get_run(self, run_id: str) -> RunRecord:
        """The run whose id is ``run_id`` or starts with it (a unique prefix)."""
        with self.engine.connect() as c:
            rows = (
                c.execute(sa.select(t.runs).where(t.runs.c.id.startswith(run_id, autoescape=True)))
                .mappings()
                .all()
            )
        if not rows:
            raise StoreError(f"no run {run_id!r} in {self.url}; `tunegate history` lists runs")
        if len(rows) > 1:
            raise StoreError(
                f"run id {run_id!r} is ambiguous ({len(rows)} runs start with it); give more of it"
            )
        return self._records(rows)[0]

    def list_runs(
        self,
        suite: str | None = None,
        limit: int = 50,
        *,
        kind: str | None = None,
        parent: str | None = None,
        training: str | None = None,
        checkpoints: bool = False,
    ) -> list[RunRecord]:
        """Runs, newest first; optionally only those of ``suite``, of ``kind``, attached to ``parent``,
        of one ``training``, or (``checkpoints``) only runs that record a training step."""
        q = sa.select(t.runs).order_by(t.runs.c.started_at.desc()).limit(limit)
        if training is not None:
            q = q.where(t.runs.c.training == training)
        if checkpoints:
            q = q.where(t.runs.c.step.is_not(None))
        if suite:
            q = q.where(t.runs.c.suite == suite)
        if kind:
            q = q.where(t.runs.c.kind == kind)
        if parent:
            q = q.where(t.runs.c.parent_id == parent)
        with self.engine.connect() as c:
            rows = c.execute(q).mappings().all()
        return self._records(rows)

    def _records(self, rows: Sequence[sa.RowMapping]) -> list[RunRecord]:
        """Rows as records; a ``running`` row whose process is gone reads (and is saved) as interrupted."""
        now = _now()
        out: list[RunRecord] = []
        stale: list[tuple[str, dt.datetime]] = []
        for r in rows:
            status = r["status"]
            finished = r["finished_at"]
            if status == "running" and is_stale(
                pid=r["pid"],
                host=r["host"],
                heartbeat_at=r["heartbeat_at"],
                started_at=r["started_at"],
                now=now,
            ):
                status, finished = "interrupted", r["heartbeat_at"] or r["started_at"]
                stale.append((r["id"], finished))
            out.append(
                RunRecord(
                    id=r["id"],
                    kind=r["kind"],
                    suite=r["suite"],
                    suite_hash=r["suite_hash"],
                    roles=dict(r["roles"] or {}),
                    status=status,
                    config=r["config"] or {},
                    result=r["result"],
                    n_computed=r["n_computed"],
                    n_cached=r["n_cached"],
                    started_at=_aware(r["started_at"]),
                    finished_at=_aware(finished),
                    parent_id=r["parent_id"],
                    pid=r["pid"],
                    host=r["host"],
                    heartbeat_at=_aware(r["heartbeat_at"]),
                    step=r["step"],
                    training=r["training"],
                )
            )
        if stale:
            self._mark_interrupted(stale)
        return out

    def _mark_interrupted(self, stale: list[tuple[str, dt.datetime]]) -> None:
        try:
            with self.engine.begin() as c:
                for run_id, when in stale:
                    c.execute(
                        sa.update(t.runs)
                        .where(t.runs.c.id == run_id, t.runs.c.status == "running")
                        .values(status="interrupted", finished_at=when)
                    )
        except sa.exc.DBAPIError:  # a read-only or busy store still lists; the record says interrupted
            log.debug("could not save %d stale run(s) as interrupted", len(stale), exc_info=True)

    # -- per-item scores and texts ------------------------------------------------------------------
    def put_items(self, run_id: str, rows: Iterable[ItemRow]) -> None:
        """Store each row's scores (one ``scores`` row per metric) and texts (one ``items`` row)."""
        scores: list[dict[str, Any]] = []
        texts: list[dict[str, Any]] = []
        for r in rows:
            key = {"run_id": run_id, "role": r.role, "task": r.task, "item": r.item}
            scores.extend({**key, "metric": m, "value": float(v)} for m, v in r.values.items())
            texts.append(
                {
                    **key,
                    "input": r.input,
                    "reference": r.reference,
                    "output": r.output,
                    "response_keys": list(r.response_keys),
                }
            )
        with self.engine.begin() as c:
            for table, values in ((t.scores, scores), (t.items, texts)):
                for chunk in _chunks(values):
                    c.execute(sa.insert(table), list(chunk))

    def get_scores(self, run_id: str) -> list[ScoreRecord]:
        """Every per-item metric value of a run."""
        with self.engine.connect() as c:
            q = sa.select(t.scores).where(t.scores.c.run_id == run_id)
            return [
                ScoreRecord(
                    run_id=r["run_id"],
                    role=r["role"],
                    task=r["task"],
                    item=r["item"],
                    metric=r["metric"],
                    value=float(r["value"]),
                )
                for r in c.execute(q).mappings()
            ]

    def items(self, run_id: str, task: str | None = None) -> list[ItemRecord]:
        """Each item of a stored run: input, reference, and every role's output and scores.

        For a compare run that is "prompt, base answer, tuned answer, reference, scores" per item.
        Ordered by task, then item id (numbers in numeric order).
        """
        text_q = sa.select(t.items).where(t.items.c.run_id == run_id)
        score_q = sa.select(t.scores).where(t.scores.c.run_id == run_id)
        if task is not None:
            text_q = text_q.where(t.items.c.task == task)
            score_q = score_q.where(t.scores.c.task == task)
        values: dict[tuple[str, str, str], dict[str, float]] = {}
        with self.engine.connect() as c:
            for s in c.execute(score_q).mappings():
                values.setdefault((s["task"], s["item"], s["role"]), {})[s["metric"]] = float(s["value"])
            texts = c.execute(text_q).mappings().all()
        grouped: dict[tuple[str, str], list[sa.RowMapping]] = {}
        for r in texts:
            grouped.setdefault((r["task"], r["item"]), []).append(r)
        out = []
        for (tk, item), rs in sorted(grouped.items(), key=lambda kv: (kv[0][0], _natural(kv[0][1]))):
            out.append(
                ItemRecord(
                    run_id=run_id,
                    task=tk,
                    item=item,
                    input=next((r["input"] for r in rs if r["input"] is not None), None),
                    reference=next((r["reference"] for r in rs if r["reference"] is not None), None),
                    answers={
                        r["role"]: RoleAnswer(
                            output=r["output"],
                            scores=values.get((tk, item, r["role"]), {}),
                            response_keys=tuple(r["response_keys"] or ()),
                        )
                        for r in sorted(rs, key=lambda r: str(r["role"]))
                    },
                )
            )
        return out


@overload
def _aware(when: dt.datetime) -> dt.datetime: ...
@overload
def _aware(when: None) -> None: ...
def _aware(when: dt.datetime | None) -> dt.datetime | None:
    """A timezone-aware UTC time (SQLite hands back naive UTC datetimes)."""
    return when.replace(tzinfo=dt.UTC) if when is not None and when.tzinfo is None else when


def _natural(item: str) -> tuple[int, int, str]:
    """Sort key: numeric ids by value, before other ids in text order."""
    return (0, int(item), "") if item.isdigit() else (1, 0, item)
