"""A grant's visibility dossier as an A4 PDF, drawn with ReportLab's platypus.

The same sections, in the same order and words, as the HTML file
(``dossier_html.dossier_content`` and ``LABELS``). Text is set in DejaVu Sans
(shipped in ``reports/fonts`` for the charts), embedded, so ë, ç and Cyrillic
print on any reader; the charts are the report's PNGs. Every table repeats
its header row on the pages it runs over, so a dossier of hundreds of posts
reads as well as one of ten.

ReportLab is imported inside the functions: only ``dossier report --pdf``
needs it, and the CLI's start-up (``--help``) should not pay for it.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from visibility.grants.dossier import Dossier
from visibility.grants.dossier_html import (
    LABELS,
    NOT_REPORTED,
    Action,
    DossierContent,
    Row,
    Rule,
    dossier_content,
    figure_label,
    label,
    thumbnails,
)
from visibility.reports import charts
from visibility.reports.drawing import FONTS
from visibility.reports.figures import KEYS

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas

    from visibility.media.files import ImageFiles

FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
EU_BLUE, INK, MUTED, LINE, BAND = "#003399", "#1d2430", "#5b6473", "#d5dbe5", "#f2f4f8"
STATUS_COLOURS = {
    "compliant": "#1b6e3a",
    "met": "#1b6e3a",
    "overridden": "#8a5a00",
    "missing": "#a4262c",
    "no_rules": MUTED,
    "not_applicable": MUTED,
}
MM = 72 / 25.4  # points per millimetre


def _text(value: str) -> str:
    """User text as Paragraph markup: escaped, line breaks kept."""
    return escape(value).replace("\n", "<br/>")


def _register_fonts() -> None:
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont(FONT, str(FONTS / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(FONTS / "DejaVuSans-Bold.ttf")))
    # <b> in a Paragraph picks the bold face; there is no italic DejaVu here.
    addMapping(FONT, 0, 0, FONT)
    addMapping(FONT, 1, 0, BOLD)
    addMapping(FONT, 0, 1, FONT)
    addMapping(FONT, 1, 1, BOLD)


def _styles() -> dict[str, Any]:
    from reportlab.lib.colors import HexColor
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13, textColor=HexColor(INK))
    blue, bold = {"textColor": HexColor(EU_BLUE)}, {"fontName": BOLD}
    sizes: dict[str, dict[str, Any]] = {
        "muted": {"fontSize": 8.5, "leading": 11.5, "textColor": HexColor(MUTED)},
        "kicker": {**bold, **blue, "fontSize": 10, "spaceAfter": 6},
        "title": {**bold, "fontSize": 22, "leading": 28, "spaceAfter": 14},
        "h2": {**bold, **blue, "fontSize": 14, "leading": 18, "spaceBefore": 14, "spaceAfter": 8},
        "h3": {**bold, "fontSize": 10.5, "leading": 14, "spaceBefore": 8, "spaceAfter": 4},
        "rate": {**bold, **blue, "fontSize": 22, "leading": 28},
        "cell": {"fontSize": 8, "leading": 10},
        "sent": {
            "fontSize": 9,
            "leading": 12.5,
            "backColor": HexColor(BAND),
            "borderPadding": 5,
            "leftIndent": 6,
            "rightIndent": 6,
            "spaceBefore": 4,
            "spaceAfter": 9,
        },
    }
    return {"body": base} | {name: ParagraphStyle(name, base, **kw) for name, kw in sizes.items()}


def _table(
    rows: list[list[Any]], widths: Sequence[float], *, numeric_from: int, total: bool = False
) -> Any:
    """A figures table: header repeated on every page, numbers right-aligned."""
    from reportlab.lib.colors import HexColor
    from reportlab.platypus import Table, TableStyle

    style: list[Any] = [
        ("FONT", (0, 0), (-1, -1), FONT, 8),
        # Headers a size smaller: six figure columns must fit beside the row names.
        ("FONT", (0, 0), (-1, 0), BOLD, 7),
        ("BACKGROUND", (0, 0), (-1, 0), HexColor(BAND)),
        ("TEXTCOLOR", (0, 0), (-1, -1), HexColor(INK)),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, HexColor(LINE)),
        ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if total:
        style += [
            ("FONT", (0, -1), (-1, -1), BOLD, 8),
            ("LINEABOVE", (0, -1), (-1, -1), 1, HexColor(INK)),
        ]
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            if cell == NOT_REPORTED:
                style.append(("TEXTCOLOR", (c, r), (c, r), HexColor(MUTED)))
    return Table(rows, colWidths=list(widths), repeatRows=1, style=TableStyle(style), hAlign="LEFT")


def _figure_widths(width: float, lead: Sequence[float]) -> list[float]:
    rest = (width - sum(lead)) / len(KEYS)
    return [*lead, *([rest] * len(KEYS))]


def _para(s: dict[str, Any], style: str, text: str, *, markup: bool = False) -> Any:
    from reportlab.platypus import Paragraph

    return Paragraph(text if markup else escape(text), s[style])


def _facts(s: dict[str, Any], facts: list[tuple[str, str]], widths: list[float]) -> Any:
    """Names and values (markup) side by side, without lines."""
    from reportlab.platypus import Table, TableStyle

    rows = [[_para(s, "muted", k), _para(s, "body", v, markup=True)] for k, v in facts]
    style = [("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    style += [("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]
    return Table(rows, colWidths=widths, hAlign="LEFT", style=TableStyle(style))


def _cover(c: DossierContent, dossier: Dossier, s: dict[str, Any], width: float) -> list[Any]:
    from reportlab.lib.colors import HexColor
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import HRFlowable, Image, Spacer, Table, TableStyle

    story: list[Any] = [HRFlowable(width="100%", thickness=5, color=HexColor(EU_BLUE))]
    story.append(Spacer(1, 14))
    if dossier.emblem_png is not None:
        w, h = ImageReader(io.BytesIO(dossier.emblem_png)).getSize()
        emblem = Image(io.BytesIO(dossier.emblem_png), 26 * MM * w / h, 26 * MM, hAlign="LEFT")
        story += [emblem, Spacer(1, 10)]
    story += [_para(s, "kicker", LABELS["document"].upper()), _para(s, "title", c.grant_title)]
    facts = [
        (LABELS["donor"], c.donor),
        (LABELS["contract"], c.contract),
        (LABELS["grant_period"], c.grant_period),
        (LABELS["covered"], f"{c.covered} ({label('days_in', timezone=c.timezone)})"),
        (LABELS["organisation"], c.organisation),
        (LABELS["generated"], f"{c.generated} ({c.timezone})"),
    ]
    bold = [(k, f"<b>{escape(v)}</b>") for k, v in facts]
    story += [_facts(s, bold, [45 * MM, width - 45 * MM]), Spacer(1, 22)]
    if c.empty:
        box = [_para(s, "h3", LABELS["empty"]), _para(s, "muted", LABELS["empty_note"])]
    else:
        box = [_para(s, "rate", c.rate), _para(s, "muted", c.rate_note)]
    style: list[Any] = [
        ("BACKGROUND", (0, 0), (-1, -1), HexColor(BAND)),
        ("LINEBEFORE", (0, 0), (0, -1), 5, HexColor(EU_BLUE)),
        ("LEFTPADDING", (0, 0), (-1, -1), 14),
        ("TOPPADDING", (0, 0), (-1, -1), 10),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 12),
    ]
    story.append(Table([[box]], colWidths=[width], style=TableStyle(style)))
    return story


def _name(name: str, kind: str, s: dict[str, Any]) -> Any:
    """A row's channel; on a website's row, a word that its impressions are page views."""
    if kind != "website":
        return name
    note = f'<br/><font size="6.5" color="{MUTED}">{escape(LABELS["row_page_views"])}</font>'
    return _para(s, "cell", escape(name) + note, markup=True)


def _figures_row(row: Row, lead: list[Any]) -> list[Any]:
    return [*lead, str(row.posts), *row.values]


def _summary(c: DossierContent, s: dict[str, Any], width: float) -> list[Any]:
    from reportlab.platypus import Image, KeepTogether

    head = [LABELS["channel"], LABELS["posts"], *(figure_label(k, "") for k in KEYS)]
    rows = [head, *(_figures_row(r, [_name(r.name, r.kind, s)]) for r in c.channels)]
    rows.append(_figures_row(c.total, [c.total.name]))
    story: list[Any] = [
        _para(s, "h2", LABELS["summary"]),
        _para(s, "h3", LABELS["posts_per_channel"]),
        _table(rows, _figure_widths(width, [40 * MM, 14 * MM]), numeric_from=1, total=True),
    ]
    if c.has_website:
        story.append(_para(s, "muted", LABELS["note_page_views"]))
    story.append(_para(s, "h2", LABELS["charts"]))
    for title, note, fig in c.charts:
        chart = Image(io.BytesIO(charts.to_png(fig)), width, width * fig.height / fig.width)
        story.append(KeepTogether([_para(s, "h3", title), chart, _para(s, "muted", note)]))
    months: list[list[Any]] = [[LABELS["month"], *head]]
    previous = None
    for row in c.months:
        month = row.month if row.month != previous else ""
        months.append(_figures_row(row, [month, _name(row.name, row.kind, s)]))
        previous = row.month
    widths = _figure_widths(width, [24 * MM, 18 * MM, 12 * MM])
    story += [_para(s, "h2", LABELS["by_month"]), _table(months, widths, numeric_from=2)]
    if c.has_website:
        story.append(_para(s, "muted", LABELS["note_page_views"]))
    return story


def _badge(state: str, text: str) -> str:
    return f'<font color="{STATUS_COLOURS.get(state, MUTED)}"><b>{escape(text)}</b></font>'


def _exceptions(c: DossierContent, s: dict[str, Any]) -> list[Any]:
    from reportlab.platypus import KeepTogether, Spacer

    heading = _para(s, "h2", LABELS["exceptions"])
    if not c.exceptions:
        return [KeepTogether([heading, _para(s, "body", LABELS["exceptions_none"])])]
    story: list[Any] = []
    for index, e in enumerate(c.exceptions):
        status = _badge(e.status, LABELS["status_" + e.status])
        missing = f"<b>{escape(LABELS['what_missing'])}:</b> {escape('; '.join(e.missing))}"
        block: list[Any] = [
            _para(s, "h3", f"{escape(e.heading)} · {status}", markup=True),
            _para(s, "body", e.news_title),
            _para(s, "body", missing, markup=True),
        ]
        if e.override is not None:
            reason = f"<b>{escape(LABELS['reason'])}:</b> {_text(e.reason or '')}"
            block += [_para(s, "body", reason, markup=True), _para(s, "muted", e.override)]
        else:
            block.append(_para(s, "muted", LABELS["missing_why"]))
        if index == 0:  # the heading goes to the next page with its first exception
            block = [heading, _para(s, "muted", LABELS["exceptions_note"]), *block]
        story += [KeepTogether(block), Spacer(1, 6)]
    return story


def _index(c: DossierContent, s: dict[str, Any], width: float) -> Any:
    keys = ("no", "published", "channel", "news_item", "compliance", "impressions", "engagement")
    widths = [9 * MM, 28 * MM, 18 * MM, 0.0, 21 * MM, 20 * MM, 20 * MM]
    widths[3] = width - sum(widths)
    rows: list[list[Any]] = [[LABELS[key] for key in keys]]
    for a in c.actions:
        rows.append(
            [
                str(a.number),
                a.published,
                _name(a.channel, a.kind, s),
                _para(s, "cell", a.news_title),
                _para(s, "cell", _badge(a.status, a.status_label), markup=True),
                a.impressions,
                a.engagement,
            ]
        )
    table = _table(rows, widths, numeric_from=5)
    table.setStyle([("ALIGN", (0, 0), (0, -1), "RIGHT")])
    return table


def _rule(rule: Rule) -> str:
    colour = STATUS_COLOURS.get(rule.state, MUTED)
    text = f'<font color="{colour}">{escape(rule.text)}: <b>{escape(rule.status)}</b></font>'
    return text + (f" ({escape(rule.detail)})" if rule.detail else "")


def _action(a: Action, s: dict[str, Any], width: float) -> Any:
    from reportlab.lib.colors import HexColor
    from reportlab.platypus import HRFlowable, Image, KeepTogether, Table

    link = escape(a.url or LABELS["no_link"])
    if a.link:
        link = f'<a href="{escape(a.link)}" color="{EU_BLUE}">{escape(a.link)}</a>'
    facts = [(LABELS["news_item"], escape(a.news_title)), (LABELS["link"], link)]
    if a.rules:
        facts.append((LABELS["rules"], "<br/>".join(_rule(r) for r in a.rules)))
    story: list[Any] = [
        HRFlowable(width="100%", thickness=0.6, color=HexColor(LINE), spaceBefore=6, spaceAfter=6),
        _para(s, "h3", f"{escape(a.heading)} · {_badge(a.status, a.status_label)}", markup=True),
        _facts(s, facts, [32 * MM, width - 32 * MM]),
        _para(s, "muted", LABELS["text"]),
    ]
    # One paragraph per block of the text, so a long article splits across pages.
    parts = [part for part in a.text.split("\n\n") if part.strip()]
    story += [_para(s, "sent", _text(part), markup=True) for part in parts]
    if a.pictures:
        data = [base64.b64decode(p["src"].partition(";base64,")[2]) for p in a.pictures]
        story.append(Table([[Image(io.BytesIO(d), 24 * MM, 18 * MM) for d in data]], hAlign="LEFT"))
    story.append(_para(s, "muted", LABELS["figures"]))
    if a.readings:
        rows = [[LABELS["age"], *(figure_label(k, a.kind) for k in KEYS)]]
        rows += [[age, *values] for age, values in a.readings]
        story.append(_table(rows, _figure_widths(width, [18 * MM]), numeric_from=1))
    else:
        story.append(_para(s, "body", LABELS["no_readings"]))
    # Kept on one page when it fits; a longer one flows on.
    return KeepTogether(story)


def _canvas_class(footer: Callable[[int, int], str]) -> type[Canvas]:
    """A canvas that knows the page count when it draws each footer ("page 3 of 41")."""
    from reportlab.lib.colors import HexColor
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    class Numbered(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            # ReportLab's page-count recipe: keep each page's state, draw them all in save().
            self._startPage()  # type: ignore[attr-defined]

        def save(self) -> None:
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                if number > 1:  # the cover has none
                    text = footer(number, len(self._pages))
                    self.setStrokeColor(HexColor(LINE))
                    self.setLineWidth(0.5)
                    self.line(18 * MM, 13 * MM, A4[0] - 18 * MM, 13 * MM)
                    self.setFont(FONT, 7.5)
                    self.setFillColor(HexColor(MUTED))
                    self.drawRightString(A4[0] - 18 * MM, 9 * MM, text)
                super().showPage()
            super().save()

    return Numbered


def render_dossier_pdf(dossier: Dossier, *, pictures: ImageFiles | None = None) -> bytes:
    """The dossier as an A4 PDF; with ``pictures`` (the image store), each post's pictures."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import PageBreak, SimpleDocTemplate

    from visibility import __version__

    _register_fonts()
    s = _styles()
    c = dossier_content(dossier, thumbnails(dossier, pictures))
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * MM,
        rightMargin=18 * MM,
        topMargin=16 * MM,
        bottomMargin=20 * MM,
        title=f"{LABELS['document']}: {c.grant_title}",
        author=c.organisation,
        subject=f"{c.donor} · {c.contract} · {c.covered}",
        creator=f"visibility {__version__}",
        lang="en",
    )
    width = doc.width - 12  # inside the frame's own padding of 6 points a side
    story = _cover(c, dossier, s, width)
    if not c.empty:
        story += [PageBreak(), *_summary(c, s, width), *_exceptions(c, s), PageBreak()]
        story += [
            _para(s, "h2", LABELS["actions"]),
            _para(s, "muted", LABELS["actions_note"]),
            _para(s, "h3", LABELS["index"]),
            _index(c, s, width),
            _para(s, "h3", LABELS["details"]),
            *(_action(a, s, width) for a in c.actions),
        ]
    notes = [LABELS["note_missing"], LABELS["note_page_views"]]
    notes.append(label("note_times", timezone=c.timezone))
    notes.append(label("prepared", version=__version__, organisation=c.organisation))
    story += [_para(s, "h2", LABELS["notes"]), *(_para(s, "muted", n) for n in notes)]

    def footer(page: int, pages: int) -> str:
        return label("footer", grant=c.grant_name, contract=c.contract, page=page, pages=pages)

    doc.build(story, canvasmaker=_canvas_class(footer))
    return buffer.getvalue()
