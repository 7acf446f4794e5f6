"""What staff do with news items and posts: the rules the CLI and API share.

``Visibility`` ties the settings, the channel configuration and the store
together. Its methods check content and channel rules, then hand the state
change to the store, which guards it in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from sqlalchemy import Engine

from visibility.config.channels import AppConfig, Channel, load_channels
from visibility.config.settings import Settings, load_settings
from visibility.config.slots import local_to_utc, slot_times
from visibility.derive.limits import LINK_PLACEHOLDER, check_post
from visibility.derive.render import derive_posts
from visibility.errors import UserError
from visibility.news.casing import DEFAULT_ACRONYMS, DEFAULT_PROPER_NAMES
from visibility.news.model import ParsedNews, SourceFormat
from visibility.news.parse import parse_news, read_news_file
from visibility.queue import db
from visibility.queue.states import PostStatus
from visibility.queue.store import NewsView, PostView, Store
from visibility.queue.types import utcnow

SAMPLES = Path(__file__).parent / "samples"
DEMO_SAMPLE = SAMPLES / "lajm-qendra-burimore-sq.txt"
# How far ahead to look for a free slot before giving up: a year of weeks.
_SLOT_SEARCH_LIMIT = 2_000


@dataclass(frozen=True)
class Added:
    news: NewsView
    created: bool
    posts: list[PostView]


def parse_when(text: str, tz_name: str) -> datetime:
    """Read ``2026-12-01 09:30`` as wall time in ``tz_name``, or an ISO time with offset."""
    from zoneinfo import ZoneInfo

    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise UserError(
            f"cannot read the time {text!r}: write it as 2026-12-01 09:30 "
            f"(in the channel's timezone, {tz_name}) or with an offset, 2026-12-01T09:30+01:00"
        ) from None
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    return local_to_utc(value.date(), value.time(), ZoneInfo(tz_name))


class Visibility:
    """The application: settings, channels and the queue store."""

    def __init__(self, settings: Settings, config: AppConfig, engine: Engine) -> None:
        self.settings = settings
        self.config = config
        self.engine = engine
        self.store = Store(engine)

    @classmethod
    def open(cls, settings: Settings | None = None, *, migrate: bool = True) -> Visibility:
        """Load configuration, connect, bring the schema up to date and sync channels."""
        settings = settings or load_settings()
        config = load_channels(settings.resolved_channels_file, secret_dirs=settings.secret_dirs())
        engine = db.make_engine(settings.db_url)
        if migrate:
            db.upgrade(engine)
        app = cls(settings, config, engine)
        app.store.sync_channels(config.channels)
        return app

    def close(self) -> None:
        self.engine.dispose()

    # -- news -------------------------------------------------------------

    @property
    def _acronyms(self) -> tuple[str, ...]:
        return (*DEFAULT_ACRONYMS, *self.config.organisation.acronyms)

    @property
    def _proper_names(self) -> tuple[str, ...]:
        return (*DEFAULT_PROPER_NAMES, *self.config.organisation.proper_names)

    def add_news_file(self, path: Path, *, language: str | None = None) -> Added:
        parsed = read_news_file(
            path,
            max_bytes=self.settings.max_news_bytes,
            language=language,
            acronyms=self._acronyms,
            proper_names=self._proper_names,
        )
        return self._add(parsed, source=str(path))

    def add_news_text(
        self,
        text: str,
        *,
        source: str = "<text>",
        fmt: SourceFormat | None = "text",
        language: str | None = None,
        canonical_url: str | None = None,
    ) -> Added:
        if len(text.encode("utf-8")) > self.settings.max_news_bytes:
            raise UserError(
                f"{source} is larger than {self.settings.max_news_bytes} bytes; "
                "set VISIBILITY_MAX_NEWS_BYTES to allow more"
            )
        parsed = parse_news(
            text,
            source=source,
            fmt=fmt,
            language=language,
            canonical_url=canonical_url,
            acronyms=self._acronyms,
            proper_names=self._proper_names,
        )
        return self._add(parsed, source=source)

    def _add(self, parsed: ParsedNews, *, source: str) -> Added:
        # Derive before storing anything, so a broken template leaves no
        # half-added news item behind; the item and its drafts are stored in
        # one transaction.
        drafts = derive_posts(parsed, self.config.channels, self.config.organisation)
        news, created, posts = self.store.add_news(parsed, source=source, drafts=drafts)
        return Added(news=news, created=created, posts=posts)

    # -- posts ------------------------------------------------------------

    def channel_of(self, post: PostView) -> Channel:
        return self.config.channel(post.channel)

    def _required_link(self, post: PostView) -> str | None:
        if post.kind == "website":
            return None
        if post.link_post_id is not None:
            return LINK_PLACEHOLDER
        return post.link_url

    def check(self, post: PostView) -> None:
        check_post(
            post_id=post.id,
            kind=post.kind,
            body=post.body,
            title=post.title,
            required_link=self._required_link(post),
        )

    def edit(
        self,
        post_id: int,
        *,
        body: str | None = None,
        title: str | None = None,
        excerpt: str | None = None,
    ) -> PostView:
        if body is not None and not body.strip():
            raise UserError(f"post {post_id}: the new text is empty; nothing was changed")
        return self.store.edit(post_id, body=body, title=title, excerpt=excerpt)

    def approve(self, post_id: int, *, by: str) -> PostView:
        if not by.strip():
            raise UserError("say who approves: --by NAME")
        self.check(self.store.get_post(post_id))
        return self.store.approve(post_id, by=by.strip())

    def schedule(
        self,
        post_id: int,
        *,
        at: datetime | str | None = None,
        mode: Literal["at", "next-slot", "now"] = "at",
        now: datetime | None = None,
    ) -> PostView:
        post = self.store.get_post(post_id)
        channel = self.channel_of(post)
        now = now or utcnow()
        if mode == "now":
            when = now
        elif mode == "next-slot":
            when = self.next_free_slot(post, now=now)
        else:
            if at is None:
                raise UserError("say when: --at '2026-12-01 09:30', --next-slot or --now")
            when = parse_when(at, channel.timezone) if isinstance(at, str) else at
            if when.tzinfo is None:
                raise UserError("the time must carry a timezone")
        return self.store.schedule(post_id, at=when)

    def next_free_slot(self, post: PostView, *, now: datetime) -> datetime:
        channel = self.channel_of(post)
        if not channel.slots:
            raise UserError(
                f"channel {channel.name!r} has no posting slots; add slots to it in the "
                "channels file or schedule with --at or --now"
            )
        after = now
        if post.link_post_id is not None:
            article = self.store.get_post(post.link_post_id)
            if article.scheduled_at is not None and article.scheduled_at > after:
                # Social posts point at the article: no earlier than it.
                after = article.scheduled_at - timedelta(microseconds=1)
        taken = self.store.occupied_times(channel.name, since=after)
        if post.scheduled_at is not None:
            taken.discard(post.scheduled_at)  # a reschedule may keep its own slot
        for count, instant in enumerate(slot_times(channel.slots, channel.tz, after)):
            if instant not in taken:
                return instant
            if count > _SLOT_SEARCH_LIMIT:
                break
        raise UserError(f"channel {channel.name!r} has no free slot in the coming year")

    def cancel(self, post_id: int) -> PostView:
        return self.store.cancel(post_id)

    def retry(self, post_id: int) -> PostView:
        return self.store.retry(post_id)

    def waiting_reason(self, post: PostView) -> str | None:
        """Why a scheduled post is not going out yet, in words."""
        if post.status is not PostStatus.SCHEDULED or post.link_post_id is None:
            return None
        article = self.store.get_post(post.link_post_id)
        if article.status is PostStatus.PUBLISHED:
            return None
        return f"waits for its article (post {article.id}, {article.status.value}) to be published"
