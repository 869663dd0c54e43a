"""The schema constant the fast path trusts is the alembic head, and the migration builds the tables."""

from __future__ import annotations

import sqlalchemy as sa

from tunegate.store import _schema, open_store
from tunegate.store._store import _MIGRATIONS


def test_schema_revision_is_alembic_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == _schema.SCHEMA_REVISION


def test_migration_creates_every_table(db_url: str) -> None:
    store = open_store(db_url)
    names = set(sa.inspect(store.engine).get_table_names())
    assert set(_schema.metadata.tables) <= names
    assert "alembic_version" in names
    store.close()
