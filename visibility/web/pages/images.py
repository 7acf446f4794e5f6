"""Pictures on the pages: a news item's pictures (upload, alt text and caption, remove)
and each post's ordered choice of them, as forms that work without JavaScript.

The news item page is rendered by ``pages.news``; its pictures come from
``news_pictures()``, a template function, so that page needs no knowledge of
pictures and every page showing a post's preview can show its pictures too.
Files and thumbnails are served by the API (``web.api_images``): the session
that shows the page may read them there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.routing import APIRoute
from pydantic import Field
from starlette.types import Receive, Scope, Send

from visibility.errors import UserError
from visibility.media.limits import LIMITS
from visibility.queue import states
from visibility.queue.views import ImageView
from visibility.web.api_images import (
    MAX_ALT,
    MAX_CAPTION,
    MAX_ID,
    add_picture,
    bounded_receive,
    read_upload,
    size_text,
)
from visibility.web.deps import app_of
from visibility.web.pages.common import (
    ENV,
    App,
    Editor,
    Id,
    PageRoute,
    audit,
    flash,
    safe_back,
    see_other,
    translate_for,
)
from visibility.workflow import Visibility

router = APIRouter(route_class=PageRoute, include_in_schema=False)
# Posts that may lose a picture (Store.remove_image): the others keep theirs.
_LETS_GO = frozenset({*states.EDITABLE, states.PostStatus.CANCELLED})


class PicturePageRoute(PageRoute):
    """A page route whose body may be as large as a picture."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        # PageRoute (a BoundedRoute) would hold the body to the news item's limit.
        await APIRoute.handle(self, scope, bounded_receive(scope, receive), send)


uploads = APIRouter(route_class=PicturePageRoute, include_in_schema=False)


# -- what the templates show --------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """One of the item's pictures as a post's choice shows it."""

    image: ImageView
    chosen: bool
    position: int  # 1, 2, ... among the chosen; 0 when not chosen
    last: bool  # the last chosen one (no "move down")


@dataclass(frozen=True)
class NewsPictures:
    """A news item's pictures and which ones each of its posts carries."""

    news_id: int
    pictures: list[ImageView]
    by_post: dict[int, list[ImageView]]
    # Pictures that cannot be removed now: "published" when a published post carried
    # it (part of its record), "busy" when a post carrying it is publishing, in doubt
    # or failed (settle that post first).
    locked: dict[int, str] = field(default_factory=dict)
    max_bytes: int = 0

    def of(self, post_id: int) -> list[ImageView]:
        return self.by_post.get(post_id, [])

    def choice(self, post_id: int) -> list[Choice]:
        """The post's pictures in their order, then the item's others."""
        chosen = self.of(post_id)
        ids = {i.id for i in chosen}
        rows = [Choice(image, True, n, n == len(chosen)) for n, image in enumerate(chosen, 1)]
        rows += [Choice(image, False, 0, False) for image in self.pictures if image.id not in ids]
        return rows

    @property
    def without_alt(self) -> list[ImageView]:
        return [i for i in self.pictures if not i.alt]


def load_pictures(app: Visibility, news_id: int) -> NewsPictures:
    posts = {p.id: p for p in app.store.list_posts(news_item_id=news_id)}
    by_post = app.store.post_images(list(posts))
    locked: dict[int, str] = {}
    for post_id, images in by_post.items():
        status = posts[post_id].status
        if status not in _LETS_GO:
            for image in images:
                if locked.get(image.id) != "published":
                    published = status is states.PostStatus.PUBLISHED
                    locked[image.id] = "published" if published else "busy"
    return NewsPictures(
        news_id=news_id,
        pictures=app.store.news_images(news_id),
        by_post=by_post,
        locked=locked,
        max_bytes=app.settings.max_image_bytes,
    )


@jinja2.pass_context
def news_pictures(context: Any, news_id: int) -> NewsPictures:
    return load_pictures(app_of(context["request"]), news_id)


@jinja2.pass_context
def post_pictures(context: Any, post_id: int) -> list[ImageView]:
    """One post's pictures, for pages that show a post without its news item's others."""
    return app_of(context["request"]).store.post_images([post_id]).get(post_id, [])


def platform_limit(kind: str) -> int:
    limits = LIMITS.get(kind)
    return 0 if limits is None else limits.max_images


ENV.globals.update(
    news_pictures=news_pictures,
    post_pictures=post_pictures,
    platform_limit=platform_limit,
    size_text=size_text,
)


# -- the forms -------------------------------------------------------------------------


@uploads.post("/news/{news_id}/pictures")
def upload(
    request: Request,
    app: App,
    actor: Editor,
    news_id: Id,
    # Optional here: a form sent without a file gets a message on its page, not a 422.
    file: Annotated[UploadFile | None, File()] = None,
    alt: Annotated[str, Form(max_length=MAX_ALT)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    _ = translate_for(request)
    where = safe_back(back, f"/news/{news_id}#pictures")
    if file is None:
        raise UserError(_("Choose a picture file first."))
    data = read_upload(request, file)
    image = add_picture(app, request, news_id, data, filename=file.filename, alt=alt)
    audit(app, actor, "picture.add", f"news {news_id}", f"picture {image.id}")
    # Posts are not changed: each post's pictures are chosen in that post, where the
    # preview shows them, and an approved post does not turn into a draft unasked.
    if image.alt:
        flash(
            request,
            "ok",
            _(
                "Picture added. Tick it under “Pictures in this post” in each post that should "
                "carry it."
            ),
        )
    else:
        flash(
            request,
            "info",
            _(
                "Picture added, without alt text: write it, then tick the picture in each post "
                "that should carry it."
            ),
        )
    return see_other(where)


@router.post("/pictures/{picture_id}/describe")
def describe(
    request: Request,
    app: App,
    actor: Editor,
    picture_id: Id,
    alt: Annotated[str, Form(max_length=MAX_ALT)] = "",
    caption: Annotated[str, Form(max_length=MAX_CAPTION)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    _ = translate_for(request)
    image = app.store.get_image(picture_id)
    where = safe_back(back, f"/news/{image.news_item_id}#picture-{picture_id}")
    if not alt.strip():
        raise UserError(
            _(
                "Write the alt text: what the picture shows, for people who cannot see it "
                "(for example: “Participants of the training in Prishtina”)."
            )
        )
    if " ".join(alt.split()) == image.alt and (" ".join(caption.split()) or None) == image.caption:
        flash(request, "info", _("Nothing changed in this picture."))
        return see_other(where)
    app.store.describe_image(picture_id, alt=alt, caption=caption)
    audit(app, actor, "picture.describe", f"picture {picture_id}")
    flash(request, "ok", _("Picture described."))
    return see_other(where)


@router.post("/pictures/{picture_id}/remove")
def remove(
    request: Request,
    app: App,
    actor: Editor,
    picture_id: Id,
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    _ = translate_for(request)
    image = app.store.get_image(picture_id)
    where = safe_back(back, f"/news/{image.news_item_id}#pictures")
    posts = app.store.remove_image(picture_id, by=actor.username)
    audit(
        app,
        actor,
        "picture.remove",
        f"picture {picture_id}",
        ", ".join(f"post {p}" for p in posts) or None,
    )
    if posts:
        flash(
            request,
            "ok",
            _(
                "Picture removed, also from posts {ids}; they are drafts again until approved.",
                ids=", ".join(str(p) for p in posts),
            ),
        )
    else:
        flash(request, "ok", _("Picture removed."))
    return see_other(where)


def ordered_choice(shown: Sequence[int], chosen: Sequence[int], move: str) -> list[int]:
    """The pictures ticked, in the order shown, with one moved up or down when asked."""
    ticked = set(chosen)
    order = list(dict.fromkeys(i for i in shown if i in ticked))
    order += [i for i in dict.fromkeys(chosen) if i not in order]
    if move:
        direction, _, picture = move.partition(":")
        if picture.isdigit() and int(picture) in order:
            at = order.index(int(picture))
            to = at - 1 if direction == "up" else at + 1
            if 0 <= to < len(order):
                order[at], order[to] = order[to], order[at]
    return order


PictureIds = list[Annotated[int, Field(ge=1, le=MAX_ID)]]


@router.post("/posts/{post_id}/pictures")
def choose(
    request: Request,
    app: App,
    actor: Editor,
    post_id: Id,
    order: Annotated[PictureIds, Form(max_length=100)] = [],  # noqa: B006 - FastAPI copies it
    chosen: Annotated[PictureIds, Form(max_length=100)] = [],  # noqa: B006
    move: Annotated[str, Form(max_length=40, pattern=r"^((up|down):\d{1,10})?$")] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    _ = translate_for(request)
    before = app.store.get_post(post_id)
    where = safe_back(back, f"/news/{before.news_item_id}#post-{post_id}")
    wanted = ordered_choice(order, chosen, move)
    current = [i.id for i in app.store.post_images([post_id]).get(post_id, [])]
    if wanted == current:
        flash(request, "info", _("Nothing changed in post {id}.", id=post_id))
        return see_other(where)
    app.store.choose_images(post_id, wanted, by=actor.username)
    audit(app, actor, "post.pictures", f"post {post_id}", ", ".join(map(str, wanted)) or "none")
    if before.status in (states.PostStatus.APPROVED, states.PostStatus.SCHEDULED):
        flash(
            request,
            "ok",
            _("Pictures of post {id} saved. It is a draft again until approved.", id=post_id),
        )
    else:
        flash(request, "ok", _("Pictures of post {id} saved.", id=post_id))
    return see_other(where)


router.include_router(uploads)


__all__ = ["router"]
