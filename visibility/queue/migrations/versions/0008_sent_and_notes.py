"""what was sent, why readings stopped, and what channels told us

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import visibility.queue.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch copy: the post table may hold years of rows.
    op.add_column("post", sa.Column("engagement_note", sa.Text(), nullable=True))
    op.add_column("post", sa.Column("sent_json", sa.Text(), nullable=True))
    op.create_table(
        "channel_note",
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("learnt_at", visibility.queue.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "key"),
    )


def downgrade() -> None:
    op.drop_table("channel_note")
    with op.batch_alter_table("post") as batch:
        batch.drop_column("sent_json")
        batch.drop_column("engagement_note")
