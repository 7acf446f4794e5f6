"""The REST API: every endpoint, each role's 401/403, CSRF, validation, tokens, health."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from visibility.accounts.roles import Role
from visibility.config.settings import load_settings
from visibility.web.app import create_app
from visibility.workflow import DEMO_SAMPLE, Visibility

PASSWORD = "correct horse battery"


@pytest.fixture
def app() -> Iterator[Visibility]:
    visibility = Visibility.open(load_settings())
    for name, role in (("ed", Role.EDITOR), ("ap", Role.APPROVER), ("ad", Role.ADMIN)):
        visibility.accounts.add_user(name, password=PASSWORD, role=role, display_name=name.upper())
    yield visibility
    visibility.close()


@pytest.fixture
def web(app: Visibility) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as client:
        yield client


def login(web: TestClient, user: str) -> dict[str, str]:
    """Sign in; returns the CSRF header the session needs for unsafe requests."""
    answer = web.post("/api/v1/login", json={"username": user, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"X-CSRF-Token": answer.json()["csrf_token"]}


def bearer(app: Visibility, user: str, role: Role) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {app.accounts.create_token(user, name=f'{user}-t', role=role)}"
    }


def add_sample(web: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    text = DEMO_SAMPLE.read_text(encoding="utf-8")
    answer = web.post("/api/v1/news", json={"text": text}, headers=headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_everything_needs_a_sign_in(web: TestClient) -> None:
    for method, path in [
        ("GET", "/api/v1/news"),
        ("POST", "/api/v1/news"),
        ("GET", "/api/v1/posts"),
        ("GET", "/api/v1/posts/1"),
        ("PATCH", "/api/v1/posts/1"),
        ("POST", "/api/v1/posts/1/approve"),
        ("POST", "/api/v1/posts/1/schedule"),
        ("GET", "/api/v1/channels"),
        ("GET", "/api/v1/status"),
        ("GET", "/api/v1/audit"),
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/measure"),
    ]:
        answer = web.request(method, path, json={})
        assert answer.status_code == 401, (method, path, answer.text)
        assert "sign in" in answer.json()["detail"]


def test_roles_are_enforced(web: TestClient, app: Visibility) -> None:
    editor = bearer(app, "ed", Role.EDITOR)
    approver = bearer(app, "ap", Role.APPROVER)
    admin = bearer(app, "ad", Role.ADMIN)
    added = add_sample(web, editor)
    post_id = added["posts"][0]["id"]
    # An editor may read and edit, not approve, schedule, cancel, or administer.
    for method, path in [
        ("POST", f"/api/v1/posts/{post_id}/approve"),
        ("POST", f"/api/v1/posts/{post_id}/cancel"),
        ("POST", f"/api/v1/posts/{post_id}/retry"),
        ("POST", f"/api/v1/posts/{post_id}/resend"),
        ("GET", "/api/v1/users"),
        ("GET", "/api/v1/audit"),
        ("POST", "/api/v1/channels/check"),
    ]:
        answer = web.request(method, path, headers=editor)
        assert answer.status_code == 403, (method, path)
        assert "needs the" in answer.json()["detail"]
    assert web.get("/api/v1/users", headers=approver).status_code == 403
    assert web.post(f"/api/v1/posts/{post_id}/approve", headers=approver).status_code == 200
    assert web.get("/api/v1/users", headers=admin).status_code == 200


def test_the_whole_path_through_the_api(web: TestClient, app: Visibility) -> None:
    editor = login(web, "ed")
    added = add_sample(web, editor)
    assert added["created"] is True
    posts = {p["channel"]: p for p in added["posts"]}
    tweet = posts["twitter"]
    long_text = "x" * 300 + " {link}"
    edited = web.patch(f"/api/v1/posts/{tweet['id']}", json={"body": long_text}, headers=editor)
    assert edited.status_code == 200 and edited.json()["author"] == "ed"
    web.post("/api/v1/logout")

    approver = login(web, "ap")
    refused = web.post(f"/api/v1/posts/{tweet['id']}/approve", headers=approver)
    assert refused.status_code == 422
    assert "324 weighted characters; X allows 280" in refused.json()["detail"]
    fixed = web.patch(
        f"/api/v1/posts/{tweet['id']}", json={"body": "Trajnime falas! {link}"}, headers=approver
    )
    assert fixed.status_code == 200
    # The approver wrote this text now: approving one's own post is off by default.
    own = web.post(f"/api/v1/posts/{tweet['id']}/approve", headers=approver)
    assert own.status_code == 400 and "cannot approve it too" in own.json()["detail"]

    website = posts["website"]["id"]
    assert web.post(f"/api/v1/posts/{website}/approve", headers=approver).status_code == 200
    when = web.post(
        f"/api/v1/posts/{website}/schedule",
        json={"mode": "at", "at": "2037-12-01 09:30"},
        headers=approver,
    )
    assert when.status_code == 200
    assert when.json()["scheduled_at"] == "2037-12-01T08:30:00Z" or when.json()[
        "scheduled_at"
    ].startswith("2037-12-01T08:30:00")
    again = web.post(f"/api/v1/posts/{website}/approve", headers=approver)
    assert again.status_code == 409 and "is scheduled" in again.json()["detail"]
    detail = web.get(f"/api/v1/posts/{website}", headers=approver).json()
    assert detail["post"]["status"] == "scheduled" and detail["attempts"] == []
    cancelled = web.post(f"/api/v1/posts/{website}/cancel", headers=approver)
    assert cancelled.json()["status"] == "cancelled"
    listed = web.get("/api/v1/posts", params={"status": "cancelled"}, headers=approver).json()
    assert [p["id"] for p in listed] == [website]

    web.post("/api/v1/logout")
    admin = login(web, "ad")
    actions = [(e["actor"], e["action"]) for e in web.get("/api/v1/audit", headers=admin).json()]
    assert ("ed", "news.add") in actions and ("ap", "post.approve") in actions
    assert ("ap", "post.cancel") in actions and ("ap", "login") in actions


def test_session_requests_need_the_csrf_token(web: TestClient) -> None:
    csrf = login(web, "ed")
    text = DEMO_SAMPLE.read_text(encoding="utf-8")
    missing = web.post("/api/v1/news", json={"text": text})
    assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
    wrong = web.post("/api/v1/news", json={"text": text}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    assert web.post("/api/v1/news", json={"text": text}, headers=csrf).status_code == 201
    assert web.get("/api/v1/news").status_code == 200  # reads need no token


def test_session_cookie_is_httponly_and_samesite(web: TestClient) -> None:
    answer = web.post("/api/v1/login", json={"username": "ed", "password": PASSWORD})
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_sign_in_is_rate_limited(web: TestClient) -> None:
    for _ in range(5):
        bad = web.post("/api/v1/login", json={"username": "ed", "password": "wrong password"})
        assert bad.status_code == 401
    locked = web.post("/api/v1/login", json={"username": "ed", "password": PASSWORD})
    assert locked.status_code == 429 and "Retry-After" in locked.headers
    assert "too many failed sign-ins" in locked.json()["detail"].lower()


def test_tokens_are_scoped_and_revocable(web: TestClient, app: Visibility) -> None:
    with pytest.raises(Exception, match="more rights than its user"):
        app.accounts.create_token("ed", name="x", role=Role.ADMIN)
    headers = bearer(app, "ad", Role.EDITOR)  # an admin's token scoped to editing
    assert web.get("/api/v1/users", headers=headers).status_code == 403
    assert web.get("/api/v1/news", headers=headers).status_code == 200
    app.accounts.revoke_token("ad", "ad-t")
    revoked = web.get("/api/v1/news", headers=headers)
    assert revoked.status_code == 401 and "not valid" in revoked.json()["detail"]
    assert (
        web.get("/api/v1/news", headers={"Authorization": "Bearer vis_made_up"}).status_code == 401
    )
    app.accounts.set_active("ed", False)
    assert (
        web.post("/api/v1/login", json={"username": "ed", "password": PASSWORD}).status_code == 401
    )


def test_validation_errors_say_what_is_wrong(web: TestClient, app: Visibility) -> None:
    editor = bearer(app, "ed", Role.EDITOR)
    approver = bearer(app, "ap", Role.APPROVER)
    cases = [
        ("POST", "/api/v1/news", {"text": ""}, editor, "text: Too short: use at least 1 char"),
        ("POST", "/api/v1/news", {"text": "x", "colour": 1}, editor, "body: This field is not"),
        ("POST", "/api/v1/news", {"text": "Titull\n\n"}, editor, "has a title but no paragraphs"),
        (
            "POST",
            "/api/v1/measure",
            {"kind": "myspace", "body": "x"},
            editor,
            "kind: Choose one of: website, facebook, twitter.",
        ),
        ("POST", "/api/v1/posts/999/approve", None, approver, "no post 999"),
        ("POST", "/api/v1/posts/1/schedule", {"mode": "soon"}, approver, "mode: Choose one of"),
        ("GET", "/api/v1/posts?channel=myspace", None, editor, "No such channel"),
    ]
    for method, path, body, headers, message in cases:
        answer = web.request(method, path, json=body, headers=headers)
        assert answer.status_code in (400, 404, 422), (path, answer.status_code)
        assert message in answer.json()["detail"], (path, answer.json())


def test_upload_and_measure(web: TestClient, app: Visibility) -> None:
    editor = bearer(app, "ed", Role.EDITOR)
    html = (DEMO_SAMPLE.parent / "news-en.html").read_bytes()
    answer = web.post(
        "/api/v1/news/upload", files={"file": ("news-en.html", html, "text/html")}, headers=editor
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["news_item"]["language"] == "en"
    measured = web.post(
        "/api/v1/measure",
        json={"kind": "twitter", "body": "Lajm 😀 https://example.org/a/very/long/path"},
        headers=editor,
    ).json()
    assert measured == {"length": 31, "limit": 280, "unit": "weighted characters", "fits": True}


def test_health_readiness_and_metrics(web: TestClient) -> None:
    assert web.get("/healthz").text == "ok\n"
    ready = web.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True, "problems": []}
    metrics = web.get("/metrics").text
    assert "visibility_posts" in metrics
    assert "visibility_scheduler_heartbeat_age_seconds -1.0" in metrics


def test_readiness_follows_the_scheduler(app: Visibility) -> None:
    with TestClient(create_app(app, scheduler=True)) as client:
        import time

        deadline = time.monotonic() + 10
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get("/readyz").json()["ready"] is True
        service = client.app.state.service  # type: ignore[attr-defined]
        service.last_heartbeat = None
        stale = client.get("/readyz")
        assert stale.status_code == 503
        assert stale.json()["problems"] == ["the scheduler's heartbeat is stale"]


def test_openapi_schema_is_served(web: TestClient) -> None:
    schema = web.get("/openapi.json").json()
    assert "/api/v1/posts/{post_id}/approve" in schema["paths"]
    assert web.get("/docs").status_code == 200


def test_first_admin_from_the_cli(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {"VISIBILITY_DATA_DIR": str(tmp_path / "d"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "visibility",
            "users",
            "add",
            "ardita",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input="a long enough password\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "user ardita added as admin" in done.stdout
    short = subprocess.run(
        [sys.executable, "-m", "visibility", "users", "add", "bob", "--password-stdin"],
        input="short\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
