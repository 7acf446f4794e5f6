"""Exactly once when X misbehaves: 5xx, 429, slow answers, dropped connections.

The X emulator's faults are faithful to what a platform does: a fault with a
status lets the route act first (X posted the tweet and still answered 500),
a delay holds the request before the route (the tweet appears after the
client gave up), ``drop`` closes the connection before anything happens, and
429s come from X's own rate-limit windows with ``x-rate-limit-*`` headers.

The first tests take one fault at a time through the ``Publisher`` (real
adapter, real HTTP, a clock the test moves); the storm runs the ``Service``
over a hundred posts with every fault mixed in, and a few texts X refuses.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from engine_harness import (
    TWEETS_PATH,
    Setup,
    Tally,
    assert_published_exactly_once,
    describe,
    seed_posts,
    settled,
    wait_until,
    x_emulator,
    x_setup,
)

from emulators.server import Request, Response
from emulators.x import XEmulator
from visibility.queue.states import PostStatus
from visibility.queue.types import utcnow
from visibility.service.publisher import Publisher, RetryPolicy
from visibility.service.runner import Service, build_adapters
from visibility.workflow import Visibility

TWEETS = rf"^{TWEETS_PATH}$"
TIMELINE = r"^/2/users/[0-9]+/tweets$"
TOO_LONG = "Shorten the text to 280 characters"
DUPLICATE = "X refused the tweet as a duplicate"


def unavailable(status: int = 503) -> dict[str, Any]:
    """A fault answering like X's front end does when it is overloaded."""
    title = {500: "Internal Server Error", 503: "Service Unavailable"}[status]
    return {
        "status": status,
        "body": {"title": title, "detail": title, "type": "about:blank", "status": status},
        "headers": {"Content-Type": "application/problem+json"},
    }


@dataclass
class Engine:
    """One test's X emulator, app and a Publisher whose clock the test moves."""

    x: XEmulator
    setup: Setup
    app: Visibility
    tally: Tally
    clock: list[datetime] = field(default_factory=lambda: [utcnow()])
    publishers: list[Publisher] = field(default_factory=list)

    def publisher(self, *, max_attempts: int = 5) -> Publisher:
        publisher = Publisher(
            self.app.store,
            build_adapters(self.app),
            worker="faults",
            retry=RetryPolicy(max_attempts=max_attempts, base_delay=timedelta(seconds=10)),
            clock=lambda: self.clock[0],
        )
        self.publishers.append(publisher)
        return publisher

    def due_again(self, post_id: int) -> None:
        """Move the clock to when the post is due again."""
        when = self.app.store.get_post(post_id).scheduled_at
        assert when is not None
        self.clock[0] = max(self.clock[0], when)

    def posts(self, text: str) -> int:
        return sum(1 for r in self.x.calls(TWEETS, "POST") if r.json().get("text") == text)

    def outcomes(self, post_id: int) -> list[str | None]:
        return [a.outcome for a in self.app.store.attempts(post_id)]


@contextmanager
def make_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, timeout: float = 5.0, **x_options: Any
) -> Iterator[Engine]:
    x = x_emulator(**x_options)
    tally = Tally()
    x.hooks.append(tally)
    setup = x_setup(tmp_path, x, timeout=timeout, setenv=monkeypatch.setenv)
    app = setup.open()
    engine = Engine(x, setup, app, tally)
    try:
        yield engine
    finally:
        for publisher in engine.publishers:
            publisher.close()
        app.close()
        x.stop()


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    with make_engine(tmp_path, monkeypatch) as made:
        yield made


@pytest.fixture
def impatient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """An X channel whose client gives up after half a second."""
    with make_engine(tmp_path, monkeypatch, timeout=0.5) as made:
        yield made


def one_post(engine: Engine, tag: str) -> tuple[int, str]:
    (post_id,) = seed_posts(engine.app, 1, tag=tag, at=engine.clock[0])
    return post_id, engine.app.store.get_post(post_id).body.strip()


# -- one fault at a time ----------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_after_x_posted_is_found_not_sent_again(engine: Engine, status: int) -> None:
    post_id, text = one_post(engine, f"5xx-{status}")
    engine.x.fail_next(1, path=TWEETS, **unavailable(status))
    publisher = engine.publisher()
    assert publisher.run_due().retried == [post_id]
    assert engine.app.store.get_post(post_id).needs_check
    engine.due_again(post_id)
    assert publisher.run_due().published == [post_id]
    assert engine.outcomes(post_id) == ["uncertain", "found"]
    assert engine.posts(text) == 1  # looked for on the timeline, never sent again
    assert engine.x.calls(TIMELINE, "GET")
    assert_published_exactly_once(engine.app, engine.x, [post_id], tally=engine.tally)


def test_a_dropped_request_is_looked_for_then_sent_again(engine: Engine) -> None:
    post_id, text = one_post(engine, "drop")
    engine.x.fail_next(1, path=TWEETS, drop=True)
    publisher = engine.publisher()
    assert publisher.run_due().retried == [post_id]
    post = engine.app.store.get_post(post_id)
    assert post.needs_check and "broke before it answered" in (post.last_error or "")
    engine.due_again(post_id)
    assert publisher.run_due().published == [post_id]
    assert engine.outcomes(post_id) == ["uncertain", "published"]
    assert engine.posts(text) == 2
    assert_published_exactly_once(engine.app, engine.x, [post_id], tally=engine.tally)


def test_a_timeout_whose_tweet_lands_later_is_found(impatient: Engine) -> None:
    engine = impatient
    post_id, text = one_post(engine, "slow")
    # X holds the request past the client's 0.5 s, then posts the tweet anyway.
    engine.x.fail_next(1, path=TWEETS, delay=1.0)
    publisher = engine.publisher()
    assert publisher.run_due().retried == [post_id]
    assert "did not answer within 0.5 s" in (engine.app.store.get_post(post_id).last_error or "")
    assert wait_until(lambda: engine.tally.created == 1, timeout=5, poll=0.05)
    engine.due_again(post_id)
    assert publisher.run_due().published == [post_id]
    assert engine.outcomes(post_id) == ["uncertain", "found"]
    assert engine.posts(text) == 1
    assert_published_exactly_once(engine.app, engine.x, [post_id], tally=engine.tally)


def test_a_timed_out_tweet_landing_after_the_check_is_not_failed_as_a_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with make_engine(tmp_path, monkeypatch, timeout=2.0) as engine:
        late_tweet_after_the_check(engine)


def late_tweet_after_the_check(engine: Engine) -> None:
    post_id, text = one_post(engine, "late")
    # The first request sleeps 3 s at X, then posts: 1 s after the client gave up.
    engine.x.fail_next(1, path=TWEETS, delay=3.0)
    # The resend (0.2 s after the timeout) reaches X's route 1.4 s later: after the
    # first one landed, and still within the client's 2 s.
    engine.x.fail_next(1, path=TWEETS, delay=1.4)
    publisher = engine.publisher()
    assert publisher.run_due().retried == [post_id]
    time.sleep(0.2)
    engine.due_again(post_id)
    publisher.run_due()
    # As intended: X took the first request, and refused the resend as a duplicate.
    assert engine.tally.created == 1 and engine.tally.duplicates == [text]
    post = engine.app.store.get_post(post_id)
    (tweet,) = engine.x.tweets[engine.x.account.username]
    assert (post.status, post.external_id) == (PostStatus.PUBLISHED, tweet.id), post.last_error


def test_a_duplicate_that_cannot_be_searched_yet_is_searched_again_not_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The late tweet again, and the search after X's duplicate refusal answers 503:
    the post is looked for again at the next try (found), not held for a person."""
    with make_engine(tmp_path, monkeypatch, timeout=2.0) as engine:
        timeline_gets: list[int] = []

        def fail_the_second_search(request: Request, response: Response | None) -> None:
            if request.method == "GET" and re.match(TIMELINE, request.path):
                timeline_gets.append(1)
                if len(timeline_gets) == 1:  # the check before the resend has run
                    engine.x.fail_next(1, path=TIMELINE, **unavailable(503))

        engine.x.hooks.append(fail_the_second_search)
        post_id, text = one_post(engine, "late-503")
        engine.x.fail_next(1, path=TWEETS, delay=3.0)
        engine.x.fail_next(1, path=TWEETS, delay=1.4)
        publisher = engine.publisher()
        assert publisher.run_due().retried == [post_id]
        time.sleep(0.2)
        engine.due_again(post_id)
        assert publisher.run_due().retried == [post_id]
        post = engine.app.store.get_post(post_id)
        assert post.status is PostStatus.SCHEDULED and post.needs_check
        assert "could not check the channel yet" in (post.last_error or "")
        engine.due_again(post_id)
        assert publisher.run_due().published == [post_id]
        assert engine.outcomes(post_id)[-2:] == ["check-retry", "found"]
        # X took the first request and refused the resend; nothing was sent a third time.
        assert engine.tally.created == 1 and engine.tally.duplicates == [text]
        (tweet,) = engine.x.tweets[engine.x.account.username]
        assert engine.app.store.get_post(post_id).external_id == tweet.id


def test_x_rate_limit_holds_the_post_until_the_reset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with make_engine(tmp_path, monkeypatch, post_limit=2, window_seconds=2) as engine:
        ids = seed_posts(engine.app, 3, tag="limit", at=engine.clock[0])
        publisher = Publisher(
            engine.app.store,
            build_adapters(engine.app),
            worker="faults",
            threads=1,
            retry=RetryPolicy(base_delay=timedelta(seconds=0.2)),
        )
        engine.publishers.append(publisher)
        first = publisher.run_due()
        assert (first.published, first.retried) == (ids[:2], [ids[2]])
        limited = engine.app.store.get_post(ids[2])
        refused = engine.x.calls(TWEETS, "POST")[2]
        assert refused.json()["text"] == limited.body.strip()
        assert not limited.needs_check  # X refuses a rate-limited request before acting
        assert "rate limit for posting the tweet is used up" in (limited.last_error or "")
        # Due again at the time X's x-rate-limit-reset header gave, not before.
        reset = limited.scheduled_at
        assert reset == datetime.fromtimestamp(engine.tally.resets[0], UTC) > utcnow()
        assert wait_until(lambda: bool(publisher.run_due().published), timeout=10, poll=0.1)
        assert utcnow() >= reset
        *retries, last = engine.outcomes(ids[2])
        assert last == "published" and retries and set(retries) == {"rate-limited"}
        assert engine.tally.answers[(f"POST {TWEETS_PATH}", 429)] == len(retries)
        assert not engine.x.calls(TIMELINE)  # nothing was uncertain: nothing looked for
        assert_published_exactly_once(engine.app, engine.x, ids, tally=engine.tally)


def test_texts_x_refuses_fail_at_once_with_the_reason(engine: Engine) -> None:
    long_id, _ = one_post(engine, "too-long")
    dup_id, dup_text = one_post(engine, "dup")
    # Approved before a rule changed, say: the store takes it, X does not.
    engine.app.store.edit(long_id, body="Lajm i gjatë për shoqërinë civile. " * 10)
    engine.app.store.approve(long_id, by="engine-test")
    engine.app.store.schedule(long_id, at=engine.clock[0])
    engine.x.post(dup_text, age_seconds=86_400)  # tweeted by hand yesterday
    publisher = engine.publisher()
    assert sorted(publisher.run_due().failed) == sorted([long_id, dup_id])
    assert engine.outcomes(long_id) == ["failed"] and engine.outcomes(dup_id) == ["failed"]
    assert_published_exactly_once(
        engine.app,
        engine.x,
        [long_id, dup_id],
        tally=engine.tally,
        expect_failed={long_id: TOO_LONG, dup_id: DUPLICATE},
        already_on_x=[dup_text],
    )


def test_a_check_x_cannot_answer_leaves_the_post_in_doubt_never_resent(engine: Engine) -> None:
    post_id, text = one_post(engine, "doubt")
    engine.x.fail_next(1, path=TWEETS, **unavailable(503))
    engine.x.fail_next(5, path=TIMELINE, **unavailable(503))
    publisher = engine.publisher(max_attempts=3)
    for _ in range(4):
        publisher.run_due()
        if engine.app.store.get_post(post_id).status is not PostStatus.SCHEDULED:
            break
        engine.due_again(post_id)
    post = engine.app.store.get_post(post_id)
    assert post.status is PostStatus.IN_DOUBT, post.last_error
    assert "the channel could not be asked" in (post.last_error or "")
    assert "visibility posts confirm" in (post.last_error or "")
    assert engine.outcomes(post_id) == ["uncertain", "check-retry", "in_doubt"]
    assert engine.posts(text) == 1  # X has it (the 503 came after); never sent twice
    assert len(engine.x.tweets[engine.x.account.username]) == 1


def test_a_post_whose_tries_ran_out_is_sent_again_when_a_person_retries_it(
    engine: Engine,
) -> None:
    post_id, text = one_post(engine, "retry")
    # X is unreachable for a while: each request dies unanswered (never acted on).
    engine.x.fail_next(2, path=TWEETS, drop=True)
    publisher = engine.publisher(max_attempts=2)
    for _ in range(3):
        publisher.run_due()
        if engine.app.store.get_post(post_id).status is not PostStatus.SCHEDULED:
            break
        engine.due_again(post_id)
    given_up = engine.app.store.get_post(post_id)
    assert given_up.status is PostStatus.FAILED
    assert (given_up.last_error or "").startswith("gave up after 2 attempts")
    assert engine.outcomes(post_id) == ["uncertain", "uncertain", "failed"]
    assert engine.x.tweets[engine.x.account.username] == []
    # X is back. A person retries the post and schedules it for now.
    engine.app.retry(post_id)
    engine.app.schedule(post_id, mode="now", now=engine.clock[0])
    publisher.run_due()
    post = engine.app.store.get_post(post_id)
    assert post.status is PostStatus.PUBLISHED, (post.last_error, engine.outcomes(post_id))
    assert_published_exactly_once(engine.app, engine.x, [post_id], tally=engine.tally)
    assert engine.posts(text) == 3


# -- the storm ----------------------------------------------------------------------

STORM_POSTS = 100
#: After each tweet request, the chance that the next one misbehaves, and how.
FAULT_SHARE = 0.3
TIMELINE_FAULT_SHARE = 0.25
FAULTS: dict[str, dict[str, Any]] = {
    "503 after posting": unavailable(503),
    "500 after posting": unavailable(500),
    "slow (past the timeout), then posted": {"delay": 1.0},
    "connection dropped": {"drop": True},
}


class FaultArmer:
    """Arms a random fault for the next request, after a share of requests.

    Armed one at a time, so faults spread over the whole run rather than
    hitting the first requests in a row.
    """

    def __init__(self, x: XEmulator, rng: random.Random) -> None:
        self.x = x
        self.rng = rng
        self.armed: Counter[str] = Counter()
        self.lock = threading.Lock()

    def _pending(self, path: str) -> bool:
        with self.x.lock:
            return any(f.path == path for f in self.x.faults)

    def __call__(self, request: Request, response: Response | None) -> None:
        if response is None:
            return
        tweet = request.method == "POST" and request.path == TWEETS_PATH
        timeline = request.method == "GET" and re.match(TIMELINE, request.path) is not None
        with self.lock:
            if tweet and not self._pending(TWEETS) and self.rng.random() < FAULT_SHARE:
                kind = self.rng.choice(sorted(FAULTS))
                self.x.fail_next(1, path=TWEETS, **FAULTS[kind])
                self.armed[kind] += 1
            elif (
                timeline
                and not self._pending(TIMELINE)
                and self.rng.random() < TIMELINE_FAULT_SHARE
            ):
                self.x.fail_next(1, path=TIMELINE, **unavailable(503))
                self.armed["503 on the timeline"] += 1

    def fired(self) -> dict[str, int]:
        """Faults that hit a request (armed, minus any still waiting at the end)."""
        with self.x.lock:
            for fault in list(self.x.faults):
                kind = next(
                    (k for k, v in FAULTS.items() if fault.path == TWEETS and _same(fault, v)),
                    "503 on the timeline",
                )
                self.armed[kind] -= fault.count
                self.x.faults.remove(fault)
        return dict(self.armed)


def _same(fault: Any, spec: dict[str, Any]) -> bool:
    return all(getattr(fault, k) == v for k, v in spec.items())


@pytest.mark.slow
def test_a_storm_of_faults_publishes_every_post_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 40 tweets per 2 s window: the storm runs into X's own 429s too.
    limits = {"post_limit": 40, "window_seconds": 2}
    with make_engine(tmp_path, monkeypatch, timeout=0.5, **limits) as engine:
        app = engine.setup.open(
            max_attempts=12,
            # The first retry comes at least 1.2 s later, after a slow request
            # that timed out at 0.5 s (X acts at 1 s) has landed.
            retry_base_seconds=2.4,
            retry_max_seconds=4,
            lease_seconds=10,
            scan_interval=0.3,
        )
        try:
            storm(engine, app)
        finally:
            app.close()


def storm(engine: Engine, app: Visibility) -> None:
    ids = seed_posts(app, STORM_POSTS, tag="storm")
    long_id, dup_id = ids[0], ids[1]
    dup_text = app.store.get_post(dup_id).body.strip()
    app.store.edit(long_id, body="Lajm i gjatë për shoqërinë civile. " * 10)
    app.store.approve(long_id, by="engine-test")
    app.store.schedule(long_id, at=utcnow())
    engine.x.post(dup_text, age_seconds=86_400)
    armer = FaultArmer(engine.x, random.Random(1128))
    engine.x.hooks.append(armer)
    started = time.monotonic()
    Service(app).run_forever(
        until=lambda: settled(app, STORM_POSTS) or time.monotonic() - started > 90,
        poll=0.2,
    )
    elapsed = time.monotonic() - started
    assert settled(app, STORM_POSTS), describe(app)
    fired = armer.fired()
    outcomes = assert_published_exactly_once(
        app,
        engine.x,
        ids,
        tally=engine.tally,
        expect_failed={long_id: TOO_LONG, dup_id: DUPLICATE},
        already_on_x=[dup_text],
    )
    print(
        f"\nstorm: {STORM_POSTS} posts settled in {elapsed:.1f} s; faults: {fired}; "
        f"attempts: {outcomes}; X: {engine.tally.summary()}"
    )
    assert all(fired.get(kind, 0) >= 1 for kind in FAULTS), fired
    assert engine.tally.answers[(f"POST {TWEETS_PATH}", 429)] >= 1
    assert outcomes.get("found", 0) >= 1 and outcomes.get("uncertain", 0) >= 1
    assert outcomes.get("rate-limited", 0) >= 1  # the 429s
    assert engine.tally.created == STORM_POSTS - 2
