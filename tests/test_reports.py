"""Visibility reports: the numbers, the exports, the HTML and the charts.

Data is built the way the service builds it: news added through the
workflow, posts approved, scheduled, claimed with ``store.claim_due`` and
recorded with ``store.mark_published``, then engagement readings with known
figures at known ages through ``store.record_snapshots``.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import re
import sys
import traceback
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageChops

from visibility.cli.app import main
from visibility.errors import NotFoundError, UserError
from visibility.queue.types import utcnow
from visibility.queue.views import PostView
from visibility.reports import charts
from visibility.reports.drawing import Figure, Group, Shape, Text, text_width
from visibility.reports.export import CSV_COLUMNS, to_csv, to_json
from visibility.reports.figures import Period, Report, build_report, parse_period
from visibility.reports.render_html import render_html
from visibility.reports.ticks import date_ticks, number_ticks
from visibility.workflow import Visibility

BELGRADE = ZoneInfo("Europe/Belgrade")
XSS_TITLE = '<script>alert(1)</script> " onmouseover="x'
ORGANISATION = "Qendra <b>Burimore</b> & Partnerët"
CHANNELS_TOML = f"""
[organisation]
name = "{ORGANISATION}"
timezone = "Europe/Belgrade"

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
H = timedelta(hours=1)

# Readings: post (news, channel) -> [(age, figures)]. None: not given by the platform.
READINGS: dict[tuple[str, str], list[tuple[timedelta, dict[str, int | None]]]] = {
    ("training", "facebook"): [
        (1 * H, {"impressions": 100, "reactions": 10, "comments": 2, "shares": 1, "clicks": None}),
        (24 * H, {"impressions": 250, "reactions": 25, "comments": 5, "shares": 3, "clicks": None}),
    ],
    ("training", "twitter"): [
        (1 * H, {"impressions": 80, "reactions": 4, "comments": 0, "shares": 2, "clicks": 7}),
        (6 * H, {"impressions": 120, "reactions": 6, "comments": 1, "shares": 3, "clicks": 9}),
    ],
    ("grants", "facebook"): [
        (1 * H, {"impressions": 50, "reactions": 5, "comments": 0, "shares": None, "clicks": None}),
    ],
    ("grants", "twitter"): [
        (1 * H, {"impressions": None, "reactions": 1, "comments": 0, "shares": 0, "clicks": 0}),
    ],
}


# -- building data through the workflow and the store ---------------------


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Visibility]:
    path = tmp_path / "channels.toml"
    path.write_text(CHANNELS_TOML, encoding="utf-8")
    monkeypatch.setenv("VISIBILITY_CHANNELS_FILE", str(path))
    visibility = Visibility.open()
    yield visibility
    visibility.close()


def publish_news(app: Visibility, text: str) -> dict[str, PostView]:
    """Add a news item and publish all its posts as a worker would; posts by channel."""
    added = app.add_news_text(text, language="en")
    for post in added.posts:
        app.approve(post.id, by="Ardita")
        app.schedule(post.id, mode="now")
    published: dict[str, PostView] = {}
    while len(published) < len(added.posts):
        # Social posts wait for their article's URL: it goes out first.
        claims = app.store.claim_due(worker="w1", now=utcnow(), lease=timedelta(minutes=5))
        assert claims, "nothing left to claim"
        for claim in claims:
            view = app.store.mark_published(
                claim,
                worker="w1",
                external_id=f"{claim.post.channel}-{claim.post.id}",
                url=f"https://{claim.post.channel}.example.org/posts/{claim.post.id}",
            )
            published[view.channel] = view
    return published


@dataclass
class Sample:
    posts: dict[tuple[str, str], PostView]  # (news, channel) -> post
    news_ids: dict[str, int]
    day: date  # the local day the posts were published (Belgrade)

    def post(self, news: str, channel: str) -> PostView:
        return self.posts[(news, channel)]


def build_sample(app: Visibility) -> Sample:
    """Two news items on three channels, with the readings in READINGS."""
    posts: dict[tuple[str, str], PostView] = {}
    news_ids = {}
    texts = {
        "training": "Training on financial reporting\n\n"
        "Forty organisations learned how to report to their donors.\n",
        "grants": f"{XSS_TITLE}\n\nThe resource centre opened a call for small grants.\n",
    }
    for key, text in texts.items():
        for channel, view in publish_news(app, text).items():
            posts[(key, channel)] = view
            news_ids[key] = view.news_item_id
    rows = []
    for (news, channel), readings in READINGS.items():
        view = posts[(news, channel)]
        assert view.published_at is not None
        for age, figures in readings:
            rows.append((view.id, view.published_at + age, figures, {"source": "test"}))
    app.store.record_snapshots(rows, {})
    first = min(p.published_at for p in posts.values() if p.published_at)
    return Sample(posts, news_ids, first.astimezone(BELGRADE).date())


def around(sample: Sample) -> Period:
    """A period of whole days that holds every sample post."""
    return Period(sample.day - timedelta(days=1), sample.day + timedelta(days=1), BELGRADE)


@pytest.fixture
def sample(app: Visibility) -> Sample:
    return build_sample(app)


@pytest.fixture
def report(app: Visibility, sample: Sample) -> Report:
    return build_report(app, around(sample))


def figures(**values: int | None) -> dict[str, int | None]:
    return {
        key: values.get(key)
        for key in ("impressions", "reactions", "comments", "shares", "clicks", "engagement")
    }


def total_values(totals: dict[str, Any]) -> dict[str, int | None]:
    return {key: t["value"] for key, t in totals["figures"].items()}


# -- the numbers -------------------------------------------------------------


def test_latest_figures_per_post(report: Report, sample: Sample) -> None:
    latest = {p.post.id: p.latest.to_dict() for p in report.posts}
    assert latest[sample.post("training", "facebook").id] == figures(
        impressions=250, reactions=25, comments=5, shares=3, clicks=None, engagement=33
    )
    assert latest[sample.post("training", "twitter").id] == figures(
        impressions=120, reactions=6, comments=1, shares=3, clicks=9, engagement=19
    )
    assert latest[sample.post("grants", "facebook").id] == figures(
        impressions=50, reactions=5, comments=0, engagement=5
    )
    assert latest[sample.post("grants", "twitter").id] == figures(
        impressions=None, reactions=1, comments=0, shares=0, clicks=0, engagement=1
    )
    # Websites give no figures: every one is None, never 0.
    assert latest[sample.post("training", "website").id] == figures()
    assert len(report.posts) == 6


def test_channel_news_and_overall_totals(report: Report, sample: Sample) -> None:
    channels = {c.name: c for c in report.channels}
    assert list(channels) == ["website", "facebook", "twitter"]
    fb = channels["facebook"].totals
    assert fb.posts == 2
    assert {k: t.value for k, t in fb.figures.items()} == figures(
        impressions=300, reactions=30, comments=5, shares=3, clicks=None, engagement=38
    )
    # shares: one of the two posts reported it; clicks: none did.
    assert (fb.figures["shares"].reported, fb.figures["clicks"].reported) == (1, 0)
    tw = channels["twitter"].totals
    assert {k: t.value for k, t in tw.figures.items()} == figures(
        impressions=120, reactions=7, comments=1, shares=3, clicks=9, engagement=20
    )
    assert tw.figures["impressions"].reported == 1
    web = channels["website"].totals
    assert web.posts == 2
    assert all(t.value is None and t.reported == 0 for t in web.figures.values())
    assert not channels["website"].reports_anything

    assert report.totals.posts == 6
    assert {k: t.value for k, t in report.totals.figures.items()} == figures(
        impressions=420, reactions=37, comments=6, shares=6, clicks=9, engagement=58
    )

    news = {n.id: n for n in report.news}
    training = news[sample.news_ids["training"]]
    assert training.title == "Training on financial reporting"
    assert training.totals.posts == 3
    assert training.totals.value("engagement") == 52
    assert set(training.by_channel) == {"website", "facebook", "twitter"}
    assert training.by_channel["facebook"].value("engagement") == 33
    grants = news[sample.news_ids["grants"]]
    assert grants.title == XSS_TITLE
    assert grants.totals.value("engagement") == 6
    assert grants.by_channel["twitter"].value("impressions") is None


def test_top_posts_by_engagement(report: Report, sample: Sample) -> None:
    assert [p.post.id for p in report.top] == [
        sample.post("training", "facebook").id,
        sample.post("training", "twitter").id,
        sample.post("grants", "facebook").id,
        sample.post("grants", "twitter").id,
    ]
    assert [p.engagement for p in report.top] == [33, 19, 5, 1]
    # Posts with no figures at all are not ranked.
    assert all(p.post.channel != "website" for p in report.top)


def test_growth_between_snapshots(report: Report, sample: Sample) -> None:
    posts = {p.post.id: p for p in report.posts}
    fb = posts[sample.post("training", "facebook").id]
    (step,) = fb.growth
    assert step.age_label == "24h"
    assert step.since == fb.readings[0].taken_at
    assert step.change.to_dict() == figures(
        impressions=150, reactions=15, comments=3, shares=2, clicks=None, engagement=20
    )
    tw = posts[sample.post("training", "twitter").id]
    (step,) = tw.growth
    assert step.age_label == "6h"
    assert step.change.to_dict() == figures(
        impressions=40, reactions=2, comments=1, shares=1, clicks=2, engagement=6
    )
    assert [r.age_label for r in tw.readings] == ["1h", "6h"]
    assert posts[sample.post("grants", "facebook").id].growth == ()


def test_channel_series_by_age(report: Report) -> None:
    fb = next(c for c in report.channels if c.name == "facebook")
    by_age = {a.age_label: a for a in fb.by_age}
    assert list(by_age) == ["1h", "24h"]
    assert by_age["1h"].posts == 2
    assert by_age["1h"].figures.value("impressions") == 150
    assert by_age["1h"].figures.value("engagement") == 13 + 5
    assert by_age["1h"].growth is None  # nothing before the first age
    assert by_age["24h"].posts == 1
    assert by_age["24h"].figures.value("reactions") == 25
    assert by_age["24h"].growth is not None
    assert by_age["24h"].growth.value("reactions") == 15
    assert by_age["24h"].growth.value("clicks") is None
    website = next(c for c in report.channels if c.name == "website")
    assert website.by_age == () and website.by_date == ()


def test_channel_series_by_date(report: Report, sample: Sample) -> None:
    tw = next(c for c in report.channels if c.name == "twitter")
    # Readings an hour or six after publishing may fall on the next local day.
    published = [p.published_at for (_, ch), p in sample.posts.items() if ch == "twitter"]
    assert tw.by_date[0].day == min(t.astimezone(BELGRADE).date() for t in published if t)
    assert tw.by_date[-1].figures.value("engagement") == 20
    assert sum(d.growth.engagement or 0 for d in tw.by_date) == 20
    fb = next(c for c in report.channels if c.name == "facebook")
    last = fb.by_date[-1]
    assert last.figures.value("impressions") == 300
    assert last.figures.value("clicks") is None
    assert last.growth.clicks is None
    days = [d.day for d in fb.by_date]
    assert days == sorted(days)
    assert all(b - a == timedelta(days=1) for a, b in itertools.pairwise(days))


def test_filter_by_channel_and_news_item(app: Visibility, sample: Sample) -> None:
    only_fb = build_report(app, around(sample), channel="facebook")
    assert [c.name for c in only_fb.channels] == ["facebook"]
    assert {p.post.channel for p in only_fb.posts} == {"facebook"}
    assert only_fb.totals.value("clicks") is None
    # The article's address stands in for {link}, even when the article is not in the report.
    text = next(p.text for p in only_fb.posts if p.post.news_item_id == sample.news_ids["grants"])
    assert "{link}" not in text
    assert sample.post("grants", "website").external_url in text

    one = build_report(app, around(sample), news_item_id=sample.news_ids["grants"])
    assert {p.post.news_item_id for p in one.posts} == {sample.news_ids["grants"]}
    assert one.totals.value("engagement") == 6
    assert [p.engagement for p in one.top] == [5, 1]


def test_bad_filters_name_the_fix(app: Visibility, sample: Sample) -> None:
    with pytest.raises(UserError, match=r"no channel named 'instagram'; use one of .*facebook"):
        build_report(app, around(sample), channel="instagram")
    with pytest.raises(NotFoundError, match=r"no news item 999.*visibility news list"):
        build_report(app, around(sample), news_item_id=999)


# -- the period in the organisation's timezone -------------------------------


def test_period_is_whole_local_days() -> None:
    period = parse_period("2026-11-01", "2026-12-01", "Europe/Belgrade")
    assert period.start == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    assert period.end == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    assert period.contains(datetime(2026, 12, 1, 23, 30, tzinfo=BELGRADE))
    assert not period.contains(datetime(2026, 12, 2, 0, 30, tzinfo=BELGRADE))
    assert period.contains(datetime(2026, 11, 1, 0, 0, tzinfo=BELGRADE))
    assert not period.contains(datetime(2026, 10, 31, 23, 59, 59, tzinfo=BELGRADE))
    # The day summer time ends has 25 hours.
    autumn = parse_period("2026-10-25", "2026-10-25", "Europe/Belgrade")
    assert autumn.end - autumn.start == timedelta(hours=25)


@pytest.mark.parametrize(
    ("first", "last", "words"),
    [
        ("2026-12-02", "2026-12-01", "--from 2026-12-02 is after --to 2026-12-01: swap them"),
        ("2026-13-01", "2026-12-01", "cannot read the date '2026-13-01' given to --from"),
        ("2026-11-01", "1.12.2026", "write it as YYYY-MM-DD"),
        (None, "2026-12-01", "say which period"),
    ],
)
def test_bad_periods(first: str | None, last: str | None, words: str) -> None:
    with pytest.raises(UserError, match=re.escape(words)):
        parse_period(first, last, "Europe/Belgrade")


def _utc_offset_zone(hours: int) -> ZoneInfo:
    # POSIX sign: Etc/GMT-2 is two hours ahead of UTC.
    return ZoneInfo("Etc/GMT" if hours == 0 else f"Etc/GMT{-hours:+d}")


def _zone_where(instant: datetime, hour: int) -> ZoneInfo:
    """A whole-hour zone in which ``instant`` falls in local ``hour``."""
    for offset in range(-12, 15):
        if (instant.hour + offset) % 24 == hour:
            return _utc_offset_zone(offset)
    raise AssertionError("every hour is reachable")


def test_last_day_boundary_with_real_posts(app: Visibility) -> None:
    """A post at 23:xx local on the last day is in; one at 00:xx the next day is out.

    The store stamps publication with the current time, so the test picks the
    organisation's zone that puts that instant at 23:xx, then at 00:xx.
    """
    post = publish_news(app, "Boundary\n\nA post near midnight.\n")["facebook"]
    assert post.published_at is not None
    late = _zone_where(post.published_at, 23)
    local = post.published_at.astimezone(late)
    assert local.hour == 23
    last_day = local.date()
    inside = build_report(app, Period(last_day - timedelta(days=30), last_day, late))
    assert post.id in {p.post.id for p in inside.posts}

    early = _zone_where(post.published_at, 0)
    local = post.published_at.astimezone(early)
    assert local.hour == 0
    before = build_report(
        app, Period(local.date() - timedelta(days=30), local.date() - timedelta(days=1), early)
    )
    assert post.id not in {p.post.id for p in before.posts}
    assert before.empty
    starting = build_report(app, Period(local.date(), local.date(), early))
    assert post.id in {p.post.id for p in starting.posts}


# -- exports -----------------------------------------------------------------


def test_csv_columns_and_rows(report: Report, sample: Sample) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert CSV_COLUMNS == (
        "row", "post_id", "published_at", "channel", "channel_kind", "news_item_id",
        "news_title", "post_title", "url", "readings", "last_read_at", "posts",
        "impressions", "reactions", "comments", "shares", "clicks", "engagement", "grants",
    )  # fmt: skip
    kinds = [r["row"] for r in rows]
    assert kinds == ["post"] * 6 + ["channel"] * 3 + ["all"]
    by_id = {r["post_id"]: r for r in rows if r["row"] == "post"}
    fb = sample.post("training", "facebook")
    row = by_id[str(fb.id)]
    assert row["channel"] == "facebook"
    assert row["url"] == fb.external_url
    assert row["readings"] == "2"
    assert (row["impressions"], row["reactions"], row["clicks"], row["engagement"]) == (
        "250",
        "25",
        "",
        "33",
    )
    assert row["published_at"].endswith(("+01:00", "+02:00"))
    assert fb.published_at is not None
    assert datetime.fromisoformat(row["published_at"]) == fb.published_at.replace(microsecond=0)
    website = by_id[str(sample.post("training", "website").id)]
    assert [website[k] for k in ("impressions", "reactions", "engagement", "readings")] == [
        "",
        "",
        "",
        "0",
    ]
    # A title a spreadsheet would run as a formula is defused; the rest is as written.
    grants = by_id[str(sample.post("grants", "facebook").id)]
    assert grants["news_title"] == XSS_TITLE
    totals = {r["channel"]: r for r in rows if r["row"] == "channel"}
    assert (totals["facebook"]["posts"], totals["facebook"]["engagement"]) == ("2", "38")
    assert totals["facebook"]["clicks"] == ""
    assert totals["website"]["engagement"] == ""
    overall = rows[-1]
    assert (overall["posts"], overall["impressions"], overall["engagement"]) == ("6", "420", "58")


def test_json_is_complete(report: Report, sample: Sample) -> None:
    data = json.loads(to_json(report))
    assert set(data) == {
        "organisation", "period", "generated_at", "filters", "engagement", "ages",
        "totals", "channels", "news_items", "top_posts", "posts",
    }  # fmt: skip
    assert data["organisation"] == ORGANISATION
    assert data["period"]["timezone"] == "Europe/Belgrade"
    assert data["ages"] == ["1h", "6h", "24h", "3d", "7d", "30d"]
    assert total_values(data["totals"]) == figures(
        impressions=420, reactions=37, comments=6, shares=6, clicks=9, engagement=58
    )
    assert data["totals"]["figures"]["impressions"] == {"value": 420, "reported": 3}
    fb = next(c for c in data["channels"] if c["name"] == "facebook")
    assert fb["posts"] == 2
    assert [a["age"] for a in fb["by_age"]] == ["1h", "24h"]
    assert fb["by_age"][1]["growth"]["reactions"] == {"value": 15, "reported": 1}
    post = next(p for p in data["posts"] if p["id"] == sample.post("training", "facebook").id)
    assert post["latest"]["engagement"] == 33
    assert [r["age"] for r in post["readings"]] == ["1h", "24h"]
    assert post["readings"][1]["age_seconds"] == 24 * 3600
    assert post["growth"][0]["change"]["impressions"] == 150
    assert post["growth"][0]["change"]["clicks"] is None
    assert [t["engagement"] for t in data["top_posts"]] == [33, 19, 5, 1]
    news = {n["id"]: n for n in data["news_items"]}
    assert news[sample.news_ids["grants"]]["title"] == XSS_TITLE


# -- HTML ----------------------------------------------------------------------


def test_html_is_self_contained_and_escaped(report: Report) -> None:
    html = render_html(report)
    lowered = html.lower()
    assert "<script src" not in lowered
    assert "<script" not in lowered.replace("&lt;script", "")
    assert '<link rel="stylesheet"' not in lowered
    assert "<link" not in lowered
    assert "@import" not in lowered
    assert "url(http" not in lowered
    assert "@font-face" not in lowered
    # User text is escaped wherever it appears: body, attributes, SVG comments.
    assert "<script>alert(1)" not in html
    assert '" onmouseover="x' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "onmouseover=&#34;x" in html
    assert "<b>Burimore</b>" not in html
    assert "Qendra &lt;b&gt;Burimore&lt;/b&gt; &amp; Partnerët" in html
    # Print-friendly.
    assert "@media print" in html and "size: A4" in html


def test_html_summary_and_tables(app: Visibility, report: Report, sample: Sample) -> None:
    html = render_html(report)
    assert html.count("<svg ") == 2
    for post in sample.posts.values():
        assert f'href="{post.external_url}"' in html
    assert "Training on financial reporting" in html
    assert "&lt;p&gt;" not in html  # an article's HTML body is never shown as markup
    summary = html[html.index('class="summary"') : html.index('class="charts"')]
    assert ">420<" in summary and ">37<" in summary and ">58<" in summary
    assert "reported for 3 of 6 posts" in summary  # impressions
    # Clicks on Facebook: never given, so said so, not shown as 0.
    only_fb = render_html(build_report(app, around(sample), channel="facebook"))
    assert re.search(
        r'<div class="label">Clicks</div>\s*<div class="value none">not reported by the platform<',
        only_fb,
    )
    assert re.search(r'<div class="label">Reactions</div>\s*<div class="value">30<', only_fb)


def test_html_links_only_web_addresses() -> None:
    from visibility.reports.render_html import safe_url

    assert safe_url("https://e.org/p/1") == "https://e.org/p/1"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("data:text/html,x") is None
    assert safe_url(None) is None


def test_empty_period_is_a_report_not_an_error(app: Visibility, sample: Sample) -> None:
    far = Period(date(2020, 1, 1), date(2020, 1, 31), BELGRADE)
    empty = build_report(app, far)
    assert empty.empty and empty.top == ()
    assert [c.totals.posts for c in empty.channels] == [0, 0, 0]
    html = render_html(empty)
    assert "No posts were published in this period." in html
    assert "<svg" not in html
    rows = list(csv.DictReader(io.StringIO(to_csv(empty))))
    assert [r["row"] for r in rows] == ["channel"] * 3 + ["all"]
    assert json.loads(to_json(empty))["posts"] == []
    svg = charts.to_svg(charts.overview_figure(empty))
    assert svg_texts(ET.fromstring(svg)).count(charts.NO_POSTS) == 2


# -- charts --------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def svg_texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def svg_tips(root: ET.Element, shape: str) -> list[str]:
    return [t.text or "" for s in root.iter(f"{SVG}{shape}") for t in s.iter(f"{SVG}title")]


def test_svg_charts_parse_and_have_unique_ids(report: Report) -> None:
    svg = charts.to_svg(charts.over_time_figure(report))
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Engagement over time, per channel"
    # Text is text, in the reader's fonts: no glyphs drawn as paths, no font files.
    assert "Engagement over time, per channel" in svg_texts(root)
    assert "reactions + comments + shares + clicks" in svg_texts(root)
    assert "<path" not in svg and "@font-face" not in svg
    html = render_html(report)
    inline = re.findall(r"<svg .*?</svg>", html, flags=re.DOTALL)
    assert len(inline) == 2
    ids: list[str] = []
    for part, prefix in zip(inline, ("chart-time", "chart-news"), strict=True):
        ET.fromstring(part)
        assert "<?xml" not in part
        found = re.findall(r'\bid="([^"]+)"', part)
        assert found and all(i.startswith(f"{prefix}-") for i in found), found
        ids.extend(found)
    assert len(ids) == len(set(ids)), "ids repeated between inline charts"
    refs = re.findall(r'href="#([^"]+)"|url\(#([^)]+)\)', html)
    assert all((a or b) in ids for a, b in refs)
    # The web page's CSP needs no inline style for them: colours are attributes.
    assert all("style=" not in part for part in inline)


def test_charts_plot_the_reports_figures(report: Report) -> None:
    root = ET.fromstring(charts.inline_svg(charts.over_time_figure(report), "t", label="x"))
    points = svg_tips(root, "circle")
    expected = [
        f"{c.name}, {p.day:%d %b %Y}: {p.figures.value('engagement'):,}"
        for c in report.channels
        for p in c.by_date
        if p.figures.value("engagement") is not None
    ]
    assert sorted(points) == sorted(expected) and points
    # The website reports nothing: no line, no legend entry for it.
    legend = [t for g in root.iter(f"{SVG}g") if g.get("id") == "t-legend" for t in svg_texts(g)]
    assert legend == ["facebook", "twitter"]
    # Higher values are drawn higher, on the same scale for every channel.
    dots = [(float(c.get("cy") or 0), c.find(f"{SVG}title")) for c in root.iter(f"{SVG}circle")]
    by_value = sorted(
        (int((t.text or "").rsplit(": ", 1)[1].replace(",", "")), y)
        for y, t in dots
        if t is not None
    )
    assert [y for _, y in by_value] == sorted((y for _, y in by_value), reverse=True)

    root = ET.fromstring(charts.inline_svg(charts.news_figure(report), "n", label="x"))
    bars = {
        (r.find(f"{SVG}title").text or ""): float(r.get("width") or 0)  # type: ignore[union-attr]
        for r in root.iter(f"{SVG}rect")
        if r.find(f"{SVG}title") is not None
    }
    assert set(bars) == {"facebook: 33", "twitter: 19", "facebook: 5", "twitter: 1"}
    # Bar lengths are proportional to the figures, and each bar is labelled with its value.
    assert bars["facebook: 33"] / bars["twitter: 19"] == pytest.approx(33 / 19, rel=1e-3)
    assert bars["facebook: 5"] / bars["twitter: 1"] == pytest.approx(5, rel=1e-3)
    texts = svg_texts(root)
    assert {"33", "19", "5", "1"} <= set(texts)
    assert "reactions + comments + shares + clicks (latest reading)" in texts
    assert any(t.startswith("#") and "Training on financial reporting" in t for t in texts)


def test_chart_text_is_escaped_and_stays_in_the_picture(report: Report) -> None:
    svg = charts.to_svg(charts.overview_figure(report))
    assert "<script>" not in svg and "<b>" not in svg
    assert "Qendra &lt;b&gt;Burimore&lt;/b&gt; &amp; Partnerët" in svg
    root = ET.fromstring(svg)
    texts = svg_texts(root)
    # Parsed back, the organisation and the news title are the text staff wrote.
    assert any(t.startswith(ORGANISATION + ": ") for t in texts)
    assert any(t.startswith("#") and "<script>alert(1)</script>" in t for t in texts)
    fig = charts.overview_figure(report)
    assert_inside(fig)


def assert_inside(fig: Figure) -> None:
    """Every text of ``fig`` lies within the picture, measured as it is drawn."""

    def walk(items: list[Shape], dx: float, dy: float) -> Iterator[tuple[Text, float, float]]:
        for item in items:
            if isinstance(item, Group):
                yield from walk(item.items, dx + item.dx, dy + item.dy)
            elif isinstance(item, Text):
                yield item, dx, dy

    for text, dx, dy in walk(fig.items, 0.0, 0.0):
        width = text_width(text.text, text.size, bold=text.bold)
        left = text.x + dx - {"start": 0, "middle": width / 2, "end": width}[text.anchor]
        assert left >= 0 and left + width <= fig.width + 0.5, text
        assert text.size <= text.y + dy <= fig.height, text


def test_charts_with_many_channels_and_long_names(report: Report) -> None:
    # Nine channels, some with names too long for a legend row: the legend wraps,
    # names are cut short, and nothing is drawn outside the picture.
    def renamed(name: str, copy: int) -> str:
        return f"{name}-{'national-page-' * 6 if name == 'facebook' else ''}{copy}"

    wide = replace(
        report,
        channels=tuple(
            replace(c, name=renamed(c.name, k)) for k in range(3) for c in report.channels
        ),
        news=tuple(
            replace(
                n,
                by_channel={
                    renamed(name, k): t for k in range(3) for name, t in n.by_channel.items()
                },
            )
            for n in report.news
        ),
    )
    for fig in (
        charts.over_time_figure(wide),
        charts.news_figure(wide),
        charts.overview_figure(wide),
    ):
        assert_inside(fig)
        root = ET.fromstring(charts.inline_svg(fig, "w", label="x"))
        assert (
            len(
                {c.get("fill") for c in root.iter(f"{SVG}circle")}
                | {
                    r.get("fill")
                    for r in root.iter(f"{SVG}rect")
                    if r.find(f"{SVG}title") is not None
                }
            )
            == 6
        )  # two charted channels, three times: six colours of the palette
    legend = charts.over_time_figure(wide).items[1]
    assert isinstance(legend, Group) and legend.name == "legend"
    assert any(isinstance(t, Text) and t.text.endswith("…") for t in legend.items)


def test_write_chart_png_and_svg(report: Report, tmp_path: Path) -> None:
    png = tmp_path / "chart.png"
    charts.write_chart(report, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig = charts.overview_figure(report)
    with Image.open(png) as image:
        image.verify()
    with Image.open(png) as image:
        # 9 inches wide at 150 dots to the inch, as tall as the layout.
        assert image.size == (1350, round(fig.height * 1.5))
        assert image.info["dpi"] == pytest.approx((150, 150), abs=0.1)  # stored per metre
        rgb = image.convert("RGB")
        assert rgb.getpixel((0, 0)) == (255, 255, 255)
        assert count_colour(rgb, (0x00, 0x72, 0xB2)) > 2_000  # facebook, blue
        assert count_colour(rgb, (0xE6, 0x9F, 0x00)) > 2_000  # twitter, orange
        assert count_colour(rgb, (0x1D, 0x24, 0x30)) > 500  # text
    svg = tmp_path / "chart.svg"
    charts.write_chart(report, svg)
    root = ET.parse(svg).getroot()
    assert root.tag == f"{SVG}svg"
    texts = svg_texts(root)
    assert "Engagement over time, per channel" in texts
    assert "Engagement per news item, across channels" in texts
    with pytest.raises(UserError, match=r"\.svg or \.png"):
        charts.write_chart(report, tmp_path / "chart.pdf")


def count_colour(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 12) -> int:
    """Pixels within ``tolerance`` of ``colour`` in every band."""
    near = [
        band.point(lambda v, c=c: 255 if abs(v - c) < tolerance else 0)
        for band, c in zip(image.split(), colour, strict=True)
    ]
    mask = ImageChops.logical_and(
        ImageChops.logical_and(near[0].convert("1"), near[1].convert("1")), near[2].convert("1")
    )
    return mask.histogram()[255]


def test_charts_take_titles_with_dollar_signs(app: Visibility) -> None:
    # matplotlib read "$...$" as mathtext; the charts must show the title as written.
    posts = publish_news(
        app, "Grants of $5,000 \\frac{ and $10,000 for youth_groups\n\nApply now.\n"
    )
    assert "$5,000 \\frac{" in app.store.get_news(posts["website"].news_item_id).title
    period = Period(date.today() - timedelta(days=2), date.today() + timedelta(days=2), BELGRADE)
    views = app.store.published_between(period.start, period.end)
    app.store.record_snapshots(
        [(v.id, utcnow(), {"reactions": 3}, {}) for v in views if v.channel != "website"], {}
    )
    svg = charts.to_svg(charts.news_figure(build_report(app, period)))
    texts = svg_texts(ET.fromstring(svg))
    assert any("Grants of $5,000 \\frac{ and $10,000" in t for t in texts), texts


def test_number_ticks_are_round() -> None:
    assert number_ticks(0) == [0, 1]
    assert number_ticks(3) == [0, 1, 2, 3]
    assert number_ticks(37) == [0, 10, 20, 30, 40]
    assert number_ticks(4300) == [0, 1000, 2000, 3000, 4000, 5000]
    assert number_ticks(12_345) == [0, 2500, 5000, 7500, 10_000, 12_500]
    assert number_ticks(1440, count=8) == [0, 200, 400, 600, 800, 1000, 1200, 1400, 1600]


def test_date_ticks_for_short_and_long_periods() -> None:
    def plain(first: date, last: date) -> list[tuple[str, str, str]]:
        return [(t.day.isoformat(), t.label, t.context) for t in date_ticks(first, last)]

    assert plain(date(2026, 11, 29), date(2026, 12, 2)) == [
        ("2026-11-29", "29", "Nov 2026"),
        ("2026-11-30", "30", ""),
        ("2026-12-01", "1", "Dec"),
        ("2026-12-02", "2", ""),
    ]
    assert plain(date(2026, 12, 3), date(2026, 12, 3)) == [("2026-12-03", "3", "Dec 2026")]
    weekly = date_ticks(date(2026, 12, 20), date(2027, 1, 20))
    assert [t.label for t in weekly] == ["20", "27", "3", "10", "17"]
    assert [t.context for t in weekly] == ["Dec 2026", "", "Jan 2027", "", ""]
    # The web page's longest period, two years: quarters, each January with its year.
    quarters = date_ticks(date(2026, 1, 1), date(2027, 12, 31))
    assert [t.label for t in quarters] == ["Jan", "Apr", "Jul", "Oct"] * 2
    assert [t.context for t in quarters] == ["2026", "", "", "", "2027", "", "", ""]
    assert [t.label for t in date_ticks(date(2020, 1, 5), date(2031, 3, 1))] == [
        "2022", "2024", "2026", "2028", "2030"
    ]  # fmt: skip


# -- the command line ----------------------------------------------------------


class Result(NamedTuple):
    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run(*args) -> Result``: one ``visibility`` command, in this process."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")

    def _run(*args: object) -> Result:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["visibility", *(str(a) for a in args)])
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        crash = ""
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:
            code, crash = 1, traceback.format_exc()
        finally:
            root.handlers[:] = handlers
            root.setLevel(level)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err + crash)

    return _run


def refused(result: Result, *words: str) -> str:
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: "), lines[0]
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    return lines[0]


def test_cli_report_formats(run: Run, sample: Sample, tmp_path: Path) -> None:
    first, last = str(sample.day - timedelta(days=1)), str(sample.day + timedelta(days=1))
    result = run("report", "--from", first, "--to", last, "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["totals"]["figures"]["engagement"]["value"] == 58
    assert data["period"] == {
        "from": first,
        "to": last,
        "timezone": "Europe/Belgrade",
        "start": data["period"]["start"],
        "end": data["period"]["end"],
    }

    table = run("report", "--from", first, "--to", last)
    assert table.code == 0, table.err
    assert "Per channel" in table.out and "facebook" in table.out
    assert XSS_TITLE in table.out  # printed as written: the console reads no markup
    assert "58" in table.out

    result = run("report", "--from", first, "--to", last, "--format", "csv", "--channel", "twitter")
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert [r["row"] for r in rows] == ["post", "post", "channel", "all"]

    html_file, chart_png, chart_svg = tmp_path / "r.html", tmp_path / "c.png", tmp_path / "c.svg"
    result = run(
        "report", "--from", first, "--to", last, "--format", "html",
        "--output", html_file, "--chart", chart_png,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert f"report written to {html_file} (6 posts)" in result.out
    assert html_file.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert chart_png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    result = run(
        "report", "--from", first, "--to", last, "--news-item", sample.news_ids["training"],
        "--chart", chart_svg, "--output", tmp_path / "r.txt",
    )  # fmt: skip
    assert result.code == 0, result.err
    ET.parse(chart_svg)
    assert "Training on financial reporting" in (tmp_path / "r.txt").read_text(encoding="utf-8")


def test_cli_empty_period(run: Run, app: Visibility) -> None:
    result = run("report", "--from", "2020-01-01", "--to", "2020-01-31")
    assert result.code == 0, result.err
    assert "No posts were published in this period." in result.out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--from", "2026-12-02", "--to", "2026-12-01"), ("is after --to", "swap them")),
        (("--from", "2026-11-31", "--to", "2026-12-01"), ("cannot read the date", "YYYY-MM-DD")),
        (("--to", "2026-12-01"), ("say which period", "--from")),
        (
            ("--from", "2026-11-01", "--to", "2026-12-01", "--channel", "tiktok"),
            ("no channel named 'tiktok'", "website"),
        ),
        (
            ("--from", "2026-11-01", "--to", "2026-12-01", "--news-item", "999"),
            ("no news item 999", "visibility news list"),
        ),
        (
            ("--from", "2026-11-01", "--to", "2026-12-01", "--news-item", "abc"),
            ("--news-item 'abc'", "news list"),
        ),
        (
            ("--from", "2026-11-01", "--to", "2026-12-01", "--format", "docx"),
            ("unknown format 'docx'", "html"),
        ),
        (("--from", "2026-11-01", "--to", "2026-12-01", "--chart", "c.gif"), (".svg or .png",)),
    ],
)
def test_cli_bad_input_is_one_line(
    run: Run, app: Visibility, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    refused(run("report", *args), *words)


@pytest.mark.parametrize("width", [60, 80, 100])
def test_the_table_never_cuts_a_figure(app: Visibility, width: int) -> None:
    from rich.console import Console

    from visibility.reports.export import to_table

    big = {"impressions": 1_335_842, "reactions": 622_317, "comments": 48_111}
    views = publish_news(
        app,
        "A very long title about the regional conference on civil society and the "
        "European integration of the Western Balkans\n\nOrganisations met in Prishtina.\n",
    )
    rows = [
        (
            view.id,
            (view.published_at or utcnow()) + H,
            {**big, "shares": 9_876, "clicks": 5_432},
            {},
        )
        for view in views.values()
    ]
    app.store.record_snapshots(rows, {})
    day = (next(iter(views.values())).published_at or utcnow()).astimezone(BELGRADE).date()
    data = build_report(app, Period(day - timedelta(days=1), day + timedelta(days=1), BELGRADE))
    console = Console(width=width, record=True, color_system=None)
    console.print(to_table(data))
    text = console.export_text()
    for figure in ("1,335,842", "622,317", "48,111", "9,876", "5,432", "4,007,526"):
        assert figure in text, (figure, text)
    assert (
        "…"
        not in "".join(
            line for line in text.splitlines() if any(ch.isdigit() for ch in line) and "," in line
        )
        or "A very long title" in text
    )
