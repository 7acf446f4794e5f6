"""Engagement: what the published posts reached, with the report module's charts inline."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request, Response
from markupsafe import Markup

from visibility.errors import UserError
from visibility.reports import charts
from visibility.reports.figures import FIGURES, build_report, parse_period
from visibility.reports.render_html import safe_url
from visibility.web.pages.common import (
    App,
    Clock,
    Editor,
    PageRoute,
    read_day,
    render,
    translate_for,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

DEFAULT_DAYS = 30
# A report reads every post and draws every day: two years is plenty for a page.
MAX_DAYS = 731


@router.get("/engagement")
def engagement(
    request: Request,
    app: App,
    actor: Editor,
    start: str = "",
    end: str = "",
    channel: str = "",
    grant: str = "",
) -> Response:
    _ = translate_for(request)
    clock = Clock(app.config.organisation.timezone)
    today = datetime.now(clock.tz).date()
    first_day = read_day(start, _) if start else today - timedelta(days=DEFAULT_DAYS - 1)
    last_day = read_day(end, _) if end else today
    if (last_day - first_day).days >= MAX_DAYS:
        raise UserError(_("Choose a period of at most {days} days.", days=MAX_DAYS))
    first, last = first_day.isoformat(), last_day.isoformat()
    period = parse_period(first, last, app.config.organisation.timezone)
    report = build_report(app, period, channel=channel or None, grant=grant or None)
    over_time = news_chart = None
    # Without a single reading the charts are empty frames: the page says why instead.
    if any(c.reports_anything for c in report.channels):
        # reports.drawing escapes every text it puts in an SVG; nothing else is marked safe.
        over_time = Markup(  # noqa: S704
            charts.inline_svg(
                charts.over_time_figure(report),
                "chart-time",
                label=_("Engagement over time, per channel"),
            )
        )
        news_chart = Markup(  # noqa: S704
            charts.inline_svg(
                charts.news_figure(report),
                "chart-news",
                label=_("Engagement per news item, across channels"),
            )
        )
    most = max((p.engagement or 0 for p in report.posts), default=0)
    # A published post's pictures are kept as they went out (Store.remove_image).
    pictures = app.store.post_images([p.post.id for p in report.posts])
    return render(
        request,
        "engagement.html",
        actor=actor,
        nav="engagement",
        report=report,
        first=first,
        last=last,
        channel=channel,
        channels=[c.name for c in app.config.channels],
        grant=grant,
        grants=[g.name for g in app.store.grants()],
        ages=app.settings.engagement_ages.replace(",", ", "),
        over_time=over_time,
        news_chart=news_chart,
        figures=FIGURES,
        most=most,
        pictures=pictures,
        safe_url=safe_url,
    )
