"""A report's charts, drawn by the project itself as SVG, and as PNG with Pillow.

Two charts: engagement over time per channel (lines), and engagement per
news item across channels (horizontal bars). Each is laid out here as a
``drawing.Figure`` of plain shapes, the same for the HTML report, the web
page and ``visibility report --chart``. matplotlib did this before; with numpy
and its fonts it was half the container image, for two simple charts.

Text stays text: inline in a page it can be selected and read aloud, and
every string is escaped by ``drawing``. Ids carry the prefix the caller
gives, so several charts can sit in one page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Literal

from visibility.errors import UserError
from visibility.reports.drawing import (
    Dot,
    Figure,
    Group,
    Line,
    Rect,
    Shape,
    Text,
    fit,
    png,
    svg_document,
    svg_element,
    text_width,
)
from visibility.reports.figures import ChannelReport, NewsReport, Report
from visibility.reports.ticks import date_ticks, number_ticks

# Okabe-Ito: told apart by colour-blind readers and in greyscale print.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
MAX_NEWS_BARS = 12

NO_POSTS = "No posts were published in this period."
NO_FIGURES = "The platforms reported no engagement for these posts."
OVER_TIME_TITLE = "Engagement over time, per channel"
NEWS_TITLE = "Engagement per news item, across channels"
OVER_TIME_AXIS = "reactions + comments + shares + clicks"
NEWS_AXIS = "reactions + comments + shares + clicks (latest reading)"

# Sizes in pixels, 100 to the inch: 9 inches wide, readable on screen and
# when printed on A4; the web page shows charts at most 900 pixels wide.
WIDTH = 900.0
PAD = 12.0
FONT = 12.5
SMALL = 10.5
TITLE = 14.5
HEADING = 15.5
MUTED = "#555555"
GRID = "#dddddd"
AXIS = "#333333"
TICK = 4.0
# Height of the time chart, and the smallest the news chart gets (a message).
OVER_TIME_HEIGHT = 340.0
MIN_HEIGHT = 240.0
BAR = 14.0
BAR_GAP = 2.0
GROUP_GAP = 14.0
# A day tick needs this much room; labels are one or two digits.
DAY_TICK_ROOM = 70.0
NEWS_TICKS = 8


def _shorten(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


def channel_colours(report: Report) -> dict[str, str]:
    """One colour per channel with figures, the same in every chart."""
    charted = [c for c in report.channels if c.reports_anything]
    return {c.name: PALETTE[i % len(PALETTE)] for i, c in enumerate(charted)}


def _charted(report: Report) -> list[ChannelReport]:
    return [
        c
        for c in report.channels
        if any(p.figures.value("engagement") is not None for p in c.by_date)
    ]


def _charted_news(report: Report) -> list[NewsReport]:
    ranked = sorted(
        (n for n in report.news if n.totals.value("engagement") is not None),
        key=lambda n: (-(n.totals.value("engagement") or 0), n.id),
    )
    return ranked[:MAX_NEWS_BARS]


def _baseline(middle: float, size: float) -> float:
    """The baseline that centres a line of text of ``size`` on ``middle``."""
    return middle + size * 0.35


def _title(items: list[Shape], text: str) -> float:
    """The chart's title at the top; the height it takes."""
    items.append(
        Text(PAD, PAD + TITLE, fit(text, TITLE, WIDTH - 2 * PAD, bold=True), TITLE, bold=True)
    )
    return PAD + TITLE * 1.7


def _message(items: list[Shape], label: str, text: str, top: float, height: float) -> Figure:
    """A chart with nothing to plot: ``text`` says why."""
    items.append(Text(WIDTH / 2, _baseline((top + height) / 2, FONT), text, FONT, MUTED, "middle"))
    return Figure(WIDTH, height, label, items)


def _legend(
    entries: Sequence[tuple[str, str]], width: float, kind: Literal["line", "bar"]
) -> tuple[Group, float, float]:
    """Channel names with their colours, in rows at most ``width`` wide; its size."""
    row_height = FONT * 1.6
    group = Group(name="legend")
    x = y = widest = 0.0
    for name, colour in entries:
        label = fit(name, FONT, min(260.0, width - 30))
        entry = 26 + text_width(label, FONT)
        if x and x + entry > width:
            x, y = 0.0, y + row_height
        middle = y + row_height / 2
        if kind == "line":
            group.items.append(Line(((x, middle), (x + 20, middle)), colour, 2.4))
            group.items.append(Dot(x + 10, middle, 3.0, colour))
        else:
            group.items.append(Rect(x + 4, middle - 6, 12, 12, colour))
        group.items.append(Text(x + 26, _baseline(middle, FONT), label, FONT))
        widest = max(widest, x + entry)
        x += entry + 18
    return group, widest, y + row_height


# -- engagement over time per channel -------------------------------------


def over_time_figure(report: Report, *, title: bool = True) -> Figure:
    items: list[Shape] = []
    top = _title(items, OVER_TIME_TITLE) if title else PAD
    if report.empty:
        return _message(items, OVER_TIME_TITLE, NO_POSTS, top, OVER_TIME_HEIGHT)
    channels = _charted(report)
    if not channels:
        return _message(items, OVER_TIME_TITLE, NO_FIGURES, top, OVER_TIME_HEIGHT)
    colours = channel_colours(report)
    known = [
        v for c in channels for p in c.by_date if (v := p.figures.value("engagement")) is not None
    ]
    values = number_ticks(max(known))
    left = PAD + max(text_width(f"{v:,}", FONT) for v in values) + 8
    right = WIDTH - PAD - 10

    # The axis' unit on the left above the numbers; the legend on the right,
    # or in a row of its own when both do not fit.
    legend, legend_width, legend_height = _legend(
        [(c.name, colours[c.name]) for c in channels], WIDTH - 2 * PAD, "line"
    )
    row = FONT * 1.6
    if PAD + text_width(OVER_TIME_AXIS, FONT) + 24 + legend_width <= WIDTH - PAD:
        legend.dx, legend.dy = WIDTH - PAD - legend_width, top
    else:
        legend.dx, legend.dy = PAD, top
        top += legend_height
    items.append(legend)
    items.append(Text(PAD, _baseline(top + row / 2, FONT), OVER_TIME_AXIS, FONT, MUTED))
    top += row
    plot_top = top + 10
    bottom = OVER_TIME_HEIGHT - PAD - FONT * 2.6 - TICK

    first = min(c.by_date[0].day for c in channels)
    last = max(c.by_date[-1].day for c in channels)
    span = (last - first).days
    # Half a day either side of a short series, so its ends are not on the edges.
    pad = (0.5 if span else 1.0) if span <= 10 else span * 0.03
    start, end = first.toordinal() - pad, last.toordinal() + pad

    def x_of(day: date) -> float:
        return left + (day.toordinal() - start) / (end - start) * (right - left)

    def y_of(value: float) -> float:
        return bottom - value / values[-1] * (bottom - plot_top)

    axes = Group(name="axes")
    for tick in values:
        y = y_of(tick)
        if tick:
            axes.items.append(Line(((left, y), (right, y)), GRID, 0.85))
        axes.items.append(Text(left - 8, _baseline(y, FONT), f"{tick:,}", FONT, anchor="end"))
    axes.items.append(Line(((left, bottom), (right, bottom)), AXIS, 1.0))
    for when in date_ticks(first, last, most=max(2, int((right - left) // DAY_TICK_ROOM))):
        x = x_of(when.day)
        axes.items.append(Line(((x, bottom), (x, bottom + TICK)), AXIS, 1.0))
        axes.items.append(Text(x, bottom + TICK + FONT * 1.1, when.label, FONT, anchor="middle"))
        if when.context:
            axes.items.append(
                Text(x, bottom + TICK + FONT * 2.4, when.context, FONT, MUTED, "middle")
            )
    items.append(axes)

    for i, channel in enumerate(channels):
        colour = colours[channel.name]
        series = Group(name=f"series-{i}")
        run: list[tuple[float, float]] = []
        dots: list[Shape] = []
        # A day the platform gave nothing for breaks the line, as a gap.
        for point in channel.by_date:
            engagement = point.figures.value("engagement")
            if engagement is None:
                if len(run) > 1:
                    series.items.append(Line(tuple(run), colour, 2.5))
                run = []
                continue
            x, y = x_of(point.day), y_of(engagement)
            run.append((x, y))
            tip = f"{channel.name}, {point.day:%d %b %Y}: {engagement:,}"
            dots.append(Dot(x, y, 3.0, colour, tip))
        if len(run) > 1:
            series.items.append(Line(tuple(run), colour, 2.5))
        series.items.extend(dots)
        items.append(series)
    return Figure(WIDTH, OVER_TIME_HEIGHT, OVER_TIME_TITLE, items)


# -- engagement per news item, across channels ----------------------------


def news_figure(report: Report, *, title: bool = True) -> Figure:
    items: list[Shape] = []
    heading = NEWS_TITLE
    if len(report.news) > MAX_NEWS_BARS:
        heading += f" (the {MAX_NEWS_BARS} with most engagement)"
    top = _title(items, heading) if title else PAD
    if report.empty:
        return _message(items, NEWS_TITLE, NO_POSTS, top, MIN_HEIGHT)
    news = _charted_news(report)
    channels = [c.name for c in _charted(report)]
    if not news or not channels:
        return _message(items, NEWS_TITLE, NO_FIGURES, top, MIN_HEIGHT)
    colours = channel_colours(report)

    legend, legend_width, legend_height = _legend(
        [(name, colours[name]) for name in channels], WIDTH - 2 * PAD, "bar"
    )
    legend.dx, legend.dy = WIDTH - PAD - legend_width, top
    items.append(legend)
    top += legend_height + 6

    names = [fit(_shorten(f"#{n.id} {n.title}", 48), FONT, WIDTH * 0.4) for n in news]
    left = PAD + max(text_width(name, FONT) for name in names) + 10
    right = WIDTH - PAD
    bars: list[list[int | None]] = []  # per channel, per news item
    for name in channels:
        row: list[int | None] = []
        for item in news:
            totals = item.by_channel.get(name)
            row.append(None if totals is None else totals.value("engagement"))
        bars.append(row)
    known = [v for row in bars for v in row if v is not None]
    if not known:
        return _message(items, NEWS_TITLE, NO_FIGURES, top, MIN_HEIGHT)
    # The axis ends where the longest bar's number ends; its ticks are the
    # round numbers up to there, with room for the last one's label.
    right -= text_width(f"{max(known):,}", FONT) / 2
    room = max(text_width(f"{v:,}", SMALL) for v in known) + 8
    end = max(max(known), 1) * (right - left) / (right - left - room)
    values = [v for v in number_ticks(end, count=NEWS_TICKS) if v <= end]
    scale = (right - left) / end

    group_height = len(channels) * BAR + (len(channels) - 1) * BAR_GAP
    bottom = top + len(news) * (group_height + GROUP_GAP)
    axes = Group(name="axes")
    for tick in values:
        x = left + tick * scale
        if tick:
            axes.items.append(Line(((x, top), (x, bottom)), GRID, 0.85))
        axes.items.append(Line(((x, bottom), (x, bottom + TICK)), AXIS, 1.0))
        axes.items.append(Text(x, bottom + TICK + FONT * 1.1, f"{tick:,}", FONT, anchor="middle"))
    axes.items.append(Line(((left, top), (left, bottom)), AXIS, 1.0))
    axes.items.append(Line(((left, bottom), (right, bottom)), AXIS, 1.0))
    axes.items.append(
        Text((left + right) / 2, bottom + TICK + FONT * 2.6, NEWS_AXIS, FONT, MUTED, "middle")
    )
    labels = Group(name="labels")
    for i, name in enumerate(names):
        middle = top + GROUP_GAP / 2 + i * (group_height + GROUP_GAP) + group_height / 2
        labels.items.append(Text(left - 8, _baseline(middle, FONT), name, FONT, anchor="end"))
    items.extend((axes, labels))

    for j, (channel, row) in enumerate(zip(channels, bars, strict=True)):
        series = Group(name=f"series-{j}")
        for i, value in enumerate(row):
            if value is None:
                continue
            y = top + GROUP_GAP / 2 + i * (group_height + GROUP_GAP) + j * (BAR + BAR_GAP)
            width = value * scale
            series.items.append(
                Rect(left, y, width, BAR, colours[channel], f"{channel}: {value:,}")
            )
            series.items.append(
                Text(
                    left + width + 4, _baseline(y + BAR / 2, SMALL), f"{value:,}", SMALL, "#333333"
                )
            )
        items.append(series)
    height = bottom + TICK + FONT * 2.6 + PAD
    return Figure(WIDTH, max(MIN_HEIGHT, height), NEWS_TITLE, items)


def overview_figure(report: Report) -> Figure:
    """Both charts in one picture, under the organisation and period, for ``--chart``."""
    heading = (
        f"{report.organisation}: {report.period.first_day:%d %b %Y} to "
        f"{report.period.last_day:%d %b %Y}"
    )
    over_time, news = over_time_figure(report), news_figure(report)
    head = PAD + HEADING * 1.8
    items: list[Shape] = [
        Text(
            PAD,
            PAD + HEADING,
            fit(heading, HEADING, WIDTH - 2 * PAD, bold=True),
            HEADING,
            bold=True,
        ),
        Group(over_time.items, "time", dy=head),
        Group(news.items, "news", dy=head + over_time.height),
    ]
    return Figure(WIDTH, head + over_time.height + news.height, heading, items)


# -- output -----------------------------------------------------------------


def to_svg(fig: Figure) -> str:
    """A standalone SVG document."""
    return svg_document(fig)


def to_png(fig: Figure) -> bytes:
    """A PNG at 150 dots to the inch."""
    return png(fig)


def inline_svg(fig: Figure, prefix: str, *, label: str) -> str:
    """SVG to place inside HTML: ids made unique with ``prefix``, ``label`` for screen readers."""
    return svg_element(fig, prefix, label=label)


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
