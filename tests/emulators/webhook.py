"""A website's article webhook, built as a site developer would from the docs.

The receiver verifies the signature scheme documented in
``visibility.adapters.webhook`` on its own (it does not call the adapter's
``sign``), so a signing mistake shows up as a refused request, the way a
real site would refuse it. It creates one page per ``post_id`` (a post sent
again gets its existing page back) and can be told to answer badly. Each of
the article's ``images`` is checked as the docs tell a site to: its base64
decodes, to a file whose SHA-256 and size are the ones given, of the type
given, with alt text; and a body over ``max_body`` bytes is refused with 413.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from typing import Any, Final, Literal

from emulators.server import Emulator, Request, Response, route

WEBHOOK_PATH: Final = "/hooks/articles"

#: How the receiver answers a valid article.
Answer = Literal["created", "relative_url", "missing_url", "html", "empty"]
_ARTICLE_FIELDS: Final = (
    *("post_id", "news_item_id", "title", "content_html", "excerpt", "link", "images"),
)
_IMAGE_FIELDS: Final = ("sha256", "mime_type", "width", "height", "size", "alt", "caption")
_MAGIC: Final = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


def check_image(number: int, image: Any) -> bytes | str:
    """The picture's file, or what is wrong with it."""
    if not isinstance(image, Mapping):
        return f"images[{number}] must be an object"
    missing = [key for key in (*_IMAGE_FIELDS, "content_base64") if key not in image]
    if missing:
        return f"images[{number}] lacks {', '.join(missing)}"
    try:
        data = base64.b64decode(str(image["content_base64"]), validate=True)
    except binascii.Error:
        return f"images[{number}].content_base64 is not base64"
    if hashlib.sha256(data).hexdigest() != image["sha256"] or len(data) != image["size"]:
        return f"images[{number}] does not match its sha256 and size"
    if not data.startswith(_MAGIC.get(str(image["mime_type"]), (b"\0invalid",))):
        return f"images[{number}] is not a {image['mime_type']} file"
    if not isinstance(image["alt"], str) or not image["alt"].strip():
        return f"images[{number}] has no alt text"
    return data


class WebhookReceiver(Emulator):
    """Receives articles at ``WEBHOOK_PATH`` and answers ``201 {"id", "url"}``."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        signature_header: str = "X-Visibility-Signature",
        tolerance: float = 300.0,
        answer: Answer = "created",
        url_field: str = "url",
        get_status: int = 405,
        max_body: int = 64 * 1024 * 1024,
    ) -> None:
        super().__init__()
        self.secret = secret
        self.signature_header = signature_header.lower()
        self.tolerance = tolerance
        self.answer: Answer = answer
        self.url_field = url_field
        self.get_status = get_status
        self.max_body = max_body
        #: Created pages by id: the article as received, and its address.
        self.pages: dict[str, dict[str, Any]] = {}
        #: For each POST that passed the signature check: its raw body.
        self.accepted: list[bytes] = []

    @property
    def url(self) -> str:
        return f"{self.base_url}{WEBHOOK_PATH}"

    def _refuse_signature(self, request: Request) -> Response | None:
        if self.secret is None:
            return None
        signature = request.headers.get(self.signature_header)
        timestamp = request.headers.get("x-visibility-timestamp", "")
        if not signature:
            return Response(401, {"error": "missing signature"})
        if not timestamp.isdigit():
            return Response(401, {"error": "missing or malformed timestamp"})
        if abs(time.time() - int(timestamp)) > self.tolerance:
            return Response(401, {"error": "timestamp too old or in the future"})
        signed = timestamp.encode() + b"." + request.body
        expected = "sha256=" + hmac.new(self.secret.encode(), signed, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return Response(401, {"error": "invalid signature"})
        return None

    @route("GET", WEBHOOK_PATH)
    def _probe(self, request: Request) -> Response:
        refused = self._refuse_signature(request)
        if refused is not None:
            return refused
        if self.get_status == 405:
            return Response(405, {"error": "use POST"}, {"Allow": "POST"})
        return Response(self.get_status, {"ok": self.get_status < 300})

    @route("POST", WEBHOOK_PATH)
    def _receive(self, request: Request) -> Response:
        if len(request.body) > self.max_body:
            return Response(413, {"error": "request entity too large"})
        refused = self._refuse_signature(request)
        if refused is not None:
            return refused
        try:
            article = json.loads(request.body)
        except ValueError:
            return Response(400, {"error": "the body is not JSON"})
        if not isinstance(article, dict):
            return Response(400, {"error": "the body must be a JSON object"})
        missing = [key for key in _ARTICLE_FIELDS if key not in article]
        if missing:
            return Response(400, {"error": f"missing field(s): {', '.join(missing)}"})
        if not isinstance(article["post_id"], int) or not isinstance(article["content_html"], str):
            return Response(400, {"error": "post_id must be a number and content_html text"})
        if not isinstance(article["images"], list):
            return Response(400, {"error": "images must be a list"})
        files = [check_image(n, image) for n, image in enumerate(article["images"])]
        problems = [f for f in files if isinstance(f, str)]
        if problems:
            return Response(400, {"error": "; ".join(problems)})
        with self.lock:
            self.accepted.append(request.body)
            existing = next(
                (pid for pid, p in self.pages.items() if p["post_id"] == article["post_id"]), None
            )
            status = 200 if existing else 201
            page_id = existing or str(len(self.pages) + 101)
            slug = re.sub(r"[^a-z0-9]+", "-", str(article["title"] or "").lower()).strip("-")
            path = f"/news/{page_id}-{slug}" if slug else f"/news/{page_id}"
            self.pages[page_id] = {**article, "path": path, "files": files}
        if self.answer == "html":
            return Response(200, b"<html><body>Saved!</body></html>", {"Content-Type": "text/html"})
        if self.answer == "empty":
            return Response(204)
        if self.answer == "missing_url":
            return Response(status, {"id": page_id, "saved": True})
        address = path if self.answer == "relative_url" else f"{self.base_url}{path}"
        return Response(status, {"id": page_id, self.url_field: address})
