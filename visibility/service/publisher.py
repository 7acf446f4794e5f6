"""One publishing pass: claim due posts, hand them to their adapters, record the outcome.

The database decides: a post is published only after this worker's claim
succeeded, and its content is read at claim time, so an edit, cancellation or
reschedule made a moment earlier always wins.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from visibility.adapters.base import Adapter, Publication
from visibility.derive.limits import LINK_PLACEHOLDER
from visibility.errors import ChannelError, CredentialsError, RetryableChannelError
from visibility.queue.store import Claim, Store
from visibility.queue.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)

    def next_try(self, attempts: int, now: datetime, retry_after: datetime | None) -> datetime:
        """Exponential backoff with full jitter, never earlier than the channel asked."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(attempts - 1, 0)))
        delay = timedelta(
            seconds=random.uniform(ceiling.total_seconds() / 2, ceiling.total_seconds())
        )
        when = now + delay
        if retry_after is not None and retry_after > when:
            when = retry_after
        return when


@dataclass
class PassResult:
    published: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)


class Publisher:
    """Publishes due posts through the adapters; safe to call from several threads."""

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, Adapter],
        *,
        worker: str,
        lease: timedelta = timedelta(minutes=5),
        batch: int = 10,
        threads: int = 4,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.adapters = adapters
        self.worker = worker
        self.lease = lease
        self.batch = batch
        self.retry = retry or RetryPolicy()
        self.clock = clock
        self.stopping = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="publish")

    def run_due(self) -> PassResult:
        """Publish everything due now, batch by batch, until nothing is due or we stop."""
        result = PassResult()
        while not self.stopping.is_set():
            claims = self.store.claim_due(
                worker=self.worker, now=self.clock(), lease=self.lease, limit=self.batch
            )
            if not claims:
                break
            for claim, outcome in zip(claims, self._pool.map(self._publish, claims), strict=True):
                getattr(result, outcome).append(claim.post.id)
        return result

    def _publish(self, claim: Claim) -> str:
        post = claim.post
        adapter = self.adapters.get(post.channel)
        extra = {"post_id": post.id, "channel": post.channel, "attempt": post.attempts}
        if adapter is None:
            self.store.mark_failed(
                claim,
                worker=self.worker,
                error=f"channel {post.channel!r} is not configured (or is disabled) any more",
            )
            return "failed"
        body = post.body
        if LINK_PLACEHOLDER in body:
            if not claim.link:
                # Never publish a post without the link it was meant to carry.
                self.store.mark_failed(
                    claim,
                    worker=self.worker,
                    error="the post must carry its article's link, but the article has no URL; "
                    "publish the article first, or edit this post",
                )
                return "failed"
            body = body.replace(LINK_PLACEHOLDER, claim.link)
        publication = Publication(
            post_id=post.id,
            news_item_id=post.news_item_id,
            channel=post.channel,
            kind=post.kind,
            body=body,
            title=post.title,
            excerpt=post.excerpt,
            link=claim.link,
        )
        try:
            published = adapter.publish(publication)
        except RetryableChannelError as exc:
            if post.attempts >= self.retry.max_attempts:
                error = f"gave up after {post.attempts} attempts: {exc}"
                self.store.mark_failed(claim, worker=self.worker, error=error)
                log.warning("publish failed for good: %s", error, extra=extra)
                return "failed"
            when = self.retry.next_try(post.attempts, self.clock(), exc.retry_after)
            self.store.requeue(claim, worker=self.worker, at=when, error=str(exc), outcome="retry")
            log.info("publish will be retried at %s: %s", when.isoformat(), exc, extra=extra)
            return "retried"
        except CredentialsError as exc:
            # Not the post's fault: hold the whole channel, keep the post in
            # the queue, and let `visibility channels check` release it.
            self.store.set_attention(post.channel, str(exc))
            self.store.requeue(
                claim,
                worker=self.worker,
                at=post.scheduled_at or self.clock(),
                error=str(exc),
                outcome="credentials",
            )
            log.warning("channel needs attention: %s", exc, extra=extra)
            return "held"
        except ChannelError as exc:
            self.store.mark_failed(claim, worker=self.worker, error=str(exc))
            log.warning("publish refused: %s", exc, extra=extra)
            return "failed"
        except Exception as exc:
            # An adapter bug is not the post's fault, but the outcome is
            # unknown: fail loudly rather than retry into a double post.
            log.exception("adapter crashed", extra=extra)
            self.store.mark_failed(
                claim,
                worker=self.worker,
                error=f"internal error in the {post.channel} adapter: {exc!r}",
            )
            return "failed"
        self.store.mark_published(
            claim, worker=self.worker, external_id=published.external_id, url=published.url
        )
        log.info("published %s", published.url or published.external_id, extra=extra)
        return "published"

    def close(self) -> None:
        self.stopping.set()
        self._pool.shutdown(wait=True)
        for adapter in self.adapters.values():
            adapter.close()
