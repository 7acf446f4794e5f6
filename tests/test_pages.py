"""The staff pages through the app (TestClient): roles, sign-in, CSRF, escaping, the calendar
across daylight-saving changes, and the translation catalogues."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from visibility.accounts.roles import Role
from visibility.config.settings import load_settings
from visibility.queue.states import PostStatus
from visibility.queue.types import utcnow
from visibility.service.runner import Service
from visibility.web.app import create_app
from visibility.web.i18n import pick_language
from visibility.web.pages.common import safe_back, social_html
from visibility.workflow import DEMO_SAMPLE, Visibility

PASSWORD = "correct horse battery"
WEB = Path(__file__).resolve().parents[1] / "visibility" / "web"
USERS = {"ed": Role.EDITOR, "ap": Role.APPROVER, "ad": Role.ADMIN}
XSS_TITLE = 'Lajm <script>alert(1)</script> " onmouseover="alert(2)'
XSS_TEXT = (
    f"{XSS_TITLE}\n\n"
    "12 nëntor 2026, Prishtinë – Paragrafi i parë <script>alert(1)</script> me tekst "
    '" onmouseover="alert(2)" dhe <img src=x onerror=alert(3)> për trajnimet.\n\n'
    "Paragrafi i dytë flet për organizatat e shoqërisë civile dhe afatin e aplikimit."
)


@pytest.fixture
def app() -> Iterator[Visibility]:
    visibility = Visibility.open(load_settings())
    for name, role in USERS.items():
        visibility.accounts.add_user(name, password=PASSWORD, role=role, display_name=name.upper())
    yield visibility
    visibility.close()


@pytest.fixture
def web(app: Visibility) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as client:
        yield client


def token_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found[1]


def sign_in(web: TestClient, user: str) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    form = web.get("/sign-in")
    answer = web.post(
        "/sign-in",
        data={"username": user, "password": PASSWORD, "csrf_token": token_in(form.text)},
    )
    assert answer.status_code == 200, answer.text
    assert f"Signed in as {user.upper()}" in answer.text
    return token_in(answer.text)


def sign_out(web: TestClient, token: str) -> None:
    web.post("/sign-out", data={"csrf_token": token})


def flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash flash-\w+"[^>]*>([^<]*)</p>', html)


def add_news(web: TestClient, token: str, text: str) -> int:
    answer = web.post("/news", data={"text": text, "csrf_token": token})
    assert answer.status_code == 200, answer.text
    found = re.search(r"/news/(\d+)$", str(answer.url))
    assert found, answer.url
    return int(found[1])


def posts_of(app: Visibility, news_id: int) -> dict[str, int]:
    return {p.channel: p.id for p in app.store.list_posts(news_item_id=news_id)}


PAGES = [
    "/news",
    "/news/new",
    "/queue",
    "/queue?status=attention",
    "/queue?status=draft&channel=twitter",
    "/inbox",
    "/calendar",
    "/calendar?view=month",
    "/engagement",
]


def test_every_page_renders_for_each_role(web: TestClient, app: Visibility) -> None:
    token = sign_in(web, "ed")
    news_id = add_news(web, token, DEMO_SAMPLE.read_text(encoding="utf-8"))
    sign_out(web, token)
    approve = re.compile(r'action="/posts/\d+/approve"')
    for user, role in USERS.items():
        token = sign_in(web, user)
        for path in [*PAGES, f"/news/{news_id}"]:
            page = web.get(path)
            assert page.status_code == 200, (user, path, page.text[:500])
            assert "<html" in page.text and f"{user.upper()}" in page.text
            assert page.headers["content-security-policy"].startswith("default-src 'self'")
        # An editor sees no approve buttons; approvers and admins do.
        item = web.get(f"/news/{news_id}").text
        assert bool(approve.search(item)) is role.allows(Role.APPROVER), user
        assert bool(approve.search(web.get("/inbox").text)) is role.allows(Role.APPROVER)
        for path in ("/admin", "/admin/audit"):
            page = web.get(path)
            assert page.status_code == (200 if role is Role.ADMIN else 403), (user, path)
        assert ('href="/admin"' in web.get("/news").text) is (role is Role.ADMIN)
        sign_out(web, token)


def test_signed_out_pages_redirect_to_sign_in(web: TestClient) -> None:
    for path in [*PAGES, "/", "/news/1", "/admin", "/admin/audit"]:
        answer = web.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/sign-in?next=/"), path
    posted = web.post(
        "/posts/1/approve", data={"csrf_token": "x", "back": "/queue"}, follow_redirects=False
    )
    assert posted.status_code == 303 and posted.headers["location"] == "/sign-in?next=/queue"
    page = web.get("/queue")  # followed: the sign-in form, then back here after signing in
    assert str(page.url).endswith("/sign-in?next=/queue") and 'name="password"' in page.text
    done = web.post(
        "/sign-in",
        data={"username": "ed", "password": PASSWORD, "csrf_token": token_in(page.text)}
        | {"next": "/queue"},
    )
    assert str(done.url).endswith("/queue")


def test_sign_in_goes_only_to_pages_of_this_site() -> None:
    assert safe_back("/queue?status=failed") == "/queue?status=failed"
    for bad in (
        "https://evil.example",
        "//evil.example/x",
        "/\\evil",
        "queue",
        "/x\r\nSet-Cookie:",
    ):
        assert safe_back(bad) == "/", bad


def test_sign_in_failures_and_rate_limit_are_shown(web: TestClient) -> None:
    form = web.get("/sign-in")
    token = token_in(form.text)
    wrong = web.post(
        "/sign-in", data={"username": "ed", "password": "not it at all", "csrf_token": token}
    )
    assert wrong.status_code == 401 and "Wrong user name or password." in wrong.text
    for _ in range(4):
        web.post("/sign-in", data={"username": "ed", "password": "nope", "csrf_token": token})
    locked = web.post(
        "/sign-in", data={"username": "ed", "password": PASSWORD, "csrf_token": token}
    )
    assert locked.status_code == 429 and "Retry-After" in locked.headers
    assert re.search(r"Too many failed sign-ins\. Try again in \d+ seconds\.", locked.text)
    no_token = web.post("/sign-in", data={"username": "ap", "password": PASSWORD})
    assert no_token.status_code == 403 and "expired" in no_token.text


def test_forms_need_the_csrf_token(web: TestClient, app: Visibility) -> None:
    token = sign_in(web, "ap")
    news_id = add_news(web, token, DEMO_SAMPLE.read_text(encoding="utf-8"))
    website = posts_of(app, news_id)["website"]
    for data in ({"back": "/queue"}, {"back": "/queue", "csrf_token": "forged"}):
        refused = web.post(f"/posts/{website}/cancel", data=data)
        assert refused.status_code == 403
        assert "This form has expired or did not come from this site" in refused.text
    news = web.post("/news", data={"text": DEMO_SAMPLE.read_text(encoding="utf-8")})
    assert news.status_code == 403
    assert web.post("/sign-out", data={}).status_code == 403
    assert web.get("/queue", follow_redirects=False).status_code == 200  # still signed in
    assert app.store.get_post(website).status is PostStatus.DRAFT
    # The same request with the token goes through.
    done = web.post(f"/posts/{website}/cancel", data={"back": "/queue", "csrf_token": token})
    assert done.status_code == 200 and f"Post {website} cancelled." in flashes(done.text)


def test_an_editor_cannot_approve_by_posting_anyway(web: TestClient, app: Visibility) -> None:
    token = sign_in(web, "ed")
    news_id = add_news(web, token, DEMO_SAMPLE.read_text(encoding="utf-8"))
    website = posts_of(app, news_id)["website"]
    for action in ("approve", "cancel", "retry", "resend"):
        refused = web.post(f"/posts/{website}/{action}", data={"csrf_token": token})
        assert refused.status_code == 403, action
        assert "Your role does not allow this." in refused.text
    schedule = web.post(f"/posts/{website}/schedule", data={"csrf_token": token, "mode": "now"})
    assert schedule.status_code == 403
    assert web.post("/admin/users", data={"csrf_token": token}).status_code == 403
    assert app.store.get_post(website).status is PostStatus.DRAFT


def test_the_workflow_through_the_forms(web: TestClient, app: Visibility) -> None:
    token = sign_in(web, "ed")
    news_id = add_news(web, token, DEMO_SAMPLE.read_text(encoding="utf-8"))
    ids = posts_of(app, news_id)
    tweet, website = ids["twitter"], ids["website"]
    page = web.get(f"/news/{news_id}").text
    assert 'data-measure-kind="twitter"' in page and '<span class="chip"' in page
    # A tweet over 280 is saved (the count shows it red) but cannot be approved.
    long_text = "Trajnime " * 33 + "{link}"
    saved = web.post(
        f"/posts/{tweet}/edit",
        data={"body": long_text.replace(" ", " \r\n", 1), "csrf_token": token, "back": "/x"},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/x"
    assert app.store.get_post(tweet).body == long_text.replace(" ", " \n", 1)
    page = web.get(f"/news/{news_id}").text
    assert re.search(r'class="count over"[^>]*>321 / 280<', page)
    assert "too long by 41: shorten it" in page
    unchanged = web.post(
        f"/posts/{website}/edit",
        data={"body": app.store.get_post(website).body, "csrf_token": token},
    )
    assert f"Nothing changed in post {website}." in flashes(unchanged.text)
    sign_out(web, token)

    token = sign_in(web, "ap")
    refused = web.post(
        f"/posts/{tweet}/approve", data={"csrf_token": token, "back": f"/news/{news_id}"}
    )
    assert str(refused.url).endswith(f"/news/{news_id}")
    assert any("321 weighted characters; X allows 280" in f for f in flashes(refused.text))
    assert web.post(f"/posts/{website}/approve", data={"csrf_token": token}).status_code == 200
    scheduled = web.post(
        f"/posts/{website}/schedule",
        data={"csrf_token": token, "mode": "at", "at": "2037-12-01T09:30", "back": "/queue"},
    )
    assert "Post 1 is scheduled for 1 Dec 2037, 09:30 (Europe/Belgrade)." in flashes(scheduled.text)
    assert app.store.get_post(website).scheduled_at == app.store.get_post(
        website
    ).scheduled_at.replace(hour=8, minute=30)  # type: ignore[union-attr]
    bad_time = web.post(
        f"/posts/{website}/schedule",
        data={"csrf_token": token, "mode": "at", "at": "soon", "back": "/queue"},
    )
    assert any("cannot read the time: write it" in f for f in flashes(bad_time.text)), flashes(
        bad_time.text
    )
    slot = web.post(f"/posts/{website}/schedule", data={"csrf_token": token, "mode": "next-slot"})
    assert slot.status_code == 200 and "is scheduled for" in flashes(slot.text)[0]
    web.post(f"/posts/{website}/cancel", data={"csrf_token": token})
    assert app.store.get_post(website).status is PostStatus.CANCELLED
    sign_out(web, token)

    actions = {(e.actor, e.action, e.target) for e in app.accounts.audit_log(limit=50)}
    assert ("ed", "news.add", f"news {news_id}") in actions
    assert ("ed", "post.edit", f"post {tweet}") in actions
    assert ("ap", "post.approve", f"post {website}") in actions
    assert ("ap", "post.schedule", f"post {website}") in actions
    assert ("ap", "post.cancel", f"post {website}") in actions


def test_adding_news_keeps_the_text_when_it_is_refused(web: TestClient) -> None:
    token = sign_in(web, "ed")
    refused = web.post("/news", data={"text": "Vetëm titulli\n\n", "csrf_token": token})
    assert refused.status_code == 422 and "has a title but no paragraphs" in refused.text
    assert "Vetëm titulli" in refused.text
    upload = web.post(
        "/news/upload",
        files={"file": ("news-en.html", (DEMO_SAMPLE.parent / "news-en.html").read_bytes())},
        data={"csrf_token": token},
    )
    assert upload.status_code == 200 and "posts were derived" in flashes(upload.text)[0]


def _publish_now(app: Visibility, post_ids: list[int]) -> None:
    for post_id in post_ids:
        app.schedule(post_id, mode="now")
    deadline = time.monotonic() + 20

    def done() -> bool:
        final = {PostStatus.PUBLISHED, PostStatus.FAILED}
        return all(app.store.get_post(i).status in final for i in post_ids)

    Service(app).run_forever(until=lambda: done() or time.monotonic() > deadline, poll=0.05)
    assert done()


def _fail(app: Visibility, post_id: int, error: str, *, doubt: bool = False) -> None:
    app.schedule(post_id, mode="now")
    (claim,) = [
        c
        for c in app.store.claim_due(worker="t", now=utcnow(), lease=timedelta(minutes=1))
        if c.post.id == post_id
    ]
    if doubt:
        app.store.mark_in_doubt(claim, worker="t", reason=error)
    else:
        app.store.mark_failed(claim, worker="t", error=error)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, attrs))


def test_content_is_escaped_on_every_page(web: TestClient, app: Visibility) -> None:
    token = sign_in(web, "ed")
    news_id = add_news(web, token, XSS_TEXT)
    sign_out(web, token)
    ids = posts_of(app, news_id)
    news = app.store.get_news(news_id)
    assert "<script>" in news.title  # stored as written; it is the pages' job to escape it
    for post_id in ids.values():
        app.approve(post_id, by="ap")
    _publish_now(app, [ids["website"]])
    app.store.record_snapshots(
        [(ids["website"], utcnow(), {"reactions": 5, "clicks": 2}, {})], {ids["website"]: None}
    )
    _fail(app, ids["facebook"], 'the platform said <script>alert(1)</script> " onmouseover="x')
    app.schedule(ids["twitter"], at=utcnow() + timedelta(hours=2))
    app.accounts.add_user(
        "xss", password=PASSWORD, role=Role.EDITOR, display_name="<script>alert(1)</script>"
    )

    token = sign_in(web, "ad")
    pages = [*PAGES, f"/news/{news_id}", "/admin", "/admin/audit", "/calendar?view=month"]
    for path in pages:
        html = web.get(path).text
        assert "<script>alert(1)" not in html, path
        assert "<img src=x" not in html, path
        # Parsed as a browser would: no element carries an event handler, and the only
        # script is this site's own.
        tags = Tags()
        tags.feed(html)
        assert [a for _, attrs in tags.seen for a, _ in attrs if a.startswith("on")] == [], path
        scripts = [attrs for tag, attrs in tags.seen if tag == "script"]
        assert scripts, path
        for attrs in scripts:
            assert dict(attrs).keys() == {"src", "defer"}, path
            assert str(dict(attrs)["src"]).startswith("/static/"), path
        if path in ("/news", "/queue", "/calendar", "/admin/audit", f"/news/{news_id}"):
            assert "alert(2)" in html, path  # still there, as text
    item = web.get(f"/news/{news_id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in item
    assert "the platform said &lt;script&gt;" in web.get("/queue?status=attention").text
    engagement = web.get("/engagement").text
    assert "<svg" in engagement and f'data-post="{ids["website"]}"' in engagement
    assert "&#34; onmouseover=&#34;alert(2)" in item  # in the edit box


def test_social_preview_marks_the_link_and_keeps_text_as_text() -> None:
    html = social_html("Lajm <b>i ri</b> #OShC https://example.org/a?b=1&c=2\n{link}", "lidhja")
    assert "&lt;b&gt;i ri&lt;/b&gt;" in html
    assert '<span class="tag">#OShC</span>' in html
    assert '<span class="url">https://example.org/a?b=1&amp;c=2</span>' in html
    assert html.endswith('<span class="chip" title="{link}">lidhja</span>')


def test_queue_shows_reasons_and_the_actions_for_each_state(
    web: TestClient, app: Visibility
) -> None:
    token = sign_in(web, "ed")
    first = posts_of(app, add_news(web, token, DEMO_SAMPLE.read_text(encoding="utf-8")))
    second = posts_of(app, add_news(web, token, XSS_TEXT.replace("<", "(")))
    sign_out(web, token)
    for post_id in [*first.values(), *second.values()]:
        app.approve(post_id, by="ap")
    _publish_now(app, [first["website"]])
    _fail(app, first["facebook"], "Facebook refused the post: the Page token has expired")
    _fail(app, first["twitter"], "the connection broke after sending", doubt=True)
    app.schedule(second["website"], at=utcnow() + timedelta(hours=3))
    app.schedule(second["twitter"], at=utcnow() + timedelta(hours=1))

    token = sign_in(web, "ap")
    html = web.get("/queue?status=attention").text
    assert "Facebook refused the post: the Page token has expired" in html
    assert "the connection broke after sending" in html
    assert f'action="/posts/{first["facebook"]}/retry"' in html
    assert f'action="/posts/{first["twitter"]}/confirm"' in html
    assert f'action="/posts/{first["twitter"]}/resend"' in html
    assert "/approve" not in html
    waiting = web.get("/queue?status=scheduled").text
    assert f"waits for its article (post {second['website']}, scheduled)" in waiting
    confirmed = web.post(
        f"/posts/{first['twitter']}/confirm",
        data={"csrf_token": token, "url": "https://x.com/q/status/1", "back": "/queue"},
    )
    assert f"Post {first['twitter']} is recorded as published." in flashes(confirmed.text)
    retried = web.post(f"/posts/{first['facebook']}/retry", data={"csrf_token": token})
    assert "is approved again" in flashes(retried.text)[0]
    assert app.store.get_post(first["facebook"]).status is PostStatus.APPROVED
    assert web.get("/queue?status=nonsense").status_code == 400
    assert web.get("/queue?channel=myspace").status_code == 400


def _schedule_local(app: Visibility, post_id: int, when: str) -> None:
    app.schedule(post_id, at=when)  # wall time in the channel's timezone, Europe/Belgrade


def _entries(html: str) -> dict[int, tuple[str, str]]:
    return {
        int(m[1]): (m[2], m[3])
        for m in re.finditer(
            r'<li class="cal-post \w+" data-post="(\d+)" data-day="([\d-]+)" data-time="([\d:]+)"',
            html,
        )
    }


def test_calendar_puts_posts_on_their_local_day_across_dst(
    web: TestClient, app: Visibility
) -> None:
    ids = []
    for n in range(3):
        added = app.add_news_text(
            f"Lajmi numër {n} për kalendarin\n\nParagrafi i lajmit {n} për trajnimet e reja.",
            author="ed",
        )
        ids.append(next(p.id for p in added.posts if p.kind == "website"))
    for post_id in ids:
        app.approve(post_id, by="ap")
    # Spring forward in Europe/Belgrade: 2037-03-29 02:00 CET becomes 03:00 CEST.
    _schedule_local(app, ids[0], "2037-03-28 10:00")  # 09:00 UTC
    _schedule_local(app, ids[1], "2037-03-29 10:00")  # 08:00 UTC
    _schedule_local(app, ids[2], "2037-03-29 00:30")  # 23:30 UTC on the 28th
    assert app.store.get_post(ids[2]).scheduled_at.day == 28  # type: ignore[union-attr]
    token = sign_in(web, "ap")
    week = web.get("/calendar?view=week&day=2037-03-25").text
    assert _entries(week) == {
        ids[0]: ("2037-03-28", "10:00"),
        ids[1]: ("2037-03-29", "10:00"),
        ids[2]: ("2037-03-29", "00:30"),
    }
    assert "2037-03-23 – 2037-03-29" in week
    month = web.get("/calendar?view=month&day=2037-03-01").text
    assert _entries(month) == _entries(week)
    # Each scheduled post can be moved: a form with the channel's free slots.
    assert f'action="/posts/{ids[1]}/schedule"' in week and '<select name="slot">' in week
    # Fall back: 2037-10-25 03:00 CEST becomes 02:00 CET; 09:30 is 08:30 UTC.
    moved = web.post(
        f"/posts/{ids[1]}/schedule",
        data={"csrf_token": token, "mode": "at", "at": "2037-10-25T09:30", "back": "/calendar"},
    )
    assert moved.status_code == 200
    assert app.store.get_post(ids[1]).scheduled_at.hour == 8  # type: ignore[union-attr]
    october = web.get("/calendar?view=week&day=2037-10-25").text
    assert _entries(october) == {ids[1]: ("2037-10-25", "09:30")}
    assert web.get("/calendar?day=yesterday").status_code == 400


def test_odd_addresses_get_an_answer_not_a_crash(web: TestClient) -> None:
    token = sign_in(web, "ap")
    huge = "11473473426703027179356160"
    assert web.get(f"/news/{huge}").status_code == 422
    assert web.get("/news/0").status_code == 422
    assert web.get("/news/999").status_code == 404
    refused = web.post(f"/posts/{huge}/approve", data={"csrf_token": token})
    assert refused.status_code == 422 and "Please check what you entered" in refused.text
    missing = web.post("/posts/999/approve", data={"csrf_token": token, "back": "/queue"})
    assert "no post 999" in flashes(missing.text)[0]
    for path in (
        "/calendar?day=9999-12-31",
        "/calendar?view=month&day=0001-01-01",
        "/engagement?start=0001-01-01&end=9999-12-31",
        "/engagement?start=2026-01-01&end=2030-01-01",
        "/engagement?start=2026-02-30",
    ):
        answer = web.get(path)
        assert answer.status_code == 400, path
    assert web.get("/calendar?view=year").status_code == 422
    assert web.get("/engagement?start=2026-11-01&end=2026-10-01").status_code == 400


def test_admin_manages_users_and_checks_channels(web: TestClient, app: Visibility) -> None:
    token = sign_in(web, "ad")
    added = web.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "drita",
            "display_name": "Drita K.",
            "password": "a long password",
            "role": "editor",
        },
    )
    assert "User drita added as editor." in flashes(added.text)
    short = web.post(
        "/admin/users",
        data={"csrf_token": token, "username": "x", "password": "short", "role": "editor"},
    )
    assert "at least 10 characters" in flashes(short.text)[0]
    web.post("/admin/users/drita/role", data={"csrf_token": token, "role": "approver"})
    assert app.accounts.get_user("drita").role is Role.APPROVER
    web.post("/admin/users/drita/active", data={"csrf_token": token, "active": "no"})
    assert app.accounts.get_user("drita").active is False
    self_off = web.post("/admin/users/ad/active", data={"csrf_token": token, "active": "no"})
    assert "You cannot deactivate yourself" in flashes(self_off.text)[0]
    self_down = web.post("/admin/users/ad/role", data={"csrf_token": token, "role": "editor"})
    assert "You cannot lower your own role" in flashes(self_down.text)[0]
    checked = web.post("/admin/channels/check", data={"csrf_token": token})
    assert checked.text.count('<li class="ok">') == 3 and "dry run: posts go to" in checked.text
    audit = web.get("/admin/audit").text
    for action in ("user.add", "user.role", "user.deactivate", "channels.check", "login"):
        assert f"<td>{action}</td>" in audit, action


def test_pages_speak_albanian(web: TestClient) -> None:
    page = web.get("/sign-in", headers={"Accept-Language": "sq-AL,sq;q=0.9,en;q=0.5"})
    assert '<html lang="sq">' in page.text and ">Hyr</button>" in page.text
    token = token_in(page.text)
    web.post("/language", data={"lang": "sq", "csrf_token": token, "back": "/sign-in"})
    signed = web.post(
        "/sign-in", data={"username": "ed", "password": PASSWORD, "csrf_token": token}
    )
    assert "Keni hyrë si ED." in signed.text and ">Lajmet</a>" in signed.text
    assert pick_language(None, "de, en;q=0.5, sq;q=0.8") == "sq"
    assert pick_language("en", "sq") == "en"
    assert pick_language(None, None) == "en"


def test_the_language_a_person_chooses_is_remembered_and_dates_follow_it(
    app: Visibility, web: TestClient
) -> None:
    token = sign_in(web, "ed")
    web.post("/language", data={"lang": "sr-Cyrl", "csrf_token": token, "back": "/news"})
    # Signed out and in again, in a browser that asks for English: still Cyrillic.
    web.post("/sign-out", data={"csrf_token": token})
    web.cookies.clear()
    page = web.get("/sign-in", headers={"Accept-Language": "en"})
    assert '<html lang="en">' in page.text
    signed = web.post(
        "/sign-in",
        data={"username": "ed", "password": PASSWORD, "csrf_token": token_in(page.text)},
        headers={"Accept-Language": "en"},
    )
    assert '<html lang="sr-Cyrl">' in signed.text
    added = app.add_news_text("Вест\n\nКратко обавештење за организације цивилног друштва.\n")
    item = web.get(f"/news/{added.news.id}").text
    month = added.news.created_at.astimezone(ZoneInfo("Europe/Belgrade")).month
    assert ["јан", "феб", "мар", "апр", "мај", "јун", "јул", "авг", "сеп", "окт", "нов", "дец"][
        month - 1
    ] in item
