"""A grant's visibility dossier as one HTML file and as a PDF.

The dossier is real: news items in Albanian, Serbian (Cyrillic) and English
are published by the service's own publisher to dry-run channels, engagement
readings are recorded through the store, the report is ``build_report``'s,
and only the grant and each post's compliance are made by hand (one post
overridden by an approver, one published without a required element).

The PDF is read back with poppler (``pdftotext``, ``pdftoppm``). Without it
those tests are skipped, unless VISIBILITY_REQUIRE_POPPLER=1 (CI), where they
fail. Pages are written to test-artifacts/dossier/ to be looked at.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageStat

from visibility.config.settings import load_settings
from visibility.grants.dossier import Dossier, DossierPost, MonthRow
from visibility.grants.dossier_html import render_dossier_html
from visibility.grants.model import Compliance, Grant, Override, RuleCheck, Texts
from visibility.reports.figures import Period, Report, Totals, build_report
from visibility.service.publisher import Publisher
from visibility.service.runner import build_adapters
from visibility.workflow import Visibility

# Read at import: the suite's autouse fixture clears VISIBILITY_* variables.
REQUIRE_POPPLER = os.environ.get("VISIBILITY_REQUIRE_POPPLER") == "1"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "dossier"
BELGRADE = ZoneInfo("Europe/Belgrade")
H = timedelta(hours=1)
ORGANISATION = "Qendra për Shoqëri Civile & Partnerët"
CHANNELS = f"""
[organisation]
name = "{ORGANISATION}"
timezone = "Europe/Belgrade"

[[channels]]
name = "website"
kind = "dry-run"
imitates = "website"

[[channels]]
name = "facebook"
kind = "dry-run"
imitates = "facebook"

[[channels]]
name = "twitter"
kind = "dry-run"
imitates = "twitter"
"""
NEWS = {
    "sq": "Trajnim për raportimin financiar në Prishtinë\n\n"
    "Dyzet organizata të shoqërisë civile mësuan çfarë kërkojnë donatorët "
    "në raportet financiare.\n\nKy projekt financohet nga Bashkimi Evropian.\n",
    "sr": "Обука за финансијско извештавање у Нишу\n\n"
    "Четрдесет организација цивилног друштва научило је шта донатори траже "
    "у финансијским извештајима.\n\nОвај пројекат финансира Европска унија.\n",
    "en": "<script>alert(1)</script> Call for small grants\n\n"
    "The resource centre opened a call for small grants to grassroots groups.\n",
}
# Fragments of each post's text that must reach both renderings.
FRAGMENTS = ("Dyzet organizata", "Четрдесет организација", "grassroots groups")
OVERRIDE_REASON = "Emblem left off: the venue's rules allow one logo; agreed with the EU Office."
MISSING_NEEDED = "the mention @EUinKosovo or the hashtag #EU4Kosovo"
# Readings per (news, channel): (age, figures); None: not given by the platform.
READINGS: dict[tuple[str, str], list[tuple[timedelta, dict[str, int | None]]]] = {
    ("sq", "website"): [(24 * H, {"impressions": 412})],
    ("sq", "facebook"): [
        (1 * H, {"impressions": 100, "reactions": 10, "comments": 2, "shares": 1}),
        (24 * H, {"impressions": 250, "reactions": 25, "comments": 5, "shares": 3}),
    ],
    ("sr", "twitter"): [
        (1 * H, {"impressions": 80, "reactions": 4, "comments": 0, "shares": 2, "clicks": 7}),
        (6 * H, {"impressions": 120, "reactions": 6, "comments": 1, "shares": 3, "clicks": 9}),
    ],
    ("en", "facebook"): [(1 * H, {"impressions": 50, "reactions": 5, "comments": 0})],
}


def _png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def emblem() -> bytes:
    """A blue flag with a yellow ring of squares: enough to see it on the cover."""
    image = Image.new("RGB", (300, 200), (0, 51, 153))
    for i in range(12):
        from math import cos, pi, sin

        x, y = 150 + 60 * cos(i * pi / 6), 100 + 60 * sin(i * pi / 6)
        image.paste((255, 204, 0), (round(x) - 6, round(y) - 6, round(x) + 6, round(y) + 6))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


GRANT = Grant(
    name="eu-cso-2026",
    donor="eu",
    donor_name="European Union",
    title="Fuqizimi i shoqërisë civile / Јачање цивилног друштва",
    contract="2026/451-873",
    starts_on=date(2026, 1, 1),
    ends_on=date(2027, 12, 31),
    texts={"sq": Texts(statement="Ky projekt financohet nga Bashkimi Evropian.")},
    require={
        "website": (("statement",), ("emblem",)),
        "facebook": (("statement",), ("emblem",)),
        "twitter": (("mention", "hashtag"),),
    },
)


# -- a real store with published posts --------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Visibility]:
    channels = tmp_path / "channels.toml"
    channels.write_text(CHANNELS, encoding="utf-8")
    visibility = Visibility.open(load_settings(channels_file=channels))
    yield visibility
    visibility.close()


def publish_all(app: Visibility) -> dict[tuple[str, str], int]:
    """Every news item's posts, published by the service's publisher; ids by (news, channel)."""
    ids: dict[tuple[str, str], int] = {}
    for key, text in NEWS.items():
        added = app.add_news_text(text, language="en" if key == "en" else key, author="ed")
        for post in added.posts:
            ids[(key, post.channel)] = post.id
        if key == "sq":
            picture = app.add_image(
                added.news.id, _png(1200, 800, (20, 90, 160)), name="a.png", alt="Pjesëmarrësit"
            )
            app.store.choose_images(ids[("sq", "facebook")], [picture.id], by="ed")
    for post_id in ids.values():
        app.approve(post_id, by="ap")
        app.schedule(post_id, mode="now")
    publisher = Publisher(
        app.store, build_adapters(app), worker="w", platform_cap=None, images=app.image_files
    )
    try:
        while publisher.run_due().published:
            pass
    finally:
        publisher.close()
    rows = []
    for (news, channel), readings in READINGS.items():
        view = app.store.get_post(ids[(news, channel)])
        assert view.published_at is not None, (news, channel)
        for age, figures in readings:
            rows.append((view.id, view.published_at + age, figures, {"source": "test"}))
    app.store.record_snapshots(rows, {})
    return ids


def _check(rule: tuple[str, ...], status: str, needed: str) -> RuleCheck:
    return RuleCheck(GRANT.name, rule, status, needed, rule[0] if status == "met" else None)  # type: ignore[arg-type]


def compliance(news: str, channel: str) -> Compliance:
    if channel == "twitter":
        status = "missing" if news == "sr" else "met"
        return Compliance((_check(("mention", "hashtag"), status, MISSING_NEEDED),))
    emblem_status = "missing" if (news, channel) == ("sq", "facebook") else "met"
    checks = (
        _check(("statement",), "met", "the statement “Funded by the European Union”"),
        _check(("emblem",), emblem_status, "the EU emblem as a picture"),
    )
    override = None
    if emblem_status == "missing":
        override = Override(OVERRIDE_REASON, "Ardita Berisha", "2026-11-12T09:30:00+00:00")
    return Compliance(checks, override)


def by_month(report: Report) -> tuple[MonthRow, ...]:
    groups: dict[tuple[date, str], list[int]] = defaultdict(list)
    for index, post in enumerate(report.posts):
        day = post.published_at.astimezone(report.period.tz).date()
        groups[(day.replace(day=1), post.post.channel)].append(index)
    return tuple(
        MonthRow(
            month, channel, len(rows), Totals.of(len(rows), [report.posts[i].latest for i in rows])
        )
        for (month, channel), rows in sorted(groups.items())
    )


def make_dossier(app: Visibility, ids: dict[tuple[str, str], int]) -> Dossier:
    today = date.today()
    period = Period(today - timedelta(days=3), today + timedelta(days=1), BELGRADE)
    report = build_report(app, period)
    keys = {post_id: key for key, post_id in ids.items()}
    posts = tuple(DossierPost(p, compliance(*keys[p.post.id])) for p in report.posts)
    return Dossier(GRANT, report, posts, by_month(report), emblem_png=emblem())


@pytest.fixture
def dossier(app: Visibility) -> Dossier:
    return make_dossier(app, publish_all(app))


def empty_dossier(dossier: Dossier) -> Dossier:
    report = replace(
        dossier.report, posts=(), channels=(), news=(), top=(), totals=Totals.of(0, [])
    )
    return replace(dossier, report=report, posts=(), by_month=())


def long_dossier(dossier: Dossier, count: int) -> Dossier:
    """``count`` posts: the real ones over and over, each with an id of its own."""
    posts = []
    for n in range(count):
        post = dossier.posts[n % len(dossier.posts)]
        view = replace(post.report.post, id=1000 + n)
        posts.append(replace(post, report=replace(post.report, post=view)))
    return replace(dossier, posts=tuple(posts))


# -- poppler -------------------------------------------------------------------


def _poppler() -> None:
    missing = [tool for tool in ("pdftotext", "pdftoppm") if shutil.which(tool) is None]
    if missing:
        reason = f"{', '.join(missing)} not found: apt-get install poppler-utils"
        if REQUIRE_POPPLER:
            pytest.fail(f"VISIBILITY_REQUIRE_POPPLER=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture
def poppler() -> None:
    _poppler()


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "dossier.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    # Lines wrap where the page is full: compare with whitespace squashed.
    return " ".join(out.stdout.decode("utf-8").split())


def pages(pdf: bytes, folder: Path, resolution: int = 50) -> list[Path]:
    """Every page as a PNG, via pdftoppm; kept in ``folder`` to be looked at."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("page-*.png"):
        old.unlink()
    (folder / "dossier.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(resolution),
            "-png",
            str(folder / "dossier.pdf"),
            str(folder / "page"),
        ],
        check=True,
    )
    return sorted(folder.glob("page-*.png"))


def assert_not_blank(png: Path) -> None:
    with Image.open(png) as image:
        variance = ImageStat.Stat(image.convert("L")).var[0]
    assert variance > 20, f"{png.name} looks blank (variance {variance:.1f})"


def pdf_info(pdf: bytes, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "info.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True)
    return dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition(":") for line in out.stdout.splitlines())
    )


# -- HTML ------------------------------------------------------------------------


def test_the_html_holds_every_post_the_rate_and_the_exceptions(
    app: Visibility, dossier: Dossier
) -> None:
    page = render_dossier_html(dossier, pictures=app.image_files)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "dossier.html").write_text(page, encoding="utf-8")
    for fragment in FRAGMENTS:
        assert fragment in page
    assert "77% compliant (7 of 9 posts)" in page
    assert "the venue&#39;s rules allow one logo; agreed with the EU Office." in page
    assert "Ardita Berisha" in page
    assert MISSING_NEEDED in page and "the EU emblem as a picture" in page
    assert page.count('class="exception ') == 2
    # Line breaks of the text as published are kept (pre-wrap), not flattened.
    assert "у Нишу\n\nЧетрдесет организација" in page
    assert "Page views" in page and "impressions are page views" in page
    # User text is escaped, and the file needs nothing from elsewhere.
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Call for small grants" in page
    assert not re.search(r"""src\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert 'class="emblem" src="data:image/png;base64,' in page
    assert re.search(r'<img src="data:image/jpeg;base64,[^"]+" alt="Pjesëmarrësit"', page)
    assert page.count("<svg") == 2


def test_figures_not_reported_are_a_dash_never_zero(dossier: Dossier) -> None:
    page = render_dossier_html(dossier)
    website = re.search(r'id="action-1".*?</article>', page, re.S)
    assert website is not None
    cells = re.findall(r'<td class="num( none)?">([^<]*)</td>', website[0])
    assert [value for _, value in cells] == ["412", "–", "–", "–", "–", "–"]


def test_an_empty_dossier_says_nothing_was_published_yet(dossier: Dossier) -> None:
    page = render_dossier_html(empty_dossier(dossier))
    assert "Nothing has been published under this grant in its period yet." in page
    assert "<svg" not in page and "compliant (" not in page


def test_the_rate_is_rounded_down() -> None:
    from visibility.grants.dossier_html import percent

    assert percent(299 / 300) == 99
    assert percent(48 / 50) == 96
    assert percent(1.0) == 100


def test_the_renderers_do_not_load_reportlab_until_a_pdf_is_made() -> None:
    code = (
        "import sys, visibility.grants.dossier_html, visibility.grants.dossier_pdf, "
        "visibility.cli.app; print('reportlab' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- PDF -----------------------------------------------------------------------------


def test_the_pdf_holds_every_post_the_rate_and_the_override(
    app: Visibility, dossier: Dossier, poppler: None, tmp_path: Path
) -> None:
    from visibility.grants.dossier_pdf import render_dossier_pdf

    pdf = render_dossier_pdf(dossier, pictures=app.image_files)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf, tmp_path)
    for fragment in FRAGMENTS:
        assert fragment in text
    assert "Обука за финансијско извештавање у Нишу" in text  # Cyrillic, intact
    assert "Fuqizimi i shoqërisë civile" in text
    assert "77% compliant (7 of 9 posts)" in text
    assert OVERRIDE_REASON in text and "Ardita Berisha" in text
    assert MISSING_NEEDED in text
    assert "<script>alert(1)</script> Call for small grants" in text  # as text, drawn
    assert "Page views" in text
    shots = pages(pdf, ARTIFACTS)
    assert text.count("eu-cso-2026 · 2026/451-873 · page") == len(shots) - 1  # not on the cover
    assert f"page {len(shots)} of {len(shots)}" in text
    for shot in shots:
        assert_not_blank(shot)
    info = pdf_info(pdf, tmp_path)
    assert info["Title"] == f"Visibility dossier: {GRANT.title}"
    assert info["Author"] == ORGANISATION
    assert "2026/451-873" in info["Subject"] and info["Page size"].endswith("(A4)")


def test_an_empty_dossier_is_a_short_pdf(dossier: Dossier, poppler: None, tmp_path: Path) -> None:
    from visibility.grants.dossier_pdf import render_dossier_pdf

    pdf = render_dossier_pdf(empty_dossier(dossier))
    text = pdf_text(pdf, tmp_path)
    assert "Nothing has been published under this grant in its period yet." in text
    for shot in pages(pdf, tmp_path / "empty"):
        assert_not_blank(shot)


def test_a_long_dossier_paginates_with_headers_on_every_page(
    dossier: Dossier, poppler: None, tmp_path: Path
) -> None:
    from visibility.grants.dossier_pdf import render_dossier_pdf

    pdf = render_dossier_pdf(long_dossier(dossier, 320))
    text = pdf_text(pdf, tmp_path)
    assert "Action 320 of 320" in text
    shots = pages(pdf, tmp_path / "long", resolution=20)
    assert len(shots) > 60
    for shot in shots:
        assert_not_blank(shot)
    # The list of 320 actions runs over several pages, its header on each.
    listing = text.split("List of visibility actions")[1].split("Each visibility action")[0]
    assert listing.count("No. Published Channel News item Compliance Impressions Engagement") >= 5
