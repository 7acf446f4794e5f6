"""A grant's visibility dossier as one self-contained HTML file, and what the PDF shares with it.

The dossier is the proof a donor asks for at the end of a grant: how many
posts carried what its visibility rules require, the exceptions with their
reasons, and every visibility action with the exact text that went out and
what it reached. The HTML and the PDF (``dossier_pdf``) show the same
sections in the same order from the same ``DossierContent``, with every word
taken from ``LABELS`` so that one catalogue can translate both.

As in ``reports.render_html``: no external resources (inline CSS, inline
SVG charts, the emblem and thumbnails as ``data:`` URIs), and all user text
through Jinja2's autoescaping; only the charts' SVG, escaped by
``reports.drawing``, is marked safe.
"""

from __future__ import annotations

import base64
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visibility.grants.dossier import Dossier, DossierPost
from visibility.grants.model import Compliance
from visibility.reports import charts
from visibility.reports.drawing import Figure, Line, Rect, Shape, Text, fit, text_width
from visibility.reports.figures import KEYS, PostReport, Report, Totals, age_label
from visibility.reports.render_html import Thumbnail, _thumbnails, safe_url

if TYPE_CHECKING:
    from visibility.media.files import ImageFiles

TEMPLATES = Path(__file__).parent / "templates"
NOT_REPORTED = "–"  # a figure the platform did not give: never 0

#: Every word either rendering shows; a catalogue for another language replaces this file.
LABELS: dict[str, str] = tomllib.loads(
    (TEMPLATES / "dossier-labels.en.toml").read_text(encoding="utf-8")
)


def label(key: str, **values: object) -> str:
    return LABELS[key].format(**values) if values else LABELS[key]


def number(value: int | None) -> str:
    return NOT_REPORTED if value is None else f"{value:,}"


def day_text(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def figure_label(key: str, kind: str) -> str:
    """A figure's column name; a website's impressions are its page views."""
    return label("page_views" if key == "impressions" and kind == "website" else key)


def percent(rate: float) -> int:
    # Rounded down: 299 of 300 is not "100%".
    return int(rate * 100 + 1e-9)


def rate_text(dossier: Dossier) -> str:
    rate = dossier.compliance_rate
    if rate is None:
        return label("rate_none")
    return label(
        "rate",
        percent=percent(rate),
        compliant=len(dossier.compliant),
        checked=len(dossier.checked),
    )


def published_text(post: PostReport) -> str:
    """The text that went out, with its line breaks; an article's HTML as its paragraphs."""
    if post.post.kind != "website":
        return post.text
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(post.text, "html.parser")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(["p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote"]):
        block.append("\n\n")
    return re.sub(r"\n{3,}", "\n\n", soup.get_text()).strip()


@dataclass(frozen=True)
class Row:
    """A line of a figures table: its name, posts and each figure, as text."""

    name: str
    kind: str
    posts: int
    values: tuple[str, ...]  # in KEYS order
    month: str = ""  # on a month-by-month row


@dataclass(frozen=True)
class Rule:
    text: str  # "mention or hashtag"
    state: str  # met, missing, not_applicable
    status: str  # the state in words
    detail: str  # what met it, or what was needed


@dataclass(frozen=True)
class Exception_:
    number: int  # the action's number below
    heading: str  # "Action 5 of 9 · facebook · 2026-11-12 10:30"
    channel: str
    published: str
    news_title: str
    status: str
    missing: tuple[str, ...]
    override: str | None  # "Approved without it by ... on ..."
    reason: str | None


@dataclass(frozen=True)
class Action:
    number: int
    heading: str
    channel: str
    kind: str
    published: str
    news_title: str
    url: str | None
    link: str | None  # the url when it is safe to link to
    text: str
    status: str
    status_label: str
    rules: tuple[Rule, ...]
    readings: tuple[tuple[str, tuple[str, ...]], ...]  # (age, figures in KEYS order)
    impressions: str  # the latest reading's, for the list of actions
    engagement: str
    pictures: tuple[Thumbnail, ...]


@dataclass(frozen=True)
class DossierContent:
    grant_title: str
    grant_name: str
    donor: str
    contract: str
    grant_period: str
    covered: str
    timezone: str
    organisation: str
    generated: str
    rate: str
    rate_note: str
    channels: tuple[Row, ...]
    total: Row
    months: tuple[Row, ...]
    exceptions: tuple[Exception_, ...]
    actions: tuple[Action, ...]
    charts: tuple[tuple[str, str, Figure], ...]  # (title, note, figure)
    has_website: bool

    @property
    def empty(self) -> bool:
        return not self.actions


def _values(totals: Totals) -> tuple[str, ...]:
    return tuple(number(totals.value(key)) for key in KEYS)


def _local(report: Report, instant: datetime) -> str:
    return f"{instant.astimezone(report.period.tz):%Y-%m-%d %H:%M}"


def _rules(dossier: Dossier, compliance: Compliance) -> tuple[Rule, ...]:
    rules = []
    for check in compliance.checks:
        text = " or ".join(check.alternatives)
        if check.grant != dossier.grant.name:
            text += f" ({label('of_grant', grant=check.grant)})"
        if check.status == "met":
            detail = label("found", element=check.found) if check.found else ""
        else:
            detail = check.needed
        rules.append(Rule(text, check.status, label(f"rule_{check.status}"), detail))
    return tuple(rules)


def _heading(dossier: Dossier, post: DossierPost, number_: int) -> str:
    where = f"{post.report.post.channel} · {_local(dossier.report, post.report.published_at)}"
    return f"{label('action', number=number_, total=len(dossier.posts))} · {where}"


def _exception(dossier: Dossier, post: DossierPost, number_: int) -> Exception_:
    override = post.compliance.override
    by = None
    if override is not None:
        at = datetime.fromisoformat(override.at)
        by = label("overridden_by", by=override.by, at=_local(dossier.report, at))
    return Exception_(
        number=number_,
        heading=_heading(dossier, post, number_),
        channel=post.report.post.channel,
        published=_local(dossier.report, post.report.published_at),
        news_title=post.report.news_title,
        status=post.compliance.status,
        missing=tuple(c.needed for c in post.compliance.missing),
        override=by,
        reason=None if override is None else override.reason,
    )


def _action(
    dossier: Dossier, post: DossierPost, number_: int, pictures: Mapping[int, list[Thumbnail]]
) -> Action:
    report, p = post.report, post.report.post
    first = age_label(dossier.report.ages[0]) if dossier.report.ages else "?"
    return Action(
        number=number_,
        heading=_heading(dossier, post, number_),
        channel=p.channel,
        kind=p.kind,
        published=_local(dossier.report, report.published_at),
        news_title=report.news_title,
        url=p.external_url,
        link=safe_url(p.external_url),
        text=published_text(report),
        status=post.compliance.status,
        status_label=label(f"status_{post.compliance.status}"),
        rules=_rules(dossier, post.compliance),
        readings=tuple(
            (
                r.age_label or label("age_none", first=first),
                tuple(number(r.figures.get(k)) for k in KEYS),
            )
            for r in report.readings
        ),
        impressions=number(report.latest.impressions),
        engagement=number(report.latest.engagement),
        pictures=tuple(pictures.get(p.id, ())),
    )


def channel_figure(report: Report) -> Figure:
    """Three small bar panels side by side: posts, impressions and engagement per channel."""
    channels = [c for c in report.channels if c.totals.posts]
    colours = charts.channel_colours(report)
    font, row, pad = 12.5, 26.0, 12.0
    names = [fit(c.name, font, 180) for c in channels]
    left = pad + max(text_width(n, font) for n in names) + 12
    panel = (charts.WIDTH - left - pad) / 3
    top = pad + font * 1.8
    items: list[Shape] = []
    for index, key in enumerate(("posts", "impressions", "engagement")):
        x0 = left + index * panel
        values = [c.totals.posts if key == "posts" else c.totals.value(key) for c in channels]
        known = [v for v in values if v is not None]
        most = max(known) if known and max(known) > 0 else 1
        items.append(Text(x0, pad + font, label(key), font, charts.MUTED, bold=True))
        room = panel - 70
        for i, value in enumerate(values):
            y = top + i * row
            if value is None:
                items.append(Text(x0, y + row * 0.62, NOT_REPORTED, font, charts.MUTED))
                continue
            width = max(1.0, value / most * room)
            colour = colours.get(channels[i].name, charts.PALETTE[0])
            items.append(Rect(x0, y + 4, width, row - 8, colour, f"{channels[i].name}: {value:,}"))
            items.append(Text(x0 + width + 5, y + row * 0.62, f"{value:,}", font))
        bottom = top + len(channels) * row
        items.append(Line(((x0, top), (x0, bottom)), charts.AXIS, 1.0))
    for i, name in enumerate(names):
        y = top + i * row + row * 0.62
        items.append(Text(left - 10, y, name, font, anchor="end"))
    height = top + len(channels) * row + pad
    return Figure(charts.WIDTH, height, label("chart_channels"), items)


def dossier_content(
    dossier: Dossier, thumbnails: Mapping[int, list[Thumbnail]] | None = None
) -> DossierContent:
    """What both renderings show, in order, as text ready to print."""
    report, grant = dossier.report, dossier.grant
    kinds = {c.name: c.post_kind for c in report.channels}
    numbers = {p.report.post.id: i for i, p in enumerate(dossier.posts, start=1)}
    figures: list[tuple[str, str, Figure]] = []
    if any(c.reports_anything for c in report.channels):
        # Without a single reading the chart over time is an empty frame: left out.
        figures.append(
            (
                label("chart_over_time"),
                label("chart_over_time_note"),
                charts.over_time_figure(report, title=False),
            )
        )
    if not report.empty:
        figures.append(
            (label("chart_channels"), label("chart_channels_note"), channel_figure(report))
        )
    return DossierContent(
        grant_title=grant.title,
        grant_name=grant.name,
        donor=grant.donor_name,
        contract=grant.contract or label("no_contract"),
        grant_period=f"{day_text(grant.starts_on)} – {day_text(grant.ends_on)}",
        covered=f"{day_text(report.period.first_day)} – {day_text(report.period.last_day)}",
        timezone=report.period.timezone,
        organisation=report.organisation,
        generated=_local(report, report.generated_at),
        rate=rate_text(dossier),
        rate_note=label(
            "rate_note", checked=len(dossier.checked), exceptions=len(dossier.exceptions)
        ),
        channels=tuple(
            Row(c.name, c.post_kind, c.totals.posts, _values(c.totals))
            for c in report.channels
            if c.totals.posts
        ),
        total=Row(label("all_channels"), "", report.totals.posts, _values(report.totals)),
        months=tuple(
            Row(m.channel, kinds.get(m.channel, ""), m.posts, _values(m.totals), f"{m.month:%B %Y}")
            for m in dossier.by_month
        ),
        exceptions=tuple(
            _exception(dossier, p, numbers[p.report.post.id]) for p in dossier.exceptions
        ),
        actions=tuple(
            _action(dossier, p, numbers[p.report.post.id], thumbnails or {}) for p in dossier.posts
        ),
        charts=tuple(figures),
        has_website=any(p.report.post.kind == "website" for p in dossier.posts),
    )


def emblem_uri(dossier: Dossier) -> str | None:
    if dossier.emblem_png is None:
        return None
    return "data:image/png;base64," + base64.b64encode(dossier.emblem_png).decode("ascii")


def thumbnails(dossier: Dossier, pictures: ImageFiles | None) -> dict[int, list[Thumbnail]]:
    """Each post's pictures as ``data:`` URIs (the report's thumbnails)."""
    return _thumbnails(dossier.report, pictures)


def render_dossier_html(dossier: Dossier, *, pictures: ImageFiles | None = None) -> str:
    """The dossier as one HTML file; with ``pictures`` (the image store), each post's pictures."""
    import jinja2
    from markupsafe import Markup

    from visibility import __version__

    content = dossier_content(dossier, thumbnails(dossier, pictures))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    svgs = [
        (
            title,
            note,
            # The charts' SVG: reports.drawing escapes every string it writes.
            Markup(charts.inline_svg(fig, f"chart-{i}", label=title)),  # noqa: S704
        )
        for i, (title, note, fig) in enumerate(content.charts)
    ]
    context: dict[str, Any] = {
        "c": content,
        "L": LABELS,
        "label": label,
        "keys": KEYS,
        "figure_label": figure_label,
        "charts": svgs,
        "emblem": emblem_uri(dossier),
        "version": __version__,
    }
    return env.get_template("dossier.html.j2").render(context)
