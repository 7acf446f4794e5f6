"""alerts: causes already told to staff

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import visibility.queue.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_sent",
        sa.Column("cause", sa.String(length=300), nullable=False),
        sa.Column("sent_at", visibility.queue.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cause"),
    )


def downgrade() -> None:
    op.drop_table("alert_sent")
