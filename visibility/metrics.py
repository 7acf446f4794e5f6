"""Prometheus metrics.

Queue figures (posts by state, attempts by channel and outcome, the
scheduler's heartbeat age) are read from the database at scrape time, so
they are right whichever worker did the work; lateness and engagement reads
are observed in this process.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from visibility.queue.store import Store
from visibility.queue.types import utcnow

REGISTRY = CollectorRegistry(auto_describe=True)

LATENESS = Histogram(
    "visibility_publish_lateness_seconds",
    "Delay between a post's due time and the call to its channel.",
    ["channel"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
    registry=REGISTRY,
)
ENGAGEMENT_READS = Counter(
    "visibility_engagement_reads",
    "Engagement readings taken, by channel and result.",
    ["channel", "result"],
    registry=REGISTRY,
)


class QueueCollector(Collector):
    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        posts = GaugeMetricFamily("visibility_posts", "Posts by state.", labels=["state"])
        for state, count in sorted(self.store.count_by_status().items()):
            posts.add_metric([state.value], count)
        yield posts
        attempts = CounterMetricFamily(
            "visibility_publish_attempts",
            "Publish attempts by channel and outcome (all workers).",
            labels=["channel", "outcome"],
        )
        for (channel, outcome), count in sorted(self.store.attempt_counts().items()):
            attempts.add_metric([channel, outcome], count)
        yield attempts
        beat = GaugeMetricFamily(
            "visibility_scheduler_heartbeat_age_seconds",
            "Seconds since the freshest heartbeat of a running scheduler (-1: none running).",
        )
        beat.add_metric([], _age(self.store.latest_heartbeat()))
        yield beat


def _age(when: datetime | None) -> float:
    return -1.0 if when is None else (utcnow() - when).total_seconds()


def registry_for(store: Store) -> CollectorRegistry:
    """The process registry plus the queue figures of ``store``."""
    registry = CollectorRegistry()
    registry.register(QueueCollector(store))
    for collector in (LATENESS, ENGAGEMENT_READS):
        registry.register(collector)
    return registry
