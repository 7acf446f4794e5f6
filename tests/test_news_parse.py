"""parse_news and read_news_file: formats, samples, encodings and user-facing errors."""

from __future__ import annotations

import codecs
import dataclasses
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

import visibility
from visibility.errors import InputError
from visibility.news.model import ParsedNews
from visibility.news.parse import news_fingerprint, parse_news, read_news_file

SAMPLES = Path(visibility.__file__).parent / "samples"
ALBANIAN_SAMPLE = SAMPLES / "lajm-qendra-burimore-sq.txt"
SERBIAN_SAMPLE = SAMPLES / "vest-sr-latn.md"
ENGLISH_SAMPLE = SAMPLES / "news-en.html"

ALBANIAN_TEXT = ALBANIAN_SAMPLE.read_text(encoding="utf-8")


def read(path: Path) -> ParsedNews:
    return read_news_file(path, max_bytes=2_000_000)


# --- the shipped samples ----------------------------------------------------


def test_albanian_text_sample() -> None:
    news = read(ALBANIAN_SAMPLE)
    assert news.source_format == "text"
    assert news.title == "TRAJNIME FALAS PËR OSHC-TË NË KOSOVË PËR MENAXHIMIN E PROJEKTEVE TË BE-SË"
    assert (
        news.social_title
        == "Trajnime falas për OShC-të në Kosovë për menaxhimin e projekteve të BE-së"
    )
    assert news.language == "sq"
    assert news.dateline_date == date(2026, 11, 12)
    assert news.dateline_place == "Prishtinë"
    assert news.paragraphs[0].startswith("12 nëntor 2026, Prishtinë – Qendra Burimore")
    assert news.lead.startswith("Qendra Burimore për Shoqërinë Civile (QBSC) njofton")
    assert len(news.lead) > 280  # a tweet has to shorten it
    assert len(news.paragraphs) == 5
    assert any(
        p.startswith("Ky aktivitet financohet nga Bashkimi Evropian") for p in news.paragraphs
    )
    assert news.contact_email == "trajnime@example.org"
    assert news.canonical_url is None
    assert news.body_html.startswith("<p>12 nëntor 2026, Prishtinë – Qendra")
    assert news.body_html.count("<p>") == 5
    assert news.title not in news.body_html


def test_serbian_markdown_sample() -> None:
    news = read(SERBIAN_SAMPLE)
    assert news.source_format == "markdown"
    assert news.title == "Otvoren poziv za male grantove organizacijama civilnog društva"
    assert news.social_title == news.title
    assert news.language == "sr"
    # "3. decembra ..." must stay a paragraph, not become a numbered list
    assert news.paragraphs[0].startswith("3. decembra 2026, Priština – Centar")
    assert news.dateline_date == date(2026, 12, 3)
    assert news.dateline_place == "Priština"
    assert news.lead.startswith("Centar za podršku civilnom društvu")
    assert "budžet," in news.paragraphs  # list items are paragraphs
    assert "Grantovi iznose od 2.000 do 5.000 evra, a projekti" in news.paragraphs[1]
    assert news.contact_email == "grantovi@example.org"
    assert "<ol" not in news.body_html
    assert "<strong>2.000 do 5.000 evra</strong>" in news.body_html
    assert "<li>budžet,</li>" in news.body_html
    assert 'href="https://civil-society.example.org/sr/grantovi"' in news.body_html
    assert "<h1" not in news.body_html
    assert "Otvoren poziv" not in news.body_html


def test_english_html_sample() -> None:
    news = read(ENGLISH_SAMPLE)
    assert news.source_format == "html"
    assert news.title == "Open day for civil society organisations"
    assert news.language == "en"
    assert news.canonical_url == (
        "https://civil-society.example.org/news/open-day-for-civil-society-organisations"
    )
    assert news.dateline_date == date(2027, 1, 20)
    assert news.dateline_place == "Pristina"
    assert news.lead.startswith("The Civil Society Resource Centre opens its doors to local")
    assert "volunteer management," in news.paragraphs
    assert news.contact_email == "events@example.org"
    text = "\n".join(news.paragraphs)
    for absent in ("trackPageView", "must not reach", "Home", "Contact us", "All rights reserved"):
        assert absent not in text
        assert absent not in news.body_html
    assert "<script" not in news.body_html
    assert "<strong>Friday, 29 January</strong>" in news.body_html
    assert "<h1" not in news.body_html


# --- formats from inline strings ----------------------------------------------


def test_plain_text_soft_wraps_and_paragraphs() -> None:
    news = parse_news(
        "  \nTitle of the item\n\nFirst line\nwrapped here.\n\n\n  Second paragraph.  \n",
        source="item.txt",
        language="en",
    )
    assert news.title == "Title of the item"
    assert news.paragraphs == ("First line wrapped here.", "Second paragraph.")
    assert news.lead == "First line wrapped here."
    assert news.body_html == "<p>First line wrapped here.</p>\n<p>Second paragraph.</p>"
    assert news.dateline_date is None
    assert news.contact_email is None


def test_plain_text_title_directly_followed_by_text() -> None:
    news = parse_news("Title\nBody text.", source="form", language="en")
    assert news.title == "Title"
    assert news.paragraphs == ("Body text.",)


def test_plain_text_unwrapped_lines_are_paragraphs() -> None:
    long_line = "This paragraph was saved from a word processor on a single long line. " * 3
    news = parse_news(f"Title\n\n{long_line}\n{long_line}\nLast.", source="item.txt", language="en")
    assert news.paragraphs == (long_line.strip(), long_line.strip(), "Last.")


def test_plain_text_body_is_escaped() -> None:
    news = parse_news(
        "Title\n\nA <script>alert(1)</script> & more", source="item.txt", language="en"
    )
    assert news.paragraphs == ("A <script>alert(1)</script> & more",)
    assert "<script>" not in news.body_html
    assert "&lt;script&gt;" in news.body_html
    assert "&amp; more" in news.body_html


def test_markdown_title_heading_and_inline_markup() -> None:
    news = parse_news(
        "# The *title*\n\nFirst [link](https://example.org/a) and **bold**.\n\n"
        "## A subheading\n\n> Quoted words.\n\n<b>raw html</b>\n",
        source="item.md",
        language="en",
    )
    assert news.title == "The title"
    assert news.paragraphs == (
        "First link and bold.",
        "A subheading",
        "Quoted words.",
        "<b>raw html</b>",
    )
    assert '<a href="https://example.org/a" rel="noopener noreferrer">link</a>' in news.body_html
    assert "<strong>bold</strong>" in news.body_html
    assert "<h2>A subheading</h2>" in news.body_html
    assert "<blockquote>" in news.body_html
    assert "<b>raw html</b>" not in news.body_html  # HTML in Markdown is text
    assert "&lt;b&gt;raw html&lt;/b&gt;" in news.body_html


def test_markdown_without_heading_uses_the_first_line() -> None:
    news = parse_news(
        "**Title line**\n\nBody paragraph.", source="item.md", fmt="markdown", language="en"
    )
    assert news.title == "Title line"
    assert news.paragraphs == ("Body paragraph.",)


def test_markdown_javascript_links_are_dropped() -> None:
    news = parse_news("# T\n\n[x](javascript:alert(1))", source="item.md", language="en")
    assert "<a" not in news.body_html  # left as text, never a link
    assert news.paragraphs == ("[x](javascript:alert(1))",)


def test_html_title_from_title_tag_and_og_url() -> None:
    news = parse_news(
        "<html><head><title>Page title</title>"
        '<meta property="og:url" content="https://civil-society.example.org/news/x">'
        "</head><body><p>One.</p><ul><li>Two</li><li>Three</li></ul></body></html>",
        source="page.html",
        language="en",
    )
    assert news.title == "Page title"
    assert news.paragraphs == ("One.", "Two", "Three")
    assert news.canonical_url == "https://civil-society.example.org/news/x"


def test_html_given_canonical_url_wins_and_relative_links_are_resolved() -> None:
    news = parse_news(
        '<link rel="canonical" href="https://a.example.org/news/1">'
        '<h1>T</h1><p>See <a href="/contact/">contact</a> <a href="javascript:x()">x</a>.</p>',
        source="page.html",
        language="en",
        canonical_url="https://b.example.org/news/2",
    )
    assert news.canonical_url == "https://b.example.org/news/2"
    assert 'href="https://b.example.org/contact/"' in news.body_html
    assert "javascript" not in news.body_html


def test_html_ignores_page_furniture_and_keeps_the_article() -> None:
    news = parse_news(
        "<body><header><h1>Site name</h1></header><nav><p>Menu item</p></nav>"
        "<style>p { color: red }</style>"
        "<article><header><h1>Real title</h1><p>By the press office</p></header>"
        "<p>First <b>bold</b> paragraph.<script>steal()</script></p>"
        "<!-- a comment --><div>Loose text<br>in a div</div>"
        '<p onclick="x()" class="c">Second &amp; last.</p></article>'
        "<aside><p>Related news</p></aside><footer><p>Footer text</p></footer></body>",
        source="page.htm",
        language="en",
    )
    assert news.title == "Real title"
    assert news.paragraphs == ("First bold paragraph.", "Loose text in a div", "Second & last.")
    for absent in ("Site name", "Menu item", "steal", "comment", "Related", "Footer", "onclick"):
        assert absent not in news.body_html
    assert "<p>First <b>bold</b> paragraph.</p>" in news.body_html
    assert "<p>Second &amp; last.</p>" in news.body_html


def test_absurdly_nested_html_is_an_input_error() -> None:
    deep = "<h1>T</h1>" + "<div>" * 5000 + "<p>deep</p>" + "</div>" * 5000
    with pytest.raises(InputError, match=r"deep\.html is HTML nested too deeply to read"):
        parse_news(deep, source="deep.html", language="en")


def test_html_fragment_without_heading() -> None:
    news = parse_news("<p>Fragment title</p><p>Body.</p>", source="form", fmt="html", language="en")
    assert news.title == "Fragment title"
    assert news.paragraphs == ("Body.",)
    assert news.body_html == "<p>Body.</p>"


@pytest.mark.parametrize("markup", ["news.html", "https://civil-society.example.org/news/1"])
def test_html_that_looks_like_a_file_name_or_url_does_not_warn(markup: str) -> None:
    # BeautifulSoup warns about markup that resembles a file name or URL, and
    # pytest turns warnings into errors: only the InputError may come out.
    with pytest.raises(InputError, match="has a title but no paragraphs"):
        parse_news(markup, source="x.html", language="en")


def test_xhtml_with_xml_declaration_does_not_warn() -> None:
    news = parse_news(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><body><h1>T</h1><p>Body.</p></body></html>',
        source="item.xhtml",
        language="en",
    )
    assert news.paragraphs == ("Body.",)


@pytest.mark.parametrize(
    ("source", "content", "fmt"),
    [
        ("a.txt", "# Not markdown\n\nBody.", "text"),
        ("a.TXT", "<h1>Not html</h1>\n\nBody.", "text"),
        ("a.md", "Title\n\nBody.", "markdown"),
        ("a.markdown", "Title\n\nBody.", "markdown"),
        ("a.html", "<h1>Title</h1><p>Body.</p>", "html"),
        ("https://x.example.org/item.htm?id=1", "<h1>Title</h1><p>Body.</p>", "html"),
        ("<stdin>", "<!DOCTYPE html><h1>Title</h1><p>Body.</p>", "html"),
        ("form", "<html><h1>Title</h1><p>Body.</p></html>", "html"),
        ("form", "<h1>Title</h1><p>Body.</p>", "html"),
        ("pasted", "# Title\n\nBody.", "markdown"),
        ("pasted", "Title\n\nBody.", "text"),
        ("a.eml", "Title\n\n<p>Body.</p>", "text"),
    ],
)
def test_format_is_guessed_from_suffix_then_content(source: str, content: str, fmt: str) -> None:
    assert parse_news(content, source=source, language="en").source_format == fmt


def test_explicit_format_overrides_the_suffix() -> None:
    news = parse_news("# Title\n\nBody.", source="a.txt", fmt="markdown", language="en")
    assert news.source_format == "markdown"
    assert news.title == "Title"


# --- derived fields -------------------------------------------------------------


def test_contact_email_prefers_the_closing_paragraphs() -> None:
    news = parse_news(
        "Title\n\nWrite to first@example.org for photos.\n\nMiddle.\n\n"
        "Call us or write to press@example.org, or to contact@example.org.",
        source="a.txt",
        language="en",
    )
    assert news.contact_email == "contact@example.org"


def test_contact_email_falls_back_to_the_first_anywhere() -> None:
    news = parse_news(
        "Title\n\nWrite to first@example.org; or second@example.org.\n\nMiddle.\n\nEnd.",
        source="a.txt",
        language="en",
    )
    assert news.contact_email == "first@example.org"


def test_mixed_case_title_is_left_alone() -> None:
    news = parse_news("Trajnime për OShC-të në Kosovë\n\nTekst.", source="a.txt", language="sq")
    assert news.social_title == news.title == "Trajnime për OShC-të në Kosovë"


def test_custom_acronyms_and_names_for_the_social_title() -> None:
    news = parse_news(
        "QBSC-JA FTON OSHC-TË E DARDANISË\n\nTekst.",
        source="a.txt",
        language="sq",
        acronyms=["QBSC", "OShC"],
        proper_names=["Dardani"],
    )
    assert news.social_title == "QBSC-ja fton OShC-të e Dardanisë"


def test_cyrillic_all_caps_title() -> None:
    news = parse_news(
        "ОРГАНИЗАЦИЈЕ ЦИВИЛНОГ ДРУШТВА НА КОСОВУ\n\n"
        "18. новембар 2014, Приштина – Организације цивилног друштва траже подршку.",
        source="вест.txt",
    )
    assert news.social_title == "Организације цивилног друштва на Косову"
    assert news.language == "sr"
    assert news.dateline_place == "Приштина"
    assert news.lead == "Организације цивилног друштва траже подршку."


def test_dateline_in_its_own_paragraph() -> None:
    news = parse_news(
        "Title\n\n20 January 2027, Pristina\n\nThe lead.", source="a.txt", language="en"
    )
    assert news.dateline_date == date(2027, 1, 20)
    assert news.lead == "The lead."


def test_language_is_detected_unless_given() -> None:
    assert parse_news(ALBANIAN_TEXT, source="a.txt").language == "sq"
    assert parse_news(ALBANIAN_TEXT, source="a.txt", language="EN ").language == "en"


def test_fingerprint_ignores_case_whitespace_and_normalisation() -> None:
    a = parse_news("Title\n\nOne  paragraph.\n\nTwo.", source="a.txt", language="en")
    b = parse_news("  TITLE\n\none\nparagraph.\n\n\ntwo.\n", source="b.txt", language="en")
    c = parse_news("Title\n\nOne paragraph.\n\nThree.", source="c.txt", language="en")
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint != c.fingerprint
    assert a.fingerprint == news_fingerprint("title", ["one paragraph.", "two."])
    assert len(a.fingerprint) == 64
    decomposed = "Kosove\u0308\n\nTekst."
    assert (
        parse_news(decomposed, source="d.txt", language="sq").fingerprint
        == parse_news("KOSOVË\n\nTekst.", source="e.txt", language="sq").fingerprint
    )


def test_same_item_as_text_and_markdown_has_the_same_fingerprint() -> None:
    text = parse_news("Title\n\nFirst.\n\nSecond.", source="a.txt", language="en")
    markdown = parse_news("# Title\n\nFirst.\n\nSecond.", source="a.md", language="en")
    assert text.fingerprint == markdown.fingerprint


# --- encodings ------------------------------------------------------------------


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda text: text.encode("utf-8"), id="utf-8"),
        pytest.param(lambda text: codecs.BOM_UTF8 + text.encode("utf-8"), id="utf-8-bom"),
        pytest.param(lambda text: text.encode("utf-16"), id="utf-16"),
        pytest.param(lambda text: text.replace("\n", "\r\n").encode("cp1250"), id="windows-1250"),
        pytest.param(lambda text: text.encode("cp1252"), id="windows-1252"),
    ],
)
def test_albanian_sample_parses_the_same_in_every_encoding(encode: Callable[[str], bytes]) -> None:
    expected = parse_news(ALBANIAN_TEXT, source="lajm.txt")
    news = parse_news(encode(ALBANIAN_TEXT), source="lajm.txt")
    assert news == expected
    assert news.fingerprint == expected.fingerprint


def test_serbian_markdown_in_windows_1250() -> None:
    expected = read(SERBIAN_SAMPLE)
    data = SERBIAN_SAMPLE.read_text(encoding="utf-8").encode("cp1250")
    assert parse_news(data, source="vest.md") == expected


def test_serbian_cyrillic_in_windows_1251() -> None:
    text = (
        "Грађани Приштине траже више простора за омладину\n\n"
        "3. децембра 2026, Приштина – Шта ће бити са женама и ђацима? Чекамо одговор "
        "општине до краја месеца.\n\nПитања: омладина@example.org\n"
    )
    news = parse_news(text.encode("cp1251"), source="вест.txt")
    assert news.title == "Грађани Приштине траже више простора за омладину"
    assert news.language == "sr"
    assert news.dateline_date == date(2026, 12, 3)
    assert news.dateline_place == "Приштина"
    assert news.lead.startswith("Шта ће бити са женама и ђацима?")
    assert news == parse_news(text, source="вест.txt")


# --- errors ----------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \n\t\n  ", "", "\ufeff \n", codecs.BOM_UTF8])
def test_empty_input(data: bytes | str) -> None:
    with pytest.raises(
        InputError,
        match=r"^lajm\.txt is empty: write the news item's title on the first line "
        r"and its paragraphs below$",
    ):
        parse_news(data, source="lajm.txt")


@pytest.mark.parametrize(
    ("content", "source"),
    [
        ("Only a title\n\n   \n", "a.txt"),
        ("# Only a heading\n", "a.md"),
        ("<html><body><h1>Only a heading</h1><nav><p>Menu</p></nav></body></html>", "a.html"),
    ],
)
def test_title_without_paragraphs(content: str, source: str) -> None:
    with pytest.raises(
        InputError, match=rf"^{re.escape(source)} has a title but no paragraphs: write"
    ):
        parse_news(content, source=source)


def test_dateline_without_text() -> None:
    with pytest.raises(InputError, match="has a title and a dateline but no text"):
        parse_news("Title\n\n12 nëntor 2026, Prishtinë –", source="a.txt", language="sq")


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.4\n%\xc7\xec\x8f\xa2\n5 0 obj\n<</Length 6 0 R>>\nstream\n", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", "PNG image"),
    ],
)
def test_binary_files_are_refused(tmp_path: Path, data: bytes, kind: str) -> None:
    path = tmp_path / "lajm.txt"
    path.write_bytes(data)
    with pytest.raises(
        InputError,
        match=rf"lajm\.txt looks like a binary file \({kind}\), not text: "
        r"save it as \.txt, \.md or \.html and add that",
    ):
        read(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.txt does not exist: check the path"):
        read(tmp_path / "nope.txt")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"is a directory: give the path of a news item file"):
        read(tmp_path)


def test_file_too_large_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.txt"
    with path.open("wb") as handle:
        handle.truncate(5_200_000)  # sparse: no need to write the bytes

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was opened despite its size")

    monkeypatch.setattr(Path, "open", no_reading)
    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(
        InputError,
        match=r"big\.txt is 5\.20 MB; news items are limited to 2\.00 MB "
        r"\(set VISIBILITY_MAX_NEWS_BYTES to change\)",
    ):
        read_news_file(path, max_bytes=2_000_000)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("Title\n\nBody.", encoding="utf-8")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(
        InputError, match=r"secret\.txt cannot be read \(Permission denied\): check that the file"
    ):
        read(path)


def test_read_news_file_passes_options_through(tmp_path: Path) -> None:
    path = tmp_path / "item"
    path.write_text("# Title\n\nBody.", encoding="utf-8")
    news = read_news_file(
        path,
        max_bytes=1000,
        fmt="markdown",
        language="en",
        canonical_url="https://civil-society.example.org/news/item",
    )
    assert news.title == "Title"
    assert news.canonical_url == "https://civil-society.example.org/news/item"
    assert news.language == "en"


def test_parsed_news_is_frozen() -> None:
    news = read(ALBANIAN_SAMPLE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        news.title = "x"  # type: ignore[misc]
