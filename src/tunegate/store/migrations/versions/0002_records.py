"""Records others can read: run roles, parent runs, liveness, per-item texts; no comparisons table.

* ``runs``: ``base``/``tuned`` become ``roles`` (role -> spec; a 0001 ``run`` kept its one model in
  ``tuned`` under the score role ``model``); new ``parent_id``, ``pid``, ``host``, ``heartbeat_at``.
* ``scores.output`` moves to the new ``items`` table (one row per run, role, task, item, with the
  item's input, reference, full output and response keys); ``scores.role`` widens to 64 characters.
* ``comparisons`` was written and never read; every row duplicates ``runs.result["tasks"]``. Rows of a
  run that has no stored result are folded into that run's result (``{"comparisons": [...]}``)
  before the table is dropped, so nothing is lost.

Revision ID: 0002
Revises: 0001
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_runs = sa.table(
    "runs",
    sa.column("id", sa.String),
    sa.column("kind", sa.String),
    sa.column("base", sa.Text),
    sa.column("tuned", sa.Text),
    sa.column("roles", sa.JSON),
    sa.column("result", sa.JSON),
)
_comparisons = sa.table(
    "comparisons",
    sa.column("run_id", sa.String),
    sa.column("task", sa.String),
    sa.column("metric", sa.String),
    sa.column("data", sa.JSON),
)


def _roles_0001(kind: str, base: str | None, tuned: str) -> dict[str, str]:
    if kind == "run":
        return {"model": tuned}
    return {**({"base": base} if base is not None else {}), "tuned": tuned}


def upgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("runs") as b:
        b.add_column(sa.Column("roles", sa.JSON, nullable=True))
        b.add_column(sa.Column("parent_id", sa.String(32), nullable=True))
        b.add_column(sa.Column("pid", sa.Integer, nullable=True))
        b.add_column(sa.Column("host", sa.String(255), nullable=True))
        b.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    for run_id, kind, base, tuned in conn.execute(
        sa.select(_runs.c.id, _runs.c.kind, _runs.c.base, _runs.c.tuned)
    ).all():
        conn.execute(
            sa.update(_runs).where(_runs.c.id == run_id).values(roles=_roles_0001(kind, base, tuned))
        )
    # A stored JSON null and an SQL NULL both read back as None, so the test is done here, not in SQL.
    results = dict(conn.execute(sa.select(_runs.c.id, _runs.c.result)).all())
    orphans: dict[str, list[dict[str, Any]]] = {}
    q = sa.select(
        _comparisons.c.run_id, _comparisons.c.task, _comparisons.c.metric, _comparisons.c.data
    ).order_by(_comparisons.c.run_id, _comparisons.c.task, _comparisons.c.metric)
    for run_id, task, metric, data in conn.execute(q).all():
        if results.get(run_id) is None:
            orphans.setdefault(run_id, []).append({"task": task, "metric": metric, "data": data})
    for run_id, rows in orphans.items():
        conn.execute(sa.update(_runs).where(_runs.c.id == run_id).values(result={"comparisons": rows}))
    with op.batch_alter_table("runs") as b:
        b.alter_column("roles", existing_type=sa.JSON, nullable=False)
        b.drop_column("base")
        b.drop_column("tuned")
        b.create_index("ix_runs_parent_id", ["parent_id"])

    op.create_table(
        "items",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("role", sa.String(64), primary_key=True),
        sa.Column("task", sa.String(200), primary_key=True),
        sa.Column("item", sa.String(200), primary_key=True),
        sa.Column("input", sa.Text, nullable=True),
        sa.Column("reference", sa.Text, nullable=True),
        sa.Column("output", sa.Text, nullable=True),
        sa.Column("response_keys", sa.JSON, nullable=True),
    )
    # One output per (run, role, task, item): every 0001 writer stored the same output on each metric.
    op.execute(
        "INSERT INTO items (run_id, role, task, item, output) "
        "SELECT run_id, role, task, item, MAX(output) FROM scores GROUP BY run_id, role, task, item"
    )
    with op.batch_alter_table("scores") as b:
        b.drop_column("output")
        b.alter_column("role", existing_type=sa.String(16), type_=sa.String(64), existing_nullable=False)
    op.drop_table("comparisons")


def downgrade() -> None:
    conn = op.get_bind()
    op.create_table(
        "comparisons",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("task", sa.String(200), primary_key=True),
        sa.Column("metric", sa.String(64), primary_key=True),
        sa.Column("data", sa.JSON, nullable=False),
    )
    with op.batch_alter_table("scores") as b:
        b.add_column(sa.Column("output", sa.Text, nullable=True))
    op.execute(
        "UPDATE scores SET output = (SELECT items.output FROM items WHERE items.run_id = scores.run_id "
        "AND items.role = scores.role AND items.task = scores.task AND items.item = scores.item)"
    )
    op.drop_table("items")
    with op.batch_alter_table("runs") as b:
        b.add_column(sa.Column("base", sa.Text, nullable=True))
        b.add_column(sa.Column("tuned", sa.Text, nullable=True))
    for run_id, roles in conn.execute(sa.select(_runs.c.id, _runs.c.roles)).all():
        roles = roles or {}
        tuned = roles.get("tuned", roles.get("model", next(iter(roles.values()), "")))
        conn.execute(sa.update(_runs).where(_runs.c.id == run_id).values(base=roles.get("base"), tuned=tuned))
    with op.batch_alter_table("runs") as b:
        b.drop_index("ix_runs_parent_id")
        b.alter_column("tuned", existing_type=sa.Text, nullable=False)
        for name in ("heartbeat_at", "host", "pid", "parent_id", "roles"):
            b.drop_column(name)
