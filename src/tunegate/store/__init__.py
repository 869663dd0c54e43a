"""Persistence: the response cache, runs and per-item scores and texts (SQLAlchemy + alembic).

Read back as typed, frozen records (``RunRecord``, ``ItemRecord``, ``ScoreRecord``, ``ResponseRecord``);
a run's lifecycle is one context manager, ``with store.run(kind, ...) as run:``.
"""

from tunegate.store._lifecycle import HEARTBEAT_S, STALE_AFTER_S, RunHandle
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
from tunegate.store._store import Store, open_store

__all__ = [
    "HEARTBEAT_S",
    "RUN_STATUSES",
    "STALE_AFTER_S",
    "ItemRecord",
    "ItemRow",
    "ResponseRecord",
    "RoleAnswer",
    "RunHandle",
    "RunRecord",
    "RunStatus",
    "ScoreRecord",
    "Store",
    "open_store",
]
