"""Persistence: the response cache, runs, per-item scores and comparisons (SQLAlchemy + alembic)."""

from tunegate.store._store import Store, open_store

__all__ = ["Store", "open_store"]
