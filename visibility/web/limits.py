"""One size limit for news items, ``VISIBILITY_MAX_NEWS_BYTES``, however they arrive.

The limit is on the text in UTF-8, after the form's CRLF line ends become LF: the same
number for the form, the JSON API and uploads, answered with the same 413 and message.

413 (Content Too Large) rather than 422: it is the one answer a client can act on the
same way whether the refusal came before the body was read or after the text was
measured, and it says "smaller", not "different".

A request body may be larger than the text it carries (percent-encoding or JSON
``\\u`` escapes triple a non-ASCII byte), so a body is read up to three times the limit
plus room for the other fields. Past that no text within the limit can be in it: it is
refused as soon as that is known, at once if Content-Length says so, else when the
stream passes it, without being read to the end.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response, status
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from visibility.web.i18n import Translate, request_language, translator

_ROOM_FOR_OTHER_FIELDS = 64 * 1024
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
# What FastAPI answers when a body cannot be decoded at all (not UTF-8, say).
_FASTAPI_UNPARSED = "There was an error parsing the body"


def news_limit(request: Request | Scope) -> int:
    scope = request.scope if isinstance(request, Request) else request
    limit: int = scope["app"].state.visibility.settings.max_news_bytes
    return limit


def body_cap(limit: int) -> int:
    """The largest body that can still hold a news item of ``limit`` bytes."""
    return 3 * limit + _ROOM_FOR_OTHER_FIELDS


def _size(n: int, _: Translate) -> str:
    if n % 1_000_000 == 0:
        return _("{count} MB", count=n // 1_000_000)
    if n % 1000 == 0:
        return _("{count} kB", count=n // 1000)
    return _("{count} bytes", count=n)


def limit_message(request: Request) -> str:
    _ = translator(request_language(request))
    return _(
        "The news item is too long: at most {limit} of text is accepted. Shorten it or split "
        "it into two news items; an administrator can raise the limit "
        "(VISIBILITY_MAX_NEWS_BYTES).",
        limit=_size(news_limit(request), _),
    )


def too_large(request: Request) -> HTTPException:
    return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, limit_message(request))


def over_limit(request: Request, text: str | bytes) -> bool:
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8"))
    return size > news_limit(request)


def _unreadable(request: Request) -> HTTPException:
    _ = translator(request_language(request))
    if request.headers.get("content-type", "").startswith(_FORMS):
        text = _("The request body could not be read as a form: send it as /docs describes.")
    else:
        text = _("The request body could not be read: send JSON in UTF-8, as /docs describes.")
    return HTTPException(status.HTTP_400_BAD_REQUEST, text)


class BoundedRoute(APIRoute):
    """A route that reads at most ``body_cap`` bytes of a body, and forms of that size."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        cap = body_cap(news_limit(scope))
        declared = Headers(scope=scope).get("content-length", "")
        announced = int(declared) if declared.isdigit() else 0
        read = 0

        async def bounded() -> Message:
            nonlocal read
            if announced > cap:
                raise too_large(Request(scope))
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > cap:
                    raise too_large(Request(scope))
            return message

        await super().handle(scope, bounded, send)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded_handler(request: Request) -> Response:
            if request.headers.get("content-type", "").startswith(_FORMS):
                # Parsed here, once, with a part size to match the cap: Starlette's own
                # default (1 MB) is below the setting's. FastAPI and the CSRF check
                # then use this parse.
                try:
                    await request.form(max_part_size=body_cap(news_limit(request)))
                except StarletteHTTPException as exc:
                    if exc.status_code == status.HTTP_400_BAD_REQUEST:
                        raise _unreadable(request) from None
                    raise
            try:
                return await handler(request)
            except StarletteHTTPException as exc:
                if exc.detail == _FASTAPI_UNPARSED:
                    raise _unreadable(request) from None
                raise

        return bounded_handler
