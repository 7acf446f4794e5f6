"""All queue SQL lives here.

Status changes go through ``_move``: one ``UPDATE ... WHERE id = :id AND
status IN (:sources)`` per transition, so the database decides which of two
racing actors wins, and the loser gets a message naming the post's real
state. Nothing outside this module writes to the queue tables.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Table,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel, col, select

from visibility.config.channels import Channel
from visibility.errors import NotFoundError, TransitionError, VisibilityError
from visibility.news.model import ParsedNews
from visibility.queue import states
from visibility.queue.models import (
    AlertSent,
    ChannelAccount,
    EngagementSnapshot,
    NewsItem,
    Post,
    PublishAttempt,
    Worker,
)
from visibility.queue.states import Move, PostStatus
from visibility.queue.types import utcnow


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
    author: str | None = None


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


@dataclass(frozen=True)
class Success:
    """A claimed post the channel now has, to be recorded as published."""

    claim: Claim
    external_id: str
    url: str | None
    at: datetime  # when it was published
    outcome: str = "published"  # "found": a check found it on the channel
    next_snapshot_at: datetime | None = None  # when its engagement is first read


class _LeaseLost(Exception):
    """A batch met a post this worker no longer holds: undo the batch."""


_MAX_ID = 2**63 - 1  # the widest integer column either database holds


def _known_id(value: int, what: str) -> int:
    """An id no row can have is simply not found (and must not overflow the driver)."""
    if not 0 < value <= _MAX_ID:
        command = "news" if what == "news item" else "posts"
        raise NotFoundError(f"no {what} {value}; `visibility {command} list` shows the ids")
    return value


def _posts_with_channel() -> Any:
    """Posts joined with their channel account: what every PostView is made from."""
    return select(Post, ChannelAccount).join(
        ChannelAccount, col(ChannelAccount.id) == col(Post.channel_id)
    )


def _lock_key(name: str) -> int:
    """A stable 63-bit key for a PostgreSQL advisory lock."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") >> 1


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


def _news_view(row: NewsItem) -> NewsView:
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
    f.name for f in fields(PostView) if f.name not in ("channel", "channel_kind", "status")
)


def _post_view(post: Post, channel: ChannelAccount) -> PostView:
    assert post.id is not None
    return PostView(
        channel=channel.name,
        channel_kind=channel.kind,
        status=PostStatus(post.status),
        **{name: getattr(post, name) for name in _POST_FIELDS},
    )


def _post_view_of_row(row: RowMapping, channel: str, channel_kind: str) -> PostView:
    """The same from a Core row of the post's columns."""
    return PostView(
        channel=channel,
        channel_kind=channel_kind,
        status=PostStatus(row["status"]),
        **{name: row[name] for name in _POST_FIELDS},
    )


def _refusal(db: Session | Connection, move: Move, post_id: int) -> VisibilityError:
    """Why a guarded move found no row to change, in words."""
    current = db.execute(select(col(Post.status)).where(col(Post.id) == post_id)).scalar()
    if current is None:
        return NotFoundError(f"no post {post_id}; `visibility posts list` shows the ids")
    status = PostStatus(current)
    if move.allowed_from(status):
        return TransitionError(f"post {post_id} changed while {move.verb}; try again")
    return TransitionError(move.refusal(post_id, status))


def _ready_filter() -> Any:
    """Scheduled posts that may go out once their time comes: their article (if they
    carry its link) is published and their channel is not held for attention."""
    article = aliased(Post)
    link_ready = or_(
        col(Post.link_post_id).is_(None),
        exists().where(
            and_(
                col(article.id) == col(Post.link_post_id),
                col(article.status) == PostStatus.PUBLISHED.value,
            )
        ),
    )
    held = select(col(ChannelAccount.id)).where(col(ChannelAccount.attention).is_not(None))
    return and_(
        col(Post.status) == PostStatus.SCHEDULED.value,
        link_ready,
        col(Post.channel_id).not_in(held),
    )


_POST: Table = SQLModel.metadata.tables["post"]
_ACCOUNT: Table = SQLModel.metadata.tables["channel_account"]
_ATTEMPT: Table = SQLModel.metadata.tables["publish_attempt"]


def _sole_source(move: Move) -> str:
    (source,) = move.sources
    return source.value


def _candidates_statement(dialect: str) -> Any:
    stmt = (
        select(col(Post.id), col(Post.channel_id), col(Post.kind))
        .where(_ready_filter(), col(Post.scheduled_at) <= bindparam("now"))
        .order_by(col(Post.scheduled_at), col(Post.id))
        .limit(bindparam("limit"))
    )
    if dialect == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Post)
    return stmt


def _ids() -> Any:
    return bindparam("ids", expanding=True)


def _extend_leases_statement(dialect: str) -> Any:
    held = and_(
        _POST.c.id.in_(_ids()),
        _POST.c.lease_owner == bindparam("worker"),
        _POST.c.status == PostStatus.PUBLISHING.value,
    )
    if dialect == "postgresql":
        # Rows locked right now are being recorded (this worker's group commit)
        # or recovered: skip them rather than wait, so a heartbeat can never
        # deadlock with a batch that locks the same rows in another order.
        held = _POST.c.id.in_(sa_select(_POST.c.id).where(held).with_for_update(skip_locked=True))
    return (
        update(_POST).where(held).values(lease_expires_at=bindparam("until")).returning(_POST.c.id)
    )


#: The publishing path's statements, by name; ``Store._hot`` builds each once.
_HOT_STATEMENTS: dict[str, Callable[[str], Any]] = {
    "candidates": _candidates_statement,
    "accounts": lambda _: sa_select(
        _ACCOUNT.c.id,
        _ACCOUNT.c.name,
        _ACCOUNT.c.kind,
        _ACCOUNT.c.min_gap_seconds,
        _ACCOUNT.c.max_posts,
        _ACCOUNT.c.next_send_at,
    ),
    "pacing_of": lambda _: sa_select(_ACCOUNT).where(_ACCOUNT.c.id == bindparam("id")),
    "platform_lock": lambda _: sa_select(
        func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger))
    ),
    "platform_in_flight": lambda _: (
        sa_select(func.count())
        .select_from(_POST)
        .where(_POST.c.status == PostStatus.PUBLISHING.value, _POST.c.kind == bindparam("kind"))
    ),
    "claim": lambda _: (
        update(_POST)
        .where(_POST.c.id.in_(_ids()), _POST.c.status == _sole_source(states.CLAIM))
        .values(
            status=states.CLAIM.target.value,
            lease_owner=bindparam("worker"),
            lease_expires_at=bindparam("until"),
            attempts=_POST.c.attempts + 1,
            updated_at=bindparam("now"),
        )
        .returning(*_POST.c)
    ),
    "first_attempts": lambda _: (
        sa_select(_ATTEMPT.c.post_id, func.min(_ATTEMPT.c.started_at))
        .where(_ATTEMPT.c.post_id.in_(_ids()))
        .group_by(_ATTEMPT.c.post_id)
    ),
    "urls": lambda _: sa_select(_POST.c.id, _POST.c.external_url).where(_POST.c.id.in_(_ids())),
    "open_attempts": lambda _: insert(_ATTEMPT).returning(
        _ATTEMPT.c.id, _ATTEMPT.c.post_id, sort_by_parameter_order=True
    ),
    "extend_leases": _extend_leases_statement,
    # Executed with one parameter set per post: a batch of outcomes in one go.
    "succeed": lambda _: (
        update(_POST)
        .where(
            _POST.c.id == bindparam("b_id"),
            _POST.c.status == _sole_source(states.SUCCEED),
            _POST.c.lease_owner == bindparam("b_worker"),
        )
        .values(
            status=states.SUCCEED.target.value,
            external_id=bindparam("b_external_id"),
            external_url=bindparam("b_url"),
            published_at=bindparam("b_at"),
            next_snapshot_at=bindparam("b_next"),
            updated_at=bindparam("b_now"),
            lease_owner=None,
            lease_expires_at=None,
            last_error=None,
            needs_check=False,
        )
    ),
    "finish_attempt": lambda _: (
        update(_ATTEMPT)
        .where(_ATTEMPT.c.id == bindparam("b_id"))
        .values(
            finished_at=bindparam("b_now"),
            outcome=bindparam("b_outcome"),
            external_id=bindparam("b_external_id"),
            error=None,
        )
    ),
}


class Store:
    """The queue's single gateway to the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._prepared: dict[str, Any] = {}

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    # -- channel accounts -------------------------------------------------

    def sync_channels(self, channels: Iterable[Channel]) -> None:
        """Record the configured accounts; keep rows of removed ones for their history."""
        now = utcnow()
        channels = list(channels)
        names = {c.name for c in channels}
        with self._session() as session:
            existing = {a.name: a for a in session.exec(select(ChannelAccount))}
            for channel in channels:
                wanted: dict[str, Any] = {
                    "kind": channel.kind,
                    "post_kind": channel.post_kind,
                    "enabled": channel.enabled,
                    "configured": True,
                    "min_gap_seconds": channel.pacing.min_gap_seconds,
                    "max_posts": channel.pacing.max_posts,
                    "window_seconds": channel.pacing.window_seconds,
                }
                account = existing.get(channel.name)
                if account is None:
                    session.add(ChannelAccount.model_validate({"name": channel.name, **wanted}))
                elif any(getattr(account, k) != v for k, v in wanted.items()):
                    for key, value in wanted.items():
                        setattr(account, key, value)
                    account.updated_at = now
            for name, account in existing.items():
                if name not in names and account.configured:
                    account.configured = False
                    account.updated_at = now

    def pause_channel(self, channel: str, *, until: datetime) -> None:
        """No post goes to ``channel`` before ``until`` (its rate limit resets then)."""
        with self._session() as session:
            session.execute(
                update(ChannelAccount)
                .where(col(ChannelAccount.name) == channel)
                .where(
                    or_(
                        col(ChannelAccount.next_send_at).is_(None),
                        col(ChannelAccount.next_send_at) < until,
                    )
                )
                .values(next_send_at=until)
            )

    def set_attention(self, channel: str, reason: str) -> None:
        """Hold a channel's queue until its credentials work again (posts stay scheduled)."""
        self._set_attention(channel, reason)

    def clear_attention(self, channel: str) -> None:
        self._set_attention(channel, None)

    def _set_attention(self, channel: str, reason: str | None) -> None:
        with self._session() as session:
            done = session.execute(
                update(ChannelAccount)
                .where(col(ChannelAccount.name) == channel)
                .values(attention=reason, updated_at=utcnow())
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFoundError(f"no channel account {channel!r} in the database")

    def attention(self) -> dict[str, str]:
        """Channels held for attention, with the reason."""
        with self._session() as session:
            rows = session.exec(
                select(col(ChannelAccount.name), col(ChannelAccount.attention)).where(
                    col(ChannelAccount.attention).is_not(None)
                )
            ).all()
            return {name: reason for name, reason in rows if reason is not None}

    def channel_accounts(self) -> list[ChannelAccount]:
        with self._session() as session:
            return list(session.exec(select(ChannelAccount).order_by(col(ChannelAccount.name))))

    # -- news items -------------------------------------------------------

    @staticmethod
    def _same_item(news: ParsedNews, feed_guid: str | None) -> Any:
        same = [col(NewsItem.fingerprint) == news.fingerprint]
        if feed_guid is not None:
            same.append(col(NewsItem.feed_guid) == feed_guid)
        if news.canonical_url:
            same.append(col(NewsItem.canonical_url) == news.canonical_url)
        return or_(*same)

    def find_same(self, news: ParsedNews, *, feed_guid: str | None = None) -> NewsView | None:
        """The stored item with this content, feed id or canonical URL, if any."""
        with self._session() as session:
            row = session.exec(
                select(NewsItem).where(self._same_item(news, feed_guid)).order_by(col(NewsItem.id))
            ).first()
            return None if row is None else _news_view(row)

    def post_with_url(self, url: str) -> PostView | None:
        """The published post whose channel URL this is (our own article in a feed)."""
        with self._session() as session:
            row = session.exec(_posts_with_channel().where(col(Post.external_url) == url)).first()
            return None if row is None else _post_view(row[0], row[1])

    def add_news(
        self,
        news: ParsedNews,
        *,
        source: str,
        drafts: Sequence[Draft] = (),
        feed_guid: str | None = None,
    ) -> tuple[NewsView, bool, list[PostView]]:
        """Store a news item and its drafts in one transaction.

        An item is the same as a stored one when its content (fingerprint),
        its feed entry id or its canonical URL match. Returns the item, whether
        it is new, and its posts. Re-adding an item only adds drafts for
        channels that have none yet.
        """
        same = self._same_item(news, feed_guid)
        with self._session() as session:
            row = session.exec(select(NewsItem).where(same).order_by(col(NewsItem.id))).first()
            created = row is None
            if row is None:
                row = NewsItem(
                    fingerprint=news.fingerprint,
                    title=news.title,
                    social_title=news.social_title,
                    lead=news.lead,
                    paragraphs_json=json.dumps(list(news.paragraphs), ensure_ascii=False),
                    body_html=news.body_html,
                    language=news.language,
                    source_format=news.source_format,
                    source=source,
                    dateline_date=news.dateline_date,
                    dateline_place=news.dateline_place,
                    contact_email=news.contact_email,
                    canonical_url=news.canonical_url,
                    feed_guid=feed_guid,
                )
                try:
                    with session.begin_nested():
                        session.add(row)
                except IntegrityError:
                    # Another process stored the same item a moment ago.
                    created = False
                    row = session.exec(
                        select(NewsItem).where(same).order_by(col(NewsItem.id))
                    ).first()
                    assert row is not None
            assert row.id is not None
            view = _news_view(row)
            post_ids = self._add_drafts(session, row.id, drafts)
        return view, created, [self.get_post(i) for i in post_ids]

    def find_news(self, fingerprint: str) -> NewsView:
        with self._session() as session:
            row = session.exec(
                select(NewsItem).where(col(NewsItem.fingerprint) == fingerprint)
            ).one_or_none()
            if row is None:
                raise NotFoundError(f"no news item with fingerprint {fingerprint}")
            return _news_view(row)

    def get_news(self, news_id: int) -> NewsView:
        _known_id(news_id, "news item")
        with self._session() as session:
            row = session.get(NewsItem, news_id)
            if row is None:
                raise NotFoundError(f"no news item {news_id}; `visibility news list` shows the ids")
            return _news_view(row)

    def list_news(self, *, limit: int = 100) -> list[NewsView]:
        with self._session() as session:
            rows = session.exec(select(NewsItem).order_by(col(NewsItem.id).desc()).limit(limit))
            return [_news_view(r) for r in rows]

    # -- posts ------------------------------------------------------------

    def _add_drafts(self, session: Session, news_id: int, drafts: Sequence[Draft]) -> list[int]:
        accounts = {a.name: a for a in session.exec(select(ChannelAccount))}
        existing = {
            p.channel_id: p
            for p in session.exec(select(Post).where(col(Post.news_item_id) == news_id))
        }
        added: list[tuple[Post, Draft]] = []
        for draft in drafts:
            account = accounts.get(draft.channel)
            if account is None or account.id is None:
                raise NotFoundError(f"channel {draft.channel!r} is not in the database")
            if account.id in existing:
                continue
            post = Post(
                news_item_id=news_id,
                channel_id=account.id,
                kind=draft.kind,
                title=draft.title,
                body=draft.body,
                excerpt=draft.excerpt,
                link_url=draft.link_url,
                author=draft.author,
            )
            session.add(post)
            existing[account.id] = post
            added.append((post, draft))
        session.flush()
        websites = [p for p in existing.values() if p.kind == "website" and p.id is not None]
        if websites:
            # The first website account carries the article the others link to.
            article = min(websites, key=lambda p: p.id or 0)
            for post, draft in added:
                if draft.links_to_article and post is not article:
                    post.link_post_id = article.id
            session.flush()
        return sorted(p.id for p in existing.values() if p.id is not None)

    def get_post(self, post_id: int) -> PostView:
        _known_id(post_id, "post")
        with self._session() as session:
            row = session.exec(_posts_with_channel().where(col(Post.id) == post_id)).one_or_none()
            if row is None:
                raise NotFoundError(f"no post {post_id}; `visibility posts list` shows the ids")
            return _post_view(row[0], row[1])

    def list_posts(
        self,
        *,
        status: Sequence[PostStatus] = (),
        channel: str | None = None,
        news_item_id: int | None = None,
        limit: int = 500,
    ) -> list[PostView]:
        stmt = _posts_with_channel()
        if status:
            stmt = stmt.where(col(Post.status).in_([s.value for s in status]))
        if channel is not None:
            stmt = stmt.where(col(ChannelAccount.name) == channel)
        if news_item_id is not None:
            stmt = stmt.where(col(Post.news_item_id) == news_item_id)
        stmt = stmt.order_by(col(Post.id)).limit(limit)
        with self._session() as session:
            return [_post_view(p, c) for p, c in session.exec(stmt).all()]

    def dependents(self, post_id: int) -> list[PostView]:
        """Posts still to go out that wait for this article's link."""
        pending = [PostStatus.DRAFT, PostStatus.APPROVED, PostStatus.SCHEDULED]
        with self._session() as session:
            rows = session.exec(
                _posts_with_channel()
                .where(col(Post.link_post_id) == post_id)
                .where(col(Post.status).in_([s.value for s in pending]))
                .order_by(col(Post.id))
            ).all()
            return [_post_view(p, c) for p, c in rows]

    def attempts(self, post_id: int) -> list[AttemptView]:
        with self._session() as session:
            rows = session.exec(
                select(PublishAttempt)
                .where(col(PublishAttempt.post_id) == post_id)
                .order_by(col(PublishAttempt.id))
            )
            return [
                AttemptView(
                    id=r.id or 0,
                    post_id=r.post_id,
                    worker=r.worker,
                    started_at=r.started_at,
                    finished_at=r.finished_at,
                    outcome=r.outcome,
                    external_id=r.external_id,
                    error=r.error,
                )
                for r in rows
            ]

    # -- guarded transitions ----------------------------------------------

    def _move(
        self,
        session: Session,
        move: Move,
        post_id: int,
        values: Mapping[str, Any],
        *,
        extra: Sequence[Any] = (),
    ) -> None:
        _known_id(post_id, "post")
        stmt = (
            update(Post)
            .where(col(Post.id) == post_id)
            .where(col(Post.status).in_([s.value for s in move.sources]))
            .where(*extra)
            .values(status=move.target.value, updated_at=utcnow(), **values)
            # No ORM objects live in these sessions: skip the synchronisation.
            .execution_options(synchronize_session=False)
        )
        if session.execute(stmt).rowcount == 1:  # type: ignore[attr-defined]
            return
        raise _refusal(session, move, post_id)

    def edit(
        self,
        post_id: int,
        *,
        body: str | None = None,
        title: str | None = None,
        excerpt: str | None = None,
        by: str | None = None,
    ) -> PostView:
        """Change a post's content; an approved or scheduled post goes back to draft."""
        values: dict[str, Any] = {
            "author": by,
            "approved_by": None,
            "approved_at": None,
            "scheduled_at": None,
            "last_error": None,
        }
        if body is not None:
            values["body"] = body
        if title is not None:
            values["title"] = title
        if excerpt is not None:
            values["excerpt"] = excerpt
        with self._session() as session:
            self._move(session, states.EDIT, post_id, values)
        return self.get_post(post_id)

    def approve(self, post_id: int, *, by: str) -> PostView:
        with self._session() as session:
            self._move(
                session, states.APPROVE, post_id, {"approved_by": by, "approved_at": utcnow()}
            )
        return self.get_post(post_id)

    def schedule(self, post_id: int, *, at: datetime, note: str | None = None) -> PostView:
        if at.tzinfo is None:
            raise ValueError("schedule needs an aware datetime")
        with self._session() as session:
            self._move(session, states.SCHEDULE, post_id, {"scheduled_at": at, "last_error": note})
        return self.get_post(post_id)

    def cancel(self, post_id: int) -> PostView:
        with self._session() as session:
            self._move(session, states.CANCEL, post_id, {"scheduled_at": None})
        return self.get_post(post_id)

    def retry(self, post_id: int) -> PostView:
        """A failed post goes back to approved, to be scheduled again, with fresh tries.

        A pending check stays: if an earlier attempt's outcome was unknown, the
        channel is still asked before the post is sent again.
        """
        with self._session() as session:
            self._move(session, states.RETRY, post_id, {"scheduled_at": None, "attempts": 0})
        return self.get_post(post_id)

    def occupied_times(self, channel: str, *, since: datetime) -> set[datetime]:
        """Times already taken on a channel by posts that will or did go out."""
        taken = [PostStatus.SCHEDULED, PostStatus.PUBLISHING, PostStatus.PUBLISHED]
        with self._session() as session:
            rows = session.exec(
                select(col(Post.scheduled_at))
                .join(ChannelAccount, col(ChannelAccount.id) == col(Post.channel_id))
                .where(col(ChannelAccount.name) == channel)
                .where(col(Post.status).in_([s.value for s in taken]))
                .where(col(Post.scheduled_at) >= since)
            )
            return {r for r in rows if r is not None}

    # -- the scheduler's side ---------------------------------------------

    def _due_filter(self, now: datetime) -> Any:
        return and_(_ready_filter(), col(Post.scheduled_at) <= now)

    def _hot(self, name: str) -> Any:
        """A statement of the publishing path, built once per store.

        Building and cache-keying a SQLAlchemy statement costs several times
        what SQLite takes to run it; these run for every post published.
        """
        stmt = self._prepared.get(name)
        if stmt is None:
            stmt = self._prepared[name] = _HOT_STATEMENTS[name](self.engine.dialect.name)
        return stmt

    def claim_due(
        self,
        *,
        worker: str,
        now: datetime,
        lease: timedelta,
        limit: int = 10,
        platform_cap: int | None = None,
    ) -> list[Claim]:
        """Take a lease on up to ``limit`` due posts and open an attempt for each.

        The candidates are read and claimed in one transaction: on PostgreSQL
        with ``FOR UPDATE SKIP LOCKED``, so workers take different posts
        without waiting for each other; on SQLite under the write lock taken
        at ``BEGIN IMMEDIATE``. The claim itself is one guarded ``UPDATE``
        over the chosen posts. A post is only taken when its channel's pacing
        allows (a minimum gap, a budget per window: state kept in the
        channel's row, so all workers share it) and fewer than
        ``platform_cap`` posts of its platform are in flight.
        """
        postgres = self.engine.dialect.name == "postgresql"
        with self.engine.begin() as conn:
            candidates = conn.execute(
                self._hot("candidates"), {"now": now, "limit": limit * 4}
            ).all()
            if not candidates:
                return []
            accounts = {row.id: row for row in conn.execute(self._hot("accounts"))}
            paced = {
                row.id
                for row in accounts.values()
                if row.min_gap_seconds > 0
                or row.max_posts is not None
                or (row.next_send_at is not None and row.next_send_at > now)  # paused
            }
            in_flight: dict[str, int] = {}
            taken: list[int] = []
            for post_id, channel_id, kind in candidates:
                if len(taken) >= limit:
                    break
                if platform_cap is not None:
                    if kind not in in_flight:
                        if postgres:
                            # Serialise claims per platform so the cap holds
                            # across workers; released at commit.
                            key = _lock_key(f"platform:{kind}")
                            conn.execute(self._hot("platform_lock"), {"key": key})
                        in_flight[kind] = conn.execute(
                            self._hot("platform_in_flight"), {"kind": kind}
                        ).scalar_one()
                    if in_flight[kind] >= platform_cap:
                        continue
                if channel_id in paced and not self._take_token(conn, channel_id, now):
                    continue
                taken.append(post_id)
                if platform_cap is not None:
                    in_flight[kind] += 1
            if not taken:
                return []
            # Candidates are locked (PostgreSQL) or the database is (SQLite):
            # the guard only refuses a post whose row changed under us anyway.
            rows = {
                row.id: row
                for row in conn.execute(
                    self._hot("claim"),
                    {"ids": taken, "worker": worker, "until": now + lease, "now": now},
                )
            }
            ids = sorted(rows)
            if not ids:
                return []
            # Only posts to verify need their first attempt's time: usually none.
            to_check = [i for i in ids if rows[i].needs_check]
            firsts: dict[int, datetime] = (
                dict(conn.execute(self._hot("first_attempts"), {"ids": to_check}).tuples().all())
                if to_check
                else {}
            )
            article_ids = sorted({r.link_post_id for r in rows.values() if r.link_post_id})
            article_urls: dict[int, str | None] = (
                dict(conn.execute(self._hot("urls"), {"ids": article_ids}).tuples().all())
                if article_ids
                else {}
            )
            attempts = conn.execute(
                self._hot("open_attempts"),
                [{"post_id": i, "worker": worker, "started_at": now} for i in ids],
            ).all()
        claims = []
        for attempt_id, post_id in attempts:
            row = rows[post_id]
            link = row.link_url
            if row.link_post_id is not None:
                link = article_urls.get(row.link_post_id)
            account = accounts[row.channel_id]
            view = _post_view_of_row(row._mapping, account.name, account.kind)
            claims.append(Claim(view, attempt_id, link, firsts.get(post_id)))
        return claims

    def _take_token(self, conn: Connection, channel_id: int, now: datetime) -> bool:
        """Spend one of the channel's sends now, if its gap and budget allow."""
        row = conn.execute(self._hot("pacing_of"), {"id": channel_id}).one()
        if row.next_send_at is not None and row.next_send_at > now:
            return False
        fresh_window = row.window_started_at is None or row.window_started_at <= now - timedelta(
            seconds=row.window_seconds
        )
        if not fresh_window and row.max_posts is not None and row.window_count >= row.max_posts:
            return False
        account = ChannelAccount
        # Guarded on the values just read: a worker that lost the race sees 0 rows.
        done = conn.execute(
            update(account)
            .where(col(account.id) == channel_id)
            .where(
                col(account.next_send_at).is_(None)
                if row.next_send_at is None
                else col(account.next_send_at) == row.next_send_at
            )
            .where(col(account.window_count) == row.window_count)
            .values(
                next_send_at=now + timedelta(seconds=row.min_gap_seconds),
                window_started_at=now if fresh_window else row.window_started_at,
                window_count=1 if fresh_window else row.window_count + 1,
            )
        )
        return done.rowcount == 1

    def extend_leases(self, *, worker: str, post_ids: Sequence[int], until: datetime) -> list[int]:
        """Heartbeat: keep this worker's claimed posts leased; returns those it still holds."""
        if not post_ids:
            return []
        with self.engine.begin() as conn:
            rows = conn.execute(
                self._hot("extend_leases"),
                {"ids": list(post_ids), "worker": worker, "until": until},
            )
            return sorted(row.id for row in rows)

    def recover_expired(self, now: datetime) -> list[int]:
        """Posts whose worker died mid-publish go back to the queue, marked to verify first.

        Nothing is re-sent blindly: the claim that takes such a post asks the
        channel whether it is already there.
        """
        with self._session() as session:
            expired = session.exec(
                select(col(Post.id), col(Post.lease_owner))
                .where(col(Post.status) == PostStatus.PUBLISHING.value)
                .where(col(Post.lease_expires_at) < now)
                .order_by(col(Post.id))  # the order every multi-row writer locks in
            ).all()
            recovered = []
            for post_id, owner in expired:
                error = (
                    f"worker {owner} stopped while publishing this post; the channel will be "
                    "checked for it before it is sent again"
                )
                moved = session.execute(
                    update(Post)
                    .where(col(Post.id) == post_id)
                    .where(col(Post.status).in_([s.value for s in states.RECOVER.sources]))
                    .where(col(Post.lease_expires_at) < now)
                    .values(
                        status=states.RECOVER.target.value,
                        needs_check=True,
                        lease_owner=None,
                        lease_expires_at=None,
                        last_error=error,
                        updated_at=now,
                    )
                )
                if moved.rowcount != 1 or post_id is None:  # type: ignore[attr-defined]
                    continue
                session.execute(
                    update(PublishAttempt)
                    .where(col(PublishAttempt.post_id) == post_id)
                    .where(col(PublishAttempt.finished_at).is_(None))
                    .values(finished_at=now, outcome="lost", error=error)
                )
                recovered.append(post_id)
            return recovered

    def count_due(self, now: datetime) -> int:
        """Posts that a worker could claim right now."""
        with self._session() as session:
            return session.exec(
                select(func.count()).select_from(Post).where(self._due_filter(now))
            ).one()

    def count_by_status(self) -> dict[PostStatus, int]:
        with self._session() as session:
            rows = session.exec(
                select(col(Post.status), func.count()).group_by(col(Post.status))
            ).all()
            return {PostStatus(status): count for status, count in rows}

    def next_due_at(self) -> datetime | None:
        """When the next post may go out: its due time, or later if its channel is paced.

        Posts waiting for their article or on a held channel are left out: they
        move when that changes, which a publishing pass or a check notices.
        """
        with self._session() as session:
            rows = session.exec(
                select(col(Post.channel_id), func.min(col(Post.scheduled_at)))
                .where(_ready_filter())
                .group_by(col(Post.channel_id))
            ).all()
            if not rows:
                return None
            accounts = {a.id: a for a in session.exec(select(ChannelAccount))}
        times = []
        for channel_id, due in rows:
            if due is None:
                continue
            account = accounts.get(channel_id)
            if account is not None:
                if account.next_send_at is not None:
                    due = max(due, account.next_send_at)
                if (
                    account.max_posts is not None
                    and account.window_started_at is not None
                    and account.window_count >= account.max_posts
                ):
                    due = max(
                        due, account.window_started_at + timedelta(seconds=account.window_seconds)
                    )
            times.append(due)
        return min(times) if times else None

    def _finish_attempt(
        self,
        session: Session,
        attempt_id: int,
        *,
        outcome: str,
        external_id: str | None = None,
        error: str | None = None,
    ) -> None:
        session.execute(
            update(PublishAttempt)
            .where(col(PublishAttempt.id) == attempt_id)
            .values(finished_at=utcnow(), outcome=outcome, external_id=external_id, error=error)
        )

    def mark_published(
        self,
        claim: Claim,
        *,
        worker: str,
        external_id: str,
        url: str | None,
        outcome: str = "published",
        next_snapshot_at: datetime | None = None,
        at: datetime | None = None,
        fetch: bool = True,
    ) -> PostView | None:
        """Record the channel's id and URL; ``outcome`` "found" when a check found it there.

        ``next_snapshot_at``: when its engagement is first read.
        """
        done = Success(claim, external_id, url, at or utcnow(), outcome, next_snapshot_at)
        with self.engine.begin() as conn:
            try:
                self._record_published(conn, [done], worker=worker)
            except _LeaseLost:
                raise _refusal(conn, states.SUCCEED, claim.post.id) from None
        return self.get_post(claim.post.id) if fetch else None

    def record_published(self, done: Sequence[Success], *, worker: str) -> list[int]:
        """Record many publishes in one transaction; returns the posts it could not record.

        The scheduler's group commit: one transaction for every post that
        finished since the last one, instead of one per post. A post is not
        recorded when this worker no longer holds its lease (it lapsed and
        recovery took the post); the claim that takes it next asks the
        channel and finds it there.
        """
        if not done:
            return []
        try:
            with self.engine.begin() as conn:
                self._record_published(conn, done, worker=worker)
            return []
        except _LeaseLost:
            pass
        # Rare: find out which, recording the others one at a time.
        lost = []
        for one in done:
            try:
                with self.engine.begin() as conn:
                    self._record_published(conn, [one], worker=worker)
            except _LeaseLost:
                lost.append(one.claim.post.id)
        return lost

    def _record_published(self, conn: Connection, done: Sequence[Success], *, worker: str) -> None:
        # Rows are locked in id order, as recovery locks them: two batches
        # touching the same posts cannot deadlock.
        done = sorted(done, key=lambda d: d.claim.post.id)
        now = utcnow()
        moved = conn.execute(
            self._hot("succeed"),
            [
                {
                    "b_id": _known_id(d.claim.post.id, "post"),
                    "b_worker": worker,
                    "b_external_id": d.external_id,
                    "b_url": d.url,
                    "b_at": d.at,
                    "b_next": d.next_snapshot_at,
                    "b_now": now,
                }
                for d in done
            ],
        ).rowcount
        if moved != len(done):
            raise _LeaseLost
        conn.execute(
            self._hot("finish_attempt"),
            [
                {
                    "b_id": d.claim.attempt_id,
                    "b_now": now,
                    "b_outcome": d.outcome,
                    "b_external_id": d.external_id,
                }
                for d in done
            ],
        )

    def mark_failed(
        self, claim: Claim, *, worker: str, error: str, fetch: bool = True
    ) -> PostView | None:
        with self._session() as session:
            self._finish_attempt(session, claim.attempt_id, outcome="failed", error=error)
            self._move(
                session,
                states.FAIL,
                claim.post.id,
                {"last_error": error, "lease_owner": None, "lease_expires_at": None},
                extra=[col(Post.lease_owner) == worker],
            )
        # The scheduler passes fetch=False: it does not read the post back.
        return self.get_post(claim.post.id) if fetch else None

    def requeue(
        self,
        claim: Claim,
        *,
        worker: str,
        at: datetime,
        error: str | None,
        outcome: str,
        needs_check: bool = False,
        refund: bool = False,
        fetch: bool = True,
    ) -> PostView | None:
        """Put a claimed post back in the queue, due at ``at`` (a retry or a release).

        ``refund``: the try does not count against the post's attempts (the
        channel refused before acting, e.g. a rate limit).

        ``needs_check``: the attempt may have reached the channel, so the next
        claim looks for the post there before sending it again. A check
        already pending stays pending.
        """
        values: dict[str, Any] = {
            "scheduled_at": at,
            "last_error": error,
            "lease_owner": None,
            "lease_expires_at": None,
        }
        if needs_check:
            values["needs_check"] = True
        if refund:
            values["attempts"] = col(Post.attempts) - 1
        with self._session() as session:
            self._finish_attempt(session, claim.attempt_id, outcome=outcome, error=error)
            self._move(
                session,
                states.REQUEUE,
                claim.post.id,
                values,
                extra=[col(Post.lease_owner) == worker],
            )
        # The scheduler passes fetch=False: it does not read the post back.
        return self.get_post(claim.post.id) if fetch else None

    def mark_in_doubt(
        self, claim: Claim, *, worker: str, reason: str, fetch: bool = True
    ) -> PostView | None:
        """The channel cannot tell whether the post is there: a person decides."""
        with self._session() as session:
            self._finish_attempt(session, claim.attempt_id, outcome="in_doubt", error=reason)
            self._move(
                session,
                states.DOUBT,
                claim.post.id,
                {"last_error": reason, "lease_owner": None, "lease_expires_at": None},
                extra=[col(Post.lease_owner) == worker],
            )
        # The scheduler passes fetch=False: it does not read the post back.
        return self.get_post(claim.post.id) if fetch else None

    def confirm(self, post_id: int, *, external_id: str, url: str | None, by: str) -> PostView:
        """A person found the post in doubt on the channel: record it as published."""
        with self._session() as session:
            self._move(
                session,
                states.CONFIRM,
                post_id,
                {
                    "external_id": external_id,
                    "external_url": url,
                    "published_at": utcnow(),
                    "needs_check": False,
                    "last_error": f"confirmed as published by {by}",
                },
            )
        return self.get_post(post_id)

    def resend(self, post_id: int, *, at: datetime, by: str) -> PostView:
        """A person checked the channel and the post is not there: send it again."""
        with self._session() as session:
            self._move(
                session,
                states.RESEND,
                post_id,
                {
                    "scheduled_at": at,
                    "needs_check": False,
                    "attempts": 0,
                    "last_error": f"{by} found it missing on the channel and sent it again",
                },
            )
        return self.get_post(post_id)

    def hold(self, post_id: int, *, reason: str) -> PostView:
        """Take a scheduled post out of the queue, back to approved, saying why."""
        with self._session() as session:
            self._move(session, states.HOLD, post_id, {"scheduled_at": None, "last_error": reason})
        return self.get_post(post_id)

    def stale(self, *, before: datetime) -> list[PostView]:
        """Scheduled posts due before ``before`` (missed while nothing ran), oldest first."""
        with self._session() as session:
            rows = session.exec(
                _posts_with_channel()
                .where(col(Post.status) == PostStatus.SCHEDULED.value)
                .where(col(Post.scheduled_at) < before)
                .where(col(Post.needs_check).is_(False))
                .order_by(col(Post.scheduled_at), col(Post.id))
            ).all()
            return [_post_view(p, c) for p, c in rows]

    # -- engagement -------------------------------------------------------

    def due_for_snapshot(self, now: datetime, *, limit: int = 1000) -> list[PostView]:
        """Published posts whose next engagement reading is due, oldest first."""
        with self._session() as session:
            rows = session.exec(
                _posts_with_channel()
                .where(col(Post.status) == PostStatus.PUBLISHED.value)
                .where(col(Post.next_snapshot_at) <= now)
                .where(col(Post.external_id).is_not(None))
                .order_by(col(Post.next_snapshot_at), col(Post.id))
                .limit(limit)
            ).all()
            return [_post_view(p, c) for p, c in rows]

    def record_snapshots(
        self,
        readings: Sequence[tuple[int, datetime, Mapping[str, int | None], Mapping[str, Any]]],
        next_at: Mapping[int, datetime | None],
    ) -> None:
        """Store readings (post id, taken at, figures, raw answer) and each post's next time."""
        with self._session() as session:
            session.add_all(
                EngagementSnapshot(
                    post_id=post_id,
                    taken_at=taken_at,
                    impressions=figures.get("impressions"),
                    reactions=figures.get("reactions"),
                    comments=figures.get("comments"),
                    shares=figures.get("shares"),
                    clicks=figures.get("clicks"),
                    raw_json=json.dumps(raw, ensure_ascii=False, default=str),
                )
                for post_id, taken_at, figures, raw in readings
            )
            for post_id, when in next_at.items():
                session.execute(
                    update(Post)
                    .where(col(Post.id) == post_id)
                    .values(next_snapshot_at=when, snapshot_failures=0)
                )

    def snapshot_failed(self, post_ids: Sequence[int], *, retry_at: datetime) -> None:
        """A reading failed: try these posts again later (publishing is not affected)."""
        with self._session() as session:
            session.execute(
                update(Post)
                .where(col(Post.id).in_(list(post_ids)))
                .values(
                    next_snapshot_at=retry_at, snapshot_failures=col(Post.snapshot_failures) + 1
                )
            )

    def snapshots(self, post_ids: Sequence[int]) -> dict[int, list[SnapshotView]]:
        """Each post's readings, oldest first."""
        result: dict[int, list[SnapshotView]] = {i: [] for i in post_ids}
        if not post_ids:
            return result
        with self._session() as session:
            rows = session.exec(
                select(EngagementSnapshot)
                .where(col(EngagementSnapshot.post_id).in_(list(post_ids)))
                .order_by(col(EngagementSnapshot.taken_at), col(EngagementSnapshot.id))
            )
            for row in rows:
                assert row.id is not None
                result[row.post_id].append(
                    SnapshotView(
                        id=row.id,
                        post_id=row.post_id,
                        taken_at=row.taken_at,
                        impressions=row.impressions,
                        reactions=row.reactions,
                        comments=row.comments,
                        shares=row.shares,
                        clicks=row.clicks,
                        raw=json.loads(row.raw_json),
                    )
                )
        return result

    def published_between(
        self,
        start: datetime,
        end: datetime,
        *,
        channel: str | None = None,
        news_item_id: int | None = None,
    ) -> list[PostView]:
        """Posts published in [start, end), oldest first, for reports."""
        stmt = (
            _posts_with_channel()
            .where(col(Post.status) == PostStatus.PUBLISHED.value)
            .where(col(Post.published_at) >= start)
            .where(col(Post.published_at) < end)
        )
        if channel is not None:
            stmt = stmt.where(col(ChannelAccount.name) == channel)
        if news_item_id is not None:
            stmt = stmt.where(col(Post.news_item_id) == news_item_id)
        with self._session() as session:
            rows = session.exec(stmt.order_by(col(Post.published_at), col(Post.id))).all()
            return [_post_view(p, c) for p, c in rows]

    # -- workers ----------------------------------------------------------

    def worker_started(self, name: str, *, host: str, pid: int) -> None:
        now = utcnow()
        with self._session() as session:
            row = session.get(Worker, name)
            if row is None:
                session.add(Worker(name=name, host=host, pid=pid, started_at=now, heartbeat_at=now))
            else:
                row.host, row.pid, row.started_at = host, pid, now
                row.heartbeat_at, row.stopped_at = now, None

    def worker_heartbeat(self, name: str) -> None:
        with self._session() as session:
            session.execute(
                update(Worker).where(col(Worker.name) == name).values(heartbeat_at=utcnow())
            )

    def worker_stopped(self, name: str) -> None:
        with self._session() as session:
            session.execute(
                update(Worker).where(col(Worker.name) == name).values(stopped_at=utcnow())
            )

    def workers(self) -> list[Worker]:
        with self._session() as session:
            return list(session.exec(select(Worker).order_by(col(Worker.heartbeat_at).desc())))

    def release(self, claim: Claim, *, worker: str) -> None:
        """Give back a post this worker claimed but never sent; the try does not count."""
        self.requeue(
            claim,
            fetch=False,
            worker=worker,
            at=claim.post.scheduled_at or utcnow(),
            error=None,
            outcome="released",
            refund=True,
        )

    def attempt_counts(self) -> dict[tuple[str, str], int]:
        """Publish attempts by channel and outcome ("in_flight" while unfinished)."""
        with self._session() as session:
            rows = session.exec(
                select(col(ChannelAccount.name), col(PublishAttempt.outcome), func.count())
                .join(Post, col(Post.id) == col(PublishAttempt.post_id))
                .join(ChannelAccount, col(ChannelAccount.id) == col(Post.channel_id))
                .group_by(col(ChannelAccount.name), col(PublishAttempt.outcome))
            ).all()
            return {(name, outcome or "in_flight"): count for name, outcome, count in rows}

    def latest_heartbeat(self) -> datetime | None:
        """The freshest heartbeat of a scheduler that has not said it stopped."""
        with self._session() as session:
            value = session.exec(
                select(func.max(col(Worker.heartbeat_at))).where(col(Worker.stopped_at).is_(None))
            ).one()
            return value if isinstance(value, datetime) else None

    def failed_posts(self, *, since: datetime) -> list[PostView]:
        with self._session() as session:
            rows = session.exec(
                _posts_with_channel()
                .where(col(Post.status) == PostStatus.FAILED.value)
                .where(col(Post.updated_at) >= since)
                .order_by(col(Post.updated_at))
            ).all()
            return [_post_view(p, c) for p, c in rows]

    def claim_alert(self, cause: str) -> bool:
        """True for the one caller that first records ``cause``; False if already told."""
        try:
            with self._session() as session:
                session.add(AlertSent(cause=cause[:300]))
        except IntegrityError:
            return False
        return True

    def release_alert(self, cause: str) -> None:
        """Sending failed: let a later check try again."""
        with self._session() as session:
            row = session.get(AlertSent, cause[:300])
            if row is not None:
                session.delete(row)

    def failed_since(self, since: datetime) -> int:
        with self._session() as session:
            return session.exec(
                select(func.count())
                .select_from(Post)
                .where(col(Post.status) == PostStatus.FAILED.value)
                .where(col(Post.updated_at) >= since)
            ).one()

    def next_due_per_channel(self) -> dict[str, datetime]:
        with self._session() as session:
            rows = session.exec(
                select(col(ChannelAccount.name), func.min(col(Post.scheduled_at)))
                .join(ChannelAccount, col(ChannelAccount.id) == col(Post.channel_id))
                .where(col(Post.status) == PostStatus.SCHEDULED.value)
                .group_by(col(ChannelAccount.name))
            ).all()
            return {name: due for name, due in rows if due is not None}
