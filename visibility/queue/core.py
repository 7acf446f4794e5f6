"""What every part of the store shares: sessions, statements built once, ids,
the ready-to-publish filter and the guarded move.

Every status change is ``StoreCore._move``: one ``UPDATE ... WHERE id = :id AND
status IN (:sources)`` per transition, so the database decides which of two
racing actors wins, and the loser gets a message naming the post's real
state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, bindparam, exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel, col, select

from visibility.errors import NotFoundError, TransitionError, VisibilityError
from visibility.queue.models import ChannelAccount, Post
from visibility.queue.states import Move, PostStatus
from visibility.queue.types import utcnow
from visibility.queue.views import PostView, post_view

POST: Table = SQLModel.metadata.tables["post"]
ACCOUNT: Table = SQLModel.metadata.tables["channel_account"]
ATTEMPT: Table = SQLModel.metadata.tables["publish_attempt"]
PICTURE: Table = SQLModel.metadata.tables["news_image"]
PICTURE_OF: Table = SQLModel.metadata.tables["post_image"]

_MAX_ID = 2**63 - 1  # the widest integer column either database holds


def known_id(value: int, what: str) -> int:
    """An id no row can have is simply not found (and must not overflow the driver)."""
    if not 0 < value <= _MAX_ID:
        command = "news" if what == "news item" else "posts"
        raise NotFoundError(f"no {what} {value}; `visibility {command} list` shows the ids")
    return value


def posts_with_channel() -> Any:
    """Posts joined with their channel account: what every PostView is made from."""
    return select(Post, ChannelAccount).join(
        ChannelAccount, col(ChannelAccount.id) == col(Post.channel_id)
    )


def lock_key(name: str) -> int:
    """A stable 63-bit key for a PostgreSQL advisory lock."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") >> 1


def refusal(db: Session | Connection, move: Move, post_id: int) -> VisibilityError:
    """Why a guarded move found no row to change, in words."""
    current = db.execute(select(col(Post.status)).where(col(Post.id) == post_id)).scalar()
    if current is None:
        return NotFoundError(f"no post {post_id}; `visibility posts list` shows the ids")
    status = PostStatus(current)
    if move.allowed_from(status):
        return TransitionError(f"post {post_id} changed while {move.verb}; try again")
    return TransitionError(move.refusal(post_id, status))


def ready_filter() -> Any:
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


def sole_source(move: Move) -> str:
    (source,) = move.sources
    return source.value


def ids() -> Any:
    """The bound list of post ids of a statement run for many posts."""
    return bindparam("ids", expanding=True)


class StoreCore:
    """The engine, sessions and statements that every part of the store uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._prepared: dict[Callable[[str], Any], Any] = {}

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def _hot(self, build: Callable[[str], Any]) -> Any:
        """A statement of the publishing path, built once per store.

        Building and cache-keying a SQLAlchemy statement costs several times
        what SQLite takes to run it; these run for every post published.
        ``build`` gets the dialect's name.
        """
        stmt = self._prepared.get(build)
        if stmt is None:
            stmt = self._prepared[build] = build(self.engine.dialect.name)
        return stmt

    def _move(
        self,
        session: Session,
        move: Move,
        post_id: int,
        values: Mapping[str, Any],
        *,
        extra: Sequence[Any] = (),
    ) -> None:
        known_id(post_id, "post")
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
        raise refusal(session, move, post_id)

    def get_post(self, post_id: int) -> PostView:
        known_id(post_id, "post")
        with self._session() as session:
            row = session.exec(posts_with_channel().where(col(Post.id) == post_id)).one_or_none()
            if row is None:
                raise NotFoundError(f"no post {post_id}; `visibility posts list` shows the ids")
            return post_view(row[0], row[1])
