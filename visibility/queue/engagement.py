"""Engagement readings: which published posts are due a reading, the readings
themselves as a time series, and the posts a report covers.

Readings never change a post's status: a failed reading only moves the post's
next reading time, so engagement can never hold up or undo publishing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from visibility.queue.core import StoreCore, posts_with_channel
from visibility.queue.models import (
    ChannelAccount,
    EngagementSnapshot,
    FundingGrant,
    NewsGrant,
    Post,
)
from visibility.queue.states import PostStatus
from visibility.queue.views import PostView, SnapshotView, post_view


class EngagementQueries(StoreCore):
    """Snapshots of published posts' figures, and the queries reports are built from."""

    def due_for_snapshot(self, now: datetime, *, limit: int = 1000) -> list[PostView]:
        """Published posts whose next engagement reading is due, oldest first."""
        with self._session() as session:
            rows = session.exec(
                posts_with_channel()
                .where(col(Post.status) == PostStatus.PUBLISHED.value)
                .where(col(Post.next_snapshot_at) <= now)
                .where(col(Post.external_id).is_not(None))
                .order_by(col(Post.next_snapshot_at), col(Post.id))
                .limit(limit)
            ).all()
            return [post_view(p, c) for p, c in rows]

    def record_snapshots(
        self,
        readings: Sequence[tuple[int, datetime, Mapping[str, int | None], Mapping[str, Any]]],
        next_at: Mapping[int, datetime | None],
        *,
        notes: Mapping[int, str] | None = None,
    ) -> None:
        """Store readings (post id, taken at, figures, raw answer) and each post's next time.

        ``notes``: why readings stopped for a post, kept where staff look.
        """
        notes = notes or {}
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
                    .values(
                        next_snapshot_at=when,
                        snapshot_failures=0,
                        engagement_note=notes.get(post_id),
                    )
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
        grant: str | None = None,
    ) -> list[PostView]:
        """Posts published in [start, end), oldest first, for reports; ``grant``:
        only posts of news items under that grant."""
        stmt = (
            posts_with_channel()
            .where(col(Post.status) == PostStatus.PUBLISHED.value)
            .where(col(Post.published_at) >= start)
            .where(col(Post.published_at) < end)
        )
        if channel is not None:
            stmt = stmt.where(col(ChannelAccount.name) == channel)
        if news_item_id is not None:
            stmt = stmt.where(col(Post.news_item_id) == news_item_id)
        if grant is not None:
            under = (
                select(NewsGrant.news_item_id)
                .join(FundingGrant, col(FundingGrant.id) == col(NewsGrant.grant_id))
                .where(col(FundingGrant.name) == grant)
            )
            stmt = stmt.where(col(Post.news_item_id).in_(under))
        with self._session() as session:
            rows = session.exec(stmt.order_by(col(Post.published_at), col(Post.id))).all()
            return [post_view(p, c) for p, c in rows]
