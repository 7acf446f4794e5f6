"""The pages in a real browser: Debian's Chromium driven by Playwright, against the real app
served by uvicorn with the scheduler running, dry-run channels and an X emulator.

An editor imports the sample news item and edits the tweet until the live
counter says it fits; an approver approves and publishes it, sees it in the
calendar and in the queue as published (and in the dry-run outbox), and sees
why X refused the copy that the emulator already had. Screenshots of each
step, on a desktop and a 390 px phone screen, go to test-artifacts/browser/.

Needs /usr/bin/chromium (apt-get install chromium) and the playwright package;
never ``playwright install``. Skipped without them unless
VISIBILITY_REQUIRE_CHROMIUM=1.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from emulators.x import XEmulator
from visibility.accounts.roles import Role
from visibility.adapters.dry_run import read_outbox
from visibility.config.settings import load_settings
from visibility.queue.states import PostStatus
from visibility.queue.types import utcnow
from visibility.web.app import create_app
from visibility.workflow import DEMO_SAMPLE, Visibility

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Read at import: the suite's autouse fixture clears VISIBILITY_* variables.
REQUIRE = os.environ.get("VISIBILITY_REQUIRE_CHROMIUM") == "1"
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"
PASSWORD = "correct horse battery"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SHORT_TWEET = "Trajnime falas për OShC-të në Kosovë! Aplikoni deri më 30 nëntor: {link}"


def _missing() -> str | None:
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing: apt-get install chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install -e '.[test]' (no `playwright install`)"
    return None


@pytest.fixture(scope="module", autouse=True)
def _browser_available() -> None:
    reason = _missing()
    if reason is not None:
        if REQUIRE:
            pytest.fail(f"VISIBILITY_REQUIRE_CHROMIUM=1 but {reason}")
        pytest.skip(reason)


@dataclass
class Site:
    url: str
    app: Visibility
    x: XEmulator
    data_dir: Path


def _channels_file(path: Path, x: XEmulator) -> None:
    path.write_text(
        f"""
[[channels]]
name = "website"
kind = "dry-run"
imitates = "website"

[[channels]]
name = "facebook"
kind = "dry-run"
imitates = "facebook"

[[channels]]
name = "twitter"
kind = "dry-run"
imitates = "twitter"

[[channels]]
name = "x"
kind = "twitter"
secrets.api_key = "X_KEY"
secrets.api_secret = "X_SECRET"
secrets.access_token = "X_TOKEN"
secrets.access_token_secret = "X_TOKEN_SECRET"
options = {{ base_url = "{x.base_url}" }}
""",
        encoding="utf-8",
    )


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with XEmulator() as x:
        for name, value in {
            "X_KEY": x.consumer_key,
            "X_SECRET": x.consumer_secret,
            "X_TOKEN": x.account.access_token,
            "X_TOKEN_SECRET": x.account.access_token_secret,
        }.items():
            monkeypatch.setenv(name, value)
        channels = tmp_path / "channels.toml"
        _channels_file(channels, x)
        monkeypatch.setenv("VISIBILITY_CHANNELS_FILE", str(channels))
        monkeypatch.setenv("VISIBILITY_SCAN_INTERVAL", "0.5")
        monkeypatch.setenv("VISIBILITY_SHUTDOWN_GRACE_SECONDS", "5")
        monkeypatch.setenv("VISIBILITY_ENGAGEMENT_INTERVAL_SECONDS", "3600")
        app = Visibility.open(load_settings())
        app.accounts.add_user("drita", password=PASSWORD, role=Role.EDITOR, display_name="Drita")
        app.accounts.add_user(
            "besnik", password=PASSWORD, role=Role.APPROVER, display_name="Besnik"
        )
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        config = uvicorn.Config(
            create_app(app, scheduler=True),
            log_level="warning",
            ws="none",
            lifespan="on",
            access_log=False,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "uvicorn did not start"
        try:
            yield Site(f"http://127.0.0.1:{port}", app, x, app.settings.data_dir)
        finally:
            server.should_exit = True
            thread.join(30)
            listener.close()
            app.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, site: Site, user: str) -> None:
    page.goto(f"{site.url}/")
    assert "/sign-in" in page.url
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/news$"))


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in"))


def flash_says(page: Any, text: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator(".flash").filter(has_text=text)).to_be_visible()


def wait_until(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def fits_the_screen(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_from_news_item_to_published_in_a_real_browser(site: Site, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)

    # -- the editor imports the sample and fits the tweet ---------------------------
    page.goto(f"{site.url}/news")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    shoot(page, "01-sign-in")
    sign_in(page, site, "drita")
    page.get_by_role("link", name="Add news").first.click()
    page.get_by_label("File").set_input_files(str(DEMO_SAMPLE))
    page.get_by_role("button", name="Upload and derive posts").click()
    page.wait_for_url(re.compile(r"/news/\d+"))
    flash_says(page, "News item added: 4 posts were derived.")
    news_id = int(page.url.rsplit("/", 1)[1])
    ids = {p.channel: p.id for p in site.app.store.list_posts(news_item_id=news_id)}
    shoot(page, "02-news-item")

    tweet = page.locator('section[data-channel="twitter"]')
    box = tweet.locator("textarea[name=body]")
    count = tweet.locator("output.count")
    box.fill("Trajnime falas për organizatat e shoqërisë civile në Kosovë. " * 5 + "{link}")
    expect(count).to_have_text("328 / 280")
    expect(count).to_have_class(re.compile(r"\bover\b"))
    expect(tweet.locator("[data-over-note]")).to_have_text("too long by 48: shorten it")
    assert count.evaluate("e => getComputedStyle(e).color") == "rgb(179, 38, 30)"
    shoot(page, "03-tweet-too-long")
    box.fill(SHORT_TWEET)
    expect(count).to_have_text("89 / 280")  # the link counts 23, as on X
    expect(count).not_to_have_class(re.compile(r"\bover\b"))
    expect(tweet.locator(".preview .chip")).to_have_text("article link")
    shoot(page, "04-tweet-fits")
    tweet.get_by_role("button", name="Save").click()
    flash_says(page, f"Post {ids['twitter']} saved.")
    assert site.app.store.get_post(ids["twitter"]).body == SHORT_TWEET
    assert page.locator('form[action$="/approve"]').count() == 0  # editors do not approve
    sign_out(page)

    # X already has this exact text: it will refuse the "x" channel's copy as a duplicate.
    article_url = f"{site.app.settings.dry_run_base_url}/website/{ids['website']}"
    x_text = site.app.store.get_post(ids["x"]).body.replace("{link}", article_url)
    site.x.post(x_text, age_seconds=3600)

    # -- the approver approves and publishes -------------------------------------------
    sign_in(page, site, "besnik")
    page.goto(f"{site.url}/news/{news_id}")
    for channel in ("website", "facebook", "twitter", "x"):
        section = page.locator(f'section[data-channel="{channel}"]')
        section.get_by_role("button", name="Approve").click()
        flash_says(page, f"Post {ids[channel]} approved.")
    shoot(page, "05-approved")
    for channel in ("website", "facebook", "twitter", "x"):
        section = page.locator(f'section[data-channel="{channel}"]')
        section.get_by_role("button", name="Publish now").click()
        flash_says(page, f"Post {ids[channel]} is scheduled for")

    page.get_by_role("link", name="Calendar").click()
    expect(page.locator(f'li.cal-post[data-post="{ids["website"]}"]')).to_be_visible()
    shoot(page, "06-calendar-week")

    def status(channel: str) -> PostStatus:
        return site.app.store.get_post(ids[channel]).status

    final = {PostStatus.PUBLISHED, PostStatus.FAILED}
    wait_until(lambda: all(status(c) in final for c in ids), 60, "the posts to go out")
    page.goto(f"{site.url}/queue?channel=twitter")
    row = page.locator(f'article[data-post="{ids["twitter"]}"]')
    expect(row).to_have_attribute("data-status", "published")
    expect(row.locator(".status")).to_have_text("published")
    shoot(page, "07-queue-published")
    (record,) = read_outbox(site.data_dir, "twitter")
    assert record["body"] == SHORT_TWEET.replace("{link}", article_url)
    assert {status(c) for c in ("website", "facebook", "twitter")} == {PostStatus.PUBLISHED}

    # -- the post X refused, with the reason -----------------------------------------
    page.get_by_role("link", name=re.compile("need attention")).click()
    refused = page.locator(f'article[data-post="{ids["x"]}"]')
    expect(refused.locator(".reason-error")).to_contain_text("X refused the tweet as a duplicate")
    expect(refused.get_by_role("button", name="Retry")).to_be_visible()
    shoot(page, "08-queue-refused-by-x")
    page.goto(f"{site.url}/calendar?view=month")
    expect(page.locator("li.cal-post.published")).to_have_count(3)
    shoot(page, "09-calendar-month")

    # -- engagement, once the platforms have reported some figures -----------------
    site.app.store.record_snapshots(
        [
            (ids["website"], utcnow(), {"clicks": 41}, {}),
            (ids["facebook"], utcnow(), {"reactions": 23, "comments": 4, "shares": 6}, {}),
            (ids["twitter"], utcnow(), {"impressions": 900, "reactions": 12, "shares": 3}, {}),
        ],
        {},
    )
    page.get_by_role("link", name="Engagement").click()
    expect(page.locator("figure.chart svg")).to_have_count(2)
    shoot(page, "10-engagement")
    assert problems == []

    # -- the same pages on a phone ----------------------------------------------------
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB")
    small = phone.new_page()
    sign_in(small, site, "besnik")
    for name, path in (
        ("11-phone-news-item", f"/news/{news_id}"),
        ("12-phone-queue", "/queue?status=attention"),
        ("13-phone-calendar", "/calendar"),
        ("14-phone-add-news", "/news/new"),
        ("15-phone-engagement", "/engagement"),
    ):
        small.goto(f"{site.url}{path}")
        assert fits_the_screen(small), f"{path} is wider than a 390 px phone"
        shoot(small, name)
    small.get_by_role("button", name="Shqip").click()
    expect(small.get_by_role("link", name="Radha")).to_be_visible()
    small.goto(f"{site.url}/queue?status=attention")
    expect(small.get_by_role("button", name="Provo përsëri")).to_be_visible()
    shoot(small, "16-phone-queue-sq")
    phone.close()
    context.close()

    actions = {(e.actor, e.action) for e in site.app.accounts.audit_log(limit=100)}
    assert {("drita", "news.upload"), ("drita", "post.edit")} <= actions
    assert {("besnik", "post.approve"), ("besnik", "post.schedule")} <= actions
    assert json.loads(json.dumps(record))["channel"] == "twitter"
