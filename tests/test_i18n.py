"""Every word a person reads is in every language's catalogue.

The msgids are found the way a translator's tools find them: Babel's
extraction over the code (``_()``, ``N_()``, ``translate(language, "...")``)
and the templates, configured by ``babel.cfg`` at the root.
"""

from __future__ import annotations

import string
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import visibility
from visibility.accounts.roles import Role
from visibility.i18n import (
    LANGUAGES,
    catalogue,
    catalogue_path,
    format_day,
    format_number,
    format_time,
    match_language,
    pick_language,
    translate,
)
from visibility.queue.states import PostStatus
from visibility.reports.figures import FIGURES
from visibility.web import words

ROOT = Path(visibility.__file__).resolve().parents[1]
KEYWORDS = {"_": None, "N_": None, "translate": (2,)}


def _extracted() -> dict[str, list[str]]:
    """msgid -> where it is used (file:line)."""
    found: dict[str, list[str]] = {}
    method_map = [("visibility/**.py", "python"), ("visibility/web/templates/**.html", "jinja2")]
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=KEYWORDS
    ):
        if isinstance(message, str) and message:
            found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[str, list[str]]:
    return _extracted()


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_the_configuration_extracts_what_the_test_does() -> None:
    config = (ROOT / "babel.cfg").read_text(encoding="utf-8")
    assert "[python: visibility/**.py]" in config
    assert "[jinja2: visibility/web/templates/**.html]" in config


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_word_shown_has_a_translation(language: str, extracted: dict[str, list[str]]) -> None:
    with catalogue_path(language).open("rb") as fh:
        po = read_po(fh)
    entries = {str(m.id): m for m in po if m.id}
    missing = {k: v[0] for k, v in extracted.items() if k not in entries}
    assert missing == {}, f"{language}: msgids with no entry (run pybabel update)"
    untranslated = sorted(
        k for k in extracted if not entries[k].string or (entries[k].fuzzy and language != "en")
    )
    # Albanian keeps three words for a translator (shown in English meanwhile).
    allowed = {"sq": 3}.get(language, 0)
    assert len(untranslated) <= allowed, f"{language}: untranslated {untranslated}"
    for key in extracted:
        text = str(entries[key].string)
        if text:
            assert _fields(text) == _fields(key), (language, key, text)
    stale = sorted(set(entries) - set(extracted))
    assert stale == [], f"{language}: entries no code uses (run pybabel update)"


def test_words_looked_up_from_data_are_the_datas_values() -> None:
    assert set(words.STATUSES) == {s.value for s in PostStatus}
    assert set(words.ROLES) == {r.value for r in Role}
    assert set(words.FIGURES) == {*FIGURES, "engagement"}


def test_serbian_in_both_scripts_and_the_browsers_choice() -> None:
    assert match_language("sr") == "sr-Cyrl"  # CLDR's default script
    assert match_language("sr-Latn-RS") == "sr-Latn"
    assert match_language("sq-XK") == "sq"
    assert match_language("de") is None
    assert pick_language(None, "de, sr-Latn;q=0.9, en;q=0.5") == "sr-Latn"
    assert pick_language(None, "sr-RS,sr;q=0.9") == "sr-Cyrl"
    assert pick_language("sq", "sr") == "sq"  # a person's choice first
    assert pick_language(None, "de, en;q=0.5, sq;q=0.8") == "sq"
    assert pick_language(None, None) == "en"


def test_a_word_left_for_a_translator_shows_in_english() -> None:
    assert translate("sq", "Sign in") == "Hyr"
    assert "On" not in catalogue("sq")
    assert translate("sq", "On") == "On"
    assert translate("sq", "no such message {x}", x=1) == "no such message 1"


def test_dates_and_numbers_as_each_language_writes_them() -> None:
    moment = datetime(2026, 12, 3, 14, 5, tzinfo=UTC)
    belgrade = ZoneInfo("Europe/Belgrade")
    assert format_time(moment, "sq", belgrade) == "3 dhj 2026, 15:05"
    assert format_time(moment, "en", belgrade) == "3 Dec 2026, 15:05"
    assert format_time(moment, "sr-Cyrl", belgrade) == "3. дец 2026., 15:05"
    assert format_day(date(2026, 12, 3), "sr-Latn") == "3. dec 2026."
    assert format_number(12431, "en") == "12,431"
    assert format_number(12431, "sq") == "12\xa0431"
    assert format_number(12431, "sr-Latn") == "12.431"
