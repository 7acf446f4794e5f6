"""A report's charts, drawn server-side with matplotlib.

Only the object-oriented API is used (``matplotlib.figure.Figure``, never
pyplot): no global figure registry, no GUI backend, so rendering is safe in a
worker thread and needs no display. PNG output goes through Agg. SVG text is
written as paths (``svg.fonttype = "path"``) so the HTML report needs no font
files, and each SVG's ids get a prefix so several can sit inline in one page.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.dates import (
    AutoDateLocator,
    ConciseDateFormatter,
    DateLocator,
    DayLocator,
    date2num,
)
from matplotlib.figure import Figure

from visibility.errors import UserError
from visibility.reports.figures import ChannelReport, NewsReport, Report

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

# Okabe-Ito: told apart by colour-blind readers and in greyscale print.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
MAX_NEWS_BARS = 12
# Wide enough that the text is near the page's size on screen, and still
# readable when printed on A4 (scaled to about 7 inches).
_WIDTH_IN = 9.0
_STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "path",
    "svg.hashsalt": "visibility-report",  # the same ids for the same chart
    "font.size": 9.0,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
}
# rc_context changes matplotlib's process-wide settings while a chart is
# drawn or saved; one chart at a time keeps two threads from undoing each
# other's. Reentrant: a figure is built inside, then saved inside.
_RC_LOCK = threading.RLock()


@contextmanager
def _style() -> Iterator[None]:
    with _RC_LOCK, matplotlib.rc_context(_STYLE):
        yield


NO_POSTS = "No posts were published in this period."
NO_FIGURES = "The platforms reported no engagement for these posts."


def _plain(text: str) -> str:
    """User text as matplotlib shows it literally: a ``$`` would start mathtext."""
    return text.replace("$", r"\$")


def _shorten(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


def channel_colours(report: Report) -> dict[str, str]:
    """One colour per channel with figures, the same in every chart."""
    charted = [c for c in report.channels if c.reports_anything]
    return {c.name: PALETTE[i % len(PALETTE)] for i, c in enumerate(charted)}


def _message(ax: Axes, text: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#555555")


def _new_figure(height: float) -> Figure:
    return Figure(figsize=(_WIDTH_IN, height), layout="constrained")


def _charted(report: Report) -> list[ChannelReport]:
    return [
        c
        for c in report.channels
        if any(p.figures.value("engagement") is not None for p in c.by_date)
    ]


# -- engagement over time per channel -------------------------------------


def draw_over_time(ax: Axes, report: Report, *, title: bool = True) -> None:
    if title:
        ax.set_title("Engagement over time, per channel", loc="left")
    if report.empty:
        _message(ax, NO_POSTS)
        return
    channels = _charted(report)
    if not channels:
        _message(ax, NO_FIGURES)
        return
    colours = channel_colours(report)
    for channel in channels:
        days: list[date] = [p.day for p in channel.by_date]
        values = [p.figures.value("engagement") for p in channel.by_date]
        ax.plot(
            days,  # type: ignore[arg-type]  # matplotlib's date converter takes dates
            [float("nan") if v is None else v for v in values],
            marker="o",
            markersize=3.5,
            linewidth=1.8,
            color=colours[channel.name],
            label=_plain(channel.name),
        )
    first = min(c.by_date[0].day for c in channels)
    last = max(c.by_date[-1].day for c in channels)
    span = (last - first).days
    locator: DateLocator
    if span <= 10:
        # A series of days: one tick a day, never hours between them.
        locator = DayLocator()  # type: ignore[no-untyped-call]
        pad = 0.5 if span else 1.0  # in days, matplotlib's date unit
        start, end = date2num([first, last])  # type: ignore[no-untyped-call]
        ax.set_xlim(float(start) - pad, float(end) + pad)
    else:
        locator = AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_ylabel("reactions + comments + shares + clicks")
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.legend(frameon=False, loc="upper left")


def over_time_figure(report: Report, *, title: bool = True) -> Figure:
    with _style():
        fig = _new_figure(3.4)
        draw_over_time(fig.add_subplot(), report, title=title)
    return fig


# -- engagement per news item, across channels ----------------------------


def _charted_news(report: Report) -> list[NewsReport]:
    ranked = sorted(
        (n for n in report.news if n.totals.value("engagement") is not None),
        key=lambda n: (-(n.totals.value("engagement") or 0), n.id),
    )
    return ranked[:MAX_NEWS_BARS]


def _news_height(report: Report) -> float:
    rows = len(_charted_news(report)) * max(1, len(_charted(report)))
    return max(2.4, 1.3 + 0.22 * rows + 0.25 * len(_charted_news(report)))


def draw_news(ax: Axes, report: Report, *, title: bool = True) -> None:
    if title:
        text = "Engagement per news item, across channels"
        if len(report.news) > MAX_NEWS_BARS:
            text += f" (the {MAX_NEWS_BARS} with most engagement)"
        ax.set_title(text, loc="left")
    if report.empty:
        _message(ax, NO_POSTS)
        return
    items = _charted_news(report)
    channels = [c.name for c in _charted(report)]
    if not items or not channels:
        _message(ax, NO_FIGURES)
        return
    colours = channel_colours(report)
    height = 0.8 / len(channels)
    # The news item with most engagement at the top.
    positions = list(range(len(items)))[::-1]
    for j, name in enumerate(channels):
        offsets = [y + 0.4 - height * (j + 0.5) for y in positions]
        values: list[float] = []
        for item in items:
            totals = item.by_channel.get(name)
            value = None if totals is None else totals.value("engagement")
            values.append(0 if value is None else value)
        bars = ax.barh(
            offsets, values, height=height * 0.92, color=colours[name], label=_plain(name)
        )
        labels = [
            ""
            if (t := item.by_channel.get(name)) is None or t.value("engagement") is None
            else f"{t.value('engagement'):,}"
            for item in items
        ]
        ax.bar_label(bars, labels=labels, padding=2, fontsize=7.5, color="#333333")
    ax.set_yticks(positions, [_plain(_shorten(f"#{n.id} {n.title}", 48)) for n in items])
    ax.set_xlabel("reactions + comments + shares + clicks (latest reading)")
    ax.margins(x=0.12)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(frameon=False, loc="lower right")


def news_figure(report: Report, *, title: bool = True) -> Figure:
    with _style():
        fig = _new_figure(_news_height(report))
        draw_news(fig.add_subplot(), report, title=title)
    return fig


def overview_figure(report: Report) -> Figure:
    """Both charts in one picture, for ``--chart``."""
    news_height = _news_height(report)
    with _style():
        fig = _new_figure(3.4 + news_height)
        # Subfigures: each chart lays out its own labels, so the news
        # titles do not push the time chart to the right.
        grid = fig.add_gridspec(2, 1, height_ratios=[3.4, news_height])
        draw_over_time(fig.add_subfigure(grid[0]).add_subplot(), report)
        draw_news(fig.add_subfigure(grid[1]).add_subplot(), report)
        fig.suptitle(
            _plain(
                f"{report.organisation}: {report.period.first_day:%d %b %Y} to "
                f"{report.period.last_day:%d %b %Y}"
            ),
            x=0.01,
            ha="left",
            fontsize=11,
        )
    return fig


# -- output -----------------------------------------------------------------

_XML_PROLOGUE = re.compile(r"^\s*<\?xml[^>]*\?>\s*(<!DOCTYPE[^>]*>\s*)?", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->\s*", re.DOTALL)
_ID = re.compile(r'\bid="([^"]+)"')
_HREF = re.compile(r'href="#([^"]+)"')
_URL = re.compile(r"url\(#([^)]+)\)")


def to_svg(fig: Figure) -> str:
    """A standalone SVG document."""
    buffer = io.StringIO()
    with _style():
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def to_png(fig: Figure, *, dpi: int = 150) -> bytes:
    buffer = io.BytesIO()
    with _style():
        fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def inline_svg(fig: Figure, prefix: str, *, label: str) -> str:
    """SVG to place inside HTML: no prologue or comments, ids made unique with ``prefix``.

    matplotlib names glyphs and clip paths the same way in every SVG; two
    charts in one page would otherwise share ids.
    """
    svg = _XML_PROLOGUE.sub("", to_svg(fig), count=1)
    # matplotlib notes each text in a comment; the page needs none of them.
    svg = _COMMENT.sub("", svg)
    svg = _ID.sub(lambda m: f'id="{prefix}-{m[1]}"', svg)
    svg = _HREF.sub(lambda m: f'href="#{prefix}-{m[1]}"', svg)
    svg = _URL.sub(lambda m: f"url(#{prefix}-{m[1]})", svg)
    escaped = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escaped}" ', 1)


def write_chart(report: Report, path: Path) -> None:
    """``--chart FILE``: both charts as one SVG or PNG, by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise UserError(f"--chart {path}: give a file name ending in .svg or .png")
    fig = overview_figure(report)
    try:
        if suffix == ".svg":
            path.write_text(to_svg(fig), encoding="utf-8")
        else:
            path.write_bytes(to_png(fig))
    except OSError as exc:
        raise UserError(f"cannot write the chart to {path}: {exc.strerror}") from None
