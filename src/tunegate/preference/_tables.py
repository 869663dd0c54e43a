"""The study tables (SQLAlchemy Core), created by store migration 0003.

ab_studies      one row per study: settings, the models compared, the owner token's hash, a secret
ab_items        what is compared: a query and the answers of two models (x, y) to it, with tags
ab_raters       invited raters: the hash of their secret invite token, revocable
ab_assignments  which rater sees which item, in which position of their queue, A/B flipped or not,
                and (uncertainty allocation) the probability with which the item was drawn
ab_votes        the one counted vote per (rater, item); a revision replaces it
ab_vote_history every vote ever submitted, revisions included
ab_judgements   the automatic judge's verdicts per item
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, Integer, MetaData, String, Table, Text

__all__ = [
    "assignments",
    "items",
    "judgements",
    "metadata",
    "raters",
    "studies",
    "vote_history",
    "votes",
]

metadata = MetaData()

studies = Table(
    "ab_studies",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("source_run_id", String(32), nullable=True, index=True),
    Column("config", JSON, nullable=False),
    Column("owner_token_hash", String(64), nullable=False),
    Column("secret", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

items = Table(
    "ab_items",
    metadata,
    Column("study_id", String(32), primary_key=True),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("query", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("model_x", String(200), nullable=False),
    Column("model_y", String(200), nullable=False),
    Column("answer_x", Text, nullable=False),
    Column("answer_y", Text, nullable=False),
    Column("source", String(400), nullable=True),
)

raters = Table(
    "ab_raters",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("study_id", String(32), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

assignments = Table(
    "ab_assignments",
    metadata,
    Column("rater_id", String(32), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("study_id", String(32), nullable=False),
    Column("item_id", Integer, nullable=False),
    Column("flip", Boolean, nullable=False),
    Column("prob", Float, nullable=True),  # uncertainty allocation: the draw's probability (0004)
)

votes = Table(
    "ab_votes",
    metadata,
    Column("rater_id", String(32), primary_key=True),
    Column("item_id", Integer, primary_key=True, autoincrement=False),
    Column("study_id", String(32), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("choice", String(16), nullable=False),
    Column("winner", String(200), nullable=False),
    Column("left_model", String(200), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("revision", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

vote_history = Table(
    "ab_vote_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", String(32), nullable=False, index=True),
    Column("rater_id", String(32), nullable=False),
    Column("item_id", Integer, nullable=False),
    Column("choice", String(16), nullable=False),
    Column("winner", String(200), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("revision", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

judgements = Table(
    "ab_judgements",
    metadata,
    Column("study_id", String(32), primary_key=True),
    Column("item_id", Integer, primary_key=True, autoincrement=False),
    Column("judge", String(400), primary_key=True),
    Column("winner", String(200), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
