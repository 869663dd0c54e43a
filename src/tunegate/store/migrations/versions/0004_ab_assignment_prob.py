"""Preference studies: ``ab_assignments.prob``, the probability with which an uncertainty-allocated
item was drawn (NULL for balanced studies, whose queues are fixed at invite time).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ab_assignments") as batch:
        batch.add_column(sa.Column("prob", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ab_assignments") as batch:
        batch.drop_column("prob")
