"""X's v2 media endpoints, for the X emulator: uploads, processing and alt text.

What the X API documentation describes (docs.x.com, "Upload media",
"Initialize/Append/Finalize media upload", "Get Media upload status",
"Create Media metadata", "Best practices"), checked the way X checks it:

* ``POST /2/media/upload``: one request, ``multipart/form-data`` (or JSON with
  the bytes in base64) with ``media`` and ``media_category`` (required; one of
  ``tweet_image``, ``dm_image``, ``subtitles``) and an optional ``media_type``
  from a short list that has no ``image/gif``. The old ``command=INIT|APPEND|
  FINALIZE`` form is refused.
* ``POST /2/media/upload/initialize`` (JSON ``media_type``, ``total_bytes``,
  ``media_category``), ``POST /2/media/upload/{id}/append`` (multipart
  ``segment_index`` and ``media``, or JSON), ``POST /2/media/upload/{id}/finalize``:
  the segments must add up to ``total_bytes``.
* ``GET /2/media/upload?command=STATUS&media_id=...`` while ``processing_info``
  says ``pending`` or ``in_progress``; a media id is usable in a post only once
  its state is ``succeeded``.
* ``POST /2/media/metadata`` with ``{"id", "metadata": {"alt_text": {"text"}}}``,
  the text at most 1,000 characters.

Pictures are checked by content (Pillow reads them), never by the declared type:
what Pillow cannot read, or reads as another type than declared, is refused
with X's "media type unrecognized."; a picture over 5 MB (X's 5,242,880 bytes;
15 MB for an animated GIF sent as ``tweet_gif``) with X's "File size exceeds
5242880 bytes.". Each upload belongs to the account that made it and expires
``lifetime`` seconds after it was made (X answers ``expires_after_secs``,
86,400 for pictures). A multipart body is parsed strictly (RFC 7578: CRLF
line ends, each boundary on its own line, a ``Content-Disposition: form-data;
name=...`` per part).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from PIL import Image, UnidentifiedImageError

from emulators.server import Request, Response

PROBLEMS: Final = "https://api.twitter.com/2/problems"
LIFETIME_SECONDS: Final = 86_400
#: X's limits, as its error texts give them (bytes).
IMAGE_MAX_BYTES: Final = 5_242_880
GIF_MAX_BYTES: Final = 15_728_640
SEGMENT_MAX_BYTES: Final = 5_242_880
ALT_TEXT_MAX: Final = 1000
MAX_SEGMENTS: Final = 1000
ONE_SHOT_CATEGORIES: Final = frozenset({"tweet_image", "dm_image", "subtitles"})
CATEGORIES: Final = frozenset(
    {
        "amplify_video",
        "tweet_gif",
        "tweet_image",
        "tweet_video",
        "dm_gif",
        "dm_image",
        "dm_video",
        "subtitles",
    }
)
IMAGE_TYPES: Final = frozenset(
    {"image/jpeg", "image/pjpeg", "image/png", "image/webp", "image/bmp", "image/tiff"}
)
ONE_SHOT_TYPES: Final = IMAGE_TYPES | {"text/srt", "text/vtt"}
CHUNKED_TYPES: Final = IMAGE_TYPES | {
    "image/gif",
    "video/mp4",
    "video/webm",
    "video/mp2t",
    "video/quicktime",
    "text/srt",
    "text/vtt",
}
_PILLOW_TYPES: Final = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
_KEY_PREFIX: Final = {"tweet_gif": "16", "tweet_video": "7", "amplify_video": "13"}

NOT_FOUND: Final = "BadRequest: Not found"
UNRECOGNIZED: Final = "media type unrecognized."
INVALID_MEDIA_IDS: Final = "Your media IDs are invalid."


def problem(status: int, title: str, detail: str, kind: str = "about:blank") -> Response:
    body = {"title": title, "detail": detail, "type": kind, "status": status}
    return Response(status, body, {"Content-Type": "application/problem+json"})


def invalid_request(*messages: str, parameters: dict[str, Any] | None = None) -> Response:
    """X's 400 answer: a problem document with one ``errors`` entry per message."""
    body = {
        "errors": [{"parameters": parameters or {}, "message": m} for m in messages],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": f"{PROBLEMS}/invalid-request",
    }
    return Response(400, body, {"Content-Type": "application/problem+json"})


@dataclass(frozen=True)
class Part:
    """One part of a multipart/form-data body."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    def text(self) -> str:
        return self.data.decode("utf-8")


_DISPOSITION = re.compile(
    r'form-data\s*;\s*name="(?P<name>[^"]*)"(?:\s*;\s*filename="(?P<filename>[^"]*)")?\s*',
    re.IGNORECASE,
)


def parse_multipart(body: bytes, content_type: str) -> dict[str, Part] | str:
    """The parts of a multipart/form-data body by name, or why it is malformed."""
    kind, _, rest = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        return "Content-Type must be multipart/form-data"
    found = re.search(r'boundary="?([^";]{1,70})"?', rest)
    if found is None:
        return "multipart/form-data without a boundary"
    delimiter = b"--" + found.group(1).encode("ascii")
    if not body.startswith(delimiter + b"\r\n"):
        return "the body does not start with the boundary on its own line"
    closing = b"\r\n" + delimiter + b"--"
    end = body.rfind(closing)
    if end < 0 or body[end + len(closing) :] not in (b"", b"\r\n"):
        return "the body does not end with the closing boundary"
    chunks = body[len(delimiter) + 2 : end].split(b"\r\n" + delimiter + b"\r\n")
    parts: dict[str, Part] = {}
    for chunk in chunks:
        head, separator, data = chunk.partition(b"\r\n\r\n")
        if not separator:
            return "a part has no blank line after its headers"
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if not colon:
                return f"a part has a malformed header line: {line!r}"
            headers[name.strip().lower()] = value.strip()
        disposition = _DISPOSITION.fullmatch(headers.get("content-disposition", ""))
        if disposition is None:
            return 'a part lacks "Content-Disposition: form-data; name=..."'
        part = Part(
            name=disposition.group("name"),
            data=data,
            filename=disposition.group("filename"),
            content_type=headers.get("content-type"),
        )
        if part.name in parts:
            return f"the field {part.name!r} appears twice"
        parts[part.name] = part
    return parts


def _fields(request: Request, *, binary: str) -> dict[str, Part] | str:
    """The request's fields from a multipart or JSON body (``binary`` in base64 there)."""
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        return parse_multipart(request.body, content_type)
    if content_type.lower().startswith("application/json"):
        try:
            payload = request.json()
        except ValueError:
            return "Request body is not valid JSON."
        if not isinstance(payload, dict):
            return "Request body must be a JSON object."
        fields: dict[str, Part] = {}
        for name, value in payload.items():
            if name == binary:
                try:
                    data = base64.b64decode(str(value), validate=True)
                except (binascii.Error, ValueError):
                    return f"`{binary}` is not valid base64."
            else:
                data = (value if isinstance(value, str) else json.dumps(value)).encode()
            fields[name] = Part(name=name, data=data)
        return fields
    return "Content-Type must be multipart/form-data or application/json"


def sniff(data: bytes) -> tuple[str, int, int] | None:
    """The MIME type, width and height of a picture as Pillow reads it; None if it cannot."""
    try:
        with Image.open(io.BytesIO(data)) as picture:
            kind = _PILLOW_TYPES.get(picture.format or "")
            width, height = picture.size
            picture.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    return None if kind is None else (kind, width, height)


def _same_type(declared: str, actual: str) -> bool:
    return declared.replace("pjpeg", "jpeg") == actual


@dataclass
class UploadedMedia:
    """One media upload: its bytes, declared type, owner, state and alt text."""

    id: str
    owner: str
    media_type: str
    category: str
    total_bytes: int
    created_at: float
    expires_at: float
    chunked: bool
    segments: dict[int, bytes] = field(default_factory=dict)
    data: bytes = b""
    finalized: bool = False
    #: pending | in_progress | succeeded | failed (X's processing states).
    state: str = "succeeded"
    polls_left: int = 0
    failure: str | None = None
    #: Whether X processed it asynchronously (its answers then carry processing_info).
    processed_async: bool = False
    width: int = 0
    height: int = 0
    alt: str | None = None
    #: How many times the alt text was set.
    alt_calls: int = 0

    @property
    def media_key(self) -> str:
        return f"{_KEY_PREFIX.get(self.category, '3')}_{self.id}"


@dataclass
class _Processing:
    polls: int
    failure: str | None


class MediaStore:
    """The uploads of an emulated X, and the answers of its media endpoints."""

    def __init__(self, *, now: Callable[[], float], new_id: Callable[[], str]) -> None:
        self._now = now
        self._new_id = new_id
        self.lifetime = LIFETIME_SECONDS
        self.media: dict[str, UploadedMedia] = {}
        self._processing: list[_Processing] = []

    def reset(self) -> None:
        self.media.clear()
        self._processing.clear()
        self.lifetime = LIFETIME_SECONDS

    def process_next(self, *, polls: int = 1, failure: str | None = None) -> None:
        """Have the next finalized upload processed asynchronously: ``pending`` until
        ``polls`` status requests were made, then ``succeeded`` (or ``failed`` with
        ``failure`` as X's error message)."""
        self._processing.append(_Processing(polls, failure))

    @property
    def uploads(self) -> list[UploadedMedia]:
        """Every upload that was made, finished or not, oldest first."""
        return list(self.media.values())

    # -- the endpoints ------------------------------------------------------------

    def upload(self, request: Request, owner: str) -> Response:
        """``POST /2/media/upload``: the one-shot form."""
        if request.arg("command") is not None:
            return invalid_request("Do not send command=INIT, APPEND or FINALIZE to this endpoint.")
        fields = _fields(request, binary="media")
        if isinstance(fields, str):
            return invalid_request(fields)
        if "command" in fields:
            return invalid_request("Do not send command=INIT, APPEND or FINALIZE to this endpoint.")
        media = fields.get("media")
        category = fields["media_category"].text() if "media_category" in fields else None
        if media is None or not media.data:
            return invalid_request("The `media` field is required.")
        if category not in ONE_SHOT_CATEGORIES:
            return invalid_request(
                f"The `media_category` value [{category}] is not one of "
                f"[{', '.join(sorted(ONE_SHOT_CATEGORIES))}]"
            )
        declared = fields["media_type"].text() if "media_type" in fields else None
        if declared is not None and declared not in ONE_SHOT_TYPES:
            return invalid_request(f"The `media_type` value [{declared}] is not supported.")
        found = sniff(media.data)
        if found is None or found[0] not in IMAGE_TYPES:
            return invalid_request(UNRECOGNIZED)
        if declared is not None and not _same_type(declared, found[0]):
            return invalid_request(UNRECOGNIZED)
        if len(media.data) > IMAGE_MAX_BYTES:
            return invalid_request(f"File size exceeds {IMAGE_MAX_BYTES} bytes.")
        item = self._new(owner, found[0], category, len(media.data), chunked=False)
        item.data, item.finalized = media.data, True
        item.width, item.height = found[1], found[2]
        self._start_processing(item)
        return Response(200, {"data": self._describe(item)})

    def initialize(self, request: Request, owner: str) -> Response:
        """``POST /2/media/upload/initialize``."""
        if not request.headers.get("content-type", "").lower().startswith("application/json"):
            return invalid_request("Request body must be JSON (Content-Type: application/json).")
        try:
            payload = request.json()
        except ValueError:
            return invalid_request("Request body is not valid JSON.")
        if not isinstance(payload, dict):
            return invalid_request("Request body must be a JSON object.")
        media_type = payload.get("media_type")
        total = payload.get("total_bytes")
        category = payload.get("media_category", "tweet_image")
        if media_type not in CHUNKED_TYPES:
            return invalid_request(f"The `media_type` value [{media_type}] is not supported.")
        if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
            return invalid_request("The `total_bytes` field must be a positive integer.")
        if category not in CATEGORIES:
            return invalid_request(f"The `media_category` value [{category}] is not supported.")
        # Animated GIFs (tweet_gif) may be larger; any other picture is held to 5 MB.
        limit = GIF_MAX_BYTES if category in ("tweet_gif", "dm_gif") else IMAGE_MAX_BYTES
        if str(media_type).startswith("image/") and total > limit:
            return invalid_request(f"File size exceeds {limit} bytes.")
        item = self._new(owner, str(media_type), str(category), total, chunked=True)
        data = {"id": item.id, "media_key": item.media_key, "expires_after_secs": self.lifetime}
        return Response(200, {"data": data})

    def append(self, request: Request, owner: str, media_id: str) -> Response:
        """``POST /2/media/upload/{id}/append``."""
        item = self._owned(media_id, owner)
        if item is None or not item.chunked:
            return invalid_request(NOT_FOUND)
        if item.finalized:
            return invalid_request("The upload was already finalized.")
        fields = _fields(request, binary="media")
        if isinstance(fields, str):
            return invalid_request(fields)
        raw_index = fields["segment_index"].text() if "segment_index" in fields else ""
        if not raw_index.isdigit() or int(raw_index) >= MAX_SEGMENTS:
            return invalid_request(
                f"The `segment_index` value [{raw_index}] is not between 0 and {MAX_SEGMENTS - 1}"
            )
        media = fields.get("media")
        if media is None or not media.data:
            return invalid_request("The `media` field is required.")
        if len(media.data) > SEGMENT_MAX_BYTES:
            return invalid_request(f"Segment size exceeds {SEGMENT_MAX_BYTES} bytes.")
        item.segments[int(raw_index)] = media.data
        return Response(200, {"data": {"expires_at": int(item.expires_at)}})

    def finalize(self, request: Request, owner: str, media_id: str) -> Response:
        """``POST /2/media/upload/{id}/finalize``."""
        item = self._owned(media_id, owner)
        if item is None or not item.chunked:
            return invalid_request(NOT_FOUND)
        if item.finalized:
            return Response(200, {"data": self._describe(item)})
        indexes = sorted(item.segments)
        data = b"".join(item.segments[i] for i in indexes)
        if indexes != list(range(len(indexes))) or len(data) != item.total_bytes:
            return invalid_request("Segments do not add up to provided total file size.")
        if item.media_type.startswith("image/"):
            found = sniff(data)
            if found is None or not _same_type(item.media_type, found[0]):
                return invalid_request(UNRECOGNIZED)
            item.width, item.height = found[1], found[2]
        item.data, item.finalized = data, True
        item.segments.clear()
        self._start_processing(item)
        return Response(200, {"data": self._describe(item)})

    def status(self, request: Request, owner: str) -> Response:
        """``GET /2/media/upload?command=STATUS&media_id=...``."""
        if request.arg("command") != "STATUS":
            return invalid_request("The `command` query parameter must be STATUS.")
        item = self._owned(request.arg("media_id") or "", owner)
        if item is None or not item.finalized:
            return invalid_request(NOT_FOUND)
        if item.state in ("pending", "in_progress"):
            item.polls_left -= 1
            if item.polls_left <= 0:
                item.state = "failed" if item.failure else "succeeded"
            else:
                item.state = "in_progress"
        return Response(200, {"data": self._describe(item)})

    def metadata(self, request: Request, owner: str) -> Response:
        """``POST /2/media/metadata``: alt text."""
        try:
            payload = request.json()
        except ValueError:
            return invalid_request("Request body is not valid JSON.")
        if not isinstance(payload, dict):
            return invalid_request("Request body must be a JSON object.")
        metadata = payload.get("metadata")
        alt = metadata.get("alt_text") if isinstance(metadata, dict) else None
        text = alt.get("text") if isinstance(alt, dict) else None
        if not isinstance(text, str):
            return invalid_request("The `metadata` field must be an object with alt_text.text.")
        if len(text) > ALT_TEXT_MAX:
            return invalid_request(
                f"The `metadata.alt_text.text` value is longer than {ALT_TEXT_MAX} characters."
            )
        item = self._owned(str(payload.get("id", "")), owner)
        if item is None or not item.finalized:
            return invalid_request(NOT_FOUND)
        item.alt = text
        item.alt_calls += 1
        data = {"id": item.id, "associated_metadata": {"alt_text": {"text": text}}}
        return Response(200, {"data": data})

    # -- posting ------------------------------------------------------------------

    def refused_for_post(self, ids: Sequence[str], owner: str) -> list[str]:
        """The ids X would refuse in a post by ``owner``: unknown, another account's,
        unfinished, failed or expired."""
        refused = []
        for media_id in ids:
            item = self._owned(media_id, owner)
            if item is None or not item.finalized or item.state != "succeeded":
                refused.append(media_id)
        return refused

    # -- plumbing -----------------------------------------------------------------

    def _new(
        self, owner: str, media_type: str, category: str, total: int, *, chunked: bool
    ) -> UploadedMedia:
        now = self._now()
        item = UploadedMedia(
            id=self._new_id(),
            owner=owner,
            media_type=media_type,
            category=category,
            total_bytes=total,
            created_at=now,
            expires_at=now + self.lifetime,
            chunked=chunked,
        )
        self.media[item.id] = item
        return item

    def _owned(self, media_id: str, owner: str) -> UploadedMedia | None:
        """The upload if it exists, is ``owner``'s and has not expired."""
        item = self.media.get(media_id)
        if item is None or item.owner != owner or self._now() >= item.expires_at:
            return None
        return item

    def _start_processing(self, item: UploadedMedia) -> None:
        if self._processing:
            plan = self._processing.pop(0)
            item.state, item.polls_left, item.failure = "pending", plan.polls, plan.failure
            item.processed_async = True

    def _describe(self, item: UploadedMedia) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": item.id,
            "media_key": item.media_key,
            "size": len(item.data),
            "expires_after_secs": max(0, round(item.expires_at - self._now())),
        }
        if item.width:
            data["image"] = {"image_type": item.media_type, "w": item.width, "h": item.height}
        if item.processed_async:
            info: dict[str, Any] = {"state": item.state}
            if item.state in ("pending", "in_progress"):
                info["check_after_secs"] = 1
                info["progress_percent"] = 0 if item.state == "pending" else 50
            if item.state == "failed":
                info["progress_percent"] = 100
                info["error"] = {"code": 1, "name": "InvalidMedia", "message": item.failure}
            data["processing_info"] = info
        return data
