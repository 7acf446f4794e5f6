"""News items in: files, text, uploads and feeds, with their pictures, each derived
into a draft per channel and stored in one transaction.

``NewsIntake`` is a part of ``visibility.workflow.Visibility``; it lives here so
the workflow's post rules and the ways news come in can each be read alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from visibility.adapters.http import host_of
from visibility.config.channels import AppConfig
from visibility.config.settings import Settings
from visibility.errors import UserError
from visibility.funding import FundingWork
from visibility.news.casing import DEFAULT_ACRONYMS, DEFAULT_PROPER_NAMES
from visibility.news.model import ParsedNews, SourceFormat
from visibility.queue.store import Store
from visibility.queue.views import ImageView, NewImage, NewsView, PostView

if TYPE_CHECKING:
    from visibility.grants.suggest import Suggestion
    from visibility.media.files import ImageFiles
    from visibility.news.feed import Skipped

# Parsing, derivation and feeds are imported where they are used: a scheduler
# process never parses a news item, and should not carry the parsers' memory.


@dataclass(frozen=True)
class Added:
    news: NewsView
    created: bool
    posts: list[PostView]
    # Pictures the item names that could not be had, each with why.
    skipped_images: tuple[str, ...] = ()
    # Grants whose donor the item's words name, that it is not under (yet).
    suggested: tuple[Suggestion, ...] = ()


@dataclass(frozen=True)
class FeedImport:
    added: list[Added]
    known: int
    skipped: list[Skipped]

    def to_dict(self) -> dict[str, object]:
        return {
            "added": [a.news.id for a in self.added],
            "known": self.known,
            "skipped": [{"entry": s.guid, "reason": s.reason} for s in self.skipped],
        }


def language_code(value: str | None) -> str | None:
    """A two-letter language code (``sq``, ``sr``, ``en``), or None to detect it."""
    if value is None:
        return None
    code = value.strip().lower()
    if not re.fullmatch(r"[a-z]{2}", code):
        raise UserError(f"unknown language {value!r}: give a two-letter code such as sq, sr or en")
    return code


class NewsIntake(FundingWork):
    """Adding news items (and their pictures) to the queue."""

    settings: Settings
    config: AppConfig
    store: Store

    @property
    def _acronyms(self) -> tuple[str, ...]:
        return (*DEFAULT_ACRONYMS, *self.config.organisation.acronyms)

    @property
    def _proper_names(self) -> tuple[str, ...]:
        return (*DEFAULT_PROPER_NAMES, *self.config.organisation.proper_names)

    def add_news_file(
        self,
        path: Path,
        *,
        language: str | None = None,
        author: str | None = None,
        images: Sequence[tuple[Path, str | None]] = (),
        grants: Sequence[str] = (),
    ) -> Added:
        """``images``: picture files (with their alt text) to add besides the ones the
        item names; those are looked for beside the file."""
        from visibility.media.intake import take_files
        from visibility.news.parse import read_news_file

        parsed = read_news_file(
            path,
            max_bytes=self.settings.max_news_bytes,
            language=language_code(language),
            acronyms=self._acronyms,
            proper_names=self._proper_names,
        )
        # Checked before anything is stored: a wrong --image leaves nothing behind.
        chosen = take_files(self.image_files, images)
        return self._add(
            parsed,
            source=str(path),
            author=author,
            beside=path.parent,
            images=chosen,
            grants=grants,
        )

    def add_news_bytes(
        self,
        data: bytes,
        *,
        source: str,
        language: str | None = None,
        author: str | None = None,
        grants: Sequence[str] = (),
    ) -> Added:
        """An uploaded file: the format is guessed from its name and content."""
        from visibility.news.parse import parse_news

        if len(data) > self.settings.max_news_bytes:
            raise UserError(
                f"{source} is larger than {self.settings.max_news_bytes} bytes; "
                "set VISIBILITY_MAX_NEWS_BYTES to allow more"
            )
        parsed = parse_news(
            data,
            source=source,
            language=language_code(language),
            acronyms=self._acronyms,
            proper_names=self._proper_names,
        )
        return self._add(parsed, source=source, author=author, grants=grants)

    def add_news_text(
        self,
        text: str,
        *,
        source: str = "<text>",
        fmt: SourceFormat | None = "text",
        language: str | None = None,
        canonical_url: str | None = None,
        author: str | None = None,
        grants: Sequence[str] = (),
    ) -> Added:
        from visibility.news.parse import parse_news

        if len(text.encode("utf-8")) > self.settings.max_news_bytes:
            raise UserError(
                f"{source} is larger than {self.settings.max_news_bytes} bytes; "
                "set VISIBILITY_MAX_NEWS_BYTES to allow more"
            )
        parsed = parse_news(
            text,
            source=source,
            fmt=fmt,
            language=language_code(language),
            canonical_url=canonical_url,
            acronyms=self._acronyms,
            proper_names=self._proper_names,
        )
        return self._add(parsed, source=source, author=author, grants=grants)

    def _add(
        self,
        parsed: ParsedNews,
        *,
        source: str,
        feed_guid: str | None = None,
        skip_channels: frozenset[str] = frozenset(),
        author: str | None = None,
        beside: Path | None = None,
        images: Sequence[NewImage] = (),
        grants: Sequence[str] = (),
    ) -> Added:
        from visibility.derive.render import derive_posts
        from visibility.grants.compliance import text_language

        # Derive before storing anything, so a broken template or an unknown
        # grant leaves no half-added news item behind; the item, its grants
        # and its drafts are stored in one transaction.
        under = self.check_grant_names(grants)
        tag = text_language(parsed.language, f"{parsed.title} {parsed.lead}")
        channels = [c for c in self.config.channels if c.name not in skip_channels]
        drafts = derive_posts(
            parsed,
            channels,
            self.config.organisation,
            author=author,
            grants=under,
            emblems=self.emblem_images(under, tag),
        )
        found: tuple[NewImage, ...] = ()
        skipped: tuple[str, ...] = ()
        if parsed.images:
            from visibility.media.intake import RemotePolicy, take_refs

            remote = RemotePolicy(
                allowed=self.settings.fetch_remote_images,
                timeout=self.settings.remote_image_timeout_seconds,
            )
            intake = take_refs(self.image_files, parsed.images, beside=beside, remote=remote)
            found, skipped = intake.images, intake.skipped
        news, created, posts = self.store.add_news(
            parsed,
            source=source,
            drafts=drafts,
            feed_guid=feed_guid,
            images=[*found, *images],
            grants=[g.name for g in under],
            by=author,
        )
        suggested = () if under else tuple(self.suggest_grants(news))
        return Added(
            news=news,
            created=created,
            posts=posts,
            skipped_images=skipped,
            suggested=suggested,
        )

    # -- pictures ---------------------------------------------------------

    @property
    def image_files(self) -> ImageFiles:
        from visibility.media.files import ImageFiles

        return ImageFiles(self.settings.images_path, max_bytes=self.settings.max_image_bytes)

    def add_image(
        self, news_id: int, data: bytes, *, name: str, alt: str | None = None
    ) -> ImageView:
        """Add a picture (checked by its content) to a news item."""
        from visibility.media.intake import new_image

        self.store.get_news(news_id)
        stored = self.image_files.add(data, name=name)
        image = new_image(stored, alt=alt, caption=None, source=name)
        added = self.store.add_images(news_id, [image])
        if not added:
            raise UserError(f"news item {news_id} has this picture already")
        return added[0]

    def _feed_home(self, location: str, from_channel: str | None) -> frozenset[str]:
        """Website channels a feed's items must not be published back to."""
        if from_channel is not None:
            return frozenset({self.config.channel(from_channel).name})
        host = host_of(location)
        return frozenset(
            c.name
            for c in self.config.channels
            if c.post_kind == "website"
            and host_of(str(c.options.get("base_url") or c.options.get("url") or "")) == host
        )

    def import_feed(
        self,
        location: str,
        *,
        from_channel: str | None = None,
        language: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> FeedImport:
        """Add every entry of an RSS/Atom feed that is not stored yet, oldest first."""
        from visibility.news.feed import fetch_feed, parse_feed

        data = fetch_feed(location)
        entries, skipped = parse_feed(
            data,
            source=location,
            language=language_code(language),
            acronyms=self._acronyms,
            proper_names=self._proper_names,
        )
        home = self._feed_home(location, from_channel)
        added: list[Added] = []
        known = 0
        for number, entry in enumerate(entries, 1):
            ours = entry.link is not None and self.store.post_with_url(entry.link) is not None
            if ours or self.store.find_same(entry.news, feed_guid=entry.guid) is not None:
                # Already here, or an article this tool published itself.
                known += 1
            else:
                result = self._add(
                    entry.news,
                    source=entry.link or location,
                    feed_guid=entry.guid,
                    skip_channels=home,
                )
                if result.created:
                    added.append(result)
                else:
                    known += 1
            if progress is not None:
                progress(number, len(entries))
        return FeedImport(added=added, known=known, skipped=skipped)
