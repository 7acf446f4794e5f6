"""Operations: JSON logs without secrets, and alerts by e-mail and webhook, once per cause."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from emulators.graph import GraphEmulator
from emulators.server import Emulator, Request, Response, route
from emulators.wordpress import DEFAULT_APP_PASSWORD, WordPressEmulator
from emulators.x import XEmulator
from visibility.alerts import Alerter
from visibility.config.settings import load_settings
from visibility.logs import setup_logging
from visibility.queue.states import PostStatus
from visibility.service.publisher import Publisher
from visibility.service.runner import build_adapters
from visibility.workflow import DEMO_SAMPLE, Visibility


def test_json_lines_carry_the_post_context() -> None:
    stream = io.StringIO()
    setup_logging("INFO", fmt="json", stream=stream)
    logging.getLogger("visibility.test").info(
        "published %s", "https://x.example/1", extra={"post_id": 7, "channel": "x", "attempt": 2}
    )
    entry = json.loads(stream.getvalue().strip())
    assert entry["message"] == "published https://x.example/1"
    assert (entry["post_id"], entry["channel"], entry["attempt"]) == (7, "x", 2)
    assert entry["level"] == "info" and entry["time"].endswith("+00:00")


def test_text_lines_for_a_terminal() -> None:
    stream = io.StringIO()
    setup_logging("INFO", fmt="text", stream=stream)
    logging.getLogger("visibility.test").warning("held", extra={"post_id": 3, "channel": "fb"})
    assert stream.getvalue().rstrip().endswith("held [post=3 channel=fb]")


def test_secrets_are_blanked_in_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    setup_logging("DEBUG", fmt="json", stream=stream, secrets=["EAAB-page-token-123456"])
    log = logging.getLogger("visibility.test")
    log.info("token EAAB-page-token-123456 in the message")
    log.info("token %s in an argument", "EAAB-page-token-123456")
    try:
        raise RuntimeError("echoed EAAB-page-token-123456 back")
    except RuntimeError:
        log.exception("failed")
    text = stream.getvalue()
    assert "EAAB-page-token-123456" not in text
    entries = [json.loads(line) for line in text.splitlines()]
    assert [e["message"].split("\n")[0] for e in entries] == [
        "token *** in the message",
        "token *** in an argument",
        "failed",
    ]
    assert "RuntimeError: echoed *** back" in entries[2]["message"]


# -- every error path of the real adapters, with credentials the platforms echo -------------


@pytest.fixture
def emulators() -> Iterator[tuple[XEmulator, GraphEmulator, WordPressEmulator]]:
    with XEmulator() as x, GraphEmulator() as graph, WordPressEmulator() as wp:
        yield x, graph, wp


def test_no_credential_reaches_the_logs_on_any_error_path(
    emulators: tuple[XEmulator, GraphEmulator, WordPressEmulator],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x, graph, wp = emulators
    good = {
        "WP_USER": "editor",
        "WP_APP_PASSWORD": DEFAULT_APP_PASSWORD,
        "FB_TOKEN": graph.token,
        "X_KEY": x.consumer_key,
        "X_SECRET": x.consumer_secret,
        "X_TOKEN": x.account.access_token,
        "X_TOKEN_SECRET": x.account.access_token_secret,
    }
    bad = {
        **good,
        "WP_APP_PASSWORD": "wrong appl pass word 1234",
        "FB_TOKEN": "EAAG-expired-token-0987654321",  # Graph echoes malformed tokens back
        "X_SECRET": "bad-consumer-secret-5555555555",
    }
    path = tmp_path / "channels.toml"
    path.write_text(
        f"""
[[channels]]
name = "website"
kind = "website"
secrets = {{ username = "WP_USER", application_password = "WP_APP_PASSWORD" }}
options = {{ base_url = "{wp.base_url}", timeout = 0.5 }}
[[channels]]
name = "fb"
kind = "facebook"
secrets = {{ page_access_token = "FB_TOKEN" }}
options = {{ page_id = "{graph.page_id}", base_url = "{graph.base_url}", timeout = 0.5 }}
[[channels]]
name = "x"
kind = "twitter"
secrets = {{ api_key = "X_KEY", api_secret = "X_SECRET", access_token = "X_TOKEN", access_token_secret = "X_TOKEN_SECRET" }}
options = {{ base_url = "{x.base_url}", timeout = 0.5 }}
""",
        encoding="utf-8",
    )
    stream = io.StringIO()
    clock = [datetime.now(UTC)]

    def open_with(secrets: dict[str, str]) -> Visibility:
        for name, value in secrets.items():
            monkeypatch.setenv(name, value)
        app = Visibility.open(load_settings(channels_file=path, log_level="DEBUG"))
        setup_logging("DEBUG", fmt="json", stream=stream, secrets=app.secret_values())
        return app

    # 1. Wrong credentials everywhere: the checks and the publishes are refused.
    app = open_with(bad)
    assert not any(c.ok for c in app.check_channels())
    text = DEMO_SAMPLE.read_text(encoding="utf-8")
    added = app.add_news_text(text, canonical_url="https://qb.example.org/lajme/trajnime")
    for post in added.posts:
        app.approve(post.id, by="Ardita")
        app.store.schedule(post.id, at=clock[0])
    publisher = Publisher(app.store, build_adapters(app), worker="w", clock=lambda: clock[0])
    publisher.run_due()
    publisher.close()
    assert set(app.store.attention()) == {"website", "fb", "x"}
    app.close()

    # 2. Right credentials, platforms failing: 5xx, answers too slow, dropped connections.
    app = open_with(good)
    assert all(c.ok for c in app.check_channels())
    for emulator in (x, graph, wp):
        emulator.fail_next(1, status=500)
        emulator.fail_next(1, delay=1.0)
        emulator.fail_next(1, drop=True)
    publisher = Publisher(app.store, build_adapters(app), worker="w", clock=lambda: clock[0])
    for _ in range(8):
        publisher.run_due()
        clock[0] += timedelta(hours=2)
    publisher.close()
    assert {app.store.get_post(p.id).status for p in added.posts} <= {
        PostStatus.PUBLISHED,
        PostStatus.SCHEDULED,
        PostStatus.IN_DOUBT,
    }
    logged = stream.getvalue()
    # The error paths were taken and logged, or this test would prove nothing.
    assert "publish will be retried" in logged
    assert "already on the channel" in logged
    stored = json.dumps(
        [app.store.get_post(p.id).to_dict() for p in added.posts]
        + [a.to_dict() for p in added.posts for a in app.store.attempts(p.id)]
    )
    for name in ("WP_APP_PASSWORD", "FB_TOKEN", "X_SECRET", "X_TOKEN", "X_TOKEN_SECRET"):
        for value in {good[name], bad[name]}:
            assert value not in logged, f"{name} leaked into the logs"
            assert value not in stored, f"{name} leaked into the database"
    app.close()


# -- alerts ---------------------------------------------------------------------------------


class AlertHook(Emulator):
    def __init__(self) -> None:
        super().__init__()
        self.alerts: list[dict[str, Any]] = []

    @route("POST", r"/hook")
    def hook(self, request: Request) -> Response:
        self.alerts.append(request.json())
        return Response(204)


# The ``smtp`` fixture (a local SMTP server, aiosmtpd) is in conftest.py: review notices
# use it too (tests/test_review.py).


def test_alerts_go_out_once_per_cause_by_mail_and_webhook(
    smtp: tuple[Any, list[Any]], tmp_path: Path
) -> None:
    controller, received = smtp
    with AlertHook() as hook:
        settings = load_settings(
            smtp_host="127.0.0.1",
            smtp_port=controller.port,
            smtp_starttls=False,
            alert_from="visibility@qbsc.example.org",
            alert_to="staff@qbsc.example.org, director@qbsc.example.org",
            alert_webhook_url=f"{hook.base_url}/hook",
        )
        app = Visibility.open(settings)
        added = app.add_news_file(DEMO_SAMPLE)
        website = added.posts[0]
        app.approve(website.id, by="Ardita")
        app.schedule(website.id, mode="now")
        (claim,) = app.store.claim_due(
            worker="w", now=app.store.next_due_at() or claim_time(), lease=timedelta(minutes=1)
        )
        app.store.mark_failed(claim, worker="w", error="WordPress refused the article: bad title")
        app.store.set_attention("facebook", "the Page access token has expired")
        app.store.worker_started("old-host:1", host="old-host", pid=1)
        alerter = Alerter(app.store, settings, clock=lambda: claim_time() + timedelta(minutes=10))
        sent = alerter.run_once()
        assert sorted(a.subject for a in sent) == sorted(
            [
                f"visibility: post {website.id} on website failed",
                "visibility: the facebook account needs re-authorisation",
                "visibility: the scheduler old-host:1 stopped",
            ]
        )
        assert len(received) == 3 and len(hook.alerts) == 3
        mail = received[0]
        assert mail.rcpt_tos == ["staff@qbsc.example.org", "director@qbsc.example.org"]
        assert b"bad title" in mail.content or any(b"bad title" in m.content for m in received)
        # Again, from another worker: nothing new to tell.
        assert Alerter(app.store, settings, clock=alerter.clock).run_once() == []
        assert len(received) == 3 and len(hook.alerts) == 3
        app.close()


def test_a_failed_send_is_tried_again(tmp_path: Path) -> None:
    settings = load_settings(alert_webhook_url="http://127.0.0.1:9/hook")
    app = Visibility.open(settings)
    app.store.set_attention("twitter", "X rejected the credentials")
    alerter = Alerter(app.store, settings)
    assert alerter.run_once() == []  # nobody listens on port 9
    with AlertHook() as hook:
        alerter.settings = load_settings(alert_webhook_url=f"{hook.base_url}/hook")
        assert [a.subject for a in alerter.run_once()] == [
            "visibility: the twitter account needs re-authorisation"
        ]
        assert hook.alerts[0]["text"].endswith("visibility channels check twitter")
    app.close()


def claim_time() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
