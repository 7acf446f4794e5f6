"""One publishing pass: claim due posts, hand them to their adapters, record the outcome.

The database decides: a post is published only after this worker's claim
succeeded, and its content is read at claim time, so an edit, cancellation or
reschedule made a moment earlier always wins.

Exactly once, through crashes and unknown outcomes: an attempt that may have
reached the channel (a timeout, a 5xx, a worker that died mid-call) leaves
the post marked ``needs_check``; the next claim first asks the channel whether
the post is already there, and only sends it when it certainly is not. When
the channel cannot tell, the post waits ``in_doubt`` for a person.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from queue import SimpleQueue
from typing import TYPE_CHECKING

from visibility.adapters.base import Adapter, Media, Publication, Published
from visibility.derive import LINK_PLACEHOLDER
from visibility.errors import (
    ChannelError,
    CredentialsError,
    DuplicateContentError,
    InputError,
    RetryableChannelError,
    VisibilityError,
    without_retry_promise,
)
from visibility.metrics import LATENESS
from visibility.queue.store import Store
from visibility.queue.types import utcnow
from visibility.queue.views import Claim, Sent, Success

if TYPE_CHECKING:
    from visibility.media.files import ImageFiles

log = logging.getLogger(__name__)

#: Pauses (seconds) between tries to record a batch of successes; None: the last.
RECORD_RETRIES: tuple[float | None, ...] = (0.05, 0.5, None)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)

    def next_try(self, attempts: int, now: datetime, retry_after: datetime | None) -> datetime:
        """Exponential backoff with jitter, never earlier than the channel asked."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(attempts - 1, 0)))
        seconds = random.uniform(ceiling.total_seconds() / 2, ceiling.total_seconds())
        when = now + timedelta(seconds=seconds)
        if retry_after is not None and retry_after > when:
            when = retry_after
        return when


@dataclass
class PassResult:
    published: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    in_doubt: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)


class Publisher:
    """Publishes due posts through the adapters; one per worker process."""

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, Adapter],
        *,
        worker: str,
        lease: timedelta = timedelta(minutes=5),
        batch: int | None = None,
        threads: int = 4,
        platform_cap: int | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
        first_reading_after: timedelta | None = timedelta(hours=1),
        images: ImageFiles | None = None,
    ) -> None:
        self.store = store
        self.images = images  # where posts' pictures are; None: posts carry none
        self.adapters = adapters
        self.worker = worker
        self.lease = lease
        self.threads = threads
        # Claim ahead: eight times the threads in flight, claimed at least two
        # threads' worth at a time, so claiming overlaps publishing and each
        # claim's fixed cost is shared by several posts.
        self.batch = batch or threads * 8
        self._claim_at = min(2 * threads, self.batch)
        self.platform_cap = platform_cap
        self.retry = retry or RetryPolicy()
        self.clock = clock
        self.first_reading_after = first_reading_after
        self.stopping = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="publish")
        # Every post this worker holds a lease on (claimed, queued for a
        # thread, being published, or published and not recorded yet), with
        # the lease's end as far as this worker knows.
        self._leases: dict[int, datetime] = {}
        self._leases_lock = threading.Lock()

    # -- passes ---------------------------------------------------------------

    def run_due(self) -> PassResult:
        """Publish everything due now, until nothing is due or we stop.

        Claiming overlaps publishing: while the threads publish, the next
        posts are claimed, so the pool never waits for the slowest post of a
        batch before more work is taken. Successes are recorded together,
        one transaction for all that finished since the last (see _record).
        """
        result = PassResult()
        finished: SimpleQueue[Future[str | Success]] = SimpleQueue()
        in_flight: dict[Future[str | Success], Claim] = {}
        short = False  # the last claim got fewer posts than it asked for
        while True:
            room = self.batch - len(in_flight)
            # After a short claim, claim again only when threads would go idle:
            # nothing more may be due, or other workers hold the rest.
            wanted = len(in_flight) < self.threads if short else room >= self._claim_at
            if wanted and room > 0 and not self.stopping.is_set():
                claims = self.store.claim_due(
                    worker=self.worker,
                    now=self.clock(),
                    lease=self.lease,
                    limit=room,
                    platform_cap=self.platform_cap,
                )
                short = len(claims) < room
                with self._leases_lock:
                    for claim in claims:
                        assert claim.post.lease_expires_at is not None
                        self._leases[claim.post.id] = claim.post.lease_expires_at
                for claim in claims:
                    future = self._pool.submit(self._guarded, claim)
                    in_flight[future] = claim
                    future.add_done_callback(finished.put)
            if not in_flight:
                # Nothing claimed, nothing left to finish. Each claim follows
                # the recording of the outcomes before it, so posts those
                # released (social posts waiting for their article) were seen.
                break
            # Whatever finished while this thread claimed or recorded: the
            # group commit's batch grows with the load by itself.
            done = [finished.get()]
            while not finished.empty():
                done.append(finished.get())
            published: list[Success] = []
            for future in done:
                claim = in_flight.pop(future)
                outcome = future.result()
                if isinstance(outcome, Success):
                    published.append(outcome)
                else:
                    getattr(result, outcome).append(claim.post.id)
            self._record(published, result)
        return result

    def heartbeat(self) -> None:
        """Extend the leases of every post this worker holds (called periodically).

        Posts still waiting for a thread are included: claimed ahead, they
        must not lapse to recovery while queued behind slow publishes.
        """
        with self._leases_lock:
            ids = sorted(self._leases)
        if not ids:
            return
        until = self.clock() + self.lease
        held = self.store.extend_leases(worker=self.worker, post_ids=ids, until=until)
        with self._leases_lock:
            for post_id in held:
                if post_id in self._leases:
                    self._leases[post_id] = until

    @property
    def in_flight(self) -> int:
        with self._leases_lock:
            return len(self._leases)

    def _lease_too_short(self, claim: Claim) -> bool:
        """Whether too little of the post's lease is left to start sending it.

        Heartbeats keep a healthy worker's leases near their full length; one
        that has run down means heartbeats failed, and recovery may soon hand
        the post to another worker, which could send it too.
        """
        with self._leases_lock:
            until = self._leases.get(claim.post.id)
        return until is None or until - self.clock() < self.lease / 4

    def _done_with(self, post_ids: Iterable[int]) -> None:
        with self._leases_lock:
            for post_id in post_ids:
                self._leases.pop(post_id, None)

    def _record(self, published: list[Success], result: PassResult) -> None:
        """Record the posts the channels accepted since the last call, in one transaction.

        A group commit: publish threads hand their successes back instead of
        writing one transaction each. Until it is recorded, a post stays in
        flight, so the heartbeat keeps its lease.
        """
        if not published:
            return
        lost: set[int] | None = None
        for wait in RECORD_RETRIES:
            try:
                lost = set(self.store.record_published(published, worker=self.worker))
                break
            except Exception:
                if wait is None:
                    log.exception("could not record %d published posts", len(published))
                else:
                    # A dropped connection, a deadlock victim: worth another go.
                    log.warning("recording %d published posts failed; trying again", len(published))
                    time.sleep(wait)
        why = "the lease was lost"
        if lost is None:
            why = "the database could not be written"
            lost = {done.claim.post.id for done in published}
        for done in published:
            claim = done.claim
            extra = _context(claim)
            if claim.post.id in lost:
                # Its lease lapses (or has) and recovery checks the channel,
                # finding it there, before anything is sent again.
                log.error("could not record the outcome: %s", why, extra=extra)
                result.in_doubt.append(claim.post.id)
            elif done.outcome == "found":
                log.info("already on the channel as %s", done.url or done.external_id, extra=extra)
                result.published.append(claim.post.id)
            else:
                log.info("published %s", done.url or done.external_id, extra=extra)
                result.published.append(claim.post.id)
        self._done_with(done.claim.post.id for done in published)

    def _guarded(self, claim: Claim) -> str | Success:
        outcome: str | Success = "in_doubt"
        try:
            if self.stopping.is_set():
                # Claimed, but shutdown came before the adapter was called.
                self.store.release(claim, worker=self.worker)
                outcome = "released"
            elif self._lease_too_short(claim):
                log.warning(
                    "lease running out before the post was sent (heartbeats failing?); "
                    "giving it back to the queue",
                    extra=_context(claim),
                )
                self.store.release(claim, worker=self.worker)
                outcome = "released"
            else:
                outcome = self._publish(claim)
        except VisibilityError:
            # The outcome could not be recorded (the lease was lost to
            # recovery, say). Leave the post to recovery, which checks the
            # channel before anything is sent again.
            log.exception("could not record the outcome", extra=_context(claim))
        finally:
            # A success is still in flight until run_due records it.
            if not isinstance(outcome, Success):
                self._done_with([claim.post.id])
        return outcome

    # -- one post -------------------------------------------------------------

    def _publish(self, claim: Claim) -> str | Success:
        post = claim.post
        extra = _context(claim)
        adapter = self.adapters.get(post.channel)
        if adapter is None:
            self.store.mark_failed(
                claim,
                fetch=False,
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
                    fetch=False,
                    worker=self.worker,
                    error="the post must carry its article's link, but the article has no URL; "
                    "publish the article first, or edit this post",
                )
                return "failed"
            body = body.replace(LINK_PLACEHOLDER, claim.link)
        media: tuple[Media, ...] = ()
        if claim.images:
            try:
                media = self._media(claim)
            except (InputError, OSError) as exc:
                self.store.mark_failed(claim, fetch=False, worker=self.worker, error=str(exc))
                log.warning("publish refused: %s", exc, extra=extra)
                return "failed"
        publication = Publication(
            post_id=post.id,
            news_item_id=post.news_item_id,
            channel=post.channel,
            kind=post.kind,
            body=body,
            title=post.title,
            excerpt=post.excerpt,
            link=claim.link,
            media=media,
        )
        if claim.check_since is not None:
            outcome = self._verify(adapter, publication, claim)
            if outcome is not None:
                return outcome
        if post.scheduled_at is not None:
            late = (self.clock() - post.scheduled_at).total_seconds()
            LATENESS.labels(post.channel).observe(max(late, 0.0))
        try:
            published = adapter.publish(publication)
        except RetryableChannelError as exc:
            return self._retry_later(claim, exc)
        except DuplicateContentError as exc:
            if claim.check_since is not None:
                # An earlier attempt's outcome was unknown and the platform now
                # says it has this post: that attempt went through after all.
                return self._after_duplicate(adapter, publication, claim, exc)
            self.store.mark_failed(claim, fetch=False, worker=self.worker, error=str(exc))
            log.warning("publish refused: %s", exc, extra=extra)
            return "failed"
        except CredentialsError as exc:
            # Not the post's fault: hold the whole channel, keep the post in
            # the queue, and let `visibility channels check` release it.
            self.store.set_attention(post.channel, str(exc))
            self.store.requeue(
                claim,
                fetch=False,
                worker=self.worker,
                at=post.scheduled_at or self.clock(),
                error=str(exc),
                outcome="credentials",
            )
            log.warning("channel needs attention: %s", exc, extra=extra)
            return "held"
        except ChannelError as exc:
            self.store.mark_failed(claim, fetch=False, worker=self.worker, error=str(exc))
            log.warning("publish refused: %s", exc, extra=extra)
            return "failed"
        except Exception as exc:
            # An adapter bug: the request may or may not have gone out. Fail
            # loudly rather than retry into a double post.
            log.exception("adapter crashed", extra=extra)
            self.store.mark_in_doubt(
                claim,
                fetch=False,
                worker=self.worker,
                reason=f"internal error in the {post.channel} adapter ({exc!r}); check the "
                "channel, then confirm or resend the post",
            )
            return "in_doubt"
        return self._success(claim, published, publication, "published")

    def _media(self, claim: Claim) -> tuple[Media, ...]:
        # Pillow is loaded only by workers that publish pictures.
        from visibility.media.prepare import media_for

        if self.images is None:
            raise InputError("this worker has no picture folder; the post's pictures are missing")
        return media_for(claim.images, claim.post.kind, self.images)

    def _verify(
        self, adapter: Adapter, publication: Publication, claim: Claim
    ) -> str | Success | None:
        """Look for the post on the channel; ``None`` means it is not there: send it."""
        assert claim.check_since is not None
        extra = _context(claim)
        try:
            # Adapters allow for clock skew between us and the channel themselves.
            found = adapter.find_published(publication, claim.check_since)
        except RetryableChannelError as exc:
            return self._check_later(claim, exc, "the channel could not be asked")
        except (ChannelError, NotImplementedError) as exc:
            return self._doubt(
                claim, without_retry_promise(str(exc)) or "the channel cannot be asked"
            )
        if found is None:
            tried = claim.post.attempts - 1
            if tried >= self.retry.max_attempts:
                # The last try's outcome was unknown; now it is known it failed.
                said = without_retry_promise(claim.post.last_error or "")
                error = f"gave up after {tried} attempts: {said}"
                self.store.mark_failed(claim, fetch=False, worker=self.worker, error=error)
                log.warning("publish failed for good: %s", error, extra=extra)
                return "failed"
            log.info("not on the channel: sending it again", extra=extra)
            return None
        return self._found(claim, found, publication)

    def _after_duplicate(
        self, adapter: Adapter, publication: Publication, claim: Claim, exc: Exception
    ) -> str | Success:
        """A duplicate refusal after an attempt with an unknown outcome: whose post is it?"""
        assert claim.check_since is not None
        try:
            found = adapter.find_published(publication, claim.check_since)
        except RetryableChannelError as lookup:
            # The search failed for now (a 503): the next try searches first,
            # as after any attempt whose outcome is unknown.
            why = f"the channel calls it a duplicate ({without_retry_promise(str(exc))}) but"
            return self._check_later(claim, lookup, f"{why} could not be searched")
        except (ChannelError, NotImplementedError) as lookup:
            return self._doubt(
                claim,
                f"the channel calls it a duplicate ({without_retry_promise(str(exc))}) but could "
                f"not be searched ({without_retry_promise(str(lookup))})",
            )
        if found is None:
            # Not among what appeared since our first attempt: the duplicate is
            # older than anything we sent, so this is a real refusal.
            self.store.mark_failed(claim, fetch=False, worker=self.worker, error=str(exc))
            log.warning("publish refused: %s", exc, extra=_context(claim))
            return "failed"
        return self._found(claim, found, publication)

    def _check_later(self, claim: Claim, exc: RetryableChannelError, why: str) -> str:
        """Look for the post on the channel again at the next try; in doubt once
        the tries are spent."""
        if claim.post.attempts >= self.retry.max_attempts:
            return self._doubt(claim, f"{why} ({without_retry_promise(str(exc))})")
        when = self.retry.next_try(claim.post.attempts, self.clock(), exc.retry_after)
        self.store.requeue(
            claim,
            fetch=False,
            worker=self.worker,
            at=when,
            error=f"could not check the channel yet: {exc}",
            outcome="check-retry",
            needs_check=True,
        )
        return "retried"

    def _found(self, claim: Claim, found: Published, publication: Publication) -> Success:
        """The post is on the channel already: record it, with the channel's id."""
        return self._success(claim, found, publication, "found")

    def _success(
        self, claim: Claim, published: Published, publication: Publication, outcome: str
    ) -> Success:
        now = self.clock()
        first = None if self.first_reading_after is None else now + self.first_reading_after
        sent = Sent(
            body=publication.body,
            title=publication.title,
            excerpt=publication.excerpt,
            link=publication.link,
            parts=published.parts,
            media=tuple(f"{m.sha256} {m.alt}" for m in publication.media),
        )
        return Success(claim, published.external_id, published.url, now, outcome, first, sent)

    def _doubt(self, claim: Claim, why: str) -> str:
        reason = (
            f"an earlier attempt may have published this post, and {why}: check the "
            "channel, then `visibility posts confirm` (it is there) or `visibility posts "
            "resend` (it is not)"
        )
        self.store.mark_in_doubt(claim, fetch=False, worker=self.worker, reason=reason)
        log.warning("post in doubt: %s", why, extra=_context(claim))
        return "in_doubt"

    def _retry_later(self, claim: Claim, exc: RetryableChannelError) -> str:
        post = claim.post
        extra = _context(claim)
        if not exc.reached and exc.retry_after is not None:
            # A rate limit: nothing happened on the channel. Pause the whole
            # channel until it resets, and do not count this try.
            self.store.pause_channel(post.channel, until=exc.retry_after)
            self.store.requeue(
                claim,
                fetch=False,
                worker=self.worker,
                at=max(exc.retry_after, post.scheduled_at or exc.retry_after),
                error=str(exc),
                outcome="rate-limited",
                refund=True,
            )
            log.info("channel paused until %s: %s", exc.retry_after.isoformat(), exc, extra=extra)
            return "retried"
        if post.attempts >= self.retry.max_attempts and not exc.reached:
            error = f"gave up after {post.attempts} attempts: {without_retry_promise(str(exc))}"
            self.store.mark_failed(claim, fetch=False, worker=self.worker, error=error)
            log.warning("publish failed for good: %s", error, extra=extra)
            return "failed"
        # After the last attempt whose outcome is unknown, one more claim only
        # looks for the post on the channel (see _verify) and then gives up.
        when = self.retry.next_try(post.attempts, self.clock(), exc.retry_after)
        self.store.requeue(
            claim,
            fetch=False,
            worker=self.worker,
            at=when,
            error=str(exc),
            outcome="retry" if not exc.reached else "uncertain",
            needs_check=exc.reached,
        )
        log.info("publish will be retried at %s: %s", when.isoformat(), exc, extra=extra)
        return "retried"

    def close(self) -> None:
        self.stopping.set()
        self._pool.shutdown(wait=True)
        for adapter in self.adapters.values():
            adapter.close()


def _context(claim: Claim) -> dict[str, object]:
    post = claim.post
    return {"post_id": post.id, "channel": post.channel, "attempt": post.attempts}
