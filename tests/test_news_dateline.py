"""parse_dateline: Albanian, Serbian Latin and Cyrillic, English; place first or last."""

from __future__ import annotations

from datetime import date

import pytest

from visibility.news.dateline import Dateline, parse_dateline


@pytest.mark.parametrize(
    ("paragraph", "when", "place"),
    [
        # Albanian, with and without ë/ç, any case
        ("18 nëntor 2014, Prishtinë – Lead.", date(2014, 11, 18), "Prishtinë"),
        ("18 nentor 2014, Prishtinë – Lead.", date(2014, 11, 18), "Prishtinë"),
        ("18 NËNTOR 2014, PRISHTINË – Lead.", date(2014, 11, 18), "PRISHTINË"),
        ("1 janar 2027, Prizren – Lead.", date(2027, 1, 1), "Prizren"),
        ("28 shkurt 2026, Pejë - Lead.", date(2026, 2, 28), "Pejë"),
        ("5 mars 2026, Gjilan — Lead.", date(2026, 3, 5), "Gjilan"),
        ("9 prill 2026, Ferizaj: Lead.", date(2026, 4, 9), "Ferizaj"),
        ("3 maj 2026, Gjakovë – Lead.", date(2026, 5, 3), "Gjakovë"),
        ("30 qershor 2026, Mitrovicë – Lead.", date(2026, 6, 30), "Mitrovicë"),
        ("14 korrik 2026, Prishtinë – Lead.", date(2026, 7, 14), "Prishtinë"),
        ("20 gusht 2026, Prishtinë – Lead.", date(2026, 8, 20), "Prishtinë"),
        ("21 shtator 2026, Prishtinë – Lead.", date(2026, 9, 21), "Prishtinë"),
        ("2 Tetor 2026, Prishtinë – Lead.", date(2026, 10, 2), "Prishtinë"),
        ("31 dhjetor 2026, Fushë Kosovë – Lead.", date(2026, 12, 31), "Fushë Kosovë"),
        ("Prishtinë, më 12 nëntor 2026 – Lead.", date(2026, 11, 12), "Prishtinë"),
        # Serbian Latin, nominative and genitive
        ("18. novembar 2014, Priština – Lead.", date(2014, 11, 18), "Priština"),
        ("3. decembra 2026, Priština – Lead.", date(2026, 12, 3), "Priština"),
        ("1. januara 2027, Gračanica – Lead.", date(2027, 1, 1), "Gračanica"),
        ("15. jun 2026, Novo Brdo – Lead.", date(2026, 6, 15), "Novo Brdo"),
        ("15. juna 2026, Štrpce – Lead.", date(2026, 6, 15), "Štrpce"),
        ("4. juli 2026, Priština – Lead.", date(2026, 7, 4), "Priština"),
        ("10. avgusta 2026. godine, Beograd – Lead.", date(2026, 8, 10), "Beograd"),
        ("7. SEPTEMBRA 2026, Niš - Lead.", date(2026, 9, 7), "Niš"),
        # Serbian Cyrillic
        ("18. новембар 2014, Приштина – Lead.", date(2014, 11, 18), "Приштина"),
        ("3. децембра 2026, Грачаница – Lead.", date(2026, 12, 3), "Грачаница"),
        ("1. мај 2026, Београд – Lead.", date(2026, 5, 1), "Београд"),
        ("20. фебруара 2026. године, Нови Сад – Lead.", date(2026, 2, 20), "Нови Сад"),
        # English: day first, month first, place first
        ("18 November 2014, Pristina – Lead.", date(2014, 11, 18), "Pristina"),
        ("November 18, 2014, Pristina - Lead.", date(2014, 11, 18), "Pristina"),
        ("Nov. 18, 2014, Pristina – Lead.", date(2014, 11, 18), "Pristina"),
        ("PRISTINA, 18 November 2014 – Lead.", date(2014, 11, 18), "PRISTINA"),
        ("Brussels, March 3, 2026 — Lead.", date(2026, 3, 3), "Brussels"),
        # no place
        ("18 nëntor 2014 – Lead.", date(2014, 11, 18), None),
    ],
)
def test_datelines(paragraph: str, when: date, place: str | None) -> None:
    dateline = parse_dateline(paragraph)
    assert dateline is not None
    assert dateline.date == when
    assert dateline.place == place
    assert paragraph[dateline.text_end :] == "Lead."


def test_text_end_skips_the_dash_and_whitespace() -> None:
    paragraph = "12 nëntor 2026, Prishtinë –   Qendra njofton."
    assert parse_dateline(paragraph) == Dateline(
        date=date(2026, 11, 12), place="Prishtinë", text_end=paragraph.index("Qendra")
    )


def test_dateline_alone_in_its_paragraph() -> None:
    dateline = parse_dateline("12 nëntor 2026, Prishtinë")
    assert dateline is not None
    assert dateline.place == "Prishtinë"


@pytest.mark.parametrize(
    "paragraph",
    [
        "31 shkurt 2026, Prishtinë – An impossible date.",
        "30. februar 2026, Priština – Nemoguć datum.",
        "31 April 2026, Pristina – No such day.",
        "Organizatat e shoqërisë civile diskutuan sot.",
        "12 organizata morën pjesë në trajniminë e 2026.",
        "18 brumaire 2014, Paris – Not a month we know.",
        "18 nëntor 2014, Prishtinë dhe pa vijë ndarëse",
        "",
    ],
)
def test_no_dateline(paragraph: str) -> None:
    assert parse_dateline(paragraph) is None
