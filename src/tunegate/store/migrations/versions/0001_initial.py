"""Initial schema: models, responses (the cache), runs, scores, comparisons.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "responses",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("response", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("suite", sa.String(200), nullable=False, index=True),
        sa.Column("suite_hash", sa.String(64), nullable=False),
        sa.Column("base", sa.Text, nullable=True),
        sa.Column("tuned", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("n_computed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("n_cached", sa.Integer, nullable=False, server_default="0"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "scores",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("task", sa.String(200), primary_key=True),
        sa.Column("item", sa.String(200), primary_key=True),
        sa.Column("metric", sa.String(64), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("output", sa.Text, nullable=True),
    )
    op.create_table(
        "comparisons",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("task", sa.String(200), primary_key=True),
        sa.Column("metric", sa.String(64), primary_key=True),
        sa.Column("data", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for name in ("comparisons", "scores", "runs", "responses", "models"):
        op.drop_table(name)
