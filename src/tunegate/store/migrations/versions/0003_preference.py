"""Preference studies: ab_studies, ab_items, ab_raters, ab_assignments, ab_votes, ab_vote_history,
ab_judgements (the blinded A/B rating app, issue 13).

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ab_studies",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source_run_id", sa.String(32), nullable=True, index=True),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("owner_token_hash", sa.String(64), nullable=False),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ab_items",
        sa.Column("study_id", sa.String(32), primary_key=True),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("query", sa.JSON, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("model_x", sa.String(200), nullable=False),
        sa.Column("model_y", sa.String(200), nullable=False),
        sa.Column("answer_x", sa.Text, nullable=False),
        sa.Column("answer_y", sa.Text, nullable=False),
        sa.Column("source", sa.String(400), nullable=True),
    )
    op.create_table(
        "ab_raters",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("study_id", sa.String(32), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("revoked", sa.Boolean, nullable=False, default=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ab_assignments",
        sa.Column("rater_id", sa.String(32), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("study_id", sa.String(32), nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("flip", sa.Boolean, nullable=False),
    )
    op.create_table(
        "ab_votes",
        sa.Column("rater_id", sa.String(32), primary_key=True),
        sa.Column("item_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("study_id", sa.String(32), nullable=False, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("choice", sa.String(16), nullable=False),
        sa.Column("winner", sa.String(200), nullable=False),
        sa.Column("left_model", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, default=""),
        sa.Column("revision", sa.Integer, nullable=False, default=1),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ab_vote_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("study_id", sa.String(32), nullable=False, index=True),
        sa.Column("rater_id", sa.String(32), nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("choice", sa.String(16), nullable=False),
        sa.Column("winner", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, default=""),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ab_judgements",
        sa.Column("study_id", sa.String(32), primary_key=True),
        sa.Column("item_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("judge", sa.String(400), primary_key=True),
        sa.Column("winner", sa.String(200), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ab_judgements")
    op.drop_table("ab_vote_history")
    op.drop_table("ab_votes")
    op.drop_table("ab_assignments")
    op.drop_table("ab_raters")
    op.drop_table("ab_items")
    op.drop_table("ab_studies")
