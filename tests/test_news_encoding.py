"""decode_bytes: UTF-8/UTF-16 by BOM, legacy Balkan code pages, binaries refused."""

from __future__ import annotations

import codecs
import unicodedata

import pytest

from visibility.errors import InputError
from visibility.news.encoding import decode_bytes, normalize_text

ALBANIAN = (
    "ÇËSHTJET E SHOQËRISË CIVILE NË KOSOVË\n\n"
    "12 nëntor 2026, Prishtinë – Organizatat e shoqërisë civile diskutuan çështjet e "
    "financimit. „Kjo është vetëm fillimi”, tha drejtoresha.\n"
)
SERBIAN_LATIN = (
    "Građani Prištine traže više prostora za omladinu\n\n"
    "3. decembra 2026, Priština – Šta će biti sa ženama i đacima? Čekamo odgovor opštine.\n"
)
SERBIAN_CYRILLIC = (
    "Грађани Приштине траже више простора за омладину\n\n"
    "3. децембра 2026, Приштина – Шта ће бити са женама и ђацима? Чекамо одговор општине.\n"
)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(ALBANIAN.encode("utf-8"), id="utf-8"),
        pytest.param(codecs.BOM_UTF8 + ALBANIAN.encode("utf-8"), id="utf-8-bom"),
        pytest.param(ALBANIAN.encode("utf-16"), id="utf-16-native-bom"),
        pytest.param(codecs.BOM_UTF16_BE + ALBANIAN.encode("utf-16-be"), id="utf-16-be-bom"),
        pytest.param(codecs.BOM_UTF16_LE + ALBANIAN.encode("utf-16-le"), id="utf-16-le-bom"),
        pytest.param(ALBANIAN.encode("cp1250"), id="windows-1250"),
        pytest.param(ALBANIAN.encode("cp1252"), id="windows-1252"),
    ],
)
def test_albanian_decodes_the_same_from_every_encoding(data: bytes) -> None:
    assert decode_bytes(data, source="lajm.txt") == ALBANIAN


def test_serbian_latin_windows_1250_keeps_its_diacritics() -> None:
    assert decode_bytes(SERBIAN_LATIN.encode("cp1250"), source="vest.txt") == SERBIAN_LATIN


def test_serbian_cyrillic_windows_1251() -> None:
    assert decode_bytes(SERBIAN_CYRILLIC.encode("cp1251"), source="вест.txt") == SERBIAN_CYRILLIC


def test_strict_utf8_is_preferred_over_detection() -> None:
    # "Ã«" is what UTF-8 "ë" looks like in Windows-1252; valid UTF-8 is taken as such.
    text = "Titulli\n\nKëtu është Ã« si tekst.\n"
    assert decode_bytes(text.encode("utf-8"), source="x.txt") == text


def test_line_endings_and_nfc_are_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "Kosovë\r\nPriština\rëç")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    assert decode_bytes(decomposed.encode("utf-8"), source="x.txt") == "Kosovë\nPriština\nëç"


def test_bom_inside_str_and_stray_controls_are_dropped() -> None:
    assert normalize_text("\ufeffTitle\x07\n\nBody", source="form") == "Title\n\nBody"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "PNG image"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00word/document.xml", "ZIP archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "Word .doc"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
    ],
)
def test_binary_magic_numbers_are_refused(data: bytes, kind: str) -> None:
    with pytest.raises(InputError, match=rf"^report\.txt looks like a binary file \({kind}"):
        decode_bytes(data, source="report.txt")


def test_nul_bytes_are_refused_with_the_fix() -> None:
    with pytest.raises(
        InputError,
        match=r"data\.bin looks like a binary file, not text: save it as \.txt, \.md or \.html",
    ):
        decode_bytes(b"Title\n\nBody\x00\x00\x01\x02", source="data.bin")


def test_mostly_control_characters_are_refused() -> None:
    with pytest.raises(InputError, match="looks like a binary file"):
        decode_bytes(bytes(range(1, 9)) * 20 + b"text", source="blob")


def test_nul_in_str_is_refused() -> None:
    with pytest.raises(InputError, match="form looks like a binary file"):
        normalize_text("Title\x00\n\nBody", source="form")
