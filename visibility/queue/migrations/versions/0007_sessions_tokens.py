"""sessions that can be ended, and token names unique per user

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_NAME_LENGTH = 100
_ACTIVE = "revoked_at IS NULL"

_tokens = sa.table(
    "api_token",
    sa.column("id", sa.Integer),
    sa.column("user_id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("revoked_at", sa.DateTime),
)


def _rename_duplicate_active_tokens() -> None:
    """Give every active duplicate but the oldest a distinct name.

    Older releases accepted duplicate names; the unique index below would
    refuse to build on such data, so the upgrade must never meet one.
    """
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_tokens.c.id, _tokens.c.user_id, _tokens.c.name)
        .where(_tokens.c.revoked_at.is_(None))
        .order_by(_tokens.c.id)
    ).all()
    taken: dict[int, set[str]] = defaultdict(set)
    for row in rows:
        taken[row.user_id].add(row.name)
    seen: dict[int, set[str]] = defaultdict(set)
    for row in rows:
        if row.name not in seen[row.user_id]:
            seen[row.user_id].add(row.name)
            continue
        counter = 2
        while True:
            suffix = f" ({counter})"
            candidate = row.name[: _NAME_LENGTH - len(suffix)] + suffix
            if candidate not in taken[row.user_id]:
                break
            counter += 1
        taken[row.user_id].add(candidate)
        seen[row.user_id].add(candidate)
        conn.execute(sa.update(_tokens).where(_tokens.c.id == row.id).values(name=candidate))


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), server_default="0", nullable=False)
        )
    _rename_duplicate_active_tokens()
    op.create_index(
        "uq_api_token_user_active_name",
        "api_token",
        ["user_id", "name"],
        unique=True,
        sqlite_where=sa.text(_ACTIVE),
        postgresql_where=sa.text(_ACTIVE),
    )


def downgrade() -> None:
    op.drop_index("uq_api_token_user_active_name", table_name="api_token")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("session_version")
