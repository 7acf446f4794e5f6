"""The pages' words in English and Albanian: one catalogue per language, keyed by the English text.

Keys are the English strings themselves (gettext style), so a template reads
as the page does. A key missing from a language, or left for a translator,
falls back to English rather than showing a key. Values may carry ``{name}``
placeholders, filled from the keyword arguments of ``_()``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Only for type hints: the CLI and the scheduler read the catalogues too,
    # and should not load the web stack to do it.
    from starlette.requests import HTTPConnection

LOCALES = Path(__file__).parent / "locales"
DEFAULT_LANGUAGE = "en"
#: Languages offered, with their names as their speakers write them.
LANGUAGES: Mapping[str, str] = {"en": "English", "sq": "Shqip"}

Translate = Callable[..., str]


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """The messages of ``language``; keys a translator has not done yet are left out."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: use one of {', '.join(LANGUAGES)}")
    data: dict[str, Any] = json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))
    pending = set(data.get("needs_translation", ()))
    messages: dict[str, str] = data["messages"]
    return {k: v for k, v in messages.items() if k not in pending and v}


def translate(language: str, key: str, /, **values: object) -> str:
    text = catalogue(language).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key, key)
    return text.format(**values) if values else text


def translator(language: str) -> Translate:
    """``_()`` for one request's language."""

    def _(key: str, /, **values: object) -> str:
        return translate(language, key, **values)

    return _


def pick_language(chosen: object, accept_language: str | None) -> str:
    """The language a person chose, else the first one their browser asks for that we have."""
    if isinstance(chosen, str) and chosen in LANGUAGES:
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        code = tag.strip().lower().split("-")[0]
        if code in LANGUAGES and quality > 0:
            ranked.append((-quality, index, code))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def request_language(request: HTTPConnection) -> str:
    """The language for answering ``request``: the session's choice, else Accept-Language."""
    chosen = request.session.get("lang") if "session" in request.scope else None
    return pick_language(chosen, request.headers.get("accept-language"))
