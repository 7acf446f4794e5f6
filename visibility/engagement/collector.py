"""Read the engagement of published posts that are due, in the largest batches each
platform allows, without ever getting in the way of publishing.

A website channel with web analytics (``visibility.analytics``) is read
through them, as page views of its articles, instead of through its adapter.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from visibility.adapters.base import Adapter, Engagement
from visibility.analytics.base import Analytics, Page
from visibility.engagement.ages import next_reading
from visibility.errors import ChannelError
from visibility.metrics import ENGAGEMENT_READS
from visibility.queue.store import Store
from visibility.queue.types import utcnow
from visibility.queue.views import PostView

log = logging.getLogger(__name__)

_FIGURES = ("impressions", "reactions", "comments", "shares", "clicks")


@dataclass
class Round:
    """What one collection round did."""

    read: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)  # the channel no longer has them
    calls: int = 0
    deferred: bool = False  # stopped early: posts were due for publishing


class Collector:
    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, Adapter],
        *,
        ages: Sequence[timedelta],
        clock: Callable[[], datetime] = utcnow,
        retry_base: timedelta = timedelta(minutes=5),
        analytics: Mapping[str, Analytics] | None = None,
    ) -> None:
        """``analytics``: by channel name, the web analytics its posts are read from."""
        self.store = store
        self.adapters = adapters
        self.analytics: Mapping[str, Analytics] = analytics or {}
        self.ages = tuple(ages)
        self.clock = clock
        self.retry_base = retry_base

    def run_once(self, *, limit: int = 10_000) -> Round:
        result = Round()
        now = self.clock()
        due = self.store.due_for_snapshot(now, limit=limit)
        held = self.store.attention()
        by_channel: dict[str, list[PostView]] = defaultdict(list)
        for post in due:
            if post.channel not in held:
                by_channel[post.channel].append(post)
        for channel, posts in by_channel.items():
            reader = self._reader(channel)
            if reader is None:
                continue
            read, size = reader
            if channel in self.analytics:
                posts = self._with_address(channel, posts)
            for start in range(0, len(posts), size):
                # Publishing first: stop reading as soon as a post falls due.
                if self.store.count_due(self.clock()) > 0:
                    result.deferred = True
                    return result
                self._read_batch(channel, read, posts[start : start + size], result)
        return result

    def _with_address(self, channel: str, posts: list[PostView]) -> list[PostView]:
        """The posts analytics can count; the others stop being read, with why."""
        lost = [p for p in posts if not (p.external_id and p.external_url and p.published_at)]
        if lost:
            note = (
                f"{channel} recorded no address for this article, so its page views "
                "cannot be read from the web analytics; no readings are taken"
            )
            self.store.record_snapshots(
                [], {p.id: None for p in lost}, notes={p.id: note for p in lost}
            )
        gone = {p.id for p in lost}
        return [p for p in posts if p.id not in gone]

    def _reader(
        self, channel: str
    ) -> tuple[Callable[[list[PostView]], list[Engagement]], int] | None:
        """How ``channel``'s posts are read, and how many at once."""
        analytics = self.analytics.get(channel)
        if analytics is not None:

            def page_views(posts: list[PostView]) -> list[Engagement]:
                return analytics.page_views(
                    [
                        Page(p.external_id, p.external_url, p.published_at)
                        for p in posts
                        if p.external_id and p.external_url and p.published_at
                    ]
                )

            return page_views, max(1, analytics.batch)
        adapter = self.adapters.get(channel)
        if adapter is None:
            return None

        def engagement(posts: list[PostView]) -> list[Engagement]:
            return adapter.engagement([p.external_id for p in posts if p.external_id])

        return engagement, max(1, adapter.engagement_batch)

    def _read_batch(
        self,
        channel: str,
        read: Callable[[list[PostView]], list[Engagement]],
        posts: list[PostView],
        result: Round,
    ) -> None:
        by_external = {p.external_id: p for p in posts if p.external_id}
        result.calls += 1
        taken_at = self.clock()
        try:
            readings = read(list(by_external.values()))
        except NotImplementedError:
            # This kind of channel gives no figures: stop asking, and say so.
            note = f"{channel} gives no engagement figures; nothing is read"
            self.store.record_snapshots(
                [], {p.id: None for p in posts}, notes={p.id: note for p in posts}
            )
            return
        except ChannelError as exc:
            failures = max(p.snapshot_failures for p in posts) if posts else 0
            retry_at = taken_at + min(self.retry_base * (2**failures), timedelta(hours=6))
            self.store.snapshot_failed([p.id for p in posts], retry_at=retry_at)
            result.failed.extend(p.id for p in posts)
            ENGAGEMENT_READS.labels(channel, "failed").inc(len(posts))
            log.warning(
                "could not read engagement on %s: %s (retry at %s)",
                channel,
                exc,
                retry_at.isoformat(),
                extra={"channel": channel},
            )
            return
        rows = []
        next_at: dict[int, datetime | None] = {}
        for reading in readings:
            post = by_external.pop(reading.external_id, None)
            if post is None or post.published_at is None:
                continue
            figures = {name: getattr(reading, name) for name in _FIGURES}
            rows.append((post.id, taken_at, figures, dict(reading.raw)))
            next_at[post.id] = next_reading(post.published_at, self.ages, taken_at)
            result.read.append(post.id)
        notes: dict[int, str] = {}
        for post in by_external.values():
            # Asked for and left out: deleted there, or hidden from this
            # account. Stop reading it, and tell staff rather than go quiet.
            next_at[post.id] = None
            notes[post.id] = (
                f"{channel} left this post out of its answer on "
                f"{taken_at:%Y-%m-%d %H:%M} UTC: it was deleted there, or the platform no "
                "longer shows it to this account; no further readings are taken"
            )
            result.gone.append(post.id)
        if notes:
            log.warning(
                "%s left %d post(s) out of its engagement answer (deleted or hidden): %s; "
                "their readings stop",
                channel,
                len(notes),
                ", ".join(str(i) for i in sorted(notes)),
                extra={"channel": channel},
            )
        self.store.record_snapshots(rows, next_at, notes=notes)
        ENGAGEMENT_READS.labels(channel, "read").inc(len(rows))
