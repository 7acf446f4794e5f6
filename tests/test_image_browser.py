"""Pictures on the news item page in a real browser (Debian's Chromium through Playwright):
an editor uploads pictures, writes alt text, chooses and orders each post's pictures and
removes one; the previews crop them as each platform does. Every thumbnail must load under
the pages' Content-Security-Policy, and the page must fit a 390 px phone. Screenshots go to
test-artifacts/browser/pictures-*.png.

Needs /usr/bin/chromium and the playwright package (never ``playwright install``); skipped
without them unless VISIBILITY_REQUIRE_CHROMIUM=1.
"""

from __future__ import annotations

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
from PIL import Image, ImageDraw

from visibility.accounts.roles import Role
from visibility.config.settings import load_settings
from visibility.queue.states import PostStatus
from visibility.web.app import create_app
from visibility.workflow import DEMO_SAMPLE, Visibility

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
REQUIRE = os.environ.get("VISIBILITY_REQUIRE_CHROMIUM") == "1"
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"
PASSWORD = "correct horse battery"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
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
def site(tmp_path: Path) -> Iterator[Site]:
    channels = tmp_path / "channels.toml"
    channels.write_text(CHANNELS, encoding="utf-8")
    app = Visibility.open(load_settings(channels_file=channels))
    app.accounts.add_user("drita", password=PASSWORD, role=Role.EDITOR, display_name="Drita")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(app), log_level="warning", ws="none", access_log=False)
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


def photo(path: Path, size: tuple[int, int], sky: tuple[int, int, int], label: str) -> Path:
    """A picture whose crop is easy to see: a band of sky, a sun, ground and a frame."""
    width, height = size
    picture = Image.new("RGB", size, sky)
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, height * 2 // 3, width, height), fill=(60, 120, 60))
    r = min(size) // 6
    draw.ellipse((width // 2 - r, height // 3 - r, width // 2 + r, height // 3 + r), fill="gold")
    draw.rectangle((0, 0, width - 1, height - 1), outline="black", width=max(4, width // 100))
    draw.text((width // 20, height // 20), label, fill="black", font_size=min(size) // 8)
    picture.save(path, quality=88)
    return path


def thumbnails_loaded(page: Any) -> bool:
    """Every picture on the page loads (lazy ones are asked for now, not on scrolling)."""
    return bool(
        page.evaluate(
            """async () => {
                const images = [...document.querySelectorAll('img')];
                images.forEach(i => { i.loading = 'eager'; });
                await Promise.all(images.map(i => i.decode().catch(() => null)));
                return images.length > 0 && images.every(i => i.complete && i.naturalWidth > 0);
            }"""
        )
    )


def fits_the_screen(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def shoot(page: Any, name: str, locator: Any = None) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"pictures-{name}.png"
    if locator is None:
        page.screenshot(path=str(path), full_page=True)
    else:
        locator.screenshot(path=str(path))
    return path


def test_pictures_on_the_news_item_page_in_a_real_browser(site: Site, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    added = site.app.add_news_text(DEMO_SAMPLE.read_text(encoding="utf-8"), author="drita")
    news_id = added.news.id
    posts = {p.channel: p.id for p in added.posts}
    files = [
        photo(tmp_path / "sala.jpg", (1600, 900), (120, 170, 230), "1 sala 16:9"),
        photo(tmp_path / "portret.jpg", (800, 1200), (230, 160, 120), "2 portret"),
        photo(tmp_path / "katror.png", (1000, 1000), (190, 140, 220), "3 katror"),
    ]
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = chromium.new_context(viewport=DESKTOP, locale="en-GB")
            page = context.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("dialog", lambda dialog: dialog.accept())

            page.goto(f"{site.url}/news/{news_id}")
            page.get_by_label("User name").fill("drita")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(re.compile(rf"/news/{news_id}$"))
            pictures = page.locator("#pictures")
            expect(pictures.locator(".empty")).to_contain_text("No pictures yet.")

            # -- upload three pictures, each with its alt text ------------------------
            for file, alt in zip(
                files,
                ["Participants in the hall", "A trainer speaking", "The centre's logo"],
                strict=True,
            ):
                form = pictures.locator("form.upload-picture")
                form.get_by_label("Picture file").set_input_files(str(file))
                form.get_by_label("Alt text: what the picture shows").fill(alt)
                form.get_by_role("button", name="Add picture").click()
                expect(page.locator(".flash")).to_contain_text("Picture added.")
            expect(pictures.locator(".picture-card")).to_have_count(3)
            # One without alt text, as a press release may bring it.
            wide = photo(tmp_path / "wide.jpg", (1800, 800), (150, 200, 240), "4 pa tekst")
            site.app.add_image(news_id, wide.read_bytes(), name="wide.jpg")
            page.reload()
            expect(pictures.locator(".alt-warning")).to_contain_text("Pictures without it: 1.")
            shoot(page, "desktop-no-alt", pictures)
            ids = [i.id for i in site.app.store.news_images(news_id)]

            # -- describe the fourth inline ------------------------------------------------
            card = pictures.locator(f"#picture-{ids[3]}")
            card.get_by_label("Alt text: what the picture shows").fill("The hall, wider")
            card.get_by_label("Caption (optional)").fill("Prishtina, December 2026")
            card.get_by_role("button", name="Save").click()
            expect(page.locator(".flash")).to_contain_text("Picture described.")
            expect(pictures.locator(".alt-warning")).to_have_count(0)

            # -- choose each post's pictures -------------------------------------------
            def choose(channel: str, wanted: list[int]) -> None:
                box = page.locator(f"#pictures-of-{posts[channel]}")
                for image_id in ids:
                    tick = box.locator(f'input[name="chosen"][value="{image_id}"]')
                    tick.set_checked(image_id in wanted)
                box.get_by_role("button", name="Save pictures").click()
                expect(page.locator(".flash")).to_contain_text(
                    f"Pictures of post {posts[channel]} saved."
                )

            choose("twitter", ids[:3])
            choose("facebook", ids)
            choose("website", [ids[0], ids[2]])
            tweet_box = page.locator(f"#pictures-of-{posts['twitter']}")
            tweet_box.get_by_role("button", name="Move picture 2 up").click()
            expect(page.locator(".flash")).to_contain_text(
                f"Pictures of post {posts['twitter']} saved."
            )
            chosen = site.app.store.post_images([posts["twitter"]])[posts["twitter"]]
            assert [i.id for i in chosen] == [ids[1], ids[0], ids[2]]

            tweet = page.locator(f"#post-{posts['twitter']}")
            expect(tweet.locator(".media-x.media-n3 img")).to_have_count(3)
            expect(page.locator(f"#post-{posts['facebook']} .media-fb.media-n4 img")).to_have_count(
                4
            )
            website = page.locator(f"#post-{posts['website']}")
            expect(website.locator(".web-featured img")).to_have_count(1)
            # Cropped, not squeezed: the thumbnails fill their boxes.
            fit = tweet.locator(".media-x img").first.evaluate("i => getComputedStyle(i).objectFit")
            assert fit == "cover"
            ratio = tweet.locator(".media-x").evaluate(
                "e => e.getBoundingClientRect().width / e.getBoundingClientRect().height"
            )
            assert abs(ratio - 16 / 9) < 0.05
            page.wait_for_load_state("networkidle")
            assert thumbnails_loaded(page), "a thumbnail did not load (CSP or route)"
            shoot(page, "desktop-section", pictures)
            shoot(page, "desktop-previews", page.locator(".posts"))
            shoot(page, "desktop-page")

            # -- remove one, after confirming ------------------------------------------
            pictures.locator(f"#picture-{ids[2]}").get_by_role("button", name="Remove").click()
            expect(page.locator(".flash")).to_contain_text("Picture removed, also from posts")
            expect(pictures.locator(".picture-card")).to_have_count(3)
            assert ids[2] not in [i.id for i in site.app.store.news_images(news_id)]
            assert site.app.store.get_post(posts["twitter"]).status is PostStatus.DRAFT

            # -- a phone -----------------------------------------------------------------
            phone = chromium.new_context(viewport=PHONE, locale="en-GB", is_mobile=True)
            phone.add_cookies(context.cookies())
            small = phone.new_page()
            small.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            small.goto(f"{site.url}/news/{news_id}")
            small.wait_for_load_state("networkidle")
            assert fits_the_screen(small), "the page is wider than a 390 px phone"
            assert thumbnails_loaded(small)
            shoot(small, "phone-section", small.locator("#pictures"))
            shoot(small, "phone-previews", small.locator(".posts"))
            assert problems == [], problems
        finally:
            chromium.close()
