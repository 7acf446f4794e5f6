"""Reading a news item from HTML: the article's heading, paragraphs, lists and
quotes, its canonical address, and its pictures (taken out of the body)."""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning
from bs4.element import NavigableString, PageElement, Tag

from visibility.news.blocks import (
    BLOCK_TAGS,
    HEADINGS,
    IGNORED_TAGS,
    INLINE_TAGS,
    Body,
    add_image,
    squash,
)
from visibility.news.model import ImageRef


@dataclass
class _Block:
    paragraphs: list[str]
    html: str


def _collect_text(node: Tag, parts: list[str], skip: frozenset[str]) -> None:
    for child in node.children:
        if isinstance(child, Tag):
            if child.name in skip:
                continue
            if child.name == "br":
                parts.append(" ")
            elif child.name in BLOCK_TAGS:
                parts.append(" ")
                _collect_text(child, parts, skip)
                parts.append(" ")
            else:
                _collect_text(child, parts, skip)
        elif type(child) is NavigableString:  # not comments, CDATA, script text, ...
            parts.append(str(child))


def _text_of(node: Tag, skip: frozenset[str] = frozenset()) -> str:
    parts: list[str] = []
    _collect_text(node, parts, skip)
    return squash("".join(parts))


def _html_of(node: PageElement) -> str:
    if isinstance(node, Tag):
        return node.decode()
    if type(node) is NavigableString:
        return html.escape(str(node), quote=False)
    return ""


def _is_page_chrome(tag: Tag) -> bool:
    """Inside navigation, a footer, a sidebar or the page's (not the article's) header."""
    names = [parent.name for parent in tag.parents]
    if {"nav", "footer", "aside", "script", "style", "template", "noscript"} & set(names):
        return True
    if "header" in names:
        return "article" not in names[names.index("header") + 1 :]
    return False


def _list_block(node: Tag) -> _Block:
    paragraphs = []
    for item in node.find_all("li"):
        text = _text_of(item, skip=frozenset({"ul", "ol"}))
        if text:
            paragraphs.append(text)
    return _Block(paragraphs, node.decode())


def _quote_block(node: Tag) -> _Block:
    inner = [_text_of(p) for p in node.find_all("p")] or [_text_of(node)]
    return _Block([text for text in inner if text], node.decode())


def _element_block(node: Tag) -> _Block:
    """A ``<p>``, heading or stray ``<li>``: one paragraph."""
    tag = "p"
    if node.name in HEADINGS:
        tag = "h2" if node.name in ("h1", "h2") else "h3"
    text = _text_of(node)
    return _Block([text] if text else [], f"<{tag}>{node.decode_contents()}</{tag}>")


def _inline_block(nodes: list[PageElement]) -> _Block:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, Tag):
            if node.name == "br":
                parts.append(" ")
            else:
                _collect_text(node, parts, frozenset())
        elif type(node) is NavigableString:
            parts.append(str(node))
    text = squash("".join(parts))
    return _Block([text] if text else [], f"<p>{''.join(_html_of(n) for n in nodes)}</p>")


def _ends_with_br(nodes: list[PageElement]) -> bool:
    for node in reversed(nodes):
        if isinstance(node, Tag):
            return node.name == "br"
        if str(node).strip():
            return False
    return False


def _walk(node: Tag, blocks: list[_Block]) -> None:
    """Blocks of ``node`` in document order; loose text runs become paragraphs."""
    inline: list[PageElement] = []

    def flush() -> None:
        if inline:
            blocks.append(_inline_block(inline))
            inline.clear()

    for child in node.children:
        if isinstance(child, Tag):
            name = child.name
            if name == "p" or name in HEADINGS or name == "li":
                flush()
                blocks.append(_element_block(child))
            elif name in ("ul", "ol"):
                flush()
                blocks.append(_list_block(child))
            elif name == "blockquote":
                flush()
                blocks.append(_quote_block(child))
            elif name == "br" and _ends_with_br(inline):  # <br><br> ends a paragraph
                flush()
            elif name in INLINE_TAGS:
                inline.append(child)
            else:
                flush()
                _walk(child, blocks)
        elif type(child) is NavigableString:
            inline.append(child)
    flush()


def _canonical_url(soup: BeautifulSoup) -> str | None:
    candidates: list[str] = []
    for link in soup.find_all("link"):
        rel = link.get("rel")
        rels = rel if isinstance(rel, list) else str(rel or "").split()
        href = link.get("href")
        if "canonical" in (r.lower() for r in rels) and isinstance(href, str):
            candidates.append(href)
    for meta in soup.find_all("meta"):
        content = meta.get("content")
        if str(meta.get("property", "")).lower() == "og:url" and isinstance(content, str):
            candidates.append(content)
    for url in candidates:
        url = url.strip()
        if url.startswith(("http://", "https://")):
            return url
    return None


def parse_html(text: str) -> Body:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(text, "html.parser")
    canonical = _canonical_url(soup)
    container: Tag = soup
    for name in ("article", "main", "body"):
        found = soup.find(name)
        if isinstance(found, Tag):
            container = found
            break
    title: str | None = None
    headings = [h for h in container.find_all("h1") if not _is_page_chrome(h)]
    seen = {id(h) for h in headings}
    headings += [h for h in soup.find_all("h1") if id(h) not in seen and not _is_page_chrome(h)]
    for heading in headings:
        title = _text_of(heading)
        if title:
            heading.decompose()
            break
    else:
        title_tag = soup.find("title")
        if isinstance(title_tag, Tag):
            title = _text_of(title_tag) or None
    for ignored in container.find_all(IGNORED_TAGS):
        ignored.decompose()
    images = _take_images(soup, container)
    blocks: list[_Block] = []
    _walk(container, blocks)
    blocks = [block for block in blocks if block.paragraphs]
    if not title and blocks:  # an HTML fragment without a heading: like plain text
        first = blocks[0]
        title = first.paragraphs.pop(0)
        if not first.paragraphs:
            blocks.pop(0)
    return Body(
        title=title or "",
        paragraphs=[paragraph for block in blocks for paragraph in block.paragraphs],
        html="\n".join(block.html for block in blocks),
        canonical_url=canonical,
        images=images,
    )


def _take_images(soup: BeautifulSoup, container: Tag) -> list[ImageRef]:
    """The item's pictures, taken out of its body: figures with their captions, other
    ``<img>``, then the page's social image (``og:image``) when it is not among them."""
    images: list[ImageRef] = []
    for figure in container.find_all("figure"):
        img = figure.find("img")
        caption_tag = figure.find("figcaption")
        caption = _text_of(caption_tag) if isinstance(caption_tag, Tag) else None
        if isinstance(img, Tag):
            add_image(images, img.get("src"), img.get("alt"), caption)
            figure.decompose()
    for img in container.find_all("img"):
        if _is_pixel(img):
            img.decompose()
            continue
        add_image(images, img.get("src"), img.get("alt"), None)
        img.decompose()
    for meta in soup.find_all("meta"):
        prop = str(meta.get("property", "") or meta.get("name", "")).lower()
        if prop == "og:image":
            alt = next(
                (
                    m.get("content")
                    for m in soup.find_all("meta")
                    if str(m.get("property", "")).lower() == "og:image:alt"
                ),
                None,
            )
            add_image(images, meta.get("content"), alt, None)
    return images


def _is_pixel(img: Tag) -> bool:
    """A tracking pixel or spacer, not a picture."""
    return str(img.get("width", "")).strip() in ("0", "1") or str(
        img.get("height", "")
    ).strip() in ("0", "1")
