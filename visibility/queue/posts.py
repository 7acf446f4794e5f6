"""The post workflow as people drive it: read, edit, approve, schedule, cancel,
retry, hold, and settle a post in doubt (confirm or resend).

Each change is one guarded move (``StoreCore._move``): it applies only from the
states ``visibility.queue.states`` allows, and a refused move says why in
words. Edits send an approved or scheduled post back to draft, so nothing is
published that was not approved as it stands. An edit keeps a post that was
sent back in its author's "returned" list; approval takes it out
(``visibility.queue.review``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from visibility.queue import states
from visibility.queue.core import StoreCore, posts_with_channel
from visibility.queue.models import ChannelAccount, Post, PublishAttempt
from visibility.queue.states import PostStatus
from visibility.queue.types import utcnow
from visibility.queue.views import AttemptView, PostView, Sent, post_view


class PostWorkflow(StoreCore):
    """Reading posts and moving them through the workflow on people's behalf."""

    def post_with_url(self, url: str) -> PostView | None:
        """The published post whose channel URL this is (our own article in a feed)."""
        with self._session() as session:
            row = session.exec(posts_with_channel().where(col(Post.external_url) == url)).first()
            return None if row is None else post_view(row[0], row[1])

    def list_posts(
        self,
        *,
        status: Sequence[PostStatus] = (),
        channel: str | None = None,
        news_item_id: int | None = None,
        limit: int = 500,
    ) -> list[PostView]:
        stmt = posts_with_channel()
        if status:
            stmt = stmt.where(col(Post.status).in_([s.value for s in status]))
        if channel is not None:
            stmt = stmt.where(col(ChannelAccount.name) == channel)
        if news_item_id is not None:
            stmt = stmt.where(col(Post.news_item_id) == news_item_id)
        stmt = stmt.order_by(col(Post.id)).limit(limit)
        with self._session() as session:
            return [post_view(p, c) for p, c in session.exec(stmt).all()]

    def dependents(self, post_id: int) -> list[PostView]:
        """Posts still to go out that wait for this article's link."""
        pending = [PostStatus.DRAFT, PostStatus.APPROVED, PostStatus.SCHEDULED]
        with self._session() as session:
            rows = session.exec(
                posts_with_channel()
                .where(col(Post.link_post_id) == post_id)
                .where(col(Post.status).in_([s.value for s in pending]))
                .order_by(col(Post.id))
            ).all()
            return [post_view(p, c) for p, c in rows]

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
            # An override was given for the text as it stood.
            "override_reason": None,
            "override_by": None,
            "override_at": None,
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

    def approve(self, post_id: int, *, by: str, override: str | None = None) -> PostView:
        """Approve; ``override``: the approver's reason to let a post go without an
        element its grants require (kept with the post until its text changes)."""
        now = utcnow()
        # Approval settles a review: the post leaves its author's "returned" list.
        values: dict[str, Any] = {
            "approved_by": by,
            "approved_at": now,
            "returned_to": None,
            "returned_at": None,
        }
        values |= {
            "override_reason": override,
            "override_by": by if override else None,
            "override_at": now if override else None,
        }
        with self._session() as session:
            self._move(session, states.APPROVE, post_id, values)
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

    def hold(self, post_id: int, *, reason: str) -> PostView:
        """Take a scheduled post out of the queue, back to approved, saying why."""
        with self._session() as session:
            self._move(session, states.HOLD, post_id, {"scheduled_at": None, "last_error": reason})
        return self.get_post(post_id)

    def confirm(
        self,
        post_id: int,
        *,
        external_id: str,
        url: str | None,
        by: str,
        at: datetime | None = None,
        next_snapshot_at: datetime | None = None,
        sent: Sent | None = None,
    ) -> PostView:
        """A person found the post in doubt on the channel: record it as published.

        Like a publish by the scheduler, it enters the engagement series
        (``next_snapshot_at``) and keeps what was sent (``sent``).
        """
        with self._session() as session:
            self._move(
                session,
                states.CONFIRM,
                post_id,
                {
                    "external_id": external_id,
                    "external_url": url,
                    "published_at": at or utcnow(),
                    "next_snapshot_at": next_snapshot_at,
                    "sent_json": None if sent is None else sent.to_json(),
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

    def stale(self, *, before: datetime) -> list[PostView]:
        """Scheduled posts due before ``before`` (missed while nothing ran), oldest first."""
        with self._session() as session:
            rows = session.exec(
                posts_with_channel()
                .where(col(Post.status) == PostStatus.SCHEDULED.value)
                .where(col(Post.scheduled_at) < before)
                .where(col(Post.needs_check).is_(False))
                .order_by(col(Post.scheduled_at), col(Post.id))
            ).all()
            return [post_view(p, c) for p, c in rows]
