"""Review with comments on the command line and by e-mail: `posts return`, `resubmit`,
`comments`, `show` and `list --returned-to`; `users set-email`; the notices to the author
and the approvers through a local SMTP server (``smtp`` in conftest.py)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from email import message_from_bytes
from email.message import Message
from typing import Any, NamedTuple

import pytest

from visibility.accounts.roles import Role
from visibility.cli.app import main
from visibility.config.settings import load_settings
from visibility.queue.store import PostView
from visibility.workflow import DEMO_SAMPLE, Visibility

PASSWORD = "correct horse battery"
COMMENT = "The dateline lacks the place: write “Prishtinë”."


def demo_posts(app: Visibility, author: str = "ed") -> list[PostView]:
    return app.add_news_file(DEMO_SAMPLE, author=author).posts


# -- the command line ------------------------------------------------------------------


class Result(NamedTuple):
    code: int
    out: str
    err: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")

    def _run(*args: object, input: str = "") -> Result:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["visibility", *(str(a) for a in args)])
        monkeypatch.setattr(sys, "stdin", io.StringIO(input))
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return _run


def test_the_commands(run: Callable[..., Result]) -> None:
    assert run("news", "add", DEMO_SAMPLE).code == 0
    assert run("posts", "approve", 1, "--by", "ana").code == 0
    done = run("posts", "return", 1, "--by", "besnik", "--comment", COMMENT)
    assert done.code == 0, done.err
    assert "post 1 sent back (it has no author to tell); it is a draft again" in done.out
    empty = run("posts", "return", 2, "--by", "besnik", "--comment", "  ")
    assert empty.code == 1
    assert "error: The comment is empty: say what the author should change" in empty.err
    shown = run("posts", "show", 1)
    assert "review" in shown.out and "sent back" in shown.out and "Prishtinë" in shown.out
    record = json.loads(run("posts", "show", 1, "--json").out)
    assert record["status"] == "draft" and record["approved_by"] is None
    assert [(c["kind"], c["by"], c["text"]) for c in record["comments"]] == [
        ("returned", "besnik", COMMENT)
    ]
    trail = json.loads(run("posts", "comments", 1, "--json").out)
    assert [c["text"] for c in trail] == [COMMENT]
    assert "post 3 has no comments" in run("posts", "comments", 3).out
    assert "no post 99" in run("posts", "comments", 99).err
    # Posts made on the command line have no author: in nobody's list.
    assert json.loads(run("posts", "list", "--returned-to", "besnik", "--json").out) == []
    assert run("posts", "resubmit", 1, "--by", "ana", "--comment", "The place is in.").code == 0
    assert "post 1 is draft and was not sent back" in run("posts", "resubmit", 1, "--by", "x").err
    kinds = [c["kind"] for c in json.loads(run("posts", "comments", 1, "--json").out)]
    assert kinds == ["returned", "resubmitted"]


def test_the_returned_list_on_the_command_line(run: Callable[..., Result]) -> None:
    visibility = Visibility.open(load_settings())
    post = demo_posts(visibility, author="ardita")[1]
    visibility.close()
    assert run("posts", "return", post.id, "--by", "besnik", "--comment", COMMENT).code == 0
    listed = json.loads(run("posts", "list", "--returned-to", "ardita", "--json").out)
    assert [(p["id"], p["returned_to"]) for p in listed] == [(post.id, "ardita")]
    assert f"{post.id}" in run("posts", "list", "--returned-to", "ardita").out
    mixed = run("posts", "list", "--returned-to", "ardita", "--status", "draft")
    assert mixed.code == 1 and "--returned-to lists on its own" in mixed.err


# -- e-mail ----------------------------------------------------------------------------------


def _mail(envelope: Any) -> Message:
    return message_from_bytes(envelope.content)


def _body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


def test_notices_by_email(smtp: tuple[Any, list[Any]]) -> None:
    controller, received = smtp
    settings = load_settings(
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_starttls=False,
        alert_from="visibility@qbsc.example.org",
    )
    app = Visibility.open(settings)
    accounts = app.accounts
    accounts.add_user("ed", password=PASSWORD, role=Role.EDITOR, email="ed@qbsc.example.org")
    accounts.add_user("ap", password=PASSWORD, role=Role.APPROVER, email="ap@qbsc.example.org")
    accounts.add_user("ad", password=PASSWORD, role=Role.ADMIN)  # no address: not told
    accounts.add_user("sq", password=PASSWORD, role=Role.APPROVER, email="sq@qbsc.example.org")
    accounts.set_language("sq", "sq")
    website, facebook, _ = demo_posts(app)

    app.return_post(website.id, by="ap", comment=COMMENT)
    (mail,) = received
    assert mail.rcpt_tos == ["ed@qbsc.example.org"]
    message = _mail(mail)
    assert message["Subject"] == f"Post {website.id} was sent back to you"
    assert message["From"] == "visibility@qbsc.example.org"
    assert COMMENT in _body(message) and f"visibility posts resubmit {website.id}" in _body(message)

    app.resubmit(website.id, by="ed", comment="The place is in.")
    told = {m.rcpt_tos[0]: _mail(m) for m in received[1:]}
    assert set(told) == {"ap@qbsc.example.org", "sq@qbsc.example.org"}
    assert told["ap@qbsc.example.org"]["Subject"] == (
        f"Post {website.id} waits for your approval again"
    )
    assert "The place is in." in _body(told["ap@qbsc.example.org"])
    # Each in the reader's language.
    assert _body(told["sq@qbsc.example.org"]).startswith(f"ed e ndryshoi postimin {website.id}")

    # No address, or a post without author: nothing is sent, and nothing fails.
    accounts.set_email("ed", None)
    app.return_post(facebook.id, by="ap", comment=COMMENT)
    assert len(received) == 3
    app.close()


def test_a_notice_that_cannot_be_sent_does_not_undo_the_return(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = load_settings(smtp_host="127.0.0.1", smtp_port=9, smtp_starttls=False)
    app = Visibility.open(settings)
    app.accounts.add_user("ed", password=PASSWORD, role=Role.EDITOR, email="ed@example.org")
    post = demo_posts(app)[0]
    with caplog.at_level("WARNING", logger="visibility.review"):
        back = app.return_post(post.id, by="ap", comment=COMMENT)
    assert back.returned_to == "ed" and app.store.comments(post.id)[0].text == COMMENT
    assert f"could not tell ed about post {post.id} by e-mail" in caplog.text
    assert "ed@example.org" not in caplog.text
    app.close()


def test_users_get_an_address_on_the_command_line(run: Callable[..., Result]) -> None:
    wrong = run("users", "add", "ana", "--email", "ana at example", "--password-stdin")
    assert wrong.code == 1 and "not an e-mail address" in wrong.err
    added = run(
        "users", "add", "ana", "--email", "ana@example.org", "--password-stdin", input=PASSWORD
    )
    assert added.code == 0, added.err
    assert "ana@example.org" in run("users", "list").out
    assert run("users", "set-email", "ana", "not-an-address").code == 1
    done = run("users", "set-email", "ana", "ana@example.org")
    assert done.code == 0 and "review notices for ana go to ana@example.org" in done.out
    listed = json.loads(run("users", "list", "--json").out)
    assert {u["username"]: u["email"] for u in listed}["ana"] == "ana@example.org"
    assert "gets no review notices" in run("users", "set-email", "ana").out
