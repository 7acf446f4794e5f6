"""The scheduler service end to end: due posts published to the dry-run outbox."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from visibility.adapters.base import Account, Adapter, Publication, Published
from visibility.adapters.dry_run import DryRunAdapter, read_outbox
from visibility.config.settings import load_settings
from visibility.errors import PermanentChannelError, RetryableChannelError
from visibility.queue.states import PostStatus
from visibility.service.publisher import Publisher, RetryPolicy
from visibility.service.runner import Service
from visibility.text.tweet import weighted_length
from visibility.workflow import DEMO_SAMPLE, Visibility

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def app() -> Iterator[Visibility]:
    visibility = Visibility.open(load_settings(scan_interval=60))
    yield visibility
    visibility.close()


def approve_all(app: Visibility) -> list[int]:
    added = app.add_news_file(DEMO_SAMPLE)
    for post in added.posts:
        app.approve(post.id, by="Ardita")
    return [p.id for p in added.posts]


def statuses(app: Visibility, ids: list[int]) -> list[PostStatus]:
    return [app.store.get_post(i).status for i in ids]


def run_until(app: Visibility, done: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    service = Service(app)
    service.run_forever(until=lambda: done() or time.monotonic() > deadline, poll=0.05)


def test_due_posts_are_published_in_order_with_the_article_link(app: Visibility) -> None:
    website, facebook, twitter = approve_all(app)
    now = datetime.now(UTC)
    # The social posts fall due first but wait for the article they link to.
    app.schedule(facebook, mode="now")
    app.schedule(twitter, mode="now")
    app.schedule(website, at=now + timedelta(seconds=1))
    ids = [website, facebook, twitter]
    # scan_interval is 60 s: only the wake-up at the due time can publish this soon.
    run_until(app, lambda: all(s is PostStatus.PUBLISHED for s in statuses(app, ids)))
    assert statuses(app, ids) == [PostStatus.PUBLISHED] * 3

    data_dir = app.settings.data_dir
    (article,) = read_outbox(data_dir, "website")
    (fb,) = read_outbox(data_dir, "facebook")
    (tweet,) = read_outbox(data_dir, "twitter")
    assert article["title"] == app.store.get_news(1).social_title
    assert str(article["url"]) in str(fb["body"]) and str(article["url"]) in str(tweet["body"])
    assert "{link}" not in str(tweet["body"])
    assert weighted_length(str(tweet["body"])) <= 280
    published = {i: app.store.get_post(i) for i in ids}
    assert published[website].external_url == article["url"]
    article_at, tweet_at = published[website].published_at, published[twitter].published_at
    assert article_at is not None and tweet_at is not None and article_at <= tweet_at
    assert [a.outcome for a in app.store.attempts(twitter)] == ["published"]


def test_a_cancel_or_edit_from_another_process_reaches_the_scheduler(app: Visibility) -> None:
    website, facebook, twitter = approve_all(app)
    soon = datetime.now(UTC) + timedelta(seconds=1)
    for post_id in (website, facebook, twitter):
        app.schedule(post_id, at=soon)
    # Another process (the CLI) changes the queue through its own connection.
    other = Visibility.open(app.settings)
    other.cancel(facebook)
    other.edit(twitter, body="Ndryshuar {link}")
    other.close()
    run_until(app, lambda: app.store.get_post(website).status is PostStatus.PUBLISHED)
    time.sleep(0.2)
    assert statuses(app, [website, facebook, twitter]) == [
        PostStatus.PUBLISHED,
        PostStatus.CANCELLED,
        PostStatus.DRAFT,
    ]
    assert read_outbox(app.settings.data_dir, "facebook") == []
    assert read_outbox(app.settings.data_dir, "twitter") == []


class Scripted(Adapter):
    """A channel that answers with a scripted series of errors, then publishes."""

    def __init__(self, inner: Adapter, errors: list[Exception]) -> None:
        self.channel = inner.channel
        self.inner = inner
        self.errors = errors
        self.calls = 0
        self.lookups = 0

    def check(self) -> Account:
        return self.inner.check()

    def find_published(self, publication: Publication, since: datetime) -> Published | None:
        self.lookups += 1
        return self.inner.find_published(publication, since)

    def publish(self, publication: Publication) -> Published:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.inner.publish(publication)


def publisher_for(app: Visibility, adapter: Adapter, clock: list[datetime]) -> Publisher:
    return Publisher(
        app.store,
        {adapter.channel: adapter},
        worker="test-worker",
        retry=RetryPolicy(max_attempts=3, base_delay=timedelta(seconds=10)),
        clock=lambda: clock[0],
    )


def dry(app: Visibility, channel: str) -> DryRunAdapter:
    return DryRunAdapter(
        channel, data_dir=app.settings.data_dir, base_url=app.settings.dry_run_base_url
    )


def test_one_pass_publishes_the_article_then_the_posts_that_waited_for_it(
    app: Visibility,
) -> None:
    website, facebook, twitter = approve_all(app)
    start = datetime.now(UTC)
    for post in (website, facebook, twitter):
        app.schedule(post, at=start)
    adapters: dict[str, Adapter] = {c: dry(app, c) for c in ("website", "facebook", "twitter")}
    publisher = Publisher(app.store, adapters, worker="test-worker", clock=lambda: start)
    # The first claim can only take the article; its success is recorded
    # before the next claim, which then finds the social posts ready.
    result = publisher.run_due()
    publisher.close()
    assert sorted(result.published) == sorted([website, facebook, twitter])
    assert statuses(app, [website, facebook, twitter]) == [PostStatus.PUBLISHED] * 3
    assert publisher.in_flight == 0
    article_url = app.store.get_post(website).external_url
    assert article_url and article_url in str(read_outbox(app.settings.data_dir, "twitter")[0])


class Slow(Adapter):
    """A channel that takes ``seconds`` to accept each post (a stop can come mid-publish)."""

    def __init__(self, inner: Adapter, seconds: float) -> None:
        self.channel = inner.channel
        self.inner = inner
        self.seconds = seconds
        self.started = threading.Event()
        self.sent: list[int] = []

    def check(self) -> Account:
        return self.inner.check()

    def find_published(self, publication: Publication, since: datetime) -> Published | None:
        return self.inner.find_published(publication, since)

    def publish(self, publication: Publication) -> Published:
        self.started.set()
        time.sleep(self.seconds)
        self.sent.append(publication.post_id)
        return self.inner.publish(publication)


def scheduled_articles(app: Visibility, count: int) -> list[int]:
    """``count`` news items whose website post is due now (their social posts are not)."""
    ids = []
    for n in range(count):
        added = app.add_news_text(f"Lajmi {n}\n\nNjë njoftim për organizatat, numri {n}.\n")
        (website,) = [p for p in added.posts if p.channel == "website"]
        app.approve(website.id, by="Ardita")
        app.schedule(website.id, at=datetime.now(UTC))
        ids.append(website.id)
    return ids


def behind_a_slow_channel(app: Visibility) -> tuple[list[int], Slow, Publisher]:
    """Four articles due on a website that takes 1 s each, and one thread for them.

    All four are claimed at once: the last waits 3 s for its turn, longer than
    the 2.4 s lease it was claimed with.
    """
    ids = scheduled_articles(app, 4)
    adapter = Slow(dry(app, "website"), seconds=1.0)
    publisher = Publisher(
        app.store,
        {adapter.channel: adapter},
        worker="test-worker",
        threads=1,
        batch=4,
        lease=timedelta(seconds=2.4),
    )
    return ids, adapter, publisher


@pytest.mark.slow
def test_heartbeats_keep_posts_queued_behind_a_slow_publish_leased(app: Visibility) -> None:
    ids, adapter, publisher = behind_a_slow_channel(app)
    stop = threading.Event()
    recovered: list[int] = []

    def housekeeping() -> None:
        # What the service's housekeeping job does, only more often.
        while not stop.wait(0.1):
            publisher.heartbeat()
            recovered.extend(app.store.recover_expired(datetime.now(UTC)))

    helper = threading.Thread(target=housekeeping)
    helper.start()
    try:
        result = publisher.run_due()
    finally:
        stop.set()
        helper.join()
        publisher.close()
    assert recovered == [] and result.released == []
    assert sorted(result.published) == sorted(ids) and sorted(adapter.sent) == sorted(ids)
    assert all([a.outcome for a in app.store.attempts(i)] == ["published"] for i in ids)


@pytest.mark.slow
def test_a_post_whose_lease_ran_down_is_given_back_not_sent(app: Visibility) -> None:
    ids, adapter, publisher = behind_a_slow_channel(app)
    # No heartbeats: by its turn (2 s after the claim), the last post has less
    # than a quarter of its lease left, so it goes back to the queue unsent,
    # is claimed again with a fresh lease, and published then.
    result = publisher.run_due()
    publisher.close()
    first, last = ids[0], ids[-1]
    assert last in result.released and first not in result.released
    assert sorted(result.published) == sorted(ids) and sorted(adapter.sent) == sorted(ids)
    outcomes = [a.outcome for a in app.store.attempts(last)]
    assert outcomes[0] == "released" and outcomes[-1] == "published"
    post = app.store.get_post(last)
    assert post.status is PostStatus.PUBLISHED
    assert post.attempts == 1  # a try given back unsent does not count


def test_a_failed_group_commit_is_tried_again(app: Visibility) -> None:
    ids = scheduled_articles(app, 3)
    failures = []

    def drop_first_commit(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        # The database edge: the first batch of successes meets an I/O error.
        batch = statement.startswith("UPDATE post SET status") and "published" in str(parameters)
        if batch and not failures:
            failures.append(statement)
            raise sqlite3.OperationalError("disk I/O error")

    event.listen(app.store.engine, "before_cursor_execute", drop_first_commit)
    try:
        adapter = dry(app, "website")
        publisher = Publisher(app.store, {"website": adapter}, worker="test-worker")
        result = publisher.run_due()
        publisher.close()
    finally:
        event.remove(app.store.engine, "before_cursor_execute", drop_first_commit)
    assert failures, "the fault was never injected"
    assert sorted(result.published) == sorted(ids) and result.in_doubt == []
    assert statuses(app, ids) == [PostStatus.PUBLISHED] * 3
    assert len(read_outbox(app.settings.data_dir, "website")) == 3


def test_retryable_errors_back_off_then_publish(app: Visibility) -> None:
    website = approve_all(app)[0]
    start = datetime.now(UTC)
    app.schedule(website, at=start)
    reset = start + timedelta(minutes=15)
    adapter = Scripted(
        dry(app, "website"),
        [
            RetryableChannelError("connection refused", reached=False),
            RetryableChannelError("rate limited", retry_after=reset, reached=False),
        ],
    )
    clock = [start]
    publisher = publisher_for(app, adapter, clock)
    assert publisher.run_due().retried == [website]
    first_retry = app.store.get_post(website).scheduled_at
    assert first_retry is not None
    assert start + timedelta(seconds=5) <= first_retry <= start + timedelta(seconds=10)
    assert publisher.run_due().retried == []  # not due yet
    clock[0] = first_retry
    assert publisher.run_due().retried == [website]
    assert app.store.get_post(website).scheduled_at == reset  # the channel's reset time wins
    clock[0] = reset
    assert publisher.run_due().published == [website]
    publisher.close()
    post = app.store.get_post(website)
    assert post.status is PostStatus.PUBLISHED and post.last_error is None
    assert [(a.outcome, a.error) for a in app.store.attempts(website)] == [
        ("retry", "connection refused"),
        ("rate-limited", "rate limited"),
        ("published", None),
    ]
    assert adapter.lookups == 0  # never sent: nothing to look for
    assert post.attempts == 2  # the rate-limited try was not counted


def test_a_rate_limit_pauses_the_whole_channel(app: Visibility) -> None:
    ids = approve_all(app)
    website = ids[0]
    start = datetime.now(UTC)
    app.schedule(website, at=start)
    reset = start + timedelta(minutes=15)
    adapter = Scripted(
        dry(app, "website"), [RetryableChannelError("429", retry_after=reset, reached=False)]
    )
    clock = [start]
    publisher = publisher_for(app, adapter, clock)
    publisher.run_due()
    # Another post for the same channel, due now, waits for the reset too.
    other = app.add_news_text("Lajm tjetër\n\nNjë njoftim tjetër për OShC-të.\n").posts[0]
    app.approve(other.id, by="Ardita")
    app.schedule(other.id, at=start)
    clock[0] = start + timedelta(minutes=1)
    assert publisher.run_due().published == []
    assert app.store.next_due_at() == reset
    clock[0] = reset
    assert sorted(publisher.run_due().published) == sorted([website, other.id])
    publisher.close()
    assert adapter.calls == 3


def test_retries_stop_after_max_attempts(app: Visibility) -> None:
    website = approve_all(app)[0]
    start = datetime.now(UTC)
    app.schedule(website, at=start)
    adapter = Scripted(dry(app, "website"), [RetryableChannelError("refused", reached=False)] * 5)
    clock = [start]
    publisher = publisher_for(app, adapter, clock)
    for _ in range(3):
        publisher.run_due()
        clock[0] += timedelta(hours=2)
    publisher.close()
    post = app.store.get_post(website)
    assert post.status is PostStatus.FAILED
    assert post.last_error == "gave up after 3 attempts: refused"
    assert adapter.calls == 3


class AcceptedThenTimedOut(Adapter):
    """The platform took the post, but the answer never came back."""

    def __init__(self, inner: Adapter) -> None:
        self.channel = inner.channel
        self.inner = inner
        self.calls = 0

    def check(self) -> Account:
        return self.inner.check()

    def publish(self, publication: Publication) -> Published:
        self.calls += 1
        self.inner.publish(publication)
        raise RetryableChannelError("the site did not answer within 30 s")

    def find_published(self, publication: Publication, since: datetime) -> Published | None:
        return self.inner.find_published(publication, since)


def test_an_unknown_outcome_is_checked_not_resent(app: Visibility) -> None:
    website = approve_all(app)[0]
    start = datetime.now(UTC)
    app.schedule(website, at=start)
    adapter = AcceptedThenTimedOut(dry(app, "website"))
    clock = [start]
    publisher = publisher_for(app, adapter, clock)
    assert publisher.run_due().retried == [website]
    assert app.store.get_post(website).needs_check
    clock[0] += timedelta(hours=1)
    assert publisher.run_due().published == [website]
    publisher.close()
    assert adapter.calls == 1
    assert len(read_outbox(app.settings.data_dir, "website")) == 1  # exactly once
    post = app.store.get_post(website)
    assert post.external_id == "website-1" and not post.needs_check
    assert [a.outcome for a in app.store.attempts(website)] == ["uncertain", "found"]


def test_an_unknown_outcome_that_did_not_go_through_is_sent_again(app: Visibility) -> None:
    website = approve_all(app)[0]
    start = datetime.now(UTC)
    app.schedule(website, at=start)
    adapter = Scripted(dry(app, "website"), [RetryableChannelError("HTTP 502 from the site")])
    clock = [start]
    publisher = publisher_for(app, adapter, clock)
    publisher.run_due()
    clock[0] += timedelta(hours=1)
    assert publisher.run_due().published == [website]
    publisher.close()
    assert (adapter.calls, adapter.lookups) == (2, 1)
    assert [a.outcome for a in app.store.attempts(website)] == ["uncertain", "published"]


def test_a_channel_that_cannot_tell_leaves_the_post_in_doubt(app: Visibility) -> None:
    website = approve_all(app)[0]
    start = datetime.now(UTC)
    app.schedule(website, at=start)

    class Silent(Scripted):
        def find_published(self, publication: Publication, since: datetime) -> Published | None:
            raise PermanentChannelError("the webhook cannot say whether the page exists")

    adapter = Silent(dry(app, "website"), [RetryableChannelError("timeout")])
    clock = [start]
    publisher = publisher_for(app, adapter, clock)
    publisher.run_due()
    clock[0] += timedelta(hours=1)
    assert publisher.run_due().in_doubt == [website]
    publisher.close()
    post = app.store.get_post(website)
    assert post.status is PostStatus.IN_DOUBT
    assert "the webhook cannot say" in (post.last_error or "")
    assert "visibility posts confirm" in (post.last_error or "")
    assert adapter.calls == 1  # never re-sent without a person
    # A person looked: it is not there; send it again.
    app.resend(website, by="Ardita")
    clock[0] += timedelta(minutes=1)
    assert publisher_for(app, adapter, clock).run_due().published == [website]


def test_the_last_unknown_outcome_is_checked_before_giving_up(app: Visibility) -> None:
    website = approve_all(app)[0]
    start = datetime.now(UTC)
    app.schedule(website, at=start)
    adapter = Scripted(dry(app, "website"), [RetryableChannelError("timeout")] * 5)
    clock = [start]
    publisher = publisher_for(app, adapter, clock)
    for _ in range(4):
        publisher.run_due()
        clock[0] += timedelta(hours=2)
    publisher.close()
    post = app.store.get_post(website)
    assert post.status is PostStatus.FAILED
    assert post.last_error == "gave up after 3 attempts: timeout"
    assert (adapter.calls, adapter.lookups) == (3, 3)


def test_permanent_errors_fail_at_once(app: Visibility) -> None:
    website = approve_all(app)[0]
    app.schedule(website, mode="now")
    adapter = Scripted(dry(app, "website"), [PermanentChannelError("duplicate content")])
    publisher = publisher_for(app, adapter, [datetime.now(UTC)])
    assert publisher.run_due().failed == [website]
    publisher.close()
    post = app.store.get_post(website)
    assert (post.status, post.last_error, adapter.calls) == (
        PostStatus.FAILED,
        "duplicate content",
        1,
    )


def test_a_channel_removed_from_configuration_fails_its_posts_with_a_reason(
    app: Visibility,
) -> None:
    website = approve_all(app)[0]
    app.schedule(website, mode="now")
    publisher = Publisher(app.store, {}, worker="w")
    assert publisher.run_due().failed == [website]
    publisher.close()
    assert "not configured" in (app.store.get_post(website).last_error or "")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISIBILITY_")}
    env["VISIBILITY_DATA_DIR"] = str(tmp_path / "data")
    env["VISIBILITY_SCAN_INTERVAL"] = "0.5"
    return env


@pytest.mark.slow
def test_python_m_visibility_run_demo_publishes_the_sample(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "visibility", "run", "--demo"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outbox = tmp_path / "data" / "outbox"
    records = {
        name: [json.loads(line) for line in (outbox / f"{name}.jsonl").read_text().splitlines()]
        for name in ("website", "facebook", "twitter")
    }
    assert {k: len(v) for k, v in records.items()} == {"website": 1, "facebook": 1, "twitter": 1}
    article_url = records["website"][0]["url"]
    assert article_url in records["twitter"][0]["body"]
    assert weighted_length(records["twitter"][0]["body"]) <= 280
    assert f"outbox: {outbox}" in result.stdout


@pytest.mark.slow
def test_run_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "visibility", "run"],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        # Wait until the service is up (its database exists and it logged).
        while not (tmp_path / "data" / "visibility.sqlite3").exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(1.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "received SIGTERM, stopping" in err
    assert "visibility stopped" in err
    assert "Traceback" not in err


def test_stopping_lets_the_publish_in_flight_finish_and_leaves_nothing_leased(
    app: Visibility,
) -> None:
    website = approve_all(app)[0]
    app.schedule(website, mode="now")
    slow = Slow(dry(app, "website"), seconds=1.5)
    service = Service(app, adapters={"website": slow})
    service.start()
    assert slow.started.wait(10), "the publish never started"
    service.stop()  # what SIGTERM does, while the adapter call is in flight
    post = app.store.get_post(website)
    assert post.status is PostStatus.PUBLISHED
    assert post.lease_owner is None and post.lease_expires_at is None
    assert app.store.count_by_status().get(PostStatus.PUBLISHING, 0) == 0
    assert [a.outcome for a in app.store.attempts(website)] == ["published"]
    (worker,) = app.store.workers()
    assert worker.stopped_at is not None
