"""The parsed form of a news item, before it is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

SourceFormat = Literal["text", "markdown", "html"]


@dataclass(frozen=True)
class ImageRef:
    """A picture a news item refers to, not fetched yet.

    ``src`` as written (a path beside the file, a ``data:`` URI, a web
    address); ``alt`` its text alternative, ``caption`` its figure caption.
    """

    src: str
    alt: str | None = None
    caption: str | None = None


@dataclass(frozen=True)
class ParsedNews:
    """A news item as read from a file, feed or form.

    ``title`` is kept exactly as written (an all-capitals press-release title
    stays in capitals for the website); ``social_title`` is the same title in
    sentence case when the original was all capitals, otherwise identical.
    ``paragraphs`` are the body paragraphs in order as plain text, the first
    one still carrying its dateline (``18 nëntor 2014, Prishtinë – ...``);
    ``lead`` is that first paragraph with the dateline removed.
    ``body_html`` is sanitised HTML of the body, safe to send to a website.
    ``fingerprint`` identifies the item's content (title and body, whitespace
    and case folded) so re-adding the same item is recognised.
    """

    title: str
    social_title: str
    lead: str
    paragraphs: tuple[str, ...]
    body_html: str
    language: str
    source_format: SourceFormat
    fingerprint: str
    dateline_date: date | None = None
    dateline_place: str | None = None
    contact_email: str | None = None
    canonical_url: str | None = None
    # Pictures in the item, in order (the social image first when it names one);
    # kept apart from ``body_html``, which no longer carries them.
    images: tuple[ImageRef, ...] = ()


class NewsContent(Protocol):
    """What derivation reads of a news item, parsed or stored."""

    @property
    def title(self) -> str: ...
    @property
    def social_title(self) -> str: ...
    @property
    def lead(self) -> str: ...
    @property
    def paragraphs(self) -> tuple[str, ...]: ...
    @property
    def body_html(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def dateline_date(self) -> date | None: ...
    @property
    def dateline_place(self) -> str | None: ...
    @property
    def contact_email(self) -> str | None: ...
    @property
    def canonical_url(self) -> str | None: ...
