"""The scheduler's side of the queue: claiming due posts under a lease, pacing
tokens and platform caps, heartbeats, recovery of posts whose worker died,
and when the next post is due.

A claim is one transaction: the due candidates are read (on PostgreSQL with
``FOR UPDATE SKIP LOCKED``, on SQLite under the write lock of ``BEGIN
IMMEDIATE``) and taken by one guarded ``UPDATE ... RETURNING``. A post is
leased to one worker at a time; a lease that lapses is recovered with the
post marked to verify, so the next claim asks the channel before sending it
again. Rows are locked in id order by every writer of many posts, so batches
cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Connection, and_, bindparam, func, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from visibility.queue import states
from visibility.queue.core import (
    ACCOUNT,
    ATTEMPT,
    PICTURE,
    PICTURE_OF,
    POST,
    StoreCore,
    ids,
    lock_key,
    ready_filter,
    sole_source,
)
from visibility.queue.models import ChannelAccount, Post, PublishAttempt
from visibility.queue.states import PostStatus
from visibility.queue.views import Claim, ImageView, image_view_of_row, post_view_of_row

# The publishing path's statements: each is built once per store
# (``StoreCore._hot``) from the dialect's name.


def _candidates(dialect: str) -> Any:
    stmt = (
        select(col(Post.id), col(Post.channel_id), col(Post.kind))
        .where(ready_filter(), col(Post.scheduled_at) <= bindparam("now"))
        .order_by(col(Post.scheduled_at), col(Post.id))
        .limit(bindparam("limit"))
    )
    if dialect == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Post)
    return stmt


def _accounts(_: str) -> Any:
    return sa_select(
        ACCOUNT.c.id,
        ACCOUNT.c.name,
        ACCOUNT.c.kind,
        ACCOUNT.c.min_gap_seconds,
        ACCOUNT.c.max_posts,
        ACCOUNT.c.next_send_at,
    )


def _pacing_of(_: str) -> Any:
    return sa_select(ACCOUNT).where(ACCOUNT.c.id == bindparam("id"))


def _platform_lock(_: str) -> Any:
    return sa_select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger)))


def _platform_in_flight(_: str) -> Any:
    return (
        sa_select(func.count())
        .select_from(POST)
        .where(POST.c.status == PostStatus.PUBLISHING.value, POST.c.kind == bindparam("kind"))
    )


def _claim(_: str) -> Any:
    return (
        update(POST)
        .where(POST.c.id.in_(ids()), POST.c.status == sole_source(states.CLAIM))
        .values(
            status=states.CLAIM.target.value,
            lease_owner=bindparam("worker"),
            lease_expires_at=bindparam("until"),
            attempts=POST.c.attempts + 1,
            updated_at=bindparam("now"),
        )
        .returning(*POST.c)
    )


def _first_attempts(_: str) -> Any:
    return (
        sa_select(ATTEMPT.c.post_id, func.min(ATTEMPT.c.started_at))
        .where(ATTEMPT.c.post_id.in_(ids()))
        .group_by(ATTEMPT.c.post_id)
    )


def _article_urls(_: str) -> Any:
    return sa_select(POST.c.id, POST.c.external_url).where(POST.c.id.in_(ids()))


def _open_attempts(_: str) -> Any:
    return insert(ATTEMPT).returning(ATTEMPT.c.id, ATTEMPT.c.post_id, sort_by_parameter_order=True)


def _post_images(_: str) -> Any:
    return (
        sa_select(PICTURE_OF.c.post_id, PICTURE)
        .join(PICTURE, PICTURE.c.id == PICTURE_OF.c.image_id)
        .where(PICTURE_OF.c.post_id.in_(ids()))
        .order_by(PICTURE_OF.c.post_id, PICTURE_OF.c.position)
    )


def _extend_leases(dialect: str) -> Any:
    held = and_(
        POST.c.id.in_(ids()),
        POST.c.lease_owner == bindparam("worker"),
        POST.c.status == PostStatus.PUBLISHING.value,
    )
    if dialect == "postgresql":
        # Rows locked right now are being recorded (this worker's group commit)
        # or recovered: skip them rather than wait, so a heartbeat can never
        # deadlock with a batch that locks the same rows in another order.
        held = POST.c.id.in_(sa_select(POST.c.id).where(held).with_for_update(skip_locked=True))
    return update(POST).where(held).values(lease_expires_at=bindparam("until")).returning(POST.c.id)


class EngineClaims(StoreCore):
    """Claims, pacing, leases and recovery: how posts reach the publishing threads."""

    def _due_filter(self, now: datetime) -> Any:
        return and_(ready_filter(), col(Post.scheduled_at) <= now)

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
                self._hot(_candidates), {"now": now, "limit": limit * 4}
            ).all()
            if not candidates:
                return []
            accounts = {row.id: row for row in conn.execute(self._hot(_accounts))}
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
                            key = lock_key(f"platform:{kind}")
                            conn.execute(self._hot(_platform_lock), {"key": key})
                        in_flight[kind] = conn.execute(
                            self._hot(_platform_in_flight), {"kind": kind}
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
                    self._hot(_claim),
                    {"ids": taken, "worker": worker, "until": now + lease, "now": now},
                )
            }
            ids = sorted(rows)
            if not ids:
                return []
            # Only posts to verify need their first attempt's time: usually none.
            to_check = [i for i in ids if rows[i].needs_check]
            firsts: dict[int, datetime] = (
                dict(conn.execute(self._hot(_first_attempts), {"ids": to_check}).tuples().all())
                if to_check
                else {}
            )
            article_ids = sorted({r.link_post_id for r in rows.values() if r.link_post_id})
            article_urls: dict[int, str | None] = (
                dict(conn.execute(self._hot(_article_urls), {"ids": article_ids}).tuples().all())
                if article_ids
                else {}
            )
            attempts = conn.execute(
                self._hot(_open_attempts),
                [{"post_id": i, "worker": worker, "started_at": now} for i in ids],
            ).all()
        # Read after the claim commits, not under its locks: a leased post's
        # pictures cannot change (choosing or removing them refuses a post
        # that is publishing), and the claim's critical section stays short.
        pictures: dict[int, list[ImageView]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(self._hot(_post_images), {"ids": ids}):
                pictures.setdefault(row.post_id, []).append(image_view_of_row(row._mapping))
        claims = []
        for attempt_id, post_id in attempts:
            row = rows[post_id]
            link = row.link_url
            if row.link_post_id is not None:
                link = article_urls.get(row.link_post_id)
            account = accounts[row.channel_id]
            view = post_view_of_row(row._mapping, account.name, account.kind)
            images = tuple(pictures.get(post_id, ()))
            claims.append(Claim(view, attempt_id, link, firsts.get(post_id), images))
        return claims

    def _take_token(self, conn: Connection, channel_id: int, now: datetime) -> bool:
        """Spend one of the channel's sends now, if its gap and budget allow."""
        row = conn.execute(self._hot(_pacing_of), {"id": channel_id}).one()
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
                self._hot(_extend_leases),
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

    def next_due_at(self) -> datetime | None:
        """When the next post may go out: its due time, or later if its channel is paced.

        Posts waiting for their article or on a held channel are left out: they
        move when that changes, which a publishing pass or a check notices.
        """
        with self._session() as session:
            rows = session.exec(
                select(col(Post.channel_id), func.min(col(Post.scheduled_at)))
                .where(ready_filter())
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
