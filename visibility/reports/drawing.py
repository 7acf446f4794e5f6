"""Pictures made of a few shapes, written as SVG or drawn to PNG with Pillow.

A chart is laid out once, in pixels (100 to the inch: a 900-wide picture is
9 inches), as a tree of lines, rectangles, dots and text. SVG keeps text as
``<text>``, so it can be selected, searched, read aloud and translated by the
browser; every string is escaped here, so an SVG from this module can be
marked safe in a page. The same tree is drawn with Pillow for PNG, three
times larger and then scaled down, since ``ImageDraw`` does not smooth edges.

Text is measured, and drawn in PNG, with DejaVu Sans from ``fonts/`` (the
font matplotlib shipped): Pillow's own default font has no ë, č or Cyrillic.
An SVG names the page's fonts first; all of them are narrower than DejaVu
Sans, so labels laid out with its widths still fit.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

FONTS = Path(__file__).parent / "fonts"
FONT_FAMILY = "'Segoe UI', 'Noto Sans', 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif"
INK = "#1d2430"
SVG_NS = "http://www.w3.org/2000/svg"
# PNG: 150 dots to the inch, as matplotlib's charts were; SUPERSAMPLE smooths edges.
PNG_SCALE = 1.5
PNG_DPI = 150
SUPERSAMPLE = 3

Anchor = Literal["start", "middle", "end"]


@dataclass(frozen=True)
class Text:
    """One line of text; ``y`` is its baseline, ``anchor`` says where ``x`` is."""

    x: float
    y: float
    text: str
    size: float
    colour: str = INK
    anchor: Anchor = "start"
    bold: bool = False


@dataclass(frozen=True)
class Line:
    """A line through two or more points."""

    points: tuple[tuple[float, float], ...]
    colour: str
    width: float


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    tip: str | None = None  # shown when the pointer rests on it (SVG only)


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    radius: float
    fill: str
    tip: str | None = None


@dataclass
class Group:
    """Shapes moved by (``dx``, ``dy``); ``name`` becomes an id in SVG."""

    items: list[Shape] = field(default_factory=list)
    name: str | None = None
    dx: float = 0.0
    dy: float = 0.0


Shape = Text | Line | Rect | Dot | Group


@dataclass
class Figure:
    """A whole picture; ``label`` names it for screen readers and as its title."""

    width: float
    height: float
    label: str
    items: list[Shape] = field(default_factory=list)


# -- text -------------------------------------------------------------------

# Characters XML 1.0 does not allow: one in a news title would make the SVG unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MEASURE_SIZE = 100.0
# FreeType faces are not safe to share between threads; widths are measured one at a time.
_MEASURE_LOCK = threading.Lock()


def clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _font_file(bold: bool) -> Path:
    return FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")


def _font(size: float, bold: bool) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(str(_font_file(bold)), size=size)


@lru_cache(maxsize=2)
def _measuring_font(bold: bool) -> ImageFont.FreeTypeFont:
    return _font(_MEASURE_SIZE, bold)


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """How wide ``text`` is at ``size`` pixels."""
    with _MEASURE_LOCK:
        width = _measuring_font(bold).getlength(clean(text))
    return width * size / _MEASURE_SIZE


def fit(text: str, size: float, width: float, *, bold: bool = False) -> str:
    """``text``, cut short with an ellipsis so that it is at most ``width`` wide."""
    text = clean(text)
    if text_width(text, size, bold=bold) <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with its ellipsis
        mid = (low + high + 1) // 2
        if text_width(text[:mid].rstrip() + "…", size, bold=bold) <= width:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + "…"


# -- SVG --------------------------------------------------------------------


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _escape(text: str) -> str:
    return (
        clean(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def _tip(tip: str | None) -> tuple[str, str]:
    """How a shape ends: with a tooltip inside it, or closed at once."""
    return (">", f"<title>{_escape(tip)}</title>") if tip else ("/>", "")


def _svg_items(items: Sequence[Shape], ids: str) -> Iterator[str]:
    for item in items:
        if isinstance(item, Group):
            name = f"{ids}-{item.name}" if item.name else ids
            attrs = f' id="{_escape(name)}"' if item.name else ""
            if item.dx or item.dy:
                attrs += f' transform="translate({_num(item.dx)} {_num(item.dy)})"'
            yield f"<g{attrs}>"
            yield from _svg_items(item.items, name)
            yield "</g>"
        elif isinstance(item, Text):
            attrs = f'x="{_num(item.x)}" y="{_num(item.y)}" font-size="{_num(item.size)}"'
            if item.anchor != "start":
                attrs += f' text-anchor="{item.anchor}"'
            if item.bold:
                attrs += ' font-weight="bold"'
            if item.colour != INK:
                attrs += f' fill="{item.colour}"'
            yield f"<text {attrs}>{_escape(item.text)}</text>"
        elif isinstance(item, Line):
            stroke = f'stroke="{item.colour}" stroke-width="{_num(item.width)}"'
            if len(item.points) == 2:
                (x1, y1), (x2, y2) = item.points
                yield (
                    f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
                    f"{stroke}/>"
                )
            else:
                points = " ".join(f"{_num(x)},{_num(y)}" for x, y in item.points)
                yield (
                    f'<polyline points="{points}" fill="none" {stroke} '
                    'stroke-linejoin="round" stroke-linecap="round"/>'
                )
        elif isinstance(item, Rect):
            end, inner = _tip(item.tip)
            yield (
                f'<rect x="{_num(item.x)}" y="{_num(item.y)}" width="{_num(item.width)}" '
                f'height="{_num(item.height)}" fill="{item.fill}"{end}{inner}'
                + ("</rect>" if inner else "")
            )
        else:
            end, inner = _tip(item.tip)
            yield (
                f'<circle cx="{_num(item.x)}" cy="{_num(item.y)}" r="{_num(item.radius)}" '
                f'fill="{item.fill}"{end}{inner}' + ("</circle>" if inner else "")
            )


def svg_element(fig: Figure, prefix: str, *, label: str | None = None) -> str:
    """The ``<svg>`` element; every id in it starts with ``prefix``.

    ``role="img"`` and ``aria-label`` make it one picture to a screen
    reader; the ``<title>`` names it in a standalone file and as a tooltip.
    """
    name = _escape(fig.label if label is None else label)
    width, height = _num(fig.width), _num(fig.height)
    head = (
        f'<svg xmlns="{SVG_NS}" role="img" aria-label="{name}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT_FAMILY}" '
        f'fill="{INK}">'
    )
    body = [
        f'<title id="{_escape(prefix)}-title">{name}</title>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        *_svg_items(fig.items, _escape(prefix)),
    ]
    return head + "\n" + "\n".join(body) + "\n</svg>"


def svg_document(fig: Figure, prefix: str = "chart") -> str:
    return '<?xml version="1.0" encoding="utf-8"?>\n' + svg_element(fig, prefix) + "\n"


# -- PNG --------------------------------------------------------------------

_PIL_ANCHOR = {"start": "ls", "middle": "ms", "end": "rs"}


def _draw(
    draw: ImageDraw.ImageDraw,
    items: Sequence[Shape],
    scale: float,
    dx: float,
    dy: float,
    fonts: dict[tuple[float, bool], ImageFont.FreeTypeFont],
) -> None:
    def at(x: float, y: float) -> tuple[float, float]:
        return ((x + dx) * scale, (y + dy) * scale)

    for item in items:
        if isinstance(item, Group):
            _draw(draw, item.items, scale, dx + item.dx, dy + item.dy, fonts)
        elif isinstance(item, Text):
            key = (item.size * scale, item.bold)
            if key not in fonts:
                fonts[key] = _font(*key)
            draw.text(
                at(item.x, item.y),
                clean(item.text),
                fill=item.colour,
                font=fonts[key],
                anchor=_PIL_ANCHOR[item.anchor],
            )
        elif isinstance(item, Line):
            width = max(1, round(item.width * scale))
            draw.line(
                [at(x, y) for x, y in item.points], fill=item.colour, width=width, joint="curve"
            )
        elif isinstance(item, Rect):
            if item.width > 0 and item.height > 0:
                x0, y0 = at(item.x, item.y)
                x1, y1 = at(item.x + item.width, item.y + item.height)
                draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=item.fill)
        else:
            x, y = at(item.x, item.y)
            r = item.radius * scale
            draw.ellipse((x - r, y - r, x + r, y + r), fill=item.fill)


def png_size(fig: Figure) -> tuple[int, int]:
    return round(fig.width * PNG_SCALE), round(fig.height * PNG_SCALE)


def png(fig: Figure) -> bytes:
    """The picture at 150 dots to the inch, on white."""
    from PIL import Image, ImageDraw

    width, height = png_size(fig)
    image = Image.new("RGB", (width * SUPERSAMPLE, height * SUPERSAMPLE), "#ffffff")
    _draw(ImageDraw.Draw(image), fig.items, width * SUPERSAMPLE / fig.width, 0.0, 0.0, {})
    buffer = io.BytesIO()
    image.reduce(SUPERSAMPLE).save(buffer, format="PNG", dpi=(PNG_DPI, PNG_DPI))
    return buffer.getvalue()
