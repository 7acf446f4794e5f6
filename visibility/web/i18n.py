"""The pages' and the API's language: the person's choice, else their browser's.

The catalogues and formatting live in ``visibility.i18n`` (shared with the CLI).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visibility.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Translate,
    catalogue,
    pick_language,
    translate,
    translator,
)

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Translate",
    "catalogue",
    "pick_language",
    "request_language",
    "translate",
    "translator",
]


def request_language(request: HTTPConnection) -> str:
    """The language for answering ``request``: the session's choice, else Accept-Language."""
    chosen = request.session.get("lang") if "session" in request.scope else None
    return pick_language(chosen, request.headers.get("accept-language"))
