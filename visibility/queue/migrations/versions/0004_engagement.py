"""engagement: snapshots of published posts' figures, and when the next is due

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import visibility.queue.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_UTC = visibility.queue.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.add_column("post", sa.Column("next_snapshot_at", _UTC, nullable=True))
    op.add_column(
        "post",
        sa.Column("snapshot_failures", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_post_next_snapshot_at", "post", ["next_snapshot_at"])
    op.create_table(
        "engagement_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", _UTC, nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=True),
        sa.Column("reactions", sa.Integer(), nullable=True),
        sa.Column("comments", sa.Integer(), nullable=True),
        sa.Column("shares", sa.Integer(), nullable=True),
        sa.Column("clicks", sa.Integer(), nullable=True),
        sa.Column("raw_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_engagement_snapshot_post_id", "engagement_snapshot", ["post_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_engagement_snapshot_post_id", table_name="engagement_snapshot")
    op.drop_table("engagement_snapshot")
    op.drop_index("ix_post_next_snapshot_at", table_name="post")
    op.drop_column("post", "snapshot_failures")
    op.drop_column("post", "next_snapshot_at")
