"""engine: pacing per channel, posts to verify before re-sending, workers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import visibility.queue.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_UTC = visibility.queue.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    # Plain ADD COLUMN (no batch table rebuild): SQLite supports it, and a
    # rebuild of `post` would trip the foreign keys of existing attempts.
    op.add_column(
        "channel_account",
        sa.Column("min_gap_seconds", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("channel_account", sa.Column("max_posts", sa.Integer(), nullable=True))
    op.add_column(
        "channel_account",
        sa.Column("window_seconds", sa.Integer(), nullable=False, server_default="86400"),
    )
    op.add_column("channel_account", sa.Column("next_send_at", _UTC, nullable=True))
    op.add_column("channel_account", sa.Column("window_started_at", _UTC, nullable=True))
    op.add_column(
        "channel_account",
        sa.Column("window_count", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "post", sa.Column("needs_check", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_table(
        "worker",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", _UTC, nullable=False),
        sa.Column("heartbeat_at", _UTC, nullable=False),
        sa.Column("stopped_at", _UTC, nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("worker")
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_column("needs_check")
    with op.batch_alter_table("channel_account", schema=None) as batch_op:
        for column in (
            "window_count",
            "window_started_at",
            "next_send_at",
            "window_seconds",
            "max_posts",
            "min_gap_seconds",
        ):
            batch_op.drop_column(column)
