"""The scheduler service behind ``visibility run``.

APScheduler drives two jobs in this process: a periodic scan (every
``scan_interval`` seconds, so posts scheduled or changed by other processes
are seen) and a one-off wake-up at the next due time, so a post goes out on
time without polling fast. Job state is not persisted in APScheduler: the
database is the only record of what is due, and every pass re-reads it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from visibility.adapters.base import Adapter
from visibility.adapters.registry import build_adapter
from visibility.alerts import Alerter
from visibility.analytics.base import Analytics
from visibility.analytics.build import build_analytics
from visibility.config.channels import FeedConfig
from visibility.engagement.collector import Collector
from visibility.queue.ops import StoredMemory
from visibility.queue.states import PostStatus
from visibility.queue.types import utcnow
from visibility.service.publisher import PassResult, Publisher, RetryPolicy
from visibility.workflow import Visibility

log = logging.getLogger(__name__)


def build_analytics_readers(app: Visibility) -> dict[str, Analytics]:
    """The web analytics of each enabled website channel that has them."""
    readers = {c.name: build_analytics(c) for c in app.config.channels if c.enabled}
    return {name: reader for name, reader in readers.items() if reader is not None}


def build_adapters(app: Visibility) -> dict[str, Adapter]:
    return {
        c.name: build_adapter(c, app.settings, memory=StoredMemory(app.store, c.name))
        for c in app.config.channels
        if c.enabled
    }


class Service:
    """Runs publishing passes on APScheduler until stopped."""

    def __init__(
        self,
        app: Visibility,
        *,
        adapters: dict[str, Adapter] | None = None,
        on_pass: Callable[[PassResult], None] | None = None,
    ) -> None:
        self.app = app
        self.publisher = Publisher(
            app.store,
            adapters if adapters is not None else build_adapters(app),
            worker=app.settings.worker_id,
            lease=timedelta(seconds=app.settings.lease_seconds),
            threads=app.settings.publish_threads,
            platform_cap=app.settings.platform_concurrency,
            retry=RetryPolicy(
                max_attempts=app.settings.max_attempts,
                base_delay=timedelta(seconds=app.settings.retry_base_seconds),
                max_delay=timedelta(seconds=app.settings.retry_max_seconds),
            ),
            first_reading_after=(app.settings.snapshot_ages or (None,))[0],
            images=app.image_files,
        )
        self.collector = Collector(
            app.store,
            self.publisher.adapters,
            ages=app.settings.snapshot_ages,
            retry_base=timedelta(seconds=app.settings.engagement_retry_seconds),
            analytics=build_analytics_readers(app),
        )
        self.alerter = Alerter(app.store, app.settings)
        self.on_pass = on_pass
        self.stopped = threading.Event()
        self.last_heartbeat: datetime | None = None
        self._lock = threading.Lock()
        self.scheduler = BackgroundScheduler(
            # Feeds read on their own thread: a slow feed never delays a post.
            # Housekeeping (heartbeats, recovery) too, so a long pass never
            # lets this worker's leases lapse.
            executors={
                "default": JobExecutor(1),
                "feeds": JobExecutor(1),
                "housekeeping": JobExecutor(1),
                "engagement": JobExecutor(1),
            },
            # Two instances: a wake-up armed while a pass is finishing must wait
            # its turn (passes share a lock), not be dropped.
            job_defaults={"coalesce": True, "max_instances": 2, "misfire_grace_time": None},
            timezone="UTC",
        )

    def _pass(self) -> None:
        if self.stopped.is_set():
            return
        with self._lock:
            try:
                result = self.publisher.run_due()
            except Exception:
                # A database hiccup must not kill the service; the next scan retries.
                log.exception("publishing pass failed")
                return
            finally:
                self._arm_wakeup()
        if self.on_pass is not None:
            self.on_pass(result)

    def _arm_wakeup(self) -> None:
        if self.stopped.is_set():
            return
        try:
            due = self.app.store.next_due_at()
        except Exception:
            log.exception("cannot read the next due time")
            return
        if due is None:
            return
        now = utcnow()
        scan_gap = timedelta(seconds=self.app.settings.scan_interval)
        if due - now >= scan_gap:
            return  # the periodic scan will be there first
        run_at: datetime = max(due, now)
        self.scheduler.add_job(
            self._pass, "date", run_date=run_at, id="wakeup", replace_existing=True
        )

    def _read_feed(self, feed: FeedConfig) -> None:
        if self.stopped.is_set():
            return
        try:
            result = self.app.import_feed(
                feed.url, from_channel=feed.from_channel, language=feed.language
            )
        except Exception as exc:
            # A feed that is down now may be up at the next read; keep publishing.
            log.warning("could not read the feed %s: %s", feed.url, exc)
            return
        if result.added:
            log.info("feed %s: %d new news items", feed.url, len(result.added))

    def _housekeeping(self) -> None:
        """Heartbeat this worker and its leases; recover posts of workers that died."""
        if self.stopped.is_set():
            return
        try:
            self.publisher.heartbeat()
            self.app.store.worker_heartbeat(self.app.settings.worker_id)
            self.last_heartbeat = utcnow()
            recovered = self.app.store.recover_expired(utcnow())
        except Exception:
            log.exception("housekeeping failed")
            return
        if recovered:
            log.warning(
                "recovered %d posts from stopped workers; each is checked on its channel "
                "before it is sent again",
                len(recovered),
            )
            self._arm_wakeup()

    def _read_engagement(self) -> None:
        if self.stopped.is_set():
            return
        try:
            result = self.collector.run_once()
        except Exception:
            # Reading figures must never take the publishing service down.
            log.exception("engagement round failed")
            return
        if result.read or result.failed:
            log.info(
                "engagement: %d posts read in %d calls, %d to retry",
                len(result.read),
                result.calls,
                len(result.failed),
            )

    def _alert(self) -> None:
        if self.stopped.is_set():
            return
        try:
            for alert in self.alerter.run_once():
                log.info("alert sent: %s", alert.subject)
        except Exception:
            log.exception("alert check failed")

    def start(self) -> None:
        store, settings = self.app.store, self.app.settings
        store.worker_started(settings.worker_id, host=socket.gethostname(), pid=os.getpid())
        # Before the first pass: posts missed during downtime are re-slotted or
        # held rather than all sent at once.
        for post in self.app.handle_stale():
            log.warning("post %d: %s", post.id, post.last_error, extra={"post_id": post.id})
        lease = settings.lease_seconds
        self.scheduler.add_job(
            self._housekeeping,
            "interval",
            seconds=max(1.0, min(lease / 3, 10.0)),
            id="housekeeping",
            next_run_time=utcnow(),
            executor="housekeeping",
        )
        if self.alerter.enabled:
            self.scheduler.add_job(
                self._alert, "interval", seconds=30, id="alerts", executor="housekeeping"
            )
        self.scheduler.add_job(
            self._read_engagement,
            "interval",
            seconds=settings.engagement_interval_seconds,
            id="engagement",
            executor="engagement",
        )
        for number, feed in enumerate(self.app.config.feeds):
            self.scheduler.add_job(
                self._read_feed,
                "interval",
                args=[feed],
                minutes=feed.interval_minutes,
                id=f"feed-{number}",
                next_run_time=utcnow(),
                executor="feeds",
            )
        self.scheduler.add_job(
            self._pass,
            "interval",
            seconds=self.app.settings.scan_interval,
            id="scan",
            next_run_time=utcnow(),
        )
        self.scheduler.start()
        log.info(
            "visibility is running as %s; channels: %s",
            self.app.settings.worker_id,
            ", ".join(c.name for c in self.app.config.enabled_channels),
        )

    def stop(self) -> None:
        """Stop taking new posts, let posts being published finish, then return.

        Publishes in flight get ``shutdown_grace_seconds`` to finish; a post
        still in flight after that keeps its lease, which expires, and
        recovery checks the channel for it before anything is re-sent.
        """
        if self.stopped.is_set():
            return
        self.stopped.set()
        self.publisher.stopping.set()
        closer = threading.Thread(target=self._drain, name="drain", daemon=True)
        closer.start()
        closer.join(self.app.settings.shutdown_grace_seconds)
        if closer.is_alive():
            log.warning(
                "%d posts still in flight after %g s; leaving them to recovery",
                self.publisher.in_flight,
                self.app.settings.shutdown_grace_seconds,
            )
        else:
            self.app.store.worker_stopped(self.app.settings.worker_id)
        log.info("visibility stopped")

    def _drain(self) -> None:
        self.scheduler.shutdown(wait=True)
        self.publisher.close()
        for reader in self.collector.analytics.values():
            reader.close()

    def run_forever(self, *, until: Callable[[], bool] | None = None, poll: float = 0.2) -> None:
        """Block until SIGTERM/SIGINT (or ``until()`` is true), then stop cleanly."""
        wake = threading.Event()

        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s, stopping", signal.Signals(signum).name)
            wake.set()

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.start()
        try:
            while not wake.wait(poll):
                if until is not None and until():
                    break
        finally:
            self.stop()
            for sig, old in previous.items():
                signal.signal(sig, old)


def idle(app: Visibility) -> bool:
    """Nothing can be claimed now and nothing is being published."""
    counts = app.store.count_by_status()
    return not counts.get(PostStatus.PUBLISHING) and app.store.count_due(utcnow()) == 0
