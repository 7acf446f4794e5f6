"""Datelines at the start of a press release's first paragraph.

Recognised forms (any letter case, month names with or without diacritics)::

    18 nëntor 2014, Prishtinë – ...          Albanian
    18. novembar 2014, Priština – ...        Serbian Latin (also "18. novembra 2014. godine")
    18. новембар 2014, Приштина – ...        Serbian Cyrillic
    18 November 2014, Pristina – ...         English
    November 18, 2014, Pristina - ...        English, month first
    PRISTINA, 18 November 2014 – ...         place first (any of the languages)

The dash may be an en dash, an em dash, a hyphen or a colon. The place is
optional (``18 nëntor 2014 – ...``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

_MONTHS_BY_NUMBER: dict[int, tuple[str, ...]] = {
    1: ("janar", "januar", "januara", "јануар", "јануара", "january", "jan"),
    2: ("shkurt", "februar", "februara", "фебруар", "фебруара", "february", "feb"),
    3: ("mars", "mart", "marta", "март", "марта", "march", "mar"),
    4: ("prill", "april", "aprila", "април", "априла", "apr"),
    5: ("maj", "maja", "мај", "маја", "may"),
    6: ("qershor", "jun", "juni", "juna", "јун", "јуни", "јуна", "june"),
    7: ("korrik", "jul", "juli", "jula", "јул", "јули", "јула", "july"),
    8: ("gusht", "avgust", "avgusta", "август", "августа", "august", "aug"),
    9: (
        "shtator",
        "septembar",
        "septembra",
        "септембар",
        "септембра",
        "september",
        "sep",
        "sept",
    ),
    10: ("tetor", "oktobar", "oktobra", "октобар", "октобра", "october", "oct"),
    11: ("nëntor", "novembar", "novembra", "новембар", "новембра", "november", "nov"),
    12: ("dhjetor", "decembar", "decembra", "децембар", "децембра", "december", "dec"),
}


def _fold(word: str) -> str:
    """Casefold and drop combining marks, so ``NËNTOR`` and ``nentor`` compare equal."""
    decomposed = unicodedata.normalize("NFD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_MONTHS: dict[str, int] = {
    _fold(name): number for number, names in _MONTHS_BY_NUMBER.items() for name in names
}

_WORD = r"[^\W\d_]+"
_DAY = r"(?P<day>\d{1,2})"
_YEAR = r"(?P<year>\d{4})"
_MONTH = rf"(?P<month>{_WORD})\.?"
# "18. novembra 2014. godine", "18. новембра 2014. године"
_YEAR_WORD = r"(?:\.?\s*(?:godine|god\.|године|год\.))?\.?"
_DAY_FIRST = rf"{_DAY}\.?\s+{_MONTH}\s+{_YEAR}{_YEAR_WORD}"
_MONTH_FIRST = rf"{_MONTH}\s+{_DAY}(?:st|nd|rd|th)?,?\s+{_YEAR}"
# One to three words: "Prishtinë", "Fushë Kosovë", "Mitrovicë-Jug", "St. Louis".
_PLACE = rf"(?P<place>{_WORD}(?:(?:\s+|[-'’]|\.\s*){_WORD}){{0,2}})"
# The dash ends the dateline; a dateline alone in its paragraph ends there.
_END = r"(?:\s*[–—:]\s*|\s+-\s*|-\s+|\s*$)"
_ON = r"(?:më\s+|on\s+)?"  # "Prishtinë, më 12 nëntor 2026 –"

_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        rf"\s*{_DAY_FIRST}(?:\s*,\s*|\s+){_PLACE}?{_END}",
        rf"\s*{_MONTH_FIRST}(?:\s*,\s*|\s+){_PLACE}?{_END}",
        rf"\s*{_PLACE}\s*,\s*{_ON}{_DAY_FIRST}{_END}",
        rf"\s*{_PLACE}\s*,\s*{_ON}{_MONTH_FIRST}{_END}",
        rf"\s*{_DAY_FIRST}{_END}",
        rf"\s*{_MONTH_FIRST}{_END}",
    )
)


@dataclass(frozen=True)
class Dateline:
    """A parsed dateline: the lead starts at ``paragraph[text_end:]``."""

    date: date
    place: str | None
    text_end: int


def parse_dateline(paragraph: str) -> Dateline | None:
    """Find a dateline at the very start of ``paragraph``; None when there is none.

    A dateline naming an impossible date (``31 shkurt 2026``) is not one.
    """
    for pattern in _PATTERNS:
        match = pattern.match(paragraph)
        if match is None:
            continue
        month = _MONTHS.get(_fold(match["month"]))
        if month is None:
            continue
        try:
            when = date(int(match["year"]), month, int(match["day"]))
        except ValueError:
            return None
        place = match.groupdict().get("place")
        return Dateline(date=when, place=place.strip() if place else None, text_end=match.end())
    return None
