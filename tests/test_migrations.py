"""The Alembic migrations build exactly the tables the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

import visibility.queue.models  # noqa: F401
from visibility.queue import db


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    db.upgrade(engine)
    db.upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"news_item", "channel_account", "post", "publish_attempt"} <= tables


def test_upgrading_a_database_that_holds_posts_keeps_them(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import text

    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    command.upgrade(db.alembic_config(engine), "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO news_item (id, fingerprint, title, social_title, lead, "
                "paragraphs_json, body_html, language, source_format, source, created_at) "
                "VALUES (1, 'f', 'T', 'T', 'L', '[]', '<p>L</p>', 'sq', 'text', 's', "
                "'2026-11-01 09:00:00.000000')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO channel_account (id, name, kind, post_kind, enabled, configured, "
                "updated_at) VALUES (1, 'twitter', 'dry-run', 'twitter', 1, 1, "
                "'2026-11-01 09:00:00.000000')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO post (id, news_item_id, channel_id, kind, status, body, attempts, "
                "created_at, updated_at) VALUES (1, 1, 1, 'twitter', 'published', 'x', 1, "
                "'2026-11-01 09:00:00.000000', '2026-11-01 09:00:00.000000')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO publish_attempt (post_id, worker, started_at, outcome) "
                "VALUES (1, 'w', '2026-11-01 09:00:00.000000', 'published')"
            )
        )
    db.upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, needs_check FROM post WHERE id = 1")).one()
        assert tuple(row) == ("published", 0)
        assert conn.execute(text("SELECT count(*) FROM publish_attempt")).scalar() == 1
        gap = conn.execute(text("SELECT min_gap_seconds FROM channel_account")).scalar()
        assert gap == 0
    engine.dispose()


def test_the_head_revision_constant_matches_the_scripts() -> None:
    from alembic.script import ScriptDirectory

    from visibility.queue.db import HEAD_REVISION, MIGRATIONS

    script = ScriptDirectory(str(MIGRATIONS))
    assert script.get_current_head() == HEAD_REVISION
