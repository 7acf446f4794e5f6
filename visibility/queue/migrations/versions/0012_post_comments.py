"""post comments: an approver sends a post back with a comment; the review trail; users' e-mail

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import visibility.queue.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "post_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("at", visibility.queue.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_post_comment_post_id", "post_comment", ["post_id"])
    op.add_column("post", sa.Column("returned_to", sa.String(length=200), nullable=True))
    op.add_column(
        "post",
        sa.Column("returned_at", visibility.queue.types.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_post_returned", "post", ["returned_to", "returned_at"])
    op.add_column("app_user", sa.Column("email", sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("email")
    op.drop_index("ix_post_returned", table_name="post")
    with op.batch_alter_table("post") as batch:
        batch.drop_column("returned_at")
        batch.drop_column("returned_to")
    op.drop_index("ix_post_comment_post_id", table_name="post_comment")
    op.drop_table("post_comment")
