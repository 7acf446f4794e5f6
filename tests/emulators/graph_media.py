"""What the Graph emulator checks of photo uploads and multi-photo posts.

Photo uploads (``POST /{page-id}/photos``) are ``multipart/form-data``: the
file is the part named ``source`` with a file name and an image content
type, the other fields are plain parts. Graph reads the picture from its
bytes: something that is no picture is refused with ``(#324) Missing or
invalid image file``, a request without a file or ``url`` with ``(#324)
Requires upload file``, and a file over 4 MB with code 100, subcode 1366046
("Can't Read Files", whose text asks for photos under 4 MB).

A multi-photo post (``POST /{page-id}/feed``) names its photos form-encoded,
one field each: ``attached_media[0]={"media_fbid":"<photo id>"}``; Graph
also takes the whole list as one JSON array in ``attached_media``. Each must
be an unpublished photo of the same Page; Graph's docs give no wording for
the refusals, so these answers are code 100 (invalid parameter), as Graph
uses for a parameter it will not take.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from emulators.server import Request

#: Graph's "Can't Read Files" asks for photos under 4 MB (the photo guide recommends it).
MAX_PHOTO_BYTES = 4 * 1_000_000
UNREADABLE_SUBCODE = 1366046
UNREADABLE_TITLE = "Can't Read Files"
UNREADABLE_MESSAGE = (
    "Your photos couldn't be uploaded. Photos should be less than 4 MB and saved as JPG, PNG, "
    "GIF, TIFF, HEIF or WebP files."
)
#: What Graph reads as a picture, by its first bytes.
_SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "image/bmp": (b"BM",),
}
_ATTACHED = re.compile(r"attached_media\[(\d+)\]")


@dataclass(frozen=True)
class Part:
    """One part of a ``multipart/form-data`` body."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


@dataclass
class GraphPhoto:
    """A photo the emulator holds: uploaded to a Page, published or not."""

    id: str
    page_id: str
    data: bytes | None
    filename: str | None
    content_type: str | None
    alt_text: str | None  # alt_text_custom
    caption: str | None
    published: bool
    created: float
    post_id: str | None = None  # the post that shows it, once published


@dataclass(frozen=True)
class Refusal:
    """A Graph error to answer with (the emulator fills in type and fbtrace_id)."""

    message: str
    code: int
    subcode: int | None = None
    user_title: str | None = None
    user_msg: str | None = None


def multipart_parts(request: Request) -> dict[str, Part]:
    """The parts of a ``multipart/form-data`` body by name (empty for other bodies)."""
    content_type = request.headers.get("content-type", "")
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or match is None:
        return {}
    delimiter = b"--" + match.group(1).encode("latin-1")
    parts: dict[str, Part] = {}
    for chunk in request.body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        disposition = re.search(rb"(?im)^content-disposition:\s*form-data(.*)$", head)
        if disposition is None:
            continue
        name = re.search(rb'; name="([^"]*)"', disposition.group(1))
        if name is None:
            continue
        filename = re.search(rb'; filename="([^"]*)"', disposition.group(1))
        part_type = re.search(rb"(?im)^content-type:\s*([^\r\n;]+)", head)
        parts[name.group(1).decode("utf-8")] = Part(
            name=name.group(1).decode("utf-8"),
            filename=filename.group(1).decode("utf-8") if filename else None,
            content_type=part_type.group(1).decode("latin-1").strip().lower()
            if part_type
            else None,
            data=data.removesuffix(b"\r\n"),
        )
    return parts


def image_type(data: bytes) -> str | None:
    """The picture type Graph would read in ``data``, or None when it is no picture."""
    for mime, signatures in _SIGNATURES.items():
        if data.startswith(signatures):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_source(source: Part | None, url: str | None) -> Refusal | None:
    """Graph's refusal of an upload's file (the ``source`` part), if any."""
    if source is None or source.filename is None:
        if url:
            return None
        return Refusal("(#324) Requires upload file", 324)
    declared = source.content_type or ""
    if not source.data or image_type(source.data) is None or not declared.startswith("image/"):
        return Refusal("(#324) Missing or invalid image file", 324)
    if len(source.data) > MAX_PHOTO_BYTES:
        return Refusal(
            "Invalid parameter",
            100,
            subcode=UNREADABLE_SUBCODE,
            user_title=UNREADABLE_TITLE,
            user_msg=UNREADABLE_MESSAGE,
        )
    return None


def parse_boolean(value: str | None, *, default: bool) -> bool | None:
    """A Graph boolean parameter, or None when ``value`` is not one."""
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    return None


def attached_media(params: dict[str, str]) -> list[str] | Refusal:
    """The photo ids a feed post attaches, in order, or Graph's refusal of the field."""
    entries: list[tuple[int, str, str]] = []
    for key, value in params.items():
        found = _ATTACHED.fullmatch(key)
        if found:
            entries.append((int(found.group(1)), key, value))
    if "attached_media" in params:
        try:
            listed = json.loads(params["attached_media"])
        except ValueError:
            listed = None
        if not isinstance(listed, list):
            return Refusal("(#100) param attached_media must be an array.", 100)
        entries += [
            (index, f"attached_media[{index}]", json.dumps(item))
            for index, item in enumerate(listed)
        ]
    ids: list[str] = []
    for _index, key, value in sorted(entries):
        try:
            item = json.loads(value)
        except ValueError:
            item = None
        fbid = item.get("media_fbid") if isinstance(item, dict) else None
        if isinstance(fbid, int) and not isinstance(fbid, bool):
            fbid = str(fbid)
        if not isinstance(fbid, str) or not fbid.isdigit():
            return Refusal(
                f'(#100) param {key} must be an object with a "media_fbid" photo id.', 100
            )
        ids.append(fbid)
    return ids


def check_attachable(
    photos: dict[str, GraphPhoto], page_id: str, photo_ids: list[str]
) -> Refusal | None:
    """Graph's refusal of attaching ``photo_ids`` to a new post of ``page_id``, if any."""
    for index, fbid in enumerate(photo_ids):
        photo = photos.get(fbid)
        if photo is None or photo.page_id != page_id:
            return Refusal(
                f"(#100) attached_media[{index}]: media_fbid {fbid} is not a photo of this "
                "Page that you can attach.",
                100,
            )
        if photo.published:
            return Refusal(
                f"(#100) attached_media[{index}]: media_fbid {fbid} is published already; "
                "only unpublished photos can be attached to a post.",
                100,
            )
        if photo_ids.index(fbid) != index:
            return Refusal(f"(#100) attached_media[{index}]: media_fbid {fbid} is twice.", 100)
    return None
