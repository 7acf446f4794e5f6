"""grants: funding grants, the news items under them, approval overrides, emblems

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import visibility.queue.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "funding_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("donor", sa.String(length=32), nullable=False),
        sa.Column("donor_name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("contract", sa.String(length=100), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("emblem_sha256", sa.String(length=64), nullable=True),
        sa.Column("rules_json", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=True),
        sa.Column("updated_at", visibility.queue.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "news_grant",
        sa.Column("news_item_id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("added_at", visibility.queue.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["grant_id"], ["funding_grant.id"]),
        sa.ForeignKeyConstraint(["news_item_id"], ["news_item.id"]),
        sa.PrimaryKeyConstraint("news_item_id", "grant_id"),
    )
    op.create_index("ix_news_grant_grant_id", "news_grant", ["grant_id"])
    op.add_column("post", sa.Column("override_reason", sa.Text(), nullable=True))
    op.add_column("post", sa.Column("override_by", sa.String(length=200), nullable=True))
    op.add_column(
        "post",
        sa.Column("override_at", visibility.queue.types.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column("news_image", sa.Column("role", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("news_image") as batch:
        batch.drop_column("role")
    with op.batch_alter_table("post") as batch:
        batch.drop_column("override_at")
        batch.drop_column("override_by")
        batch.drop_column("override_reason")
    op.drop_index("ix_news_grant_grant_id", table_name="news_grant")
    op.drop_table("news_grant")
    op.drop_table("funding_grant")
