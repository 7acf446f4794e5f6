"""What the text, Markdown and HTML readers share: the parsed body, pictures found,
whitespace folding, and the sanitiser that decides what HTML reaches a website."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field

import nh3

from visibility.news.model import ImageRef

ALLOWED_TAGS = frozenset(
    {"p", "a", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote", "br", "h2", "h3"}
)
ALLOWED_ATTRIBUTES = {"a": frozenset({"href"})}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

# HTML: page furniture whose text is never part of the news item.
IGNORED_TAGS = (
    "script",
    "style",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "noscript",
    "template",
    "iframe",
    "svg",
    "button",
)
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
BLOCK_TAGS = frozenset(
    {"p", "div", "ul", "ol", "li", "blockquote", "section", "article", "main", "table", "tr"}
    | HEADINGS
)
INLINE_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "br",
        "cite",
        "code",
        "data",
        "del",
        "dfn",
        "em",
        "font",
        "i",
        "img",
        "ins",
        "kbd",
        "mark",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "time",
        "u",
        "var",
    }
)


@dataclass
class Body:
    """What each format parser produces."""

    title: str
    paragraphs: list[str]
    html: str
    canonical_url: str | None = None
    images: list[ImageRef] = field(default_factory=list)


def add_image(images: list[ImageRef], src: object, alt: object, caption: str | None) -> None:
    if not isinstance(src, str) or not src.strip():
        return
    src = src.strip()
    if any(image.src == src for image in images):
        return
    text = squash(alt) if isinstance(alt, str) else ""
    images.append(ImageRef(src=src, alt=text or None, caption=caption or None))


def squash(text: str) -> str:
    """Collapse runs of whitespace (including no-break spaces) to one space."""
    return " ".join(text.split())


def paragraph_html(paragraphs: Iterable[str]) -> str:
    return "\n".join(f"<p>{html.escape(paragraph, quote=False)}</p>" for paragraph in paragraphs)


def sanitise(body_html: str, *, base_url: str | None) -> str:
    relative: nh3.UrlRelative = "pass_through"
    if base_url is not None and base_url.startswith(("http://", "https://")):
        relative = ("rewrite_with_base", base_url)
    try:
        return nh3.clean(
            body_html,
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes=URL_SCHEMES,
            url_relative=relative,
        ).strip()
    except ValueError:  # a canonical URL nh3 cannot use as a base
        return nh3.clean(
            body_html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES
        ).strip()
