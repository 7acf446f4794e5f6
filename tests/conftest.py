from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from visibility.config.channels import load_channels
from visibility.queue import db
from visibility.queue.store import Store

pytest_plugins = ["real_wordpress"]

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "visibility" / "samples"
PG_URL = os.environ.get(
    "VISIBILITY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_TABLES = (
    "publish_attempt, engagement_snapshot, post, news_item, channel_account, channel_note, "
    "funding_grant"
)


def _pg_reason() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    conninfo = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        psycopg.connect(conninfo, connect_timeout=3).close()
    except psycopg.Error as exc:
        return (
            f"PostgreSQL is not reachable at {PG_URL} ({exc.__class__.__name__}); "
            "start it or set VISIBILITY_TEST_POSTGRES_URL"
        )
    return None


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's own settings, .env or data directory."""
    for key in list(os.environ):
        if key.startswith("VISIBILITY_") and key not in {
            "VISIBILITY_TEST_POSTGRES_URL",
            "VISIBILITY_TWITTER_TEXT_DATA",
            "VISIBILITY_REQUIRE_POSTGRES",
            "VISIBILITY_REQUIRE_WORDPRESS",
            "VISIBILITY_REQUIRE_CHROMIUM",
            "VISIBILITY_REQUIRE_POPPLER",
        }:
            monkeypatch.delenv(key)
    monkeypatch.setenv("VISIBILITY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A fresh schema on the test PostgreSQL server for this test session."""
    reason = _pg_reason()
    if reason:
        if os.environ.get("VISIBILITY_REQUIRE_POSTGRES"):
            pytest.fail(f"VISIBILITY_REQUIRE_POSTGRES is set but {reason}")
        pytest.skip(reason)
    schema = f"vis_{uuid.uuid4().hex[:10]}"
    admin = db.make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _sqlite_engine(tmp_path: Path) -> Engine:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    db.upgrade(engine)
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The same tests over SQLite and PostgreSQL."""
    if request.param == "sqlite":
        eng = _sqlite_engine(tmp_path)
    else:
        url = request.getfixturevalue("pg_schema_url")
        eng = db.make_engine(url)
        with eng.begin() as conn:
            conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
    yield eng
    eng.dispose()


@pytest.fixture
def smtp() -> Iterator[tuple[Any, list[Any]]]:
    """A local SMTP server (aiosmtpd): ``(controller, received envelopes)``."""
    aiosmtpd = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is a test dependency")
    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:  # a free port: the controller cannot take port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = aiosmtpd.Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller, received
    finally:
        controller.stop()


@pytest.fixture
def store(engine: Engine) -> Store:
    s = Store(engine)
    s.sync_channels(load_channels(None).channels)
    return s
