"""The HTML report as a person sees it: rendered by headless Chromium.

Uses Debian's ``chromium`` package. Skipped when ``/usr/bin/chromium`` is
absent, unless ``VISIBILITY_REQUIRE_CHROMIUM=1`` (CI), which makes that a
failure. The screenshot and the HTML are kept in ``test-artifacts/`` at the
repository root for a person to look at.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from test_reports import BELGRADE, CHANNELS_TOML, count_colour, publish_news

from visibility.reports.figures import Period, build_report
from visibility.reports.render_html import render_html
from visibility.workflow import Visibility

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
# Read at import: the autouse fixture in conftest clears VISIBILITY_* variables.
REQUIRE_CHROMIUM = os.environ.get("VISIBILITY_REQUIRE_CHROMIUM") == "1"
WIDTH, HEIGHT = 1280, 2000

NEWS = (
    "Trajnim për raportim financiar për organizatat e shoqërisë civile\n\n"
    "Dyzet organizata mësuan si të raportojnë te donatorët.\n",
    "Otvoren poziv za male grantove za omladinske organizacije\n\n"
    "Resursni centar otvara poziv za male grantove.\n",
    "Annual meeting with donors & partners in Prishtina\n\n"
    "The annual meeting reviewed the year's work.\n",
    "Udhëzues i ri për vullnetarizmin në komunitet\n\n"
    "Udhëzuesi shpjegon hapat për organizatat vendore.\n",
)
AGES = (1, 6, 24, 72, 168)  # hours


def _figures(scale: int, step: int, channel: str) -> dict[str, int | None]:
    """Growing figures; Facebook gives no clicks, X gives no impressions on one item."""
    grow = step + 1
    figures: dict[str, int | None] = {
        "impressions": 120 * scale * grow,
        "reactions": 9 * scale * grow,
        "comments": 2 * scale * grow,
        "shares": scale * grow,
        "clicks": 4 * scale * grow,
    }
    if channel == "facebook":
        figures["clicks"] = None
    return figures


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found: apt-get install chromium to run the browser tests"
        if REQUIRE_CHROMIUM:
            pytest.fail(f"VISIBILITY_REQUIRE_CHROMIUM=1 but {reason}")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
def report_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    channels = tmp_path / "channels.toml"
    channels.write_text(CHANNELS_TOML, encoding="utf-8")
    monkeypatch.setenv("VISIBILITY_CHANNELS_FILE", str(channels))
    app = Visibility.open()
    try:
        rows = []
        published = []
        for number, text in enumerate(NEWS, 1):
            posts = publish_news(app, text)
            for channel, post in posts.items():
                assert post.published_at is not None
                published.append(post.published_at)
                if channel == "website":
                    continue
                scale = (len(NEWS) - number + 1) * (2 if channel == "facebook" else 1)
                for step, hours in enumerate(AGES[: len(AGES) - number + 1]):
                    figures = _figures(scale, step, channel)
                    if channel == "twitter" and number == 2:
                        figures["impressions"] = None
                    rows.append((post.id, post.published_at + timedelta(hours=hours), figures, {}))
        app.store.record_snapshots(rows, {})
        day = min(published).astimezone(BELGRADE).date()
        report = build_report(
            app, Period(day - timedelta(days=6), day + timedelta(days=1), BELGRADE)
        )
    finally:
        app.close()
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    yield path


def _chromium(binary: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(binary),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_report_renders_in_chromium(chromium: Path, report_file: Path, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report.html").write_bytes(report_file.read_bytes())
    shot = tmp_path / "report.png"
    result = _chromium(
        chromium,
        tmp_path / "profile",
        f"--screenshot={shot}",
        f"--window-size={WIDTH},{HEIGHT}",
        report_file.as_uri(),
    )
    assert shot.exists(), f"no screenshot; chromium said: {result.stderr[-2000:]}"
    data = shot.read_bytes()
    (ARTIFACTS / "report.png").write_bytes(data)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000, "the screenshot is suspiciously small"
    with Image.open(shot) as image:
        pixels = image.convert("RGB")
    assert pixels.size == (WIDTH, HEIGHT)
    # Not blank: many colours, and ink (text, charts) over a good share of the page.
    colours = pixels.getcolors(maxcolors=WIDTH * HEIGHT)
    assert colours is not None and len(colours) > 100
    grey = pixels.convert("L").histogram()
    ink = sum(grey[:204]) / (WIDTH * HEIGHT)
    assert ink > 0.02, f"only {ink:.1%} of the page is not near-white"
    # The charts' colours made it onto the page (blue and orange of the palette).
    blue = count_colour(pixels, (0x00, 0x72, 0xB2))
    orange = count_colour(pixels, (0xE6, 0x9F, 0x00))
    assert blue > 500 and orange > 500, (blue, orange)


def test_report_dom_holds_the_charts(chromium: Path, report_file: Path, tmp_path: Path) -> None:
    result = _chromium(chromium, tmp_path / "profile", "--dump-dom", report_file.as_uri())
    dom = result.stdout
    assert "<body>" in dom, result.stderr[-2000:]
    assert dom.count("<svg ") == 2
    assert 'aria-label="Engagement over time, per channel"' in dom
    assert 'aria-label="Engagement per news item, across channels"' in dom
    # The charts' text is text in the page: titles, axes and the values of the bars.
    charts = dom[dom.index('<section class="charts">') : dom.index('<section class="news">')]
    assert charts.count("<text ") > 30
    assert "reactions + comments + shares + clicks (latest reading)</text>" in charts
    assert ">#3 Annual meeting with donors &amp; partners in" in charts
    assert charts.count("<circle ") >= 8 and charts.count("<rect ") >= 8
    assert "Visibility report" in dom
    assert "not reported" in dom
    assert "Annual meeting with donors &amp; partners in Prishtina" in dom
