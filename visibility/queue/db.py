"""Engines for SQLite (default) and PostgreSQL, and the schema migrations."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError, OperationalError

from visibility.errors import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
#: The newest migration. A test checks it against the scripts; when the
#: database is already there, start-up skips Alembic (and its memory) entirely.
HEAD_REVISION = "0012"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event open transactions (see _sqlite_begin).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    # WAL lets the CLI read while the service writes; the busy timeout makes a
    # writer wait for another instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock at the start: a transaction that reads
    # and then writes (a claim) can otherwise fail at once with "database is
    # locked" when another process wrote in between, instead of waiting.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """Create the engine; for SQLite also the folder that holds the file."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"cannot create the data directory {Path(path).parent}: {exc.strerror}; "
                    "set VISIBILITY_DATA_DIR to a writable folder"
                ) from None
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None  # no table yet: a new database


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (safe to run every start)."""
    if current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), "head")
    except OperationalError as exc:
        raise ConfigError(
            f"cannot reach the database at {engine.url.render_as_string(hide_password=True)}: "
            f"{exc.orig}"
        ) from None


def is_current(engine: Engine) -> bool:
    return inspect(engine).has_table("post")
