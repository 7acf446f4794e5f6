"""Operations: channel accounts (pacing, pauses, attention), workers and their
heartbeats, alerts sent once across workers, and the figures `visibility
status` and /metrics show.

A channel held for attention keeps its posts scheduled; they go out once the
hold is cleared. An alert cause is claimed by one insert, so of several
workers exactly one sends it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from visibility.config.channels import Channel
from visibility.errors import NotFoundError
from visibility.queue.core import StoreCore, posts_with_channel
from visibility.queue.models import (
    AlertSent,
    ChannelAccount,
    ChannelNote,
    Post,
    PublishAttempt,
    Worker,
)
from visibility.queue.states import PostStatus
from visibility.queue.types import utcnow
from visibility.queue.views import PostView, post_view


class OpsQueries(StoreCore):
    """Channel accounts, workers, alerts and the engine's figures."""

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

    # -- what channels told us --------------------------------------------

    def channel_notes(self, channel: str, prefix: str, *, since: datetime) -> dict[str, str]:
        """A channel's notes whose key starts with ``prefix``, learnt since ``since``."""
        with self._session() as session:
            rows = session.exec(
                select(col(ChannelNote.key), col(ChannelNote.value))
                .where(col(ChannelNote.channel) == channel)
                .where(col(ChannelNote.key).startswith(prefix, autoescape=True))
                .where(col(ChannelNote.learnt_at) >= since)
            ).all()
            return dict(rows)

    def keep_channel_note(self, channel: str, key: str, value: str) -> None:
        """Keep (or renew) a note; the last writer's value and time win."""
        now = utcnow()
        renew = (
            update(ChannelNote)
            .where(col(ChannelNote.channel) == channel, col(ChannelNote.key) == key)
            .values(value=value, learnt_at=now)
        )
        with self._session() as session:
            if session.execute(renew).rowcount == 1:  # type: ignore[attr-defined]
                return
            try:
                with session.begin_nested():
                    session.add(ChannelNote(channel=channel, key=key, value=value, learnt_at=now))
            except IntegrityError:
                # Another worker wrote it a moment ago: take ours as the newer.
                session.execute(renew)

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

    def latest_heartbeat(self) -> datetime | None:
        """The freshest heartbeat of a scheduler that has not said it stopped."""
        with self._session() as session:
            value = session.exec(
                select(func.max(col(Worker.heartbeat_at))).where(col(Worker.stopped_at).is_(None))
            ).one()
            return value if isinstance(value, datetime) else None

    # -- alerts and figures -----------------------------------------------

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

    def count_by_status(self) -> dict[PostStatus, int]:
        with self._session() as session:
            rows = session.exec(
                select(col(Post.status), func.count()).group_by(col(Post.status))
            ).all()
            return {PostStatus(status): count for status, count in rows}

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

    def failed_posts(self, *, since: datetime) -> list[PostView]:
        with self._session() as session:
            rows = session.exec(
                posts_with_channel()
                .where(col(Post.status) == PostStatus.FAILED.value)
                .where(col(Post.updated_at) >= since)
                .order_by(col(Post.updated_at))
            ).all()
            return [post_view(p, c) for p, c in rows]

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


class StoredMemory:
    """An adapter's ``Memory`` kept in the database, for one channel account."""

    def __init__(self, store: OpsQueries, channel: str) -> None:
        self.store = store
        self.channel = channel

    def recall(self, prefix: str, *, since: datetime) -> dict[str, str]:
        return self.store.channel_notes(self.channel, prefix, since=since)

    def remember(self, key: str, value: str) -> None:
        self.store.keep_channel_note(self.channel, key[:200], value)
