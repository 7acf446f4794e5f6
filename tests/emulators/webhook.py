"""A website's article webhook, built as a site developer would from the docs.

The receiver verifies the signature scheme documented in
``visibility.adapters.webhook`` on its own (it does not call the adapter's
``sign``), so a signing mistake shows up as a refused request, the way a
real site would refuse it. It creates one page per ``post_id`` (a post sent
again gets its existing page back) and can be told to answer badly.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Any, Final, Literal

from emulators.server import Emulator, Request, Response, route

WEBHOOK_PATH: Final = "/hooks/articles"

#: How the receiver answers a valid article.
Answer = Literal["created", "relative_url", "missing_url", "html", "empty"]


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
    ) -> None:
        super().__init__()
        self.secret = secret
        self.signature_header = signature_header.lower()
        self.tolerance = tolerance
        self.answer: Answer = answer
        self.url_field = url_field
        self.get_status = get_status
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
        refused = self._refuse_signature(request)
        if refused is not None:
            return refused
        try:
            article = json.loads(request.body)
        except ValueError:
            return Response(400, {"error": "the body is not JSON"})
        if not isinstance(article, dict):
            return Response(400, {"error": "the body must be a JSON object"})
        missing = [
            key
            for key in ("post_id", "news_item_id", "title", "content_html", "excerpt", "link")
            if key not in article
        ]
        if missing:
            return Response(400, {"error": f"missing field(s): {', '.join(missing)}"})
        if not isinstance(article["post_id"], int) or not isinstance(article["content_html"], str):
            return Response(400, {"error": "post_id must be a number and content_html text"})
        with self.lock:
            self.accepted.append(request.body)
            existing = next(
                (pid for pid, p in self.pages.items() if p["post_id"] == article["post_id"]), None
            )
            status = 200 if existing else 201
            page_id = existing or str(len(self.pages) + 101)
            slug = re.sub(r"[^a-z0-9]+", "-", str(article["title"] or "").lower()).strip("-")
            path = f"/news/{page_id}-{slug}" if slug else f"/news/{page_id}"
            self.pages[page_id] = {**article, "path": path}
        if self.answer == "html":
            return Response(200, b"<html><body>Saved!</body></html>", {"Content-Type": "text/html"})
        if self.answer == "empty":
            return Response(204)
        if self.answer == "missing_url":
            return Response(status, {"id": page_id, "saved": True})
        address = path if self.answer == "relative_url" else f"{self.base_url}{path}"
        return Response(status, {"id": page_id, self.url_field: address})
