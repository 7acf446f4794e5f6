"""A report as one self-contained HTML file that staff can hand to a donor.

No external scripts, stylesheets, fonts or images: the CSS is inline, the
charts are inline SVG whose text is text, in the reader's own fonts, and each
post's pictures are small JPEG thumbnails embedded as ``data:`` URIs. Every
piece of user text goes through Jinja2's autoescaping; only the charts' SVG
is marked safe (``reports.drawing`` escapes every string it writes into it).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jinja2
from bs4 import BeautifulSoup
from markupsafe import Markup

from visibility import __version__
from visibility.reports import charts
from visibility.reports.export import NOT_REPORTED
from visibility.reports.figures import FIGURES, KEYS, PostReport, Report, Totals, age_label

if TYPE_CHECKING:
    from visibility.media.files import ImageFiles

TEMPLATES = Path(__file__).parent / "templates"
SUMMARY_KEYS = ("impressions", "reactions", "comments", "shares", "clicks")
#: Thumbnails twice the size they are shown at, for print; a few kB each.
THUMBNAIL_SIDE = 120
Thumbnail = Mapping[str, str]  # "src" (a data: URI) and "alt"
_LABELS = {
    "impressions": "Impressions",
    "reactions": "Reactions",
    "comments": "Comments",
    "shares": "Shares",
    "clicks": "Clicks",
    "engagement": "Engagement",
}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["number"] = _number
    return env


def _number(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def safe_url(url: str | None) -> str | None:
    """Only web addresses become links: never ``javascript:`` or ``data:``."""
    if not url:
        return None
    return url if urlsplit(url).scheme.lower() in ("http", "https") else None


def _day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def _excerpt(text: str, width: int = 110) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


def _without_title(text: str, title: str) -> str:
    """A social post's text after its headline, which the table shows already."""
    flat, head = " ".join(text.split()), " ".join(title.split())
    if head and flat.lower().startswith(head.lower()):
        flat = flat[len(head) :].lstrip(" :-–—")
    return flat


def _plain_text(post: PostReport) -> str:
    """What a reader of the post saw, as plain text (an article's body is HTML)."""
    if post.post.kind != "website":
        return post.text
    if post.post.excerpt:
        return post.post.excerpt
    return BeautifulSoup(post.text, "html.parser").get_text(" ")


def _thumbnails(report: Report, images: ImageFiles | None) -> dict[int, list[Thumbnail]]:
    """Each post's pictures as they went out (``Sent.media``), as small data: URIs.

    A picture whose file is gone from the store is left out: a report is still
    worth having without it.
    """
    if images is None:
        return {}
    from visibility.errors import InputError
    from visibility.media.files import FORMATS
    from visibility.media.fit import thumbnail

    made: dict[str, str | None] = {}

    def data_uri(sha256: str) -> str | None:
        if sha256 not in made:
            made[sha256] = None
            for mime, _ in FORMATS.values():
                try:
                    stored = images.get(sha256, mime)
                except (InputError, ValueError, OSError):
                    continue
                small = thumbnail(stored, images, side=THUMBNAIL_SIDE)
                encoded = base64.b64encode(small.path.read_bytes()).decode("ascii")
                made[sha256] = f"data:{small.mime_type};base64,{encoded}"
                break
        return made[sha256]

    found: dict[int, list[Thumbnail]] = {}
    for post in report.posts:
        for media in post.post.sent.media if post.post.sent is not None else ():
            sha256, _, alt = media.partition(" ")
            src = data_uri(sha256)
            if src is not None:
                found.setdefault(post.post.id, []).append({"src": src, "alt": alt})
    return found


def _post_row(
    report: Report, post: PostReport, thumbnails: Mapping[int, Sequence[Thumbnail]]
) -> dict[str, Any]:
    p = post.post
    local = post.published_at.astimezone(report.period.tz)
    never_read = not post.readings
    missing = "not read yet" if never_read and p.next_snapshot_at is not None else "not reported"
    last = post.readings[-1] if post.readings else None
    return {
        "id": p.id,
        "channel": p.channel,
        "kind": p.kind,
        "published": f"{local:%Y-%m-%d %H:%M}",
        "news_id": p.news_item_id,
        "news_title": post.news_title,
        "text": _excerpt(_without_title(_plain_text(post), p.title or post.news_title)),
        "url": safe_url(p.external_url),
        "shown_url": p.external_url,
        "figures": post.latest.to_dict(),
        "missing": missing,
        "last_read": None if last is None else (last.age_label or age_label(last.age)),
        "pictures": list(thumbnails.get(p.id, ())),
    }


def _summary(totals: Totals) -> list[dict[str, Any]]:
    cards = []
    for key in SUMMARY_KEYS:
        total = totals.figures[key]
        note = None
        if total.value is not None and total.reported < totals.posts:
            note = f"reported for {total.reported} of {totals.posts} posts"
        cards.append({"label": _LABELS[key], "value": total.value, "note": note, "key": key})
    return cards


def render_html(report: Report, *, images: ImageFiles | None = None) -> str:
    """The report as HTML; with ``images`` (the image store), each post's pictures too."""
    env = _environment()
    thumbnails = _thumbnails(report, images)
    template = env.get_template("report.html.j2")
    over_time = news = None
    if not report.empty:
        over_time = Markup(  # noqa: S704 - the charts' SVG, its text escaped by reports.drawing
            charts.inline_svg(
                charts.over_time_figure(report, title=False),
                "chart-time",
                label="Engagement over time, per channel",
            )
        )
        news = Markup(  # noqa: S704 - as above
            charts.inline_svg(
                charts.news_figure(report, title=False),
                "chart-news",
                label="Engagement per news item, across channels",
            )
        )
    period = report.period
    return template.render(
        report=report,
        organisation=report.organisation,
        period_text=f"{_day(period.first_day)} – {_day(period.last_day)}",
        timezone=period.timezone,
        generated=f"{report.generated_at.astimezone(period.tz):%Y-%m-%d %H:%M}",
        version=__version__,
        summary=_summary(report.totals),
        active_channels=sum(1 for c in report.channels if c.totals.posts),
        ages=[age_label(a) for a in report.ages],
        keys=KEYS,
        figures=FIGURES,
        labels=_LABELS,
        not_reported=NOT_REPORTED,
        channels=report.channels,
        news=report.news,
        item_grants={p.post.news_item_id: p.grants for p in report.posts},
        groups=[
            (
                item,
                [
                    _post_row(report, p, thumbnails)
                    for p in report.posts
                    if p.post.news_item_id == item.id
                ],
            )
            for item in report.news
        ],
        top=[_post_row(report, p, thumbnails) for p in report.top],
        chart_over_time=over_time,
        chart_news=news,
        news_chart_note=(
            f"The {charts.MAX_NEWS_BARS} news items with most engagement are shown."
            if len(report.news) > charts.MAX_NEWS_BARS
            else None
        ),
        silent_channels=[
            c.name for c in report.channels if c.totals.posts and not c.reports_anything
        ],
    )
