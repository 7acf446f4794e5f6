"""The queue's tables. All reads and writes go through ``visibility.queue.store``."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from visibility.queue.states import PostStatus
from visibility.queue.types import UTCDateTime, utcnow


class NewsItem(SQLModel, table=True):
    __tablename__ = "news_item"
    __table_args__ = (Index("uq_news_item_feed_guid", "feed_guid", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(max_length=64, unique=True)
    title: str = Field(sa_type=Text)
    social_title: str = Field(sa_type=Text)
    lead: str = Field(sa_type=Text)
    paragraphs_json: str = Field(sa_type=Text)
    body_html: str = Field(sa_type=Text)
    language: str = Field(max_length=8)
    source_format: str = Field(max_length=16)
    source: str = Field(sa_type=Text)
    dateline_date: date | None = None
    dateline_place: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=320)
    canonical_url: str | None = Field(default=None, sa_type=Text)
    # For items read from a feed: the entry's id, which de-duplicates re-reads
    # even when the entry's text was edited since.
    feed_guid: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChannelAccount(SQLModel, table=True):
    """A channel account as last seen in the configuration.

    Rows are kept when an account is removed from the configuration so that
    history (posts, attempts) keeps its channel; ``configured`` says whether
    it is still there.
    """

    __tablename__ = "channel_account"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=16)
    post_kind: str = Field(max_length=16)
    enabled: bool = True
    configured: bool = True
    attention: str | None = Field(default=None, sa_type=Text)
    # Pacing, copied from the configuration so every worker applies the same:
    # at least min_gap_seconds between two posts, at most max_posts per window.
    min_gap_seconds: int = 0
    max_posts: int | None = None
    window_seconds: int = 86_400
    # Pacing state, shared by all workers through this row.
    next_send_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    window_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    window_count: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Post(SQLModel, table=True):
    """One visibility post: a news item's form for one channel account.

    ``body`` is HTML for website posts and plain text for social posts. A
    social post whose ``link_post_id`` is set carries the ``{link}``
    placeholder and waits until that website post is published; its URL then
    replaces the placeholder.
    """

    __tablename__ = "post"
    __table_args__ = (
        UniqueConstraint("news_item_id", "channel_id", name="uq_post_news_channel"),
        Index("ix_post_due", "status", "scheduled_at"),
        # "Returned to me": one person's returned drafts, newest first.
        Index("ix_post_returned", "returned_to", "returned_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    news_item_id: int = Field(foreign_key="news_item.id", index=True)
    channel_id: int = Field(foreign_key="channel_account.id", index=True)
    kind: str = Field(max_length=16)
    status: str = Field(default=PostStatus.DRAFT.value, max_length=16)
    title: str | None = Field(default=None, sa_type=Text)
    body: str = Field(sa_type=Text)
    excerpt: str | None = Field(default=None, sa_type=Text)
    link_url: str | None = Field(default=None, sa_type=Text)
    link_post_id: int | None = Field(default=None, foreign_key="post.id")
    scheduled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Who wrote the text as it stands (derivation: who added the item; then
    # the last editor); None when unknown (the CLI). Approval of one's own
    # post is refused unless the setting allows it.
    author: str | None = Field(default=None, max_length=200)
    approved_by: str | None = Field(default=None, max_length=200)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    # Set when an earlier attempt may have reached the channel (a worker died
    # mid-publish, a timeout): the channel is asked before anything is re-sent.
    needs_check: bool = False
    external_id: str | None = Field(default=None, max_length=200)
    external_url: str | None = Field(default=None, sa_type=Text)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    # When the next engagement snapshot of this published post is due; None
    # when all its ages are taken (or the channel no longer has the post).
    next_snapshot_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    snapshot_failures: int = 0
    # Why readings stopped early (the platform left the post out of its
    # answer), for staff; None while readings go on or ended at the last age.
    engagement_note: str | None = Field(default=None, sa_type=Text)
    # Exactly what went to the platform (JSON: title, body with the link in
    # place, excerpt, link, media), recorded with the publish; ``body`` keeps
    # the template text with its {link} placeholder.
    sent_json: str | None = Field(default=None, sa_type=Text)
    # An approver let the post go without an element its grants require, and
    # said why (also in the audit log); an edit clears it.
    override_reason: str | None = Field(default=None, sa_type=Text)
    override_by: str | None = Field(default=None, max_length=200)
    override_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Sent back by an approver (the comment is in post_comment): to whom (the
    # author then) and when; both cleared when it is approved or resubmitted.
    returned_to: str | None = Field(default=None, max_length=200)
    returned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PostComment(SQLModel, table=True):
    """A line of a post's review trail: sent back with a comment, resubmitted, or a note.

    Rows are only added, never changed: the trail is what was said, in order.
    """

    __tablename__ = "post_comment"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    by: str = Field(max_length=200)
    kind: str = Field(max_length=16)  # returned | resubmitted | note
    text: str = Field(sa_type=Text)


class NewsImage(SQLModel, table=True):
    """A picture of a news item: its file in the image store (by content hash), its
    text alternative and caption. Posts choose among their item's pictures."""

    __tablename__ = "news_image"
    __table_args__ = (UniqueConstraint("news_item_id", "sha256", name="uq_news_image_file"),)

    id: int | None = Field(default=None, primary_key=True)
    news_item_id: int = Field(foreign_key="news_item.id", index=True)
    position: int = 0
    sha256: str = Field(max_length=64)
    mime_type: str = Field(max_length=32)
    width: int
    height: int
    size: int
    alt: str | None = Field(default=None, sa_type=Text)
    caption: str | None = Field(default=None, sa_type=Text)
    source: str | None = Field(default=None, sa_type=Text)  # where it came from, for staff
    # "emblem": a donor's emblem a grant asks for; posts do not take it by default.
    role: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PostImage(SQLModel, table=True):
    """A picture a post carries, in the order it is shown."""

    __tablename__ = "post_image"

    post_id: int = Field(foreign_key="post.id", primary_key=True)
    image_id: int = Field(foreign_key="news_image.id", primary_key=True)
    position: int = 0


class EngagementSnapshot(SQLModel, table=True):
    """A published post's figures at one moment: one row of its time series.

    A figure the platform does not give is NULL, not 0. ``raw_json`` keeps the
    platform's own answer.
    """

    __tablename__ = "engagement_snapshot"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    taken_at: datetime = Field(sa_type=UTCDateTime)
    impressions: int | None = None
    reactions: int | None = None
    comments: int | None = None
    shares: int | None = None
    clicks: int | None = None
    raw_json: str = Field(default="{}", sa_type=Text)


class User(SQLModel, table=True):
    """A person who signs in to the web interface."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, unique=True)
    display_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=500)
    role: str = Field(max_length=16)  # editor | approver | admin
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Stored in each session at sign-in; raising it ends every session at once.
    session_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The pages' language the person chose (en, sq, sr-Latn, sr-Cyrl); None: the browser's.
    language: str | None = Field(default=None, max_length=8)
    # Where review notices go (a post sent back, a post waiting for approval); optional.
    email: str | None = Field(default=None, max_length=320)


class ApiToken(SQLModel, table=True):
    """A token for automation, scoped to a role no higher than its owner's.

    Only a hash is stored: the token itself is shown once, when created.
    """

    __tablename__ = "api_token"
    # Revoked tokens keep their names, so only active ones must differ.
    __table_args__ = (
        Index(
            "uq_api_token_user_active_name",
            "user_id",
            "name",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """Who did what, when: every action taken through the web interface or API."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=100)
    target: str | None = Field(default=None, max_length=200)
    detail: str | None = Field(default=None, sa_type=Text)


class AlertSent(SQLModel, table=True):
    """An alert already sent, by cause: every cause is told once, whatever the worker."""

    __tablename__ = "alert_sent"

    cause: str = Field(max_length=300, primary_key=True)
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Worker(SQLModel, table=True):
    """A running ``visibility run`` process, as last heard from."""

    __tablename__ = "worker"

    name: str = Field(max_length=200, primary_key=True)
    host: str = Field(max_length=200)
    pid: int
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PublishAttempt(SQLModel, table=True):
    """One try at publishing a post, written before the adapter is called."""

    __tablename__ = "publish_attempt"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    worker: str = Field(max_length=200)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=16)
    external_id: str | None = Field(default=None, max_length=200)
    error: str | None = Field(default=None, sa_type=Text)


__all__ = [
    "AlertSent",
    "ApiToken",
    "AuditEntry",
    "ChannelAccount",
    "EngagementSnapshot",
    "NewsItem",
    "Post",
    "PostComment",
    "PublishAttempt",
    "User",
    "Worker",
]


class ChannelNote(SQLModel, table=True):
    """Something a channel's platform told us that every worker should remember.

    For example an insights metric Graph refused: without this row each worker
    start would spend calls finding it out again. ``learnt_at`` lets the
    adapter ask again after a long while (the platform may have changed).
    """

    __tablename__ = "channel_note"

    channel: str = Field(max_length=100, primary_key=True)
    key: str = Field(max_length=200, primary_key=True)
    value: str = Field(sa_type=Text)
    learnt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FundingGrant(SQLModel, table=True):
    """A grant and its donor's visibility rules (``visibility.grants.model.Grant``).

    Declared in the channels file or added on the web. ``file_hash`` names the
    file's entry as last applied: the file re-applies it only when that
    changes, so an admin's edit lasts until the file's entry is edited.
    (Not "grant": that is an SQL keyword.)
    """

    __tablename__ = "funding_grant"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    donor: str = Field(max_length=32)
    donor_name: str = Field(max_length=200)
    title: str = Field(sa_type=Text)
    contract: str | None = Field(default=None, max_length=100)
    starts_on: date
    ends_on: date
    emblem_sha256: str | None = Field(default=None, max_length=64)
    rules_json: str = Field(default="{}", sa_type=Text)
    source: str = Field(default="file", max_length=8)  # file | web
    file_hash: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str | None = Field(default=None, max_length=200)


class NewsGrant(SQLModel, table=True):
    """A news item published under a grant (an item may belong to several)."""

    __tablename__ = "news_grant"

    news_item_id: int = Field(foreign_key="news_item.id", primary_key=True)
    grant_id: int = Field(foreign_key="funding_grant.id", primary_key=True, index=True)
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    added_by: str | None = Field(default=None, max_length=200)
