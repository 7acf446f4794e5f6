"""What became of a claimed post: published (one at a time or by group commit),
failed, put back for a retry or a release, or in doubt for a person.

Every outcome is guarded on the worker's lease: a worker whose lease lapsed
(recovery took the post) records nothing, and the claim that takes the post
next asks the channel whether it is there. The attempt row records each try
with its outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, update
from sqlmodel import Session, col

from visibility.queue import states
from visibility.queue.core import ATTEMPT, POST, StoreCore, known_id, refusal, sole_source
from visibility.queue.models import Post, PublishAttempt
from visibility.queue.types import utcnow
from visibility.queue.views import Claim, PostView, Sent, Success


class _LeaseLost(Exception):
    """A batch met a post this worker no longer holds: undo the batch."""


# Executed with one parameter set per post: a batch of outcomes in one go.
def _succeed(_: str) -> Any:
    return (
        update(POST)
        .where(
            POST.c.id == bindparam("b_id"),
            POST.c.status == sole_source(states.SUCCEED),
            POST.c.lease_owner == bindparam("b_worker"),
        )
        .values(
            status=states.SUCCEED.target.value,
            external_id=bindparam("b_external_id"),
            external_url=bindparam("b_url"),
            published_at=bindparam("b_at"),
            next_snapshot_at=bindparam("b_next"),
            sent_json=bindparam("b_sent"),
            updated_at=bindparam("b_now"),
            lease_owner=None,
            lease_expires_at=None,
            last_error=None,
            needs_check=False,
        )
    )


def _finish_attempts(_: str) -> Any:
    return (
        update(ATTEMPT)
        .where(ATTEMPT.c.id == bindparam("b_id"))
        .values(
            finished_at=bindparam("b_now"),
            outcome=bindparam("b_outcome"),
            external_id=bindparam("b_external_id"),
            error=None,
        )
    )


class EngineOutcomes(StoreCore):
    """Recording each claimed post's outcome, guarded on the worker's lease."""

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
        sent: Sent | None = None,
        fetch: bool = True,
    ) -> PostView | None:
        """Record the channel's id and URL; ``outcome`` "found" when a check found it there.

        ``next_snapshot_at``: when its engagement is first read; ``sent``: what
        went to the platform.
        """
        done = Success(claim, external_id, url, at or utcnow(), outcome, next_snapshot_at, sent)
        with self.engine.begin() as conn:
            try:
                self._record_published(conn, [done], worker=worker)
            except _LeaseLost:
                raise refusal(conn, states.SUCCEED, claim.post.id) from None
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
            self._hot(_succeed),
            [
                {
                    "b_id": known_id(d.claim.post.id, "post"),
                    "b_worker": worker,
                    "b_external_id": d.external_id,
                    "b_url": d.url,
                    "b_at": d.at,
                    "b_next": d.next_snapshot_at,
                    "b_sent": None if d.sent is None else d.sent.to_json(),
                    "b_now": now,
                }
                for d in done
            ],
        ).rowcount
        if moved != len(done):
            raise _LeaseLost
        conn.execute(
            self._hot(_finish_attempts),
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
