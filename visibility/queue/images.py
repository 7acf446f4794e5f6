"""Pictures of news items, and the ones each post carries, in order.

A news item's pictures are stored once per file (content hash) and keep
their text alternative and caption. Each post carries an ordered choice of
them, made when its draft is derived (the platform's share: all for the
article, up to four on X) and changed by people. Changing a post's pictures
changes what it publishes, so it is a guarded edit: an approved or scheduled
post goes back to draft, as a text edit does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from visibility.errors import ConflictError, InputError, NotFoundError
from visibility.queue import states
from visibility.queue.core import StoreCore, known_id
from visibility.queue.models import NewsImage, Post, PostImage
from visibility.queue.views import ImageView, NewImage, PostView

# Posts that may lose a picture: the ones an edit may change, and cancelled ones.
_LETS_GO_OF_PICTURES = frozenset(
    {*(s.value for s in states.EDITABLE), states.PostStatus.CANCELLED.value}
)


def _image_view(row: NewsImage) -> ImageView:
    assert row.id is not None
    return ImageView(
        id=row.id,
        news_item_id=row.news_item_id,
        position=row.position,
        sha256=row.sha256,
        mime_type=row.mime_type,
        width=row.width,
        height=row.height,
        size=row.size,
        alt=row.alt,
        caption=row.caption,
        source=row.source,
        role=row.role,
    )


class ImageQueries(StoreCore):
    """A news item's pictures and each post's choice of them."""

    def add_images(self, news_id: int, images: Sequence[NewImage]) -> list[ImageView]:
        """Attach pictures to a news item (a file it has already is not added twice)."""
        known_id(news_id, "news item")
        with self._session() as session:
            return self._add_images(session, news_id, images)

    def _add_images(
        self, session: Session, news_id: int, images: Sequence[NewImage]
    ) -> list[ImageView]:
        last = session.exec(
            select(func.max(col(NewsImage.position))).where(col(NewsImage.news_item_id) == news_id)
        ).one()
        position = -1 if last is None else int(last)
        added = []
        for image in images:
            exists = session.exec(
                select(NewsImage)
                .where(col(NewsImage.news_item_id) == news_id)
                .where(col(NewsImage.sha256) == image.sha256)
            ).first()
            if exists is not None:
                continue
            position += 1
            row = NewsImage(
                news_item_id=news_id,
                position=position,
                sha256=image.sha256,
                mime_type=image.mime_type,
                width=image.width,
                height=image.height,
                size=image.size,
                alt=(image.alt or "").strip() or None,
                caption=image.caption,
                source=image.source,
                role=image.role,
            )
            try:
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:
                continue  # the same file, added by someone else a moment ago
            added.append(_image_view(row))
        return added

    def news_images(self, news_id: int) -> list[ImageView]:
        with self._session() as session:
            rows = session.exec(
                select(NewsImage)
                .where(col(NewsImage.news_item_id) == news_id)
                .order_by(col(NewsImage.position), col(NewsImage.id))
            )
            return [_image_view(r) for r in rows]

    def get_image(self, image_id: int) -> ImageView:
        known_id(image_id, "picture")
        with self._session() as session:
            row = session.get(NewsImage, image_id)
            if row is None:
                raise NotFoundError(f"no picture {image_id}")
            return _image_view(row)

    def describe_image(self, image_id: int, *, alt: str, caption: str | None = None) -> ImageView:
        """Set a picture's text alternative (and caption, when given)."""
        text = " ".join(alt.split())
        if not text:
            raise InputError(
                "write what the picture shows, for people who cannot see it "
                "(for example: 'Participants of the training in Prishtina')"
            )
        values: dict[str, str | None] = {"alt": text}
        if caption is not None:
            values["caption"] = " ".join(caption.split()) or None
        known_id(image_id, "picture")
        with self._session() as session:
            done = session.execute(
                update(NewsImage).where(col(NewsImage.id) == image_id).values(**values)
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFoundError(f"no picture {image_id}")
        return self.get_image(image_id)

    def remove_image(self, image_id: int, *, by: str | None = None) -> list[int]:
        """Take a picture off its news item, and off every post that would still publish
        it; the ids of the posts that carried it.

        A published post's pictures are part of the record, so a picture one carried
        stays. One that may be on a platform already (publishing, in doubt) or would go
        out again on retry (failed) stays too, until a person has settled that post.
        Drafts, approved and scheduled posts lose it as an edit does (back to draft);
        cancelled posts simply lose it. The file stays in the store: other news items
        may hold the same picture. All or nothing, in one transaction.
        """
        known_id(image_id, "picture")
        with self._session() as session:
            if session.get(NewsImage, image_id) is None:
                raise NotFoundError(f"no picture {image_id}")
            carriers = session.exec(
                select(col(PostImage.post_id), col(Post.status))
                .join(Post, col(Post.id) == col(PostImage.post_id))
                .where(col(PostImage.image_id) == image_id)
                .order_by(col(PostImage.post_id))
            ).all()
            for post_id, status in carriers:
                if status == states.PostStatus.PUBLISHED.value:
                    raise ConflictError(
                        f"picture {image_id} went out with post {post_id}, which is published: "
                        "it is part of that post's record and cannot be removed"
                    )
                if status not in _LETS_GO_OF_PICTURES:
                    raise ConflictError(
                        f"picture {image_id} is carried by post {post_id}, which is {status}: "
                        "settle that post first (retry, confirm or cancel it), then remove the "
                        "picture"
                    )
            for post_id, status in carriers:
                if status != states.PostStatus.CANCELLED.value:
                    self._move(
                        session,
                        states.EDIT,
                        post_id,
                        {
                            "author": by,
                            "approved_by": None,
                            "approved_at": None,
                            "scheduled_at": None,
                        },
                    )
            session.execute(delete(PostImage).where(col(PostImage.image_id) == image_id))
            session.execute(delete(NewsImage).where(col(NewsImage.id) == image_id))
            return [post_id for post_id, _ in carriers]

    def post_images(self, post_ids: Sequence[int]) -> dict[int, list[ImageView]]:
        """Each post's pictures, in order (posts without any are left out)."""
        result: dict[int, list[ImageView]] = {}
        if not post_ids:
            return result
        with self._session() as session:
            rows = session.exec(
                select(col(PostImage.post_id), NewsImage)
                .join(NewsImage, col(NewsImage.id) == col(PostImage.image_id))
                .where(col(PostImage.post_id).in_(list(post_ids)))
                .order_by(col(PostImage.post_id), col(PostImage.position))
            ).all()
            for post_id, image in rows:
                result.setdefault(post_id, []).append(_image_view(image))
        return result

    def choose_images(self, post_id: int, image_ids: Sequence[int], *, by: str | None) -> PostView:
        """The pictures ``post_id`` carries, in this order; like an edit, it sends an
        approved or scheduled post back to draft."""
        if len(set(image_ids)) != len(image_ids):
            raise InputError("a picture is chosen twice: choose each picture once")
        with self._session() as session:
            post = session.get(Post, known_id(post_id, "post"))
            if post is None:
                raise NotFoundError(f"no post {post_id}; `visibility posts list` shows the ids")
            own = {
                row.id
                for row in session.exec(
                    select(NewsImage).where(col(NewsImage.news_item_id) == post.news_item_id)
                )
            }
            strangers = [i for i in image_ids if i not in own]
            if strangers:
                raise InputError(
                    f"picture {strangers[0]} is not one of this news item's pictures; "
                    "add it to the news item first"
                )
            self._move(
                session,
                states.EDIT,
                post_id,
                {"author": by, "approved_by": None, "approved_at": None, "scheduled_at": None},
            )
            session.execute(delete(PostImage).where(col(PostImage.post_id) == post_id))
            session.add_all(
                PostImage(post_id=post_id, image_id=image_id, position=n)
                for n, image_id in enumerate(image_ids)
            )
        return self.get_post(post_id)

    def attach_images(self, post_id: int, images: Sequence[NewImage]) -> None:
        """Add pictures after a draft's own (a grant's emblem, when its item
        comes under the grant); a post past draft keeps what was approved."""
        known_id(post_id, "post")
        with self._session() as session:
            post = session.get(Post, post_id)
            if post is None:
                raise NotFoundError(f"no post {post_id}; `visibility posts list` shows the ids")
            if post.status != states.PostStatus.DRAFT.value:
                raise ConflictError(f"post {post_id} is {post.status}: only drafts gain pictures")
            self._attach(session, post_id, post.news_item_id, images)

    def _attach(
        self, session: Session, post_id: int, news_id: int, images: Sequence[NewImage]
    ) -> None:
        """Add ``images`` to the item (once) and after the post's other pictures."""
        self._add_images(session, news_id, images)
        rows = {
            row.sha256: row.id
            for row in session.exec(
                select(NewsImage)
                .where(col(NewsImage.news_item_id) == news_id)
                .where(col(NewsImage.sha256).in_([i.sha256 for i in images]))
            )
        }
        chosen = session.exec(select(PostImage).where(col(PostImage.post_id) == post_id)).all()
        taken = {c.image_id for c in chosen}
        position = max((c.position for c in chosen), default=-1)
        for image in images:
            image_id = rows.get(image.sha256)
            if image_id is not None and image_id not in taken:
                position += 1
                taken.add(image_id)
                session.add(PostImage(post_id=post_id, image_id=image_id, position=position))
        session.flush()

    def _choose_defaults(self, session: Session, choices: Mapping[int, int], news_id: int) -> None:
        """New posts' pictures: the first ``choices[post_id]`` of the item's, in order."""
        if not choices:
            return
        images = [
            row.id
            for row in session.exec(
                select(NewsImage)
                .where(col(NewsImage.news_item_id) == news_id)
                # A grant's emblem goes only to the posts whose rules ask for it.
                .where(col(NewsImage.role).is_(None))
                .order_by(col(NewsImage.position), col(NewsImage.id))
            )
            if row.id is not None
        ]
        for post_id, count in choices.items():
            session.add_all(
                PostImage(post_id=post_id, image_id=image_id, position=n)
                for n, image_id in enumerate(images[:count])
            )
