"""Review with comments: an approver sends a post back to its author, and the trail of
what was said.

- **Return** (``return_post``): one guarded move (``states.RETURN``, from draft,
  approved or scheduled, never from publishing, published, failed, in doubt or
  cancelled) back to draft, clearing the approval, the schedule and any grant
  exception as an edit does, and noting to whom (``post.returned_to``: the
  post's author at that moment, taken in the same ``UPDATE``) and when
  (``post.returned_at``). The comment is written to ``post_comment`` in the
  same transaction: a refused move leaves no comment behind.
- **Returned to me** (``returned_to``): the drafts whose ``returned_to`` is the
  person, newest return first, in one query on the ``ix_post_returned`` index.
  A post stays in that list while its author edits it (editing is how the
  comment is answered) and leaves it when it is **approved** (any approver may
  decide the edit is enough) or **resubmitted** (``resubmit``: the author says
  it is ready again, optionally with a reply), and when it is cancelled (the
  list holds drafts only). A post returned when it had no author (made on the
  command line) is in nobody's list; its comment is on the post all the same.
- **The trail** (``comments``): every comment, oldest first. Rows are only
  added, never changed or removed, so the trail is the record of the review.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select

from visibility.errors import NotFoundError, TransitionError
from visibility.queue import states
from visibility.queue.core import StoreCore, known_id, posts_with_channel
from visibility.queue.models import Post, PostComment
from visibility.queue.states import PostStatus
from visibility.queue.types import utcnow
from visibility.queue.views import CommentView, PostView, post_view

RETURNED = "returned"
RESUBMITTED = "resubmitted"
NOTE = "note"
KINDS = (RETURNED, RESUBMITTED, NOTE)


def _comment_view(row: PostComment) -> CommentView:
    assert row.id is not None
    return CommentView(
        id=row.id, post_id=row.post_id, at=row.at, by=row.by, kind=row.kind, text=row.text
    )


class ReviewQueries(StoreCore):
    """Sending posts back with a comment, resubmitting them, and the review trail."""

    def return_post(self, post_id: int, *, by: str, comment: str) -> PostView:
        """Back to draft for its author, with the approver's comment (kept in the trail)."""
        now = utcnow()
        values: dict[str, Any] = {
            "approved_by": None,
            "approved_at": None,
            "scheduled_at": None,
            "last_error": None,
            "override_reason": None,
            "override_by": None,
            "override_at": None,
            # The author as the row holds it now, not as a caller read it earlier.
            "returned_to": col(Post.author),
            "returned_at": now,
        }
        with self._session() as session:
            self._move(session, states.RETURN, post_id, values)
            session.add(PostComment(post_id=post_id, at=now, by=by, kind=RETURNED, text=comment))
        return self.get_post(post_id)

    def resubmit(self, post_id: int, *, by: str, comment: str | None = None) -> PostView:
        """A returned draft is ready for approval again: out of its author's list.

        Guarded like a move: only a draft that is still returned, so two clicks
        (or two people) cannot both resubmit it.
        """
        known_id(post_id, "post")
        now = utcnow()
        stmt = (
            update(Post)
            .where(col(Post.id) == post_id)
            .where(col(Post.status) == PostStatus.DRAFT.value)
            .where(col(Post.returned_at).is_not(None))
            .values(returned_to=None, returned_at=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        with self._session() as session:
            if session.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
                current = session.execute(
                    select(col(Post.status)).where(col(Post.id) == post_id)
                ).scalar()
                if current is None:
                    raise NotFoundError(f"no post {post_id}; `visibility posts list` shows the ids")
                raise TransitionError(
                    f"post {post_id} is {current} and was not sent back; only a draft sent back "
                    "by an approver can be resubmitted"
                )
            session.add(
                PostComment(post_id=post_id, at=now, by=by, kind=RESUBMITTED, text=comment or "")
            )
        return self.get_post(post_id)

    def comments(self, post_id: int) -> list[CommentView]:
        """The post's review trail, oldest first."""
        known_id(post_id, "post")
        with self._session() as session:
            rows = session.exec(
                select(PostComment)
                .where(col(PostComment.post_id) == post_id)
                .order_by(col(PostComment.id))
            ).all()
            return [_comment_view(r) for r in rows]

    def last_returns(self, post_ids: Sequence[int]) -> dict[int, CommentView]:
        """Each post's latest "sent back" comment, for the posts that have one."""
        if not post_ids:
            return {}
        latest = (
            select(func.max(col(PostComment.id)))
            .where(col(PostComment.post_id).in_(list(post_ids)))
            .where(col(PostComment.kind) == RETURNED)
            .group_by(col(PostComment.post_id))
        )
        with self._session() as session:
            rows = session.exec(select(PostComment).where(col(PostComment.id).in_(latest))).all()
            return {r.post_id: _comment_view(r) for r in rows}

    def returned_to(self, author: str, *, limit: int = 200) -> list[PostView]:
        """The drafts sent back to ``author`` and not yet approved or resubmitted, newest first."""
        with self._session() as session:
            rows = session.exec(
                posts_with_channel()
                .where(col(Post.returned_to) == author)
                .where(col(Post.status) == PostStatus.DRAFT.value)
                .order_by(col(Post.returned_at).desc(), col(Post.id).desc())
                .limit(limit)
            ).all()
            return [post_view(p, c) for p, c in rows]

    def count_returned_to(self, author: str) -> int:
        with self._session() as session:
            return int(
                session.execute(
                    select(func.count())
                    .select_from(Post)
                    .where(col(Post.returned_to) == author)
                    .where(col(Post.status) == PostStatus.DRAFT.value)
                ).scalar_one()
            )
