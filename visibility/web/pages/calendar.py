"""The calendar: scheduled and published posts by day, in the organisation's timezone.

Days are the organisation's local days, so a post at 00:30 on the night of a
daylight-saving change sits on the day the staff's clocks show, and a week
starts at local midnight on Monday whatever the UTC offset that week.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from fastapi import APIRouter, Request, Response

from visibility.config.slots import local_to_utc
from visibility.queue.states import PostStatus
from visibility.web.pages.cards import PostCard, card
from visibility.web.pages.common import (
    App,
    Clock,
    Editor,
    PageRoute,
    read_day,
    render,
    translate_for,
)
from visibility.web.words import MONTHS, WEEKDAYS

router = APIRouter(route_class=PageRoute, include_in_schema=False)

_UPCOMING = (PostStatus.SCHEDULED, PostStatus.PUBLISHING)


@dataclass(frozen=True)
class Entry:
    at: datetime  # local
    card: PostCard
    published: bool


@dataclass(frozen=True)
class Day:
    day: date
    in_range: bool  # false for the days of the next or last month that fill a month's grid
    entries: list[Entry]


def _span(view: str, anchor: date) -> tuple[date, date, date, date]:
    """First and last day shown, and the anchors of the previous and next page."""
    if view == "week":
        first = anchor - timedelta(days=anchor.weekday())
        return first, first + timedelta(days=6), anchor - timedelta(7), anchor + timedelta(7)
    start = anchor.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    previous = (start - timedelta(days=1)).replace(day=1)
    first = start - timedelta(days=start.weekday())
    last_of_month = following - timedelta(days=1)
    last = last_of_month + timedelta(days=6 - last_of_month.weekday())
    return first, last, previous, following


@router.get("/calendar")
def calendar(
    request: Request,
    app: App,
    actor: Editor,
    view: Literal["week", "month"] = "week",
    day: str = "",
    channel: str = "",
) -> Response:
    _ = translate_for(request)
    clock = Clock(app.config.organisation.timezone)
    today = datetime.now(clock.tz).date()
    anchor = read_day(day, _) if day else today
    if channel:
        app.config.channel(channel)
    first, last, previous, following = _span(view, anchor)
    start = local_to_utc(first, time(0), clock.tz)
    end = local_to_utc(last + timedelta(days=1), time(0), clock.tz)

    by_day: dict[date, list[Entry]] = defaultdict(list)
    upcoming = app.store.list_posts(status=_UPCOMING, channel=channel or None, limit=5000)
    for post in upcoming:
        if post.scheduled_at is not None and start <= post.scheduled_at < end:
            local = clock.local(post.scheduled_at)
            by_day[local.date()].append(Entry(local, card(app, post, actor, slots=4), False))
    for post in app.store.published_between(start, end, channel=channel or None):
        assert post.published_at is not None
        local = clock.local(post.published_at)
        by_day[local.date()].append(Entry(local, card(app, post, actor), True))

    days = []
    current = first
    while current <= last:
        in_range = view == "week" or current.month == anchor.month
        entries = sorted(by_day.get(current, []), key=lambda e: (e.at, e.card.post.id))
        days.append(Day(current, in_range, entries))
        current += timedelta(days=1)
    news_ids = {e.card.post.news_item_id for d in days for e in d.entries}
    if view == "week":
        heading = f"{first:%Y-%m-%d} – {last:%Y-%m-%d}"
    else:
        heading = f"{_(MONTHS[anchor.month - 1])} {anchor.year}"
    return render(
        request,
        "calendar.html",
        actor=actor,
        nav="calendar",
        view=view,
        days=days,
        weekdays=WEEKDAYS,
        heading=heading,
        anchor=anchor,
        today=today,
        previous=previous,
        following=following,
        channel=channel,
        channels=[c.name for c in app.config.channels],
        news={i: app.store.get_news(i) for i in sorted(news_ids)},
    )
