"""detect_language: Albanian, Serbian (Latin and Cyrillic), English."""

from __future__ import annotations

import pytest

from visibility.news.language import detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (
            "Organizatat e shoqërisë civile në Kosovë do të marrin pjesë në trajnime për "
            "menaxhimin e projekteve dhe raportimin financiar.",
            "sq",
        ),
        (
            "Organizacije civilnog društva iz svih opština pozvane su da se prijave za male "
            "grantove namenjene lokalnim inicijativama.",
            "sr",
        ),
        (
            "Организације цивилног друштва из свих општина позване су да се пријаве за мале "
            "грантове намењене локалним иницијативама.",
            "sr",
        ),
        (
            "Civil society organisations from all municipalities are invited to apply for "
            "small grants for local initiatives.",
            "en",
        ),
        ("TRAJNIME FALAS PËR ORGANIZATAT E SHOQËRISË CIVILE NË KOSOVË", "sq"),
    ],
)
def test_detects_candidate_languages(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_croatian_or_bosnian_answers_count_as_serbian() -> None:
    # Ijekavian Latin text, the kind the model often labels hr or bs.
    text = "Organizacije civilnog društva traže veću podršku općine za mlade i djecu."
    assert detect_language(text) == "sr"


def test_restricted_candidates() -> None:
    text = "Civil society organisations are invited to apply for small grants."
    assert detect_language(text, candidates=("sq", "en")) == "en"
    assert detect_language(text, candidates=("sq",)) == "sq"


def test_no_letters_gives_the_first_candidate() -> None:
    assert detect_language("2026 – 10 / 12", candidates=("en", "sq")) == "en"


def test_unknown_candidate_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown language code"):
        detect_language("some text here", candidates=("en", "xx-not-a-language"))
