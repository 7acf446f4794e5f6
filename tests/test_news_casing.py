"""is_all_caps and sentence_case: acronyms, hyphenated endings, proper-name stems."""

from __future__ import annotations

import pytest

from visibility.news.casing import (
    DEFAULT_ACRONYMS,
    DEFAULT_PROPER_NAMES,
    MIN_STEM_LETTERS,
    is_all_caps,
    sentence_case,
)


def default_case(title: str) -> str:
    return sentence_case(title, acronyms=DEFAULT_ACRONYMS, proper_names=DEFAULT_PROPER_NAMES)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("ZGJERIMI I DIMENSIONEVE TË ASISTENCËS TEKNIKE PËR OSHC-TË NË KOSOVË", True),
        ("ОРГАНИЗАЦИЈЕ ЦИВИЛНОГ ДРУШТВА", True),
        ("KCSF 2026: 10 VJET!", True),
        ("Zgjerimi i asistencës për OShC-të në Kosovë", False),
        ("TRAJNIME PËR OShC-TË", False),
        ("2026 – 10", False),
        ("A", False),
        ("A 1", False),
        ("", False),
    ],
)
def test_is_all_caps(title: str, expected: bool) -> None:
    assert is_all_caps(title) is expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (
            "ZGJERIMI I DIMENSIONEVE TË ASISTENCËS TEKNIKE PËR OSHC-TË NË KOSOVË",
            "Zgjerimi i dimensioneve të asistencës teknike për OShC-të në Kosovë",
        ),
        (
            "TACSO-S DHE BE-JA MBËSHTESIN KCSF NË PRISHTINË",
            "TACSO-s dhe BE-ja mbështesin KCSF në Prishtinë",
        ),
        ("KOSOVËS I DUHEN OJQ-TË", "Kosovës i duhen OJQ-të"),
        ("FORUMI I PRISHTINËS DHE I KOSOVËS", "Forumi i Prishtinës dhe i Kosovës"),
        (
            "ORGANIZACIJE CIVILNOG DRUŠTVA U PRIŠTINI TRAŽE PODRŠKU EU",
            "Organizacije civilnog društva u Prištini traže podršku EU",
        ),
        (
            "ОРГАНИЗАЦИЈЕ ЦИВИЛНОГ ДРУШТВА НА КОСОВУ ТРАЖЕ ПОДРШКУ ЕУ-А И ОЕБС-А",
            "Организације цивилног друштва на Косову траже подршку ЕУ-а и ОЕБС-а",
        ),
        ("KCSF HAP THIRRJEN. OSHC-TË APLIKOJNË", "KCSF hap thirrjen. OShC-të aplikojnë"),
        ("TOT PËR TRAJNERË NGA BALLKANI", "ToT për trajnerë nga Ballkani"),
        ("10 VJET TË FONDIT", "10 vjet të fondit"),
        ("PEĆ I PEĆINA", "Peć i pećina"),
        ("„TË RINJTË E MITROVICËS”", "„Të rinjtë e Mitrovicës”"),
    ],
)
def test_sentence_case_with_defaults(title: str, expected: str) -> None:
    assert default_case(title) == expected


def test_listed_spelling_and_names_are_caller_supplied() -> None:
    assert (
        sentence_case("QBSC-JA NË DARDANI", acronyms=["QBSC"], proper_names=["Dardan"])
        == "QBSC-ja në Dardani"
    )
    assert sentence_case("KOSOVË", acronyms=[], proper_names=[]) == "Kosovë"
    assert sentence_case("NË KOSOVË", acronyms=[], proper_names=[]) == "Në kosovë"


def test_default_stems_are_long_enough() -> None:
    short = [
        name
        for name in DEFAULT_PROPER_NAMES
        if len(name) < MIN_STEM_LETTERS and name not in ("Peć", "Пећ")
    ]
    assert short == []
    for acronym in ("OShC", "OJQ", "TACSO", "KCSF", "BE", "EU", "ToT", "USAID", "OSBE"):
        assert acronym in DEFAULT_ACRONYMS
