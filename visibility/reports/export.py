"""A report as a terminal table, CSV or JSON.

CSV: one row per post with its latest figures, then one row per channel with
the channel's totals, then one row for everything. Columns, in order:

``row``
    ``post``, ``channel`` (a channel's totals) or ``all`` (the whole report).
``post_id``, ``published_at``
    Post rows only; the time is in the organisation's timezone, ISO 8601 with
    its offset.
``channel``, ``channel_kind``
    The channel account's name and kind (on ``post`` and ``channel`` rows).
``news_item_id``, ``news_title``, ``post_title``, ``url``
    Post rows only; ``url`` is the post's address on the channel.
``readings``, ``last_read_at``
    How many engagement readings the post has and when the last was taken.
``posts``
    1 on a post row; the number of posts on a total row.
``impressions``, ``reactions``, ``comments``, ``shares``, ``clicks``
    The latest reading (summed over posts on total rows). An empty cell means
    the platform did not report that figure; a total sums the posts that did.
``engagement``
    reactions + comments + shares + clicks, of the parts reported.
``grants``
    Post rows only: the grants the post's news item is under, by name,
    separated by spaces.

Text cells that a spreadsheet would run as a formula (starting with ``=``,
``+``, ``-``, ``@``) get a leading ``'``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from visibility.reports.figures import FIGURES, KEYS, Report

CSV_COLUMNS = (
    "row",
    "post_id",
    "published_at",
    "channel",
    "channel_kind",
    "news_item_id",
    "news_title",
    "post_title",
    "url",
    "readings",
    "last_read_at",
    "posts",
    *KEYS,
    "grants",
)
NOT_REPORTED = "not reported by the platform"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def number(value: int | None, missing: str = "-") -> str:
    return missing if value is None else f"{value:,}"


def _cell_text(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _local(report: Report, instant: datetime | None) -> str:
    if instant is None:
        return ""
    return instant.astimezone(report.period.tz).isoformat(timespec="seconds")


def _cells(value_of: Callable[[str], int | None]) -> list[str]:
    """The figure columns; an empty cell where the figure is not known."""
    return ["" if (value := value_of(key)) is None else str(value) for key in KEYS]


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for post in report.posts:
        p = post.post
        writer.writerow(
            [
                "post",
                p.id,
                _local(report, post.published_at),
                p.channel,
                p.channel_kind,
                p.news_item_id,
                _cell_text(post.news_title),
                _cell_text(p.title),
                _cell_text(p.external_url),
                len(post.readings),
                _local(report, post.last_read_at),
                1,
                *_cells(post.latest.get),
                " ".join(post.grants),
            ]
        )
    for channel in report.channels:
        writer.writerow(
            [
                "channel",
                "",
                "",
                channel.name,
                channel.kind,
                "",
                "",
                "",
                "",
                "",
                "",
                channel.totals.posts,
                *_cells(channel.totals.value),
                "",
            ]
        )
    blank = [""] * 10
    writer.writerow(["all", *blank, report.totals.posts, *_cells(report.totals.value), ""])
    return buffer.getvalue()


def to_json(report: Report) -> str:
    data: dict[str, Any] = report.to_dict()
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# -- terminal ---------------------------------------------------------------


def _table(title: str, columns: Sequence[tuple[str, bool]], rows: Sequence[_Row]) -> Table:
    """A table whose figures are never cut: a number column is as wide as its widest
    figure and never wraps; when the terminal is narrow, the text columns wrap."""
    table = Table(title=title, title_justify="left")
    for index, (name, numeric) in enumerate(columns):
        if numeric:
            widest = max((len(str(row.cells[index])) for row in rows), default=0)
            table.add_column(name, justify="right", no_wrap=True, min_width=max(widest, 1))
        else:
            table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*row.cells, style=row.style)
    return table


@dataclass(frozen=True)
class _Row:
    cells: tuple[str | Text, ...]
    style: str | None = None


_FIGURE_COLUMNS = tuple((key, True) for key in KEYS)


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def to_table(report: Report) -> RenderableType:
    """Rich tables: per channel, per news item, top posts. All user text as plain Text."""
    period = report.period
    head = Text(
        f"{report.organisation}: visibility report, {period.first_day} to {period.last_day} "
        f"({period.timezone})"
    )
    if report.channel or report.news_item_id:
        filters = []
        if report.channel:
            filters.append(f"channel {report.channel}")
        if report.news_item_id:
            filters.append(f"news item {report.news_item_id}")
        head.append(f"; only {', '.join(filters)}")
    if report.empty:
        return Group(head, Text("No posts were published in this period."))

    channel_rows = [
        _Row(
            (
                Text(c.name),
                Text(c.post_kind if c.kind == c.post_kind else f"{c.post_kind} ({c.kind})"),
                str(c.totals.posts),
                *(number(c.totals.value(k)) for k in KEYS),
            )
        )
        for c in report.channels
    ]
    channel_rows.append(
        _Row(
            (
                Text("all"),
                Text(""),
                str(report.totals.posts),
                *(number(report.totals.value(k)) for k in KEYS),
            ),
            style="bold",
        )
    )
    channels = _table(
        "Per channel (latest readings)",
        [("channel", False), ("kind", False), ("posts", True), *_FIGURE_COLUMNS],
        channel_rows,
    )
    news = _table(
        "Per news item",
        [("id", True), ("title", False), ("posts", True), *_FIGURE_COLUMNS],
        [
            _Row(
                (
                    str(n.id),
                    Text(_one_line(n.title, 60)),
                    str(n.totals.posts),
                    *(number(n.totals.value(k)) for k in KEYS),
                )
            )
            for n in report.news
        ],
    )
    top = _table(
        "Top posts by engagement",
        [
            ("#", True),
            ("post", True),
            ("channel", False),
            ("published", True),
            ("news item", False),
            ("engagement", True),
            ("impressions", True),
            ("url", False),
        ],
        [
            _Row(
                (
                    str(rank),
                    str(post.post.id),
                    Text(post.post.channel),
                    f"{post.published_at.astimezone(period.tz):%Y-%m-%d %H:%M}",
                    Text(_one_line(post.news_title, 40)),
                    number(post.engagement),
                    number(post.latest.impressions),
                    Text(post.post.external_url or ""),
                )
            )
            for rank, post in enumerate(report.top, 1)
        ],
    )
    parts: list[RenderableType] = [head, channels, news]
    parts.append(top if report.top else Text("No post has engagement figures yet."))
    parts.append(
        Text(
            f"- : {NOT_REPORTED} (or not read yet). engagement = "
            f"{' + '.join(f for f in FIGURES if f != 'impressions')}. "
            "--format csv lists every post."
        )
    )
    return Group(*parts)
