"""Parse a news item (plain text, Markdown or HTML) into a ParsedNews.

Every format comes down to a title, body paragraphs as plain text and the
body as sanitised HTML; the dateline, lead, contact address, social-media
title, language and fingerprint are then derived the same way for all of
them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from markdown_it import MarkdownIt
from markdown_it.token import Token

from visibility.errors import InputError
from visibility.news.blocks import Body, add_image, paragraph_html, sanitise, squash
from visibility.news.casing import (
    DEFAULT_ACRONYMS,
    DEFAULT_PROPER_NAMES,
    is_all_caps,
    sentence_case,
)
from visibility.news.dateline import parse_dateline
from visibility.news.encoding import decode_bytes, normalize_text
from visibility.news.html import parse_html
from visibility.news.language import detect_language
from visibility.news.model import ImageRef, ParsedNews, SourceFormat

__all__ = ["news_fingerprint", "parse_news", "read_news_file"]

_SUFFIX_FORMATS: dict[str, SourceFormat] = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
}
_HTML_START = re.compile(
    r"(?:<\?xml[^>]*>\s*)?<(?:!doctype|html|head|body|article|main|h1|meta)\b", re.IGNORECASE
)
_MARKDOWN_START = re.compile(r"#{1,6}[ \t]+\S")

# A multi-line block whose (non-final) lines run longer than this was not
# wrapped by hand: each line is a paragraph (Word's "Save as .txt" output).
_LONGEST_WRAPPED_LINE = 120

_EMAIL = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._%+-]*@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)

# --- plain text -----------------------------------------------------------


def _parse_text(text: str) -> Body:
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip())
    title = squash(lines[start])
    paragraphs: list[str] = []
    block: list[str] = []
    for line in [*lines[start + 1 :], ""]:
        if line.strip():
            block.append(line)
            continue
        if len(block) > 1 and any(len(line) > _LONGEST_WRAPPED_LINE for line in block[:-1]):
            paragraphs.extend(squash(line) for line in block)
        elif block:
            paragraphs.append(squash(" ".join(block)))
        block = []
    return Body(title=title, paragraphs=paragraphs, html=paragraph_html(paragraphs))


# --- Markdown -------------------------------------------------------------


def _render_code_as_paragraph(
    renderer: object, tokens: Sequence[Token], idx: int, options: object, env: object
) -> str:
    return paragraph_html([squash(tokens[idx].content)])


def _make_markdown() -> MarkdownIt:
    markdown = MarkdownIt("commonmark", {"html": False})
    for rule in ("code_block", "fence"):
        markdown.add_render_rule(rule, _render_code_as_paragraph)
    return markdown


_MARKDOWN = _make_markdown()


def _inline_text(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return squash("".join(parts))


_NUMBERED_LINE = re.compile(r"( {0,3})(\d{1,2})\.(?=\s)")


def _protect_datelines(text: str) -> str:
    """Escape the dot of a Serbian dateline so ``3. decembra 2026, ...`` is not a list item."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        match = _NUMBERED_LINE.match(line)
        if match and parse_dateline(line) is not None:
            lines[i] = f"{match[1]}{match[2]}\\.{line[match.end() :]}"
    return "\n".join(lines)


def _parse_markdown(text: str) -> Body:
    text = _protect_datelines(text)
    tokens = _MARKDOWN.parse(text)
    heading = next(
        (i for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h1"), None
    )
    if heading is not None:
        title = _inline_text(tokens[heading + 1])
        del tokens[heading : heading + 3]
    else:
        lines = text.split("\n")
        start = next(i for i, line in enumerate(lines) if line.strip())
        title = _inline_text(_MARKDOWN.parseInline(lines[start].strip())[0])
        tokens = _MARKDOWN.parse("\n".join(lines[start + 1 :]))
    paragraphs: list[str] = []
    images: list[ImageRef] = []
    for token in tokens:
        if token.type == "inline" and token.children:
            # Pictures are kept apart: the article places them itself.
            for child in token.children:
                if child.type == "image":
                    hint = child.attrs.get("title")
                    add_image(
                        images,
                        child.attrs.get("src"),
                        "".join(c.content for c in child.children or ()),
                        squash(hint) if isinstance(hint, str) else None,
                    )
            token.children = [c for c in token.children if c.type != "image"]
        if token.type == "inline":
            paragraph = _inline_text(token)
        elif token.type in ("code_block", "fence"):
            paragraph = squash(token.content)
        else:
            if token.type in ("heading_open", "heading_close"):
                token.tag = "h2" if token.tag in ("h1", "h2") else "h3"
            continue
        if paragraph:
            paragraphs.append(paragraph)
    body_html = _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {})
    body_html = re.sub(r"<p>\s*</p>\n?", "", body_html)  # a paragraph that was only a picture
    return Body(title=title, paragraphs=paragraphs, html=body_html, images=images)


# --- common ---------------------------------------------------------------


def _guess_format(source: str, text: str) -> SourceFormat:
    name = source.split("?", 1)[0]
    suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    if suffix in _SUFFIX_FORMATS:
        return _SUFFIX_FORMATS[suffix]
    start = text.lstrip()
    if _HTML_START.match(start):
        return "html"
    if _MARKDOWN_START.match(start):
        return "markdown"
    return "text"


def _contact_email(paragraphs: Sequence[str]) -> str | None:
    closing = _EMAIL.findall("\n".join(paragraphs[-2:]))
    if closing:
        found: str = closing[-1]
    else:
        first = _EMAIL.search("\n".join(paragraphs))
        if first is None:
            return None
        found = first[0]
    return found.rstrip("._-%+")


def news_fingerprint(title: str, paragraphs: Iterable[str]) -> str:
    """SHA-256 (hex) of the title and paragraphs, case and whitespace folded."""

    def fold(text: str) -> str:
        folded = unicodedata.normalize("NFC", text).casefold()
        return unicodedata.normalize("NFC", squash(folded))

    content = fold(title) + "\n" + "\n".join(fold(paragraph) for paragraph in paragraphs)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def parse_news(
    data: bytes | str,
    *,
    source: str,
    fmt: SourceFormat | None = None,
    language: str | None = None,
    acronyms: Iterable[str] = DEFAULT_ACRONYMS,
    proper_names: Iterable[str] = DEFAULT_PROPER_NAMES,
    canonical_url: str | None = None,
) -> ParsedNews:
    """Parse one news item.

    ``source`` (a file name, URL or "form") names the item in error messages
    and, through its suffix, gives the format when ``fmt`` is None; without a
    known suffix the content decides (HTML tags, a Markdown ``#`` heading,
    else plain text). ``language`` None means detect it. Raises InputError
    for empty or binary input and for an item without paragraphs.
    """
    if isinstance(data, bytes):
        text = decode_bytes(data, source=source)
    else:
        text = normalize_text(data, source=source)
    if not text.strip():
        raise InputError(
            f"{source} is empty: write the news item's title on the first line "
            "and its paragraphs below"
        )
    fmt = fmt or _guess_format(source, text)
    if fmt == "html":
        try:
            body = parse_html(text)
        except RecursionError as exc:
            raise InputError(
                f"{source} is HTML nested too deeply to read: save the article's text as "
                ".txt or .md and add that"
            ) from exc
    elif fmt == "markdown":
        body = _parse_markdown(text)
    else:
        body = _parse_text(text)
    if not body.title:
        raise InputError(
            f"{source} has no title: start it with the news item's title"
            + (" in an <h1>" if fmt == "html" else " on the first line")
        )
    paragraphs = tuple(body.paragraphs)
    if not paragraphs:
        raise InputError(
            f"{source} has a title but no paragraphs: write the news item's text "
            "below the title, separated from it by a blank line"
        )

    dateline = parse_dateline(paragraphs[0])
    lead = paragraphs[0]
    if dateline is not None:
        lead = paragraphs[0][dateline.text_end :].strip()
        if not lead and len(paragraphs) > 1:  # the dateline is a paragraph of its own
            lead = paragraphs[1]
        if not lead:
            raise InputError(
                f"{source} has a title and a dateline but no text: write the news item's "
                "paragraphs after the dateline"
            )

    social_title = body.title
    if is_all_caps(body.title):
        social_title = sentence_case(body.title, acronyms=acronyms, proper_names=proper_names)
    canonical_url = canonical_url or body.canonical_url
    if language:
        language = language.strip().lower()
    else:
        language = detect_language("\n".join((social_title, *paragraphs)))

    return ParsedNews(
        title=body.title,
        social_title=social_title,
        lead=lead,
        paragraphs=paragraphs,
        body_html=sanitise(body.html, base_url=canonical_url),
        language=language,
        source_format=fmt,
        fingerprint=news_fingerprint(body.title, paragraphs),
        dateline_date=dateline.date if dateline else None,
        dateline_place=dateline.place if dateline else None,
        contact_email=_contact_email(paragraphs),
        canonical_url=canonical_url,
        images=tuple(body.images),
    )


def _megabytes(size: int) -> str:
    if size < 100_000:
        return f"{size:,} bytes"
    return f"{size / 1_000_000:.2f} MB"


def read_news_file(
    path: Path,
    *,
    max_bytes: int,
    fmt: SourceFormat | None = None,
    language: str | None = None,
    acronyms: Iterable[str] = DEFAULT_ACRONYMS,
    proper_names: Iterable[str] = DEFAULT_PROPER_NAMES,
    canonical_url: str | None = None,
) -> ParsedNews:
    """Read and parse the news item file at ``path`` (see ``parse_news``).

    The size is checked before reading: files over ``max_bytes`` are refused.
    """
    if not path.exists():
        raise InputError(f"{path} does not exist: check the path and the file name")
    if path.is_dir():
        raise InputError(
            f"{path} is a directory: give the path of a news item file (.txt, .md or .html)"
        )
    if not path.is_file():
        raise InputError(
            f"{path} is not a regular file: save the news item as a .txt, .md or .html file"
        )
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(_too_large(path, size, max_bytes))
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(
            f"{path} cannot be read ({exc.strerror or exc}): check that the file is readable "
            "by the user running visibility"
        ) from exc
    if len(data) > max_bytes:  # it grew after the size check
        raise InputError(_too_large(path, len(data), max_bytes))
    return parse_news(
        data,
        source=str(path),
        fmt=fmt,
        language=language,
        acronyms=acronyms,
        proper_names=proper_names,
        canonical_url=canonical_url,
    )


def _too_large(path: Path, size: int, max_bytes: int) -> str:
    shown, limit = _megabytes(size), _megabytes(max_bytes)
    if shown == limit:  # rounding hid the difference: say it in bytes
        shown, limit = f"{size:,} bytes", f"{max_bytes:,} bytes"
    return (
        f"{path} is {shown}; news items are limited to {limit} "
        "(set VISIBILITY_MAX_NEWS_BYTES to change)"
    )
