"""What the store returns: frozen views of rows, never live ORM objects.

Callers (CLI, web, scheduler, reports) read these; only the store's modules
make them, from rows of ``visibility.queue.models``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import RowMapping

from visibility.queue.models import ChannelAccount, NewsItem, Post
from visibility.queue.states import PostStatus


@dataclass(frozen=True)
class Draft:
    """A derived post, not stored yet."""

    channel: str
    kind: str
    body: str
    title: str | None = None
    excerpt: str | None = None
    link_url: str | None = None
    links_to_article: bool = False  # wait for this news item's website post and take its URL
    # Whose article: the website channel's name (derivation resolves the default).
    link_from: str | None = None
    # How many of the news item's pictures it carries at first (the platform's share).
    max_images: int = 0
    author: str | None = None
    # Pictures only this draft carries, after its share of the item's (a grant's emblem).
    extra_images: tuple[NewImage, ...] = ()


@dataclass(frozen=True)
class NewsView:
    id: int
    title: str
    social_title: str
    lead: str
    paragraphs: tuple[str, ...]
    body_html: str
    language: str
    source_format: str
    source: str
    fingerprint: str
    dateline_date: date | None
    dateline_place: str | None
    contact_email: str | None
    canonical_url: str | None
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class ImageView:
    """A picture of a news item, as stored."""

    id: int
    news_item_id: int
    position: int
    sha256: str
    mime_type: str
    width: int
    height: int
    size: int
    alt: str | None
    caption: str | None
    source: str | None
    role: str | None = None  # "emblem": a donor's emblem that a grant asks for

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class NewImage:
    """A checked picture file to attach to a news item."""

    sha256: str
    mime_type: str
    width: int
    height: int
    size: int
    alt: str | None = None
    caption: str | None = None
    source: str | None = None
    role: str | None = None  # "emblem": a grant's, carried only by posts that must


@dataclass(frozen=True)
class Sent:
    """Exactly what went to the platform when a post was published.

    ``body`` has the article's URL in place of ``{link}``; ``parts`` are the
    texts as the platform received them when the adapter split the body (an
    X thread), else empty; ``media`` the pictures attached, in order, each as
    ``"<sha256 of the file sent> <its alt text>"``.
    """

    body: str
    title: str | None = None
    excerpt: str | None = None
    link: str | None = None
    parts: tuple[str, ...] = ()
    media: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> Sent | None:
        if not text:
            return None
        data = json.loads(text)
        return cls(
            body=data["body"],
            title=data.get("title"),
            excerpt=data.get("excerpt"),
            link=data.get("link"),
            parts=tuple(data.get("parts", ())),
            media=tuple(data.get("media", ())),
        )


@dataclass(frozen=True)
class PostView:
    """A post with its channel's name and kind, as the CLI and API show it."""

    id: int
    news_item_id: int
    channel: str
    channel_kind: str
    kind: str
    status: PostStatus
    title: str | None
    body: str
    excerpt: str | None
    link_url: str | None
    link_post_id: int | None
    scheduled_at: datetime | None
    author: str | None
    approved_by: str | None
    approved_at: datetime | None
    attempts: int
    needs_check: bool
    next_snapshot_at: datetime | None
    snapshot_failures: int
    external_id: str | None
    external_url: str | None
    published_at: datetime | None
    last_error: str | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    engagement_note: str | None = None
    # What went to the platform; None until published (and for posts
    # published before this was recorded).
    sent: Sent | None = None
    # Sent without an element its grants require: the approver's reason.
    override_reason: str | None = None
    override_by: str | None = None
    override_at: datetime | None = None
    # Sent back by an approver and not yet approved or resubmitted: to whom, when.
    returned_to: str | None = None
    returned_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class CommentView:
    """A line of a post's review trail (``kind``: returned, resubmitted or note)."""

    id: int
    post_id: int
    at: datetime
    by: str
    kind: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class AttemptView:
    id: int
    post_id: int
    worker: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str | None
    external_id: str | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class SnapshotView:
    id: int
    post_id: int
    taken_at: datetime
    impressions: int | None
    reactions: int | None
    comments: int | None
    shares: int | None
    clicks: int | None
    raw: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class Claim:
    """A post this worker now holds a lease on, ready for its adapter."""

    post: PostView
    attempt_id: int
    link: str | None  # the URL to put in place of {link}, when the post carries one
    # Set when an earlier attempt may have reached the channel: look for the
    # post there (published since this time) before sending it again.
    check_since: datetime | None = None
    images: tuple[ImageView, ...] = ()  # the pictures it carries, in order


@dataclass(frozen=True)
class Success:
    """A claimed post the channel now has, to be recorded as published."""

    claim: Claim
    external_id: str
    url: str | None
    at: datetime  # when it was published
    outcome: str = "published"  # "found": a check found it on the channel
    next_snapshot_at: datetime | None = None  # when its engagement is first read
    sent: Sent | None = None  # what went to the platform


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, datetime | date):
            out[key] = value.isoformat()
        elif isinstance(value, tuple):
            out[key] = list(value)
        elif isinstance(value, PostStatus):
            out[key] = value.value
        else:
            out[key] = value
    return out


def news_view(row: NewsItem) -> NewsView:
    assert row.id is not None
    return NewsView(
        id=row.id,
        title=row.title,
        social_title=row.social_title,
        lead=row.lead,
        paragraphs=tuple(json.loads(row.paragraphs_json)),
        body_html=row.body_html,
        language=row.language,
        source_format=row.source_format,
        source=row.source,
        fingerprint=row.fingerprint,
        dateline_date=row.dateline_date,
        dateline_place=row.dateline_place,
        contact_email=row.contact_email,
        canonical_url=row.canonical_url,
        created_at=row.created_at,
    )


#: PostView fields taken as they are from the post's columns.
_POST_FIELDS = tuple(
    f.name for f in fields(PostView) if f.name not in ("channel", "channel_kind", "status", "sent")
)


def post_view(post: Post, channel: ChannelAccount) -> PostView:
    assert post.id is not None
    return PostView(
        channel=channel.name,
        channel_kind=channel.kind,
        status=PostStatus(post.status),
        sent=Sent.from_json(post.sent_json),
        **{name: getattr(post, name) for name in _POST_FIELDS},
    )


def post_view_of_row(row: RowMapping, channel: str, channel_kind: str) -> PostView:
    """The same from a Core row of the post's columns."""
    return PostView(
        channel=channel,
        channel_kind=channel_kind,
        status=PostStatus(row["status"]),
        sent=Sent.from_json(row["sent_json"]),
        **{name: row[name] for name in _POST_FIELDS},
    )


def image_view_of_row(row: RowMapping) -> ImageView:
    """An image view from a Core row of the picture's columns."""
    return ImageView(**{f.name: row[f.name] for f in fields(ImageView)})
