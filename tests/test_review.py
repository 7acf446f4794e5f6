"""Review with comments (issue 15, item 5): an approver sends a post back to its author with
a comment; the author finds it in "returned to me", changes it and resubmits it; the trail
and the audit log keep what was said. The store (SQLite and PostgreSQL), the workflow, the
API and the pages; the commands and e-mail are in test_review_cli_mail.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from visibility.accounts.roles import Role
from visibility.config.settings import load_settings
from visibility.errors import InputError, NotFoundError, TransitionError
from visibility.news.model import ParsedNews
from visibility.queue.states import PostStatus
from visibility.queue.store import Draft, PostView, Store
from visibility.review import MAX_COMMENT
from visibility.web.app import create_app
from visibility.workflow import DEMO_SAMPLE, Visibility

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
COMMENT = "The dateline lacks the place: write “Prishtinë”."

# -- the store (SQLite and PostgreSQL) ------------------------------------------------


def _news(n: int) -> ParsedNews:
    return ParsedNews(
        title=f"LAJMI NR. {n}",
        social_title=f"Lajmi nr. {n}",
        lead=f"Paragrafi i parë i lajmit {n}.",
        paragraphs=(f"Paragrafi i parë i lajmit {n}.",),
        body_html=f"<p>Paragrafi i parë i lajmit {n}.</p>",
        language="sq",
        source_format="text",
        fingerprint=f"{n:064x}",
    )


def website_post(store: Store, n: int = 1, author: str | None = "ardita") -> PostView:
    draft = Draft(channel="website", kind="website", title="LAJMI", body="<p>x</p>", author=author)
    _, _, posts = store.add_news(_news(n), source=f"lajm-{n}.txt", drafts=(draft,))
    return posts[0]


def reach(store: Store, status: PostStatus, n: int) -> PostView:
    """A fresh post driven to ``status`` through legal moves only."""
    post = website_post(store, n)
    if status is PostStatus.DRAFT:
        return post
    if status is PostStatus.CANCELLED:
        return store.cancel(post.id)
    store.approve(post.id, by="besnik")
    if status is PostStatus.APPROVED:
        return store.get_post(post.id)
    store.schedule(post.id, at=NOW)
    if status is PostStatus.SCHEDULED:
        return store.get_post(post.id)
    (claim,) = store.claim_due(worker="w1", now=NOW, lease=timedelta(minutes=5))
    if status is PostStatus.PUBLISHING:
        return store.get_post(post.id)
    if status is PostStatus.PUBLISHED:
        store.mark_published(claim, worker="w1", external_id="x", url="https://e.org/1")
    elif status is PostStatus.IN_DOUBT:
        store.mark_in_doubt(claim, worker="w1", reason="the channel cannot tell")
    else:
        store.mark_failed(claim, worker="w1", error="refused")
    return store.get_post(post.id)


@pytest.mark.parametrize("status", list(PostStatus), ids=lambda s: s.value)
def test_only_posts_not_yet_out_can_be_sent_back(store: Store, status: PostStatus) -> None:
    post = reach(store, status, n=list(PostStatus).index(status) + 1)
    if status in (PostStatus.DRAFT, PostStatus.APPROVED, PostStatus.SCHEDULED):
        back = store.return_post(post.id, by="besnik", comment=COMMENT)
        assert back.status is PostStatus.DRAFT
        assert (back.returned_to, back.approved_by, back.scheduled_at) == ("ardita", None, None)
        assert [c.text for c in store.comments(post.id)] == [COMMENT]
        return
    with pytest.raises(TransitionError) as refused:
        store.return_post(post.id, by="besnik", comment=COMMENT)
    assert str(refused.value) == (
        f"post {post.id} is {status.value}; only approved, draft, scheduled posts can be "
        "sent back to the author"
    )
    # Refused: nothing changed, and no comment was left behind.
    assert store.get_post(post.id).status is status
    assert store.get_post(post.id).returned_at is None
    assert store.comments(post.id) == []


def test_sending_back_clears_what_an_edit_clears_and_keeps_the_text(store: Store) -> None:
    post = website_post(store)
    store.approve(post.id, by="besnik")
    store.schedule(post.id, at=NOW)
    back = store.return_post(post.id, by="besnik", comment=COMMENT)
    assert back.status is PostStatus.DRAFT
    assert (back.approved_at, back.scheduled_at, back.override_reason) == (None, None, None)
    assert back.body == post.body and back.author == "ardita"
    assert back.returned_at is not None
    with pytest.raises(NotFoundError, match="no post 9999"):
        store.return_post(9999, by="besnik", comment=COMMENT)


def test_the_trail_keeps_every_comment_in_order(store: Store) -> None:
    post = website_post(store)
    store.return_post(post.id, by="besnik", comment="first")
    store.edit(post.id, body="<p>y</p>", by="ardita")
    store.resubmit(post.id, by="ardita", comment="fixed")
    store.return_post(post.id, by="drita", comment="second")
    trail = store.comments(post.id)
    assert [(c.kind, c.by, c.text) for c in trail] == [
        ("returned", "besnik", "first"),
        ("resubmitted", "ardita", "fixed"),
        ("returned", "drita", "second"),
    ]
    assert [c.at for c in trail] == sorted(c.at for c in trail)
    assert store.last_returns([post.id])[post.id].text == "second"
    assert store.comments(website_post(store, 2).id) == []


def test_returned_to_me_until_resubmitted_or_approved(store: Store) -> None:
    first, second, third, other = (website_post(store, n) for n in (1, 2, 3, 4))
    store.edit(other.id, body="<p>z</p>", by="valon")
    for post in (first, second, third, other):
        store.return_post(post.id, by="besnik", comment=COMMENT)
    # Newest return first; another author's post is theirs.
    assert [p.id for p in store.returned_to("ardita")] == [third.id, second.id, first.id]
    assert [p.id for p in store.returned_to("valon")] == [other.id]
    assert [p.id for p in store.returned_to("ardita", limit=1)] == [third.id]
    # Editing answers the comment but keeps the post in the list; so does an edit by
    # someone else (it stays with the person it was sent back to).
    store.edit(first.id, body="<p>better</p>", by="ardita")
    store.edit(second.id, body="<p>better</p>", by="valon")
    assert store.count_returned_to("ardita") == 3
    store.resubmit(first.id, by="ardita")
    store.approve(second.id, by="besnik")
    store.cancel(third.id)
    assert store.returned_to("ardita") == [] and store.count_returned_to("ardita") == 0
    # Approved, then edited back to draft: it does not come back to the list.
    store.edit(second.id, body="<p>again</p>", by="ardita")
    assert store.returned_to("ardita") == []
    # Resubmitting twice, or a post never sent back, is refused in words.
    with pytest.raises(TransitionError, match=f"post {first.id} is draft and was not sent back"):
        store.resubmit(first.id, by="ardita")
    with pytest.raises(TransitionError, match="is approved and was not sent back"):
        store.resubmit(store.approve(first.id, by="besnik").id, by="ardita")


def test_the_returned_list_is_one_indexed_query(store: Store) -> None:
    website_post(store)
    if store.engine.dialect.name != "sqlite":
        # PostgreSQL's planner prefers a scan on a table this small; the index exists.
        with store.engine.connect() as conn:
            found = conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_post_returned'")
            ).scalar()
        assert found is not None and "(returned_to, returned_at)" in found
        return
    statements: list[str] = []

    def seen(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        store.returned_to("ardita")
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    queries = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 1
    with store.engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + queries[0], ("ardita", "draft", 200, 0)
        ).all()
    assert any("ix_post_returned" in str(row) for row in plan), plan


# -- the workflow: the comment, the audit log --------------------------------------------


@pytest.fixture
def app() -> Iterator[Visibility]:
    visibility = Visibility.open(load_settings())
    for name, role in (("ed", Role.EDITOR), ("ap", Role.APPROVER), ("ad", Role.ADMIN)):
        visibility.accounts.add_user(name, password=PASSWORD, role=role, display_name=name.upper())
    yield visibility
    visibility.close()


def demo_posts(app: Visibility, author: str = "ed") -> list[PostView]:
    return app.add_news_file(DEMO_SAMPLE, author=author).posts


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        ("", "The comment is empty: say what the author should change before it is approved."),
        (" \r\n\t ", "The comment is empty"),
        ("x" * (MAX_COMMENT + 1), f"The comment is {MAX_COMMENT + 1} characters long: keep it"),
    ],
)
def test_a_comment_is_required(app: Visibility, comment: str, message: str) -> None:
    post = demo_posts(app)[0]
    with pytest.raises(InputError, match=re.escape(message)):
        app.return_post(post.id, by="ap", comment=comment)
    assert app.store.get_post(post.id).returned_at is None
    assert app.store.comments(post.id) == []


def test_the_comment_is_kept_trimmed_with_its_lines_and_audited(app: Visibility) -> None:
    post = demo_posts(app)[0]
    longest = "y" * MAX_COMMENT
    app.return_post(post.id, by="ap", comment="  First line\r\nsecond line  ")
    app.return_post(post.id, by="ap", comment=f"  {longest}  ", audit_as="ap (token ci)")
    assert [c.text for c in app.store.comments(post.id)] == ["First line\nsecond line", longest]
    entries = [e for e in app.accounts.audit_log() if e.action == "post.return"]
    assert [(e.actor, e.target, e.detail) for e in reversed(entries)] == [
        ("ap", f"post {post.id}", "First line\nsecond line"),
        ("ap (token ci)", f"post {post.id}", longest),
    ]
    app.resubmit(post.id, by="ed", comment="Done: the place is in.")
    (resubmitted,) = [e for e in app.accounts.audit_log() if e.action == "post.resubmit"]
    assert (resubmitted.actor, resubmitted.detail) == ("ed", "Done: the place is in.")


# -- the API ---------------------------------------------------------------------------------


@pytest.fixture
def web(app: Visibility) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as client:
        yield client


def bearer(app: Visibility, user: str, role: Role) -> dict[str, str]:
    token = app.accounts.create_token(user, name=f"{user}-t", role=role)
    return {"Authorization": f"Bearer {token}"}


def test_the_api(app: Visibility, web: TestClient) -> None:
    website, facebook, _ = demo_posts(app)
    editor, approver = bearer(app, "ed", Role.EDITOR), bearer(app, "ap", Role.APPROVER)
    url = f"/api/v1/posts/{website.id}/return"
    refused = web.post(url, json={"comment": COMMENT}, headers=editor)
    assert refused.status_code == 403
    for body in ({"comment": ""}, {"comment": "   "}, {"comment": "x" * 1001}):
        answer = web.post(url, json=body, headers=approver)
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"].startswith("The comment is")
    assert web.post(url, json={}, headers=approver).status_code == 422  # missing
    assert web.post(url, json={"comment": "x", "extra": 1}, headers=approver).status_code == 422
    done = web.post(url, json={"comment": COMMENT}, headers=approver)
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["returned_to"]) == ("draft", "ed")
    assert (
        web.post("/api/v1/posts/999/return", json={"comment": "x"}, headers=approver)
        .json()["detail"]
        .startswith("no post 999")
    )
    # The author's list, with the comment it was sent back with.
    mine = web.get("/api/v1/me/returned", headers=editor).json()
    assert [(r["post"]["id"], r["returned"]["text"]) for r in mine] == [(website.id, COMMENT)]
    assert web.get("/api/v1/me/returned", headers=approver).json() == []
    comments = web.get(f"/api/v1/posts/{website.id}/comments", headers=editor).json()
    assert [(c["kind"], c["by"]) for c in comments] == [("returned", "ap")]
    assert web.get("/api/v1/posts/999/comments", headers=editor).status_code == 404
    # The author resubmits with a reply; then it is out of the list.
    again = web.post(
        f"/api/v1/posts/{website.id}/resubmit", json={"comment": "In."}, headers=editor
    )
    assert again.status_code == 200 and again.json()["returned_to"] is None
    assert web.get("/api/v1/me/returned", headers=editor).json() == []
    twice = web.post(f"/api/v1/posts/{website.id}/resubmit", headers=editor)
    assert twice.status_code == 409
    # From a state that is already out: 409, in words.
    app.store.cancel(facebook.id)
    gone = web.post(f"/api/v1/posts/{facebook.id}/return", json={"comment": "x"}, headers=approver)
    assert gone.status_code == 409 and "only approved, draft, scheduled" in gone.json()["detail"]
    audit = [e for e in app.accounts.audit_log() if e.action == "post.return"]
    assert [(e.actor, e.detail) for e in audit] == [("ap (token ap-t)", COMMENT)]


def test_the_api_documents_the_review_operations(web: TestClient) -> None:
    paths = web.get("/openapi.json").json()["paths"]
    answers = {
        ("post", "/api/v1/posts/{post_id}/return"): {"401", "403", "404", "409", "422"},
        ("post", "/api/v1/posts/{post_id}/resubmit"): {"401", "403", "404", "409", "422"},
        ("get", "/api/v1/posts/{post_id}/comments"): {"401", "403", "404", "422"},
        ("get", "/api/v1/me/returned"): {"401", "403", "422"},
    }
    for (method, path), codes in answers.items():
        documented = set(paths[path][method]["responses"])
        assert codes <= documented, (path, documented)


# -- the pages -------------------------------------------------------------------------------


def token_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found[1]


def sign_in(web: TestClient, user: str) -> str:
    form = web.get("/sign-in")
    answer = web.post(
        "/sign-in", data={"username": user, "password": PASSWORD, "csrf_token": token_in(form.text)}
    )
    assert answer.status_code == 200, answer.text
    return token_in(answer.text)


def flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash flash-\w+"[^>]*>([^<]*)</p>', html)


def test_an_approver_sends_back_and_the_author_sees_it(app: Visibility, web: TestClient) -> None:
    website = demo_posts(app)[0]
    token = sign_in(web, "ap")
    inbox = web.get("/inbox").text
    assert f'action="/posts/{website.id}/return"' in inbox
    empty = web.post(
        f"/posts/{website.id}/return",
        data={"comment": "  ", "back": "/inbox", "csrf_token": token},
    )
    assert flashes(empty.text) == [
        "The comment is empty: say what the author should change before it is approved."
    ]
    sent = web.post(
        f"/posts/{website.id}/return",
        data={
            "comment": "No <b>bold</b> here.\r\nAnd the place.",
            "back": "/inbox",
            "csrf_token": token,
        },
    )
    assert f"Post {website.id} was sent back to ed." in flashes(sent.text)
    assert 'href="/returned"' in sent.text and "data-returned-count" not in sent.text
    web.post("/sign-out", data={"csrf_token": token})

    token = sign_in(web, "ed")
    page = web.get("/returned")
    assert page.status_code == 200
    assert 'data-returned-count="1"' in page.text  # the badge in the navigation
    assert f'id="post-{website.id}"' in page.text
    assert "Returned by ap:" in page.text
    assert "No &lt;b&gt;bold&lt;/b&gt; here.\nAnd the place." in page.text  # escaped, lines kept
    assert f'action="/posts/{website.id}/return"' not in page.text  # editors cannot send back
    card = web.get(f"/news/{website.news_item_id}").text
    assert "Returned by ap:" in card and 'data-trail="1"' in card
    # Editing keeps it in the list; resubmitting takes it out.
    web.post(
        f"/posts/{website.id}/edit",
        data={"body": website.body + "<p>Prishtinë</p>", "back": "/returned", "csrf_token": token},
    )
    assert 'data-returned-count="1"' in web.get("/returned").text
    done = web.post(
        f"/posts/{website.id}/resubmit",
        data={"comment": "Added the place.", "back": "/returned", "csrf_token": token},
    )
    assert f"Post {website.id} waits for approval again." in flashes(done.text)
    assert "Nothing was sent back to you." in done.text
    assert "data-returned-count" not in done.text
    card = web.get(f"/news/{website.news_item_id}").text
    assert "Returned by ap:" not in card and 'data-trail="2"' in card
    assert "ED sent it for approval again:" not in card and "ed sent it for approval again:" in card
    # An editor's form post to send back is refused.
    refused = web.post(
        f"/posts/{website.id}/return", data={"comment": "x", "back": "/", "csrf_token": token}
    )
    assert refused.status_code == 403


def test_the_returned_page_in_albanian(app: Visibility, web: TestClient) -> None:
    website = demo_posts(app)[0]
    app.return_post(website.id, by="ap", comment=COMMENT)
    token = sign_in(web, "ed")
    web.post("/language", data={"lang": "sq", "back": "/returned", "csrf_token": token})
    page = web.get("/returned").text
    assert "Më janë kthyer" in page and "Kthyer nga ap:" in page and COMMENT in page
