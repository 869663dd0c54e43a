"""Checkpoint runs: ``runs.step`` (the training step a checkpoint was saved at) and ``runs.training``
(which training run it belongs to), so ``tunegate history --checkpoints`` can list a training's
checkpoints in step order.

Rows written before keep what they recorded: a ``step`` in their config becomes the column, and a run
whose config names its ``checkpoint`` folder is given that folder's parent (the Trainer's output
folder, or the folder ``tunegate watch`` watched) as its training.

Revision ID: 0005
Revises: 0004
"""

from pathlib import PurePath
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_runs = sa.table("runs", sa.column("id", sa.String), sa.column("config", sa.JSON))


def _step(config: dict[str, Any]) -> int | None:
    step = config.get("step")
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def _training(config: dict[str, Any]) -> str | None:
    ckpt = config.get("checkpoint")
    return str(PurePath(ckpt).parent)[:255] if isinstance(ckpt, str) and ckpt else None


def upgrade() -> None:
    with op.batch_alter_table("runs") as b:
        b.add_column(sa.Column("step", sa.Integer, nullable=True))
        b.add_column(sa.Column("training", sa.String(255), nullable=True))
        b.create_index("ix_runs_training", ["training"])
    conn = op.get_bind()
    upd = sa.table(
        "runs", sa.column("id", sa.String), sa.column("step", sa.Integer), sa.column("training", sa.String)
    )
    for run_id, config in conn.execute(sa.select(_runs.c.id, _runs.c.config)).all():
        if not isinstance(config, dict):
            continue
        step, training = _step(config), _training(config)
        if step is not None or training is not None:
            conn.execute(sa.update(upd).where(upd.c.id == run_id).values(step=step, training=training))


def downgrade() -> None:
    with op.batch_alter_table("runs") as b:
        b.drop_index("ix_runs_training")
        b.drop_column("training")
        b.drop_column("step")
