"""API token names are unique per user among active tokens: in code, for a clear
message, and in the database (a partial unique index), which the upgrade builds even
over old duplicates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from test_security import PASSWORD, cli, login

from visibility.accounts.roles import Role
from visibility.accounts.store import AccountStore
from visibility.config.settings import load_settings
from visibility.queue import db
from visibility.web.app import create_app
from visibility.workflow import Visibility


@pytest.fixture
def app() -> Iterator[Visibility]:
    visibility = Visibility.open(load_settings())
    for name, role in (("ed", Role.EDITOR), ("ap", Role.APPROVER)):
        visibility.accounts.add_user(name, password=PASSWORD, role=role)
    yield visibility
    visibility.close()


@pytest.fixture
def web(app: Visibility) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as client:
        yield client


def test_a_user_cannot_have_two_active_tokens_of_one_name(web: TestClient, app: Visibility) -> None:
    headers = login(web, "ed")
    first = web.post("/api/v1/tokens", json={"name": "feed", "role": "editor"}, headers=headers)
    assert first.status_code == 201
    again = web.post("/api/v1/tokens", json={"name": " feed ", "role": "editor"}, headers=headers)
    assert again.status_code == 409
    assert again.json()["detail"] == (
        "ed already has an active token with this name: revoke the old one first, "
        "or choose another name."
    )
    # Another user, or the same name once the old token is revoked, is fine.
    app.accounts.create_token("ap", name="feed", role=Role.EDITOR)
    assert web.delete("/api/v1/tokens/feed", headers=headers).status_code == 204
    assert (
        web.post(
            "/api/v1/tokens", json={"name": "feed", "role": "editor"}, headers=headers
        ).status_code
        == 201
    )
    names = [e.action for e in app.accounts.audit_log()]
    assert names.count("token.create") == 2  # the refused one is not recorded


def test_the_cli_refuses_a_duplicate_token_name(capsys: pytest.CaptureFixture[str]) -> None:
    visibility = Visibility.open(load_settings())
    visibility.accounts.add_user("ed", password=PASSWORD, role=Role.EDITOR)
    visibility.close()
    assert cli("tokens", "create", "ed", "--name", "feed") == 0
    capsys.readouterr()
    assert cli("tokens", "create", "ed", "--name", "feed") == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: ed already has an active token with this name: revoke the old one first, "
        "or choose another name."
    )


def test_the_database_refuses_duplicate_active_token_names(engine: Engine) -> None:
    from visibility.errors import ConflictError

    accounts = AccountStore(engine)
    accounts.add_user("ed", password=PASSWORD, role=Role.EDITOR)
    accounts.create_token("ed", name="feed", role=Role.EDITOR)
    with engine.begin() as conn:
        user_id = conn.execute(text("SELECT id FROM app_user")).scalar_one()
        insert = text(
            "INSERT INTO api_token (user_id, name, token_hash, role, created_at, revoked_at) "
            "VALUES (:u, 'feed', :h, 'editor', CURRENT_TIMESTAMP, :r)"
        )
        conn.execute(insert, {"u": user_id, "h": "a" * 64, "r": "2026-11-01 09:00:00"})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert, {"u": user_id, "h": "b" * 64, "r": None})
    with pytest.raises(ConflictError):
        accounts.create_token("ed", name="feed", role=Role.EDITOR)


def test_upgrading_renames_duplicate_active_tokens(tmp_path: Path) -> None:
    from alembic import command

    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    command.upgrade(db.alembic_config(engine), "0006")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO app_user (id, username, display_name, password_hash, role, active, "
                "created_at) VALUES (1, 'ed', 'Ed', 'x', 'editor', 1, '2026-11-01 09:00:00')"
            )
        )
        for token_id, name, revoked in [
            (1, "feed", None),
            (2, "feed", None),
            (3, "feed", "2026-11-02 09:00:00"),
            (4, "feed (2)", None),
            (5, "feed", None),
        ]:
            conn.execute(
                text(
                    "INSERT INTO api_token (id, user_id, name, token_hash, role, created_at, "
                    "revoked_at) VALUES (:i, 1, :n, :h, 'editor', '2026-11-01 09:00:00', :r)"
                ),
                {"i": token_id, "n": name, "h": str(token_id) * 64, "r": revoked},
            )
    db.upgrade(engine)
    with engine.connect() as conn:
        names = {r.id: r.name for r in conn.execute(text("SELECT id, name FROM api_token"))}
        versions = conn.execute(text("SELECT session_version FROM app_user")).scalars().all()
    engine.dispose()
    assert names == {1: "feed", 2: "feed (3)", 3: "feed", 4: "feed (2)", 5: "feed (4)"}
    assert versions == [0]
