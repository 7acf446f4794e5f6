"""The REST API for pictures: a news item's pictures, their text alternatives, the files
and thumbnails, and each post's ordered choice of them (issue 13).

A picture is what its content says it is (``visibility.media.files``): files are served
with the type found when the picture was added, never one a file name suggests, and
under a name of our own. Uploads are bounded by ``VISIBILITY_MAX_IMAGE_BYTES`` while
the body is read, not after.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope, Send

from visibility.accounts.store import Actor
from visibility.errors import ConflictError, InputError, NotFoundError
from visibility.media.files import FORMATS, ImageFiles, StoredImage
from visibility.queue.views import ImageView, PostView
from visibility.web.api import App, Editor, NewsId, PostId
from visibility.web.errors import Problem, problems
from visibility.web.i18n import Translate, request_language, translator
from visibility.web.limits import BoundedRoute
from visibility.workflow import Visibility

#: Room in an upload's body for the form's other fields and the multipart framing.
_ROOM_FOR_FIELDS = 64 * 1024
#: What X takes as a picture's text alternative; other platforms take at least this.
MAX_ALT = 1000
MAX_CAPTION = 2000
#: Thumbnail sides: a list's small picture, and a preview's large one.
SIDES = {"small": 320, "large": 640}
PictureId = NewsId
MAX_ID = 2_147_483_647  # as the API's other ids: what the database holds

_SIGNED_IN = (401, 403)
READ_ONE = problems(*_SIGNED_IN, 404, 422)
CHANGE = problems(*_SIGNED_IN, 400, 404, 409, 413, 422)
UPLOAD: dict[int | str, dict[str, Any]] = {
    **problems(*_SIGNED_IN, 400, 404, 409, 422),
    413: {
        "model": Problem,
        "description": "The picture (or the whole request) is larger than "
        "VISIBILITY_MAX_IMAGE_BYTES allows.",
    },
}
_IMAGE_TYPES = sorted({mime for mime, _ in FORMATS.values()})
FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            mime: {"schema": {"type": "string", "format": "binary"}} for mime in _IMAGE_TYPES
        },
        "description": "The picture's file, with the type its content has.",
    },
    **READ_ONE,
}
THUMBNAIL: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
        "description": "A JPEG at most 320 (small) or 640 (large) pixels a side.",
    },
    **READ_ONE,
}


# -- bounded uploads ---------------------------------------------------------------


def image_limit(request: Request | Scope) -> int:
    scope = request.scope if isinstance(request, Request) else request
    limit: int = scope["app"].state.visibility.settings.max_image_bytes
    return limit


def size_text(n: int, _: Translate) -> str:
    if n % 1_000_000 == 0:
        return _("{count} MB", count=n // 1_000_000)
    if n >= 1_000_000:
        return _("{count} MB", count=f"{n / 1_000_000:.1f}")
    return _("{count} kB", count=max(1, round(n / 1000)))


def image_too_large(request: Request) -> HTTPException:
    _ = translator(request_language(request))
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        _(
            "The picture is too large: files up to {limit} are taken. Save it smaller (a "
            "photo of 2000 pixels a side is plenty); an administrator can raise the limit "
            "(VISIBILITY_MAX_IMAGE_BYTES).",
            limit=size_text(image_limit(request), _),
        ),
    )


def bounded_receive(scope: Scope, receive: Receive) -> Receive:
    """``receive`` that stops a body as soon as it is known to be over the picture limit:
    at once when Content-Length says so, else when the stream passes it."""
    cap = image_limit(scope) + _ROOM_FOR_FIELDS
    declared = Headers(scope=scope).get("content-length", "")
    announced = int(declared) if declared.isdigit() else 0
    read = 0

    async def bounded() -> Message:
        nonlocal read
        if announced > cap:
            raise image_too_large(Request(scope))
        message = await receive()
        if message["type"] == "http.request":
            read += len(message.get("body", b""))
            if read > cap:
                raise image_too_large(Request(scope))
        return message

    return bounded


class PictureRoute(BoundedRoute):
    """An API route whose body may be as large as a picture (the news limit is smaller)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        # BoundedRoute.handle would hold the body to the news item's limit.
        await APIRoute.handle(self, scope, bounded_receive(scope, receive), send)


# -- adding, describing, removing -------------------------------------------------------

_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f]+")


def source_name(filename: str | None) -> str:
    """What staff see as where an uploaded picture came from: the file's own name,
    without any folder or control characters, never used to decide anything."""
    name = Path((filename or "").replace("\\", "/")).name
    name = _UNSAFE_IN_NAME.sub(" ", unicodedata.normalize("NFC", name)).strip()
    return name[:200] or "upload"


def read_upload(request: Request, file: UploadFile) -> bytes:
    """The uploaded file's bytes, read no further than one byte past the limit."""
    limit = image_limit(request)
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise image_too_large(request)
    return data


def add_picture(
    app: Visibility,
    request: Request,
    news_id: int,
    data: bytes,
    *,
    filename: str | None,
    alt: str | None,
    caption: str | None = None,
) -> ImageView:
    """Check ``data`` by its content and add it to the news item, or say what is wrong.

    The item is looked up first and the picture checked before anything is written:
    a wrong upload leaves nothing behind.
    """
    from visibility.media.intake import new_image

    _ = translator(request_language(request))
    app.store.get_news(news_id)
    if not data:
        raise InputError(_("The file is empty: choose a JPEG, PNG, GIF or WebP picture."))
    try:
        # Messages name "The file", never the name the person's computer gave it.
        stored = app.image_files.add(data, name="The file")
    except InputError as exc:
        raise InputError(str(exc).rstrip(".") + ".") from None
    text = " ".join((alt or "").split()) or None
    note = " ".join((caption or "").split()) or None
    image = new_image(stored, alt=text, caption=note, source=source_name(filename))
    added = app.store.add_images(news_id, [image])
    if not added:
        raise ConflictError(_("This news item has this picture already."))
    return added[0]


# -- serving files ------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _thumbnail_of(root: Path, max_bytes: int, sha256: str, mime_type: str, side: int) -> Path:
    # Making a thumbnail decodes the whole original; a page shows the same ones again
    # and again. The copy is a file in the store, named by its content: keep its path.
    from visibility.media.fit import thumbnail

    files = ImageFiles(root, max_bytes=max_bytes)
    return thumbnail(files.get(sha256, mime_type), files, side=side).path


def thumbnail_bytes(app: Visibility, image: ImageView, side: int) -> bytes:
    files = app.image_files
    key = (files.root, files.max_bytes, image.sha256, image.mime_type, side)
    try:
        return _thumbnail_of(*key).read_bytes()
    except FileNotFoundError:
        _thumbnail_of.cache_clear()  # the store was tidied by hand: make it again
        return _thumbnail_of(*key).read_bytes()


def _picture_response(data: bytes, mime_type: str, filename: str) -> Response:
    return Response(
        data,
        media_type=mime_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="{filename}"',
        },
    )


def _file_gone(request: Request) -> NotFoundError:
    _ = translator(request_language(request))
    return NotFoundError(
        _(
            "This picture's file is missing from the image store: remove the picture and add "
            "it again."
        )
    )


def picture_file(app: Visibility, request: Request, image: ImageView) -> tuple[StoredImage, bytes]:
    try:
        stored = app.image_files.get(image.sha256, image.mime_type)
        return stored, stored.path.read_bytes()
    except (InputError, FileNotFoundError):
        raise _file_gone(request) from None


# -- the routes ---------------------------------------------------------------------------

router = APIRouter(prefix="/api/v1", tags=["pictures"], route_class=BoundedRoute)
# Its own router only for the route class; included in ``router``, under its prefix.
uploads = APIRouter(tags=["pictures"], route_class=PictureRoute)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DescribeIn(_Body):
    alt: str = Field(
        min_length=1,
        max_length=MAX_ALT,
        description="What the picture shows, for people who cannot see it (required to approve "
        "a post that carries it).",
    )
    caption: str | None = Field(
        default=None, max_length=MAX_CAPTION, description="None: unchanged; empty: removed."
    )


class ChoiceIn(_Body):
    pictures: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        max_length=100,
        description="The news item's picture ids this post carries, in order; [] for none.",
    )


@dataclass(frozen=True)
class PostPictures:
    post: PostView
    pictures: list[ImageView]


@dataclass(frozen=True)
class Removed:
    picture: int
    # Posts that carried it: drafts again (or cancelled ones, left cancelled).
    posts: list[int]


def _audit(
    app: Visibility, actor: Actor, action: str, target: str | None, detail: str | None = None
) -> None:
    app.accounts.audit(actor.label, action, target, detail)


@router.get("/news/{news_id}/pictures", response_model=list[ImageView], responses=READ_ONE)
def list_pictures(app: App, _: Editor, news_id: NewsId) -> Any:
    """The news item's pictures, in order."""
    app.store.get_news(news_id)
    return app.store.news_images(news_id)


@uploads.post(
    "/news/{news_id}/pictures",
    response_model=ImageView,
    status_code=status.HTTP_201_CREATED,
    responses=UPLOAD,
)
def upload_picture(
    request: Request,
    app: App,
    actor: Editor,
    news_id: NewsId,
    file: Annotated[
        UploadFile,
        File(description="A JPEG, PNG, GIF or WebP picture, checked by its content."),
    ],
    alt: Annotated[str | None, Form(max_length=MAX_ALT)] = None,
    caption: Annotated[str | None, Form(max_length=MAX_CAPTION)] = None,
) -> Any:
    """Add a picture to a news item; posts choose it afterwards (``PUT /posts/{id}/pictures``)."""
    data = read_upload(request, file)
    image = add_picture(
        app, request, news_id, data, filename=file.filename, alt=alt, caption=caption
    )
    _audit(app, actor, "picture.add", f"news {news_id}", f"picture {image.id}")
    return image


@router.get("/pictures/{picture_id}", response_model=ImageView, responses=READ_ONE)
def show_picture(app: App, _: Editor, picture_id: PictureId) -> Any:
    return app.store.get_image(picture_id)


@router.patch("/pictures/{picture_id}", response_model=ImageView, responses=CHANGE)
def describe_picture(app: App, actor: Editor, picture_id: PictureId, text: DescribeIn) -> Any:
    """Set the picture's alt text (and caption)."""
    image = app.store.describe_image(picture_id, alt=text.alt, caption=text.caption)
    _audit(app, actor, "picture.describe", f"picture {picture_id}")
    return image


@router.delete(
    "/pictures/{picture_id}", response_model=Removed, responses=problems(*_SIGNED_IN, 404, 409, 422)
)
def remove_picture(app: App, actor: Editor, picture_id: PictureId) -> Any:
    """Take the picture off its news item and off posts not yet published (they become
    drafts again); refused (409) when a published post carried it."""
    posts = app.store.remove_image(picture_id, by=actor.username)
    _audit(
        app,
        actor,
        "picture.remove",
        f"picture {picture_id}",
        ", ".join(f"post {p}" for p in posts) or None,
    )
    return Removed(picture=picture_id, posts=posts)


@router.get("/pictures/{picture_id}/file", response_class=Response, responses=FILE)
def picture_original(request: Request, app: App, _: Editor, picture_id: PictureId) -> Response:
    """The file as it was added (the type found in its content)."""
    image = app.store.get_image(picture_id)
    stored, data = picture_file(app, request, image)
    return _picture_response(data, stored.mime_type, f"picture-{picture_id}.{stored.extension}")


@router.get("/pictures/{picture_id}/thumbnail", response_class=Response, responses=THUMBNAIL)
def picture_thumbnail(
    request: Request,
    app: App,
    _: Editor,
    picture_id: PictureId,
    size: Annotated[Literal["small", "large"], Query()] = "small",
) -> Response:
    """A JPEG of the picture for lists and previews (made once, then kept)."""
    image = app.store.get_image(picture_id)
    try:
        data = thumbnail_bytes(app, image, SIDES[size])
    except InputError:
        raise _file_gone(request) from None
    return _picture_response(data, "image/jpeg", f"picture-{picture_id}-{size}.jpg")


@router.get("/posts/{post_id}/pictures", response_model=list[ImageView], responses=READ_ONE)
def post_pictures(app: App, _: Editor, post_id: PostId) -> Any:
    """The pictures the post carries, in order."""
    app.store.get_post(post_id)
    return app.store.post_images([post_id]).get(post_id, [])


@router.put("/posts/{post_id}/pictures", response_model=PostPictures, responses=CHANGE)
def choose_pictures(app: App, actor: Editor, post_id: PostId, choice: ChoiceIn) -> Any:
    """Which of its news item's pictures the post carries, in this order. Like a text edit,
    it makes an approved or scheduled post a draft again."""
    post = app.store.choose_images(post_id, choice.pictures, by=actor.username)
    _audit(
        app,
        actor,
        "post.pictures",
        f"post {post_id}",
        ", ".join(str(i) for i in choice.pictures) or "none",
    )
    return PostPictures(post=post, pictures=app.store.post_images([post_id]).get(post_id, []))


router.include_router(uploads)

__all__ = ["router"]
