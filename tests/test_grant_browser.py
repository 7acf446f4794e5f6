"""Grants in a real browser (Debian's Chromium through Playwright), against the app served by
uvicorn with the scheduler and dry-run channels: an editor pastes a press release whose
funding paragraph names the EU, takes the suggested grant, sees every post compliant,
drops the mention from the tweet and sees it missing; an approver approves it as an
exception with a reason and publishes the posts; the grant's page and its dossier show
the exception and the reason.

Screenshots go to a folder under the test's tmp dir (printed) and are copied to
/tmp/grant-screens/. Needs /usr/bin/chromium and the playwright package (never
``playwright install``); skipped without them unless VISIBILITY_REQUIRE_CHROMIUM=1.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from visibility.accounts.roles import Role
from visibility.config.settings import load_settings
from visibility.queue.states import PostStatus
from visibility.web.app import create_app
from visibility.workflow import Visibility

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
REQUIRE = os.environ.get("VISIBILITY_REQUIRE_CHROMIUM") == "1"
COPY_TO = Path("/tmp/grant-screens")
PASSWORD = "correct horse battery"
SAMPLE = (
    Path(__file__).resolve().parents[1] / "visibility" / "samples" / "lajm-qendra-burimore-sq.txt"
)
REASON = "The EU Office asked us not to tag them during the election silence"
CHANNELS = """
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

[[grants]]
name = "eu-2025"
donor = "eu"
title = "Civil society for good governance"
contract = "2025/451-778"
starts_on = 2025-01-01
ends_on = 2027-12-31
mentions = { twitter = ["@EUinKosovo"], facebook = ["@EUinKosovo"] }
hashtags = { twitter = ["#EU4Kosovo"] }
"""


@pytest.fixture(scope="module", autouse=True)
def _browser_available() -> None:
    reason = None
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is missing: apt-get install chromium"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed: pip install -e '.[test]'"
    if reason is not None:
        if REQUIRE:
            pytest.fail(f"VISIBILITY_REQUIRE_CHROMIUM=1 but {reason}")
        pytest.skip(reason)


@dataclass
class Site:
    url: str
    app: Visibility


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    channels = tmp_path / "channels.toml"
    channels.write_text(CHANNELS, encoding="utf-8")
    monkeypatch.setenv("VISIBILITY_SCAN_INTERVAL", "0.5")
    monkeypatch.setenv("VISIBILITY_SHUTDOWN_GRACE_SECONDS", "5")
    monkeypatch.setenv("VISIBILITY_ENGAGEMENT_INTERVAL_SECONDS", "3600")
    app = Visibility.open(load_settings(channels_file=channels))
    app.accounts.add_user("drita", password=PASSWORD, role=Role.EDITOR, display_name="Drita")
    app.accounts.add_user("besnik", password=PASSWORD, role=Role.APPROVER, display_name="Besnik")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(app, scheduler=True),
            log_level="warning",
            ws="none",
            lifespan="on",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield Site(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(30)
        listener.close()
        app.close()


class Shots:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        print(f"\nscreenshots: {folder}")

    def __call__(self, page: Any, name: str) -> Path:
        path = self.folder / f"grant-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def sign_in(page: Any, site: Site, user: str) -> None:
    page.goto(f"{site.url}/sign-in")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/news$"))


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in"))


def wait_until(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def test_a_grant_from_suggestion_to_dossier_in_a_real_browser(site: Site, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shoot = Shots(tmp_path / "grant-screens")
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        page = context.new_page()
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("dialog", lambda dialog: dialog.accept())

        # -- the editor pastes the press release, under no grant -------------------------
        sign_in(page, site, "drita")
        page.get_by_role("link", name="Add news").first.click()
        expect(page.get_by_label("eu-2025").first).not_to_be_checked()
        page.get_by_label("News item").fill(SAMPLE.read_text(encoding="utf-8"))
        page.get_by_role("button", name="Add and derive posts").click()
        page.wait_for_url(re.compile(r"/news/\d+"))
        news_id = int(page.url.rsplit("/", 1)[1])
        ids = {post.channel: post.id for post in site.app.store.list_posts(news_item_id=news_id)}
        suggestion = page.locator("form.suggestion")
        expect(suggestion).to_contain_text("names European Union as its funder")
        expect(suggestion).to_contain_text("add grant eu-2025?")
        shoot(page, "01-suggestion")

        # -- one click: under the grant, every post carries what it requires ----------------
        suggestion.get_by_role("button", name="Add grant eu-2025").click()
        expect(page.locator(".flash")).to_contain_text("under grant eu-2025")
        expect(page.locator(".grant-chip")).to_contain_text("eu-2025")
        expect(page.locator("form.suggestion")).to_have_count(0)
        badges = page.locator(".compliance .badge")
        expect(badges).to_have_count(3)
        expect(badges).to_have_text(["Compliant"] * 3)
        tweet = page.locator(f"#post-{ids['twitter']}")
        box = tweet.locator("textarea[name=body]")
        assert "@EUinKosovo" in box.input_value()
        shoot(page, "02-compliant")

        # -- the editor drops the mention: the tweet misses it ------------------------------
        box.fill(box.input_value().replace("@EUinKosovo", "").strip())
        tweet.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator(".flash")).to_contain_text(f"Post {ids['twitter']} saved.")
        tweet = page.locator(f"#post-{ids['twitter']}")
        expect(tweet.locator(".compliance")).to_have_attribute("data-compliance", "missing")
        expect(tweet.locator(".compliance")).to_contain_text(
            "Missing: the mention @EUinKosovo or the hashtag #EU4Kosovo"
        )
        sign_out(page)

        # -- the approver: the tweet needs a reason ----------------------------------------
        sign_in(page, site, "besnik")
        page.goto(f"{site.url}/news/{news_id}")
        tweet = page.locator(f"#post-{ids['twitter']}")
        expect(tweet.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
        reason_box = tweet.get_by_label("Approve without it: the reason for the exception")
        expect(reason_box).to_be_visible()
        shoot(page, "03-missing")
        # The browser refuses the form without a reason (required).
        tweet.get_by_role("button", name="Approve as exception").click()
        assert reason_box.evaluate("e => e.validity.valueMissing")
        assert site.app.store.get_post(ids["twitter"]).status is PostStatus.DRAFT
        reason_box.fill(REASON)
        tweet.get_by_role("button", name="Approve as exception").click()
        expect(page.locator(".flash")).to_contain_text(
            f"Post {ids['twitter']} approved as an exception."
        )
        tweet = page.locator(f"#post-{ids['twitter']}")
        expect(tweet.locator(".compliance .badge")).to_have_text("Approved as exception")
        expect(tweet.locator(".compliance .override")).to_contain_text(REASON)
        for channel in ("website", "facebook"):
            card = page.locator(f"#post-{ids[channel]}")
            card.get_by_role("button", name="Approve", exact=True).click()
            expect(page.locator(".flash")).to_contain_text(f"Post {ids[channel]} approved.")
        for channel in ("website", "facebook", "twitter"):
            card = page.locator(f"#post-{ids[channel]}")
            card.get_by_role("button", name="Publish now").click()
            expect(page.locator(".flash")).to_contain_text(f"Post {ids[channel]} is scheduled")
        wait_until(
            lambda: all(
                site.app.store.get_post(i).status is PostStatus.PUBLISHED for i in ids.values()
            ),
            30,
            "the three posts to be published",
        )
        page.reload()
        shoot(page, "04-exception")

        # -- the grant's page ---------------------------------------------------------------
        page.get_by_role("link", name="Grants", exact=True).click()
        row = page.locator('tr[data-grant="eu-2025"]')
        expect(row).to_contain_text("66% (2 of 3)")  # as the dossier rounds
        row.get_by_role("link", name="eu-2025").click()
        page.wait_for_url(re.compile(r"/grants/eu-2025$"))
        expect(page.locator("h1")).to_have_text("Civil society for good governance")
        expect(page.locator('.rule-card[data-kind="twitter"]')).to_contain_text(
            "the mention @EUinKosovo or the hashtag #EU4Kosovo"
        )
        emblem = page.locator("img.emblem")
        expect(emblem).to_be_visible()
        assert emblem.evaluate("i => i.complete && i.naturalWidth > 0")
        final_page = shoot(page, "05-grant-page")

        # -- the dossier: in the browser, and as a PDF --------------------------------------
        with context.expect_page() as opened:
            page.get_by_role("button", name="View in the browser").click()
        dossier = opened.value
        dossier.wait_for_load_state()
        expect(dossier.locator("body")).to_contain_text("Civil society for good governance")
        expect(dossier.locator("body")).to_contain_text(REASON)
        final_dossier = shoot(dossier, "06-dossier")
        pdf = page.request.get(f"{site.url}/grants/eu-2025/dossier?format=pdf")
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF")
        browser.close()

    assert problems == []
    COPY_TO.mkdir(parents=True, exist_ok=True)
    for path in shoot.folder.glob("*.png"):
        shutil.copy(path, COPY_TO / path.name)
    assert (COPY_TO / final_page.name).is_file() and (COPY_TO / final_dossier.name).is_file()
