"""News items from a website's RSS or Atom feed (read with feedparser).

Every entry becomes a news item, not only the newest, oldest first, so a feed
read after a quiet week fills the queue in the order things happened. An
entry is identified by its id (GUID) and link, so re-reading the feed, even
after an entry was edited, adds nothing twice.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
import requests

from visibility.adapters.http import host_of, make_session
from visibility.errors import InputError
from visibility.news.model import ParsedNews
from visibility.news.parse import parse_news

MAX_FEED_BYTES = 10_000_000


@dataclass(frozen=True)
class FeedEntry:
    guid: str
    link: str | None
    news: ParsedNews


@dataclass(frozen=True)
class Skipped:
    guid: str
    reason: str


def fetch_feed(
    location: str, *, timeout: float = 30.0, session: requests.Session | None = None
) -> bytes:
    """The feed's bytes, from an http(s) URL or a local file."""
    if not location.startswith(("http://", "https://")):
        path = Path(location.removeprefix("file://"))
        if not path.is_file():
            raise InputError(f"feed {location}: no such file, and not an http(s) URL")
        return path.read_bytes()[:MAX_FEED_BYTES]
    own = session is None
    session = session or make_session()
    try:
        response = session.get(location, timeout=timeout, stream=True)
        try:
            if response.status_code != 200:
                raise InputError(
                    f"feed {location} answered HTTP {response.status_code}; check the address"
                )
            data = response.raw.read(MAX_FEED_BYTES + 1, decode_content=True)
        finally:
            response.close()
    except requests.RequestException as exc:
        raise InputError(
            f"could not read the feed from {host_of(location)} ({type(exc).__name__}); "
            "check the address and the network"
        ) from None
    finally:
        if own:
            session.close()
    if len(data) > MAX_FEED_BYTES:
        raise InputError(f"feed {location} is larger than {MAX_FEED_BYTES // 1_000_000} MB")
    return bytes(data)


def _entry_html(entry: Any) -> str:
    content = entry.get("content") or []
    body = content[0].get("value", "") if content else ""
    if not body.strip():
        body = entry.get("summary", "") or ""
    if body and "<" not in body:
        body = "".join(f"<p>{html.escape(p.strip())}</p>" for p in body.split("\n\n"))
    title = html.escape(entry.get("title", "") or "")
    return f"<html><body><article><h1>{title}</h1>{body}</article></body></html>"


def _published(entry: Any) -> float:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return time.mktime(parsed) if parsed else 0.0


def parse_feed(
    data: bytes,
    *,
    source: str,
    language: str | None = None,
    acronyms: Iterable[str],
    proper_names: Iterable[str],
) -> tuple[list[FeedEntry], list[Skipped]]:
    """Turn every entry into a parsed news item, oldest first; report the ones that can't be."""
    feed = feedparser.parse(data)
    if not feed.entries:
        if not feed.get("version"):  # feedparser recognised no feed format at all
            raise InputError(
                f"{source} is not an RSS or Atom feed; give the address of the site's feed "
                "(often /feed or /rss.xml)"
            )
        return [], []
    entries: list[FeedEntry] = []
    skipped: list[Skipped] = []
    acronyms, proper_names = tuple(acronyms), tuple(proper_names)
    for entry in sorted(feed.entries, key=_published):
        link = entry.get("link") or None
        guid = entry.get("id") or link
        if not guid:
            skipped.append(Skipped("?", "the entry has neither an id nor a link"))
            continue
        try:
            news = parse_news(
                _entry_html(entry),
                source=f"{source}#{guid}",
                fmt="html",
                language=language,
                acronyms=acronyms,
                proper_names=proper_names,
                canonical_url=link,
            )
        except InputError as exc:
            skipped.append(Skipped(guid, str(exc)))
            continue
        entries.append(FeedEntry(guid=guid, link=link, news=news))
    return entries, skipped
