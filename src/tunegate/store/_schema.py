"""The store's tables (SQLAlchemy Core). Changes go through an alembic migration in ``migrations/``.

models       one row per model fingerprint, with the spec it was first seen under
responses    the cache: one row per (fingerprint, canonical request), written as results arrive
runs         one row per ``tunegate run`` / ``compare`` / ``regress`` / ... invocation: its roles
             (role -> model spec), an optional parent run, who runs it (pid, host, heartbeat), the result
scores       per-item scores of a run: (run, role, task, item, metric) -> value
items        per-item texts of a run: (run, role, task, item) -> input, reference, full output and the
             cache keys of the responses it was scored from

Revision 0005 added ``runs.step`` and ``runs.training``: a checkpoint run's training step and the
training run it belongs to (``tunegate history --checkpoints``).

Revision 0002 replaced ``runs.base``/``runs.tuned`` by ``runs.roles``, moved ``scores.output`` to
``items`` and dropped the write-only ``comparisons`` table (its data is in ``runs.result``).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = ["SCHEMA_REVISION", "items", "metadata", "models", "responses", "runs", "scores"]

#: the alembic head these tables match (a test checks it against the migrations folder)
SCHEMA_REVISION = "0005"

metadata = MetaData()

models = Table(
    "models",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("spec", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

responses = Table(
    "responses",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("fingerprint", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("request", JSON, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("suite", String(200), nullable=False, index=True),
    Column("suite_hash", String(64), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("parent_id", String(32), nullable=True, index=True),
    Column("status", String(16), nullable=False),
    Column("config", JSON, nullable=False),
    Column("result", JSON, nullable=True),
    Column("n_computed", Integer, nullable=False, default=0),
    Column("n_cached", Integer, nullable=False, default=0),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("pid", Integer, nullable=True),
    Column("host", String(255), nullable=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=True),
    Column("step", Integer, nullable=True),  # training step of a checkpoint run (0005)
    Column("training", String(255), nullable=True, index=True),  # the training it belongs to (0005)
)

scores = Table(
    "scores",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("role", String(64), primary_key=True),
    Column("task", String(200), primary_key=True),
    Column("item", String(200), primary_key=True),
    Column("metric", String(64), primary_key=True),
    Column("value", Float, nullable=False),
)

items = Table(
    "items",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("role", String(64), primary_key=True),
    Column("task", String(200), primary_key=True),
    Column("item", String(200), primary_key=True),
    Column("input", Text, nullable=True),
    Column("reference", Text, nullable=True),
    Column("output", Text, nullable=True),
    Column("response_keys", JSON, nullable=True),
)
