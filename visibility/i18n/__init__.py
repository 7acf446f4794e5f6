"""Every word a person reads, in their language: gettext catalogues read with Babel.

The catalogues are ``locales/<locale>/LC_MESSAGES/visibility.po`` (``sq``,
``sr_Latn``), one per language, keyed by the English text (gettext's msgid), so code and templates
read as the page does. ``pybabel extract -F babel.cfg`` finds the msgids in
the code (``_()``, ``N_()``, ``translate(language, "...")``) and the
templates; ``tests/test_i18n.py`` fails when one has no translation. A msgid
marked fuzzy (left for a translator) falls back to English rather than
showing a wrong text. Values may carry ``{name}`` placeholders, filled from the
keyword arguments of ``_()``.

Dates and numbers are written the way each language writes them (CLDR data
through Babel): ``3 dhj 2026, 15:05`` in Albanian, ``3. 12. 2026. 15:05`` in
Serbian.

Used by the pages, the API and the CLI: nothing here imports the web stack.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, tzinfo
from functools import cache
from pathlib import Path

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "visibility"
DEFAULT_LANGUAGE = "en"
#: Languages offered, with their names as their speakers write them. Serbian in
#: both its scripts: organisations in Kosovo write Latin, in Serbia often Cyrillic.
LANGUAGES: Mapping[str, str] = {
    "en": "English",
    "sq": "Shqip",
    "sr-Latn": "Srpski",
    "sr-Cyrl": "Српски",
}
#: Babel's (CLDR's) name of each language.
_LOCALES = {"en": "en_GB", "sq": "sq", "sr-Latn": "sr_Latn", "sr-Cyrl": "sr_Cyrl"}

Translate = Callable[..., str]


def N_(text: str) -> str:
    """Marks a text for the catalogues where it is written; it is translated where shown."""
    return text


def catalogue_path(language: str) -> Path:
    # Folders by Babel's locale names (sr_Latn), as `pybabel update -l` wants them.
    return LOCALES / language.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """The messages of ``language``; fuzzy or empty ones are left out (English shows)."""
    from babel.messages.pofile import read_po

    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: use one of {', '.join(LANGUAGES)}")
    with catalogue_path(language).open("rb") as fh:
        messages = read_po(fh, locale=_LOCALES[language], domain=DOMAIN)
    return {
        str(m.id): str(m.string)
        for m in messages
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string and not m.fuzzy
    }


def translate(language: str, key: str, /, **values: object) -> str:
    text = catalogue(language).get(key) if language != DEFAULT_LANGUAGE else None
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key, key)
    return text.format(**values) if values else text


def translator(language: str) -> Translate:
    """``_()`` for one reader's language."""

    def _(key: str, /, **values: object) -> str:
        return translate(language, key, **values)

    return _


def match_language(tag: str) -> str | None:
    """One of ``LANGUAGES`` for a BCP 47 tag (``sr``, ``sr-Latn-RS``, ``sq-XK``), if any.

    Plain ``sr`` is Cyrillic, as CLDR has it; the Latin script must be asked for.
    """
    parts = [p for p in tag.strip().replace("_", "-").split("-") if p]
    if not parts:
        return None
    code = parts[0].lower()
    if code == "sr":
        return "sr-Latn" if any(p.lower() == "latn" for p in parts[1:]) else "sr-Cyrl"
    return code if code in LANGUAGES else None


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
        language = match_language(tag)
        if language is not None and quality > 0:
            ranked.append((-quality, index, language))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


# -- dates and numbers --------------------------------------------------------


def format_time(instant: datetime, language: str, tz: tzinfo) -> str:
    """A moment as the reader's language writes it, in ``tz``: ``3 dhj 2026, 15:05``."""
    from babel.dates import format_skeleton

    local = instant.astimezone(tz)
    locale = _LOCALES[language]
    day = format_skeleton("yMMMd", local, locale=locale)
    return f"{day}, {format_skeleton('Hm', local, locale=locale)}"


def format_day(day: date, language: str) -> str:
    """A day: ``3 dhj 2026``, ``3. дец 2026.``."""
    from babel.dates import format_skeleton

    return format_skeleton("yMMMd", day, locale=_LOCALES[language])


def language_name(code: str, language: str) -> str:
    """A language's name (``sq``) in the reader's language: "shqip", "албански"."""
    from babel import Locale

    name = Locale.parse(_LOCALES[language]).languages.get(code.split("-")[0])
    return str(name) if name else code


def format_number(value: int | float, language: str) -> str:
    from babel.numbers import format_decimal

    return format_decimal(value, locale=_LOCALES[language])
