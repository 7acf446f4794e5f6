"""feed guid: de-duplicate news items read from a feed by the entry's id

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("news_item", sa.Column("feed_guid", sa.String(length=500), nullable=True))
    op.create_index("uq_news_item_feed_guid", "news_item", ["feed_guid"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("news_item", schema=None) as batch_op:
        batch_op.drop_index("uq_news_item_feed_guid")
        batch_op.drop_column("feed_guid")
