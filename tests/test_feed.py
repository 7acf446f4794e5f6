"""News intake from a website's RSS or Atom feed, served on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from emulators.server import Emulator, Request, Response, route
from visibility.config.settings import load_settings
from visibility.errors import InputError
from visibility.queue.states import PostStatus
from visibility.service.runner import Service
from visibility.workflow import Visibility

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>Qendra Burimore</title><link>{base}/</link><description>Lajme</description>
<item>
  <title>Thirrje e hapur për grante të vogla</title>
  <link>{base}/lajme/thirrje-grante</link>
  <guid isPermaLink="false">qb-102</guid>
  <pubDate>Tue, 10 Nov 2026 09:00:00 +0100</pubDate>
  <description><![CDATA[<p>5 nëntor 2026, Prishtinë – Qendra Burimore hap thirrjen për grante të vogla për organizatat e reja.</p><p>Afati është 30 nëntor.</p>]]></description>
</item>
<item>
  <title>TRAJNIM PËR RAPORTIM FINANCIAR</title>
  <link>{base}/lajme/trajnim-raportim</link>
  <guid isPermaLink="false">qb-101</guid>
  <pubDate>Mon, 02 Nov 2026 09:00:00 +0100</pubDate>
  <description><![CDATA[<p>2 nëntor 2026, Prizren – Trajnimi dyditor për raportim financiar mbahet në Prizren.</p>]]></description>
</item>
<item>
  <title>Takim me donatorët</title>
  <link>{base}/lajme/takim-donatoret</link>
  <guid isPermaLink="false">qb-103</guid>
  <pubDate>Fri, 20 Nov 2026 09:00:00 +0100</pubDate>
  <description><![CDATA[<p>Takimi vjetor me donatorët u mbajt në Prishtinë me pjesëmarrjen e 40 organizatave.</p>]]></description>
</item>
</channel></rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Civil society news</title><id>urn:cs:news</id><updated>2026-11-20T09:00:00Z</updated>
  <entry>
    <title>Open call for small grants</title>
    <id>urn:cs:news:7</id>
    <link href="{base}/news/small-grants"/>
    <updated>2026-11-20T09:00:00Z</updated>
    <content type="html">&lt;p&gt;The resource centre opens a call for small grants for new organisations.&lt;/p&gt;</content>
  </entry>
</feed>
"""


class FeedServer(Emulator):
    def __init__(self) -> None:
        super().__init__()
        self.rss = RSS

    @route("GET", r"/feed")
    def feed(self, request: Request) -> Response:
        body = self.rss.format(base=self.base_url).encode()
        return Response(200, body, {"Content-Type": "application/rss+xml; charset=UTF-8"})

    @route("GET", r"/atom")
    def atom(self, request: Request) -> Response:
        body = ATOM.format(base=self.base_url).encode()
        return Response(200, body, {"Content-Type": "application/atom+xml"})

    @route("GET", r"/page")
    def page(self, request: Request) -> Response:
        return Response(200, b"<html><body>not a feed</body></html>", {"Content-Type": "text/html"})


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as emulator:
        yield emulator  # type: ignore[misc]


def open_app(tmp_path: Path, extra: str = "") -> Visibility:
    path = tmp_path / "channels.toml"
    path.write_text(
        '[[channels]]\nname = "website"\nkind = "dry-run"\nimitates = "website"\n'
        '[[channels]]\nname = "facebook"\nkind = "dry-run"\nimitates = "facebook"\n'
        '[[channels]]\nname = "twitter"\nkind = "dry-run"\nimitates = "twitter"\n' + extra,
        encoding="utf-8",
    )
    return Visibility.open(load_settings(channels_file=path, scan_interval=60))


def test_every_entry_becomes_a_news_item_oldest_first(server: FeedServer, tmp_path: Path) -> None:
    app = open_app(tmp_path)
    seen: list[tuple[int, int]] = []
    result = app.import_feed(
        f"{server.base_url}/feed", from_channel="website", progress=lambda d, t: seen.append((d, t))
    )
    assert [a.news.title for a in result.added] == [
        "TRAJNIM PËR RAPORTIM FINANCIAR",
        "Thirrje e hapur për grante të vogla",
        "Takim me donatorët",
    ]
    assert seen[-1] == (3, 3)
    first = result.added[0]
    assert first.news.social_title == "Trajnim për raportim financiar"
    assert first.news.canonical_url == f"{server.base_url}/lajme/trajnim-raportim"
    assert first.news.dateline_place == "Prizren"
    # Not published back to the website it came from; the social posts carry its link.
    assert [p.channel for p in first.posts] == ["facebook", "twitter"]
    for post in first.posts:
        assert first.news.canonical_url in post.body and post.link_post_id is None
    app.close()


def test_the_feed_host_marks_its_website_channel(server: FeedServer, tmp_path: Path) -> None:
    app = open_app(tmp_path)
    # A website channel whose base_url is the feed's host is the feed's home.
    assert app._feed_home(f"{server.base_url}/feed", None) == frozenset()
    result = app.import_feed(f"{server.base_url}/feed")
    assert [p.channel for p in result.added[0].posts] == ["website", "facebook", "twitter"]
    app.close()


def test_reading_again_adds_nothing_even_after_an_edit(server: FeedServer, tmp_path: Path) -> None:
    app = open_app(tmp_path)
    url = f"{server.base_url}/feed"
    assert len(app.import_feed(url, from_channel="website").added) == 3
    server.rss = RSS.replace("Afati është 30 nëntor.", "Afati është zgjatur deri më 5 dhjetor.")
    again = app.import_feed(url, from_channel="website")
    assert (len(again.added), again.known) == (0, 3)
    assert len(app.store.list_news()) == 3
    app.close()


def test_our_own_published_article_in_the_feed_is_not_imported(
    server: FeedServer, tmp_path: Path
) -> None:
    app = open_app(tmp_path)
    added = app.add_news_text("Takim me donatorët\n\nTakimi vjetor u mbajt.\n")
    website = added.posts[0]
    app.approve(website.id, by="ana")
    app.schedule(website.id, mode="now")
    due = app.store.next_due_at()
    assert due is not None
    (claim,) = app.store.claim_due(worker="w", now=due, lease=timedelta(minutes=1))
    app.store.mark_published(
        claim, worker="w", external_id="1", url=f"{server.base_url}/lajme/takim-donatoret"
    )
    result = app.import_feed(f"{server.base_url}/feed", from_channel="website")
    assert [a.news.title for a in result.added] == [
        "TRAJNIM PËR RAPORTIM FINANCIAR",
        "Thirrje e hapur për grante të vogla",
    ]
    assert result.known == 1
    app.close()


def test_atom_feeds_work(server: FeedServer, tmp_path: Path) -> None:
    app = open_app(tmp_path)
    result = app.import_feed(f"{server.base_url}/atom", language="en")
    (item,) = result.added
    assert item.news.title == "Open call for small grants"
    assert item.news.language == "en"
    assert item.news.lead.startswith("The resource centre opens a call")
    app.close()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/page", "is not an RSS or Atom feed"),
        ("/missing", "answered HTTP 404; check the address"),
    ],
)
def test_bad_feeds_are_refused_with_a_reason(
    server: FeedServer, tmp_path: Path, path: str, message: str
) -> None:
    app = open_app(tmp_path)
    with pytest.raises(InputError, match=message):
        app.import_feed(f"{server.base_url}{path}")
    assert app.store.list_news() == []
    app.close()


def test_an_unreachable_feed_names_the_host(tmp_path: Path) -> None:
    app = open_app(tmp_path)
    with pytest.raises(InputError, match=r"could not read the feed from 127\.0\.0\.1:9"):
        app.import_feed("http://127.0.0.1:9/feed")
    app.close()


def test_the_service_reads_configured_feeds(server: FeedServer, tmp_path: Path) -> None:
    extra = f'[[feeds]]\nurl = "{server.base_url}/feed"\nfrom_channel = "website"\n'
    app = open_app(tmp_path, extra)
    assert app.config.feeds[0].interval_minutes == 30
    deadline = time.monotonic() + 20
    Service(app).run_forever(
        until=lambda: len(app.store.list_news()) == 3 or time.monotonic() > deadline, poll=0.05
    )
    assert len(app.store.list_news()) == 3
    assert {p.status for p in app.store.list_posts()} == {PostStatus.DRAFT}
    app.close()
