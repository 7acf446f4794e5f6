"""The numbers of a visibility report: what was published where, and what it reached.

Everything is read through the store's public queries. A figure a platform
does not give is ``None`` all the way through: a sum over posts is ``None``
only when no post reported that figure, and each total says how many posts
did report it, so "not reported by the platform" is never shown as 0.

*Engagement* is reactions + comments + shares + clicks, over the parts the
platform reports; impressions are reach and are kept apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from visibility.config.slots import local_to_utc
from visibility.derive import LINK_PLACEHOLDER
from visibility.errors import UserError
from visibility.queue.types import utcnow
from visibility.queue.views import PostView, SnapshotView
from visibility.workflow import Visibility

FIGURES = ("impressions", "reactions", "comments", "shares", "clicks")
ENGAGEMENT_PARTS = ("reactions", "comments", "shares", "clicks")
KEYS = (*FIGURES, "engagement")
DEFAULT_TOP = 10


# -- the period -------------------------------------------------------------


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"cannot read the date {text!r} given to {option}: write it as YYYY-MM-DD, "
            "e.g. 2026-11-01"
        ) from None


@dataclass(frozen=True)
class Period:
    """Whole days in the organisation's timezone, ``last_day`` included."""

    first_day: date
    last_day: date
    tz: ZoneInfo

    @property
    def timezone(self) -> str:
        return self.tz.key

    @property
    def start(self) -> datetime:
        """The first instant of ``first_day``, in UTC."""
        return local_to_utc(self.first_day, time(0), self.tz)

    @property
    def end(self) -> datetime:
        """The first instant after ``last_day`` (exclusive), in UTC."""
        return local_to_utc(self.last_day + timedelta(days=1), time(0), self.tz)

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "timezone": self.timezone,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


def parse_period(first: str | None, last: str | None, timezone: str) -> Period:
    """``--from`` and ``--to`` (inclusive) as a period in ``timezone``."""
    if first is None or last is None:
        raise UserError(
            "say which period to report on: --from 2026-11-01 --to 2026-11-30 (both days included)"
        )
    first_day = parse_day(first, "--from")
    last_day = parse_day(last, "--to")
    if first_day > last_day:
        raise UserError(
            f"--from {first_day} is after --to {last_day}: swap them, "
            f"e.g. --from {last_day} --to {first_day}"
        )
    return Period(first_day, last_day, ZoneInfo(timezone))


# -- figures ----------------------------------------------------------------


def _sum_known(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


@dataclass(frozen=True)
class Figures:
    """One set of figures: a reading, a change between readings, or a post's latest."""

    impressions: int | None = None
    reactions: int | None = None
    comments: int | None = None
    shares: int | None = None
    clicks: int | None = None

    @classmethod
    def of(cls, snapshot: SnapshotView) -> Figures:
        return cls(**{name: getattr(snapshot, name) for name in FIGURES})

    @property
    def engagement(self) -> int | None:
        return _sum_known(getattr(self, name) for name in ENGAGEMENT_PARTS)

    def get(self, key: str) -> int | None:
        if key not in KEYS:
            raise KeyError(key)
        value: int | None = getattr(self, key)
        return value

    def minus(self, before: Figures) -> Figures:
        """The change since ``before``; ``None`` where either side is not known."""
        change: dict[str, int | None] = {}
        for name in FIGURES:
            now, then = getattr(self, name), getattr(before, name)
            change[name] = None if now is None or then is None else now - then
        return Figures(**change)

    def to_dict(self) -> dict[str, int | None]:
        return {key: self.get(key) for key in KEYS}


@dataclass(frozen=True)
class Total:
    """A figure summed over posts; ``reported``: how many posts gave it."""

    value: int | None
    reported: int

    def to_dict(self) -> dict[str, int | None]:
        return {"value": self.value, "reported": self.reported}


@dataclass(frozen=True)
class Totals:
    posts: int
    figures: Mapping[str, Total]

    @classmethod
    def of(cls, posts: int, figures: Sequence[Figures]) -> Totals:
        sums: dict[str, Total] = {}
        for key in KEYS:
            values = [f.get(key) for f in figures]
            sums[key] = Total(_sum_known(values), sum(v is not None for v in values))
        return cls(posts, sums)

    def value(self, key: str) -> int | None:
        return self.figures[key].value

    def to_dict(self) -> dict[str, Any]:
        return {
            "posts": self.posts,
            "figures": {key: total.to_dict() for key, total in self.figures.items()},
        }


def age_label(age: timedelta) -> str:
    """``1h``, ``6h``, ``24h``, ``3d``, ``30m``: as the engagement ages are written."""
    seconds = round(age.total_seconds())
    if seconds % 86_400 == 0 and seconds >= 2 * 86_400:
        return f"{seconds // 86_400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds / 60:g}m"


def _bucket(elapsed: timedelta, ages: Sequence[timedelta]) -> timedelta | None:
    """The reading age this elapsed time counts for: the last one it reached.

    The collector reads at or after each age, and a late reading counts for
    every age it passed (``engagement.ages.next_reading``).
    """
    reached = [age for age in ages if age <= elapsed]
    return reached[-1] if reached else None


@dataclass(frozen=True)
class Reading:
    taken_at: datetime
    age: timedelta  # since the post was published
    age_label: str | None  # the reading age it counts for; None before the first
    figures: Figures

    def to_dict(self) -> dict[str, Any]:
        return {
            "taken_at": self.taken_at.isoformat(),
            "age_seconds": round(self.age.total_seconds()),
            "age": self.age_label,
            "figures": self.figures.to_dict(),
        }


@dataclass(frozen=True)
class Step:
    """The change between two consecutive readings of one post."""

    since: datetime
    taken_at: datetime
    age_label: str | None
    change: Figures

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "taken_at": self.taken_at.isoformat(),
            "age": self.age_label,
            "change": self.change.to_dict(),
        }


@dataclass(frozen=True)
class PostReport:
    post: PostView
    news_title: str
    readings: tuple[Reading, ...]
    text: str  # as published: the article's address in place of {link}
    grants: tuple[str, ...] = ()  # the grants its news item is under

    @property
    def latest(self) -> Figures:
        """The post's last reading; all ``None`` when it was never read."""
        return self.readings[-1].figures if self.readings else Figures()

    @property
    def last_read_at(self) -> datetime | None:
        return self.readings[-1].taken_at if self.readings else None

    @property
    def engagement(self) -> int | None:
        return self.latest.engagement

    @property
    def growth(self) -> tuple[Step, ...]:
        return tuple(
            Step(
                before.taken_at,
                after.taken_at,
                after.age_label,
                after.figures.minus(before.figures),
            )
            for before, after in pairwise(self.readings)
        )

    @property
    def published_at(self) -> datetime:
        assert self.post.published_at is not None
        return self.post.published_at

    def to_dict(self) -> dict[str, Any]:
        p = self.post
        return {
            "id": p.id,
            "news_item_id": p.news_item_id,
            "news_title": self.news_title,
            "grants": list(self.grants),
            "channel": p.channel,
            "channel_kind": p.channel_kind,
            "kind": p.kind,
            "title": p.title,
            "text": self.text,
            "external_id": p.external_id,
            "url": p.external_url,
            "published_at": self.published_at.isoformat(),
            "readings_count": len(self.readings),
            "last_read_at": None if self.last_read_at is None else self.last_read_at.isoformat(),
            "latest": self.latest.to_dict(),
            "readings": [r.to_dict() for r in self.readings],
            "growth": [s.to_dict() for s in self.growth],
        }


@dataclass(frozen=True)
class AgePoint:
    """A channel's readings at one age, summed over the posts read at that age.

    ``growth`` sums each post's change from its reading before; ``None`` at
    the first age, where there is no reading before.
    """

    age_label: str
    posts: int
    figures: Totals
    growth: Totals | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "age": self.age_label,
            "posts": self.posts,
            "figures": self.figures.to_dict()["figures"],
            "growth": None if self.growth is None else self.growth.to_dict()["figures"],
        }


@dataclass(frozen=True)
class DatePoint:
    """A channel's figures at the end of one local day: each post's last reading by then.

    ``growth`` is the change from the day before (from 0 on the first day, as
    a post starts with nothing).
    """

    day: date
    posts: int  # posts with a reading by the end of the day
    figures: Totals
    growth: Figures

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "posts": self.posts,
            "figures": self.figures.to_dict()["figures"],
            "growth": self.growth.to_dict(),
        }


@dataclass(frozen=True)
class ChannelReport:
    name: str
    kind: str
    post_kind: str
    totals: Totals  # latest figures summed over the channel's posts
    by_age: tuple[AgePoint, ...]
    by_date: tuple[DatePoint, ...]

    @property
    def reports_anything(self) -> bool:
        return any(total.reported for total in self.totals.figures.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "post_kind": self.post_kind,
            **self.totals.to_dict(),
            "by_age": [a.to_dict() for a in self.by_age],
            "by_date": [d.to_dict() for d in self.by_date],
        }


@dataclass(frozen=True)
class NewsReport:
    id: int
    title: str
    totals: Totals
    by_channel: Mapping[str, Totals]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            **self.totals.to_dict(),
            "by_channel": {name: t.to_dict() for name, t in self.by_channel.items()},
        }


@dataclass(frozen=True)
class Report:
    organisation: str
    period: Period
    generated_at: datetime
    channel: str | None
    news_item_id: int | None
    ages: tuple[timedelta, ...]
    posts: tuple[PostReport, ...]
    channels: tuple[ChannelReport, ...]
    news: tuple[NewsReport, ...]
    totals: Totals
    top: tuple[PostReport, ...] = field(default=())
    grant: str | None = None

    @property
    def empty(self) -> bool:
        return not self.posts

    def to_dict(self) -> dict[str, Any]:
        return {
            "organisation": self.organisation,
            "period": self.period.to_dict(),
            "generated_at": self.generated_at.isoformat(),
            "filters": {
                "channel": self.channel,
                "news_item_id": self.news_item_id,
                "grant": self.grant,
            },
            "engagement": "reactions + comments + shares + clicks, where reported",
            "ages": [age_label(a) for a in self.ages],
            "totals": self.totals.to_dict(),
            "channels": [c.to_dict() for c in self.channels],
            "news_items": [n.to_dict() for n in self.news],
            "top_posts": [
                {"id": p.post.id, "channel": p.post.channel, "engagement": p.engagement}
                for p in self.top
            ],
            "posts": [p.to_dict() for p in self.posts],
        }


# -- building the report ----------------------------------------------------


def _readings(
    post: PostView, snapshots: Sequence[SnapshotView], ages: Sequence[timedelta]
) -> tuple[Reading, ...]:
    assert post.published_at is not None
    result = []
    for snap in snapshots:
        elapsed = snap.taken_at - post.published_at
        bucket = _bucket(elapsed, ages)
        label = None if bucket is None else age_label(bucket)
        result.append(Reading(snap.taken_at, elapsed, label, Figures.of(snap)))
    return tuple(result)


def _by_age(posts: Sequence[PostReport], ages: Sequence[timedelta]) -> tuple[AgePoint, ...]:
    points = []
    for index, age in enumerate(ages):
        label = age_label(age)
        at_age: list[Figures] = []
        steps: list[Figures] = []
        for post in posts:
            # A post read twice within one age (ages changed meanwhile)
            # counts with its last reading there.
            mine = [r for r in post.readings if r.age_label == label]
            if mine:
                at_age.append(mine[-1].figures)
            steps.extend(s.change for s in post.growth if s.age_label == label)
        if not at_age:
            continue
        growth = None if index == 0 else Totals.of(len(steps), steps)
        points.append(AgePoint(label, len(at_age), Totals.of(len(at_age), at_age), growth))
    return tuple(points)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _by_date(posts: Sequence[PostReport], period: Period) -> tuple[DatePoint, ...]:
    # Each post's readings as (local day, figures), oldest first.
    series = [
        [(period.local_day(r.taken_at), r.figures) for r in p.readings] for p in posts if p.readings
    ]
    if not series:
        return ()
    first = min(period.local_day(p.published_at) for p in posts if p.readings)
    last = max(s[-1][0] for s in series)
    points: list[DatePoint] = []
    previous = Figures(**dict.fromkeys(FIGURES, 0))
    seen = [0] * len(series)  # per post: how many of its readings are by the current day
    for day in _days(first, last):
        latest = []
        for index, readings in enumerate(series):
            while seen[index] < len(readings) and readings[seen[index]][0] <= day:
                seen[index] += 1
            if seen[index]:
                latest.append(readings[seen[index] - 1][1])
        totals = Totals.of(len(latest), latest)
        current = Figures(**{name: totals.value(name) for name in FIGURES})
        points.append(DatePoint(day, len(latest), totals, current.minus(previous)))
        # A figure not known today keeps yesterday's value as the base.
        previous = Figures(
            **{
                name: previous.get(name) if current.get(name) is None else current.get(name)
                for name in FIGURES
            }
        )
    return tuple(points)


def _published_text(app: Visibility, post: PostView, urls: dict[int, str | None]) -> str:
    if post.sent is not None:
        # What went out, exactly (an X thread: its tweets, one after another).
        return "\n\n".join(post.sent.parts) if post.sent.parts else post.sent.body
    # Published before the text sent was recorded: rebuild it from the template.
    if post.link_post_id is None or LINK_PLACEHOLDER not in post.body:
        return post.body
    if post.link_post_id not in urls:
        # The article is outside the report (another channel was asked for).
        urls[post.link_post_id] = app.store.get_post(post.link_post_id).external_url
    return post.body.replace(LINK_PLACEHOLDER, urls[post.link_post_id] or "").strip()


def _known_channel(app: Visibility, name: str) -> None:
    known = [a.name for a in app.store.channel_accounts()]
    if name not in known:
        raise UserError(
            f"no channel named {name!r}; use one of {', '.join(known) or 'none yet'} "
            "(`visibility channels list` shows them)"
        )


def _channel_order(app: Visibility, with_posts: Iterable[str]) -> list[str]:
    configured = [c.name for c in app.config.channels]
    rest = sorted(set(with_posts) - set(configured))
    return configured + rest


def build_report(
    app: Visibility,
    period: Period,
    *,
    channel: str | None = None,
    news_item_id: int | None = None,
    grant: str | None = None,
    top: int = DEFAULT_TOP,
    now: datetime | None = None,
) -> Report:
    """Gather every post published in ``period`` with its readings, and sum them up.

    An unknown channel or news item is a ``UserError`` naming the fix; a
    period with no posts gives an empty report.
    """
    if channel is not None:
        _known_channel(app, channel)
    if news_item_id is not None:
        app.store.get_news(news_item_id)  # NotFoundError names the fix
    if grant is not None:
        app.store.grant(grant)  # NotFoundError names the grants there are
    views = app.store.published_between(
        period.start, period.end, channel=channel, news_item_id=news_item_id, grant=grant
    )
    grants = app.store.news_grant_names(sorted({p.news_item_id for p in views}))
    snapshots = app.store.snapshots([p.id for p in views])
    titles = {i: app.store.get_news(i).title for i in sorted({p.news_item_id for p in views})}
    ages = app.settings.snapshot_ages
    urls = {v.id: v.external_url for v in views}
    posts = tuple(
        PostReport(
            view,
            titles[view.news_item_id],
            _readings(view, snapshots[view.id], ages),
            _published_text(app, view, urls),
            tuple(grants.get(view.news_item_id, ())),
        )
        for view in views
        if view.published_at is not None
    )

    by_channel: dict[str, list[PostReport]] = defaultdict(list)
    for post in posts:
        by_channel[post.post.channel].append(post)
    accounts = {a.name: a for a in app.store.channel_accounts()}
    names = [channel] if channel is not None else _channel_order(app, by_channel)
    channels = []
    for name in names:
        mine = by_channel.get(name, [])
        account = accounts.get(name)
        channels.append(
            ChannelReport(
                name=name,
                kind=account.kind if account else (mine[0].post.channel_kind if mine else "?"),
                post_kind=account.post_kind if account else (mine[0].post.kind if mine else "?"),
                totals=Totals.of(len(mine), [p.latest for p in mine]),
                by_age=_by_age(mine, ages),
                by_date=_by_date(mine, period),
            )
        )

    by_news: dict[int, list[PostReport]] = defaultdict(list)
    for post in posts:
        by_news[post.post.news_item_id].append(post)
    news = tuple(
        NewsReport(
            id=news_id,
            title=titles[news_id],
            totals=Totals.of(len(items), [p.latest for p in items]),
            by_channel={
                name: Totals.of(len(group), [p.latest for p in group])
                for name in names
                if (group := [p for p in items if p.post.channel == name])
            },
        )
        for news_id, items in sorted(by_news.items())
    )

    ranked = sorted(
        (p for p in posts if p.engagement is not None),
        key=lambda p: (
            -(p.engagement or 0),
            -(p.latest.impressions or 0),
            p.published_at,
            p.post.id,
        ),
    )
    return Report(
        organisation=app.config.organisation.name,
        period=period,
        generated_at=now or utcnow(),
        channel=channel,
        news_item_id=news_item_id,
        ages=tuple(ages),
        posts=posts,
        channels=tuple(channels),
        news=news,
        totals=Totals.of(len(posts), [p.latest for p in posts]),
        top=tuple(ranked[:top]),
        grant=grant,
    )
