"""The engine's side of the store: leases, recovery, pacing, platform caps, workers.

Run over SQLite and PostgreSQL like the rest of the store contract.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from visibility.config.channels import ChannelConfig, PacingConfig, parse_channels
from visibility.news.model import ParsedNews
from visibility.queue.states import PostStatus
from visibility.queue.store import Draft, Store, Success

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def news(n: int) -> ParsedNews:
    return ParsedNews(
        title=f"Lajmi {n}",
        social_title=f"Lajmi {n}",
        lead=f"Teksti {n}.",
        paragraphs=(f"Teksti {n}.",),
        body_html=f"<p>Teksti {n}.</p>",
        language="sq",
        source_format="text",
        fingerprint=f"{n:064x}",
    )


def scheduled_tweets(store: Store, count: int, *, at: datetime = NOW, start: int = 0) -> list[int]:
    ids = []
    for n in range(start, start + count):
        _, _, (post,) = store.add_news(
            news(n),
            source="t",
            drafts=[Draft(channel="twitter", kind="twitter", body=f"Tweet {n}")],
        )
        store.approve(post.id, by="ana")
        store.schedule(post.id, at=at)
        ids.append(post.id)
    return ids


def paced(store: Store, **pacing: object) -> None:
    """Re-sync the default channels with pacing on the twitter one."""
    config = parse_channels(
        {
            "channels": [
                {"name": "website", "kind": "dry-run", "imitates": "website"},
                {"name": "facebook", "kind": "dry-run", "imitates": "facebook"},
                {"name": "twitter", "kind": "dry-run", "imitates": "twitter", "pacing": pacing},
            ]
        },
        source="<test>",
    )
    store.sync_channels(config.channels)


def test_a_dead_workers_posts_are_recovered_to_be_checked_first(store: Store) -> None:
    (post_id,) = scheduled_tweets(store, 1)
    (claim,) = store.claim_due(worker="w1", now=NOW, lease=LEASE)
    assert claim.check_since is None
    # Still leased: nothing to recover.
    assert store.recover_expired(NOW + LEASE - timedelta(seconds=1)) == []
    assert store.recover_expired(NOW + LEASE + timedelta(seconds=1)) == [post_id]
    post = store.get_post(post_id)
    assert (post.status, post.needs_check, post.lease_owner) == (PostStatus.SCHEDULED, True, None)
    assert "worker w1 stopped while publishing" in (post.last_error or "")
    (attempt,) = store.attempts(post_id)
    assert attempt.outcome == "lost" and attempt.finished_at is not None
    # The next claim carries the time to look for the post on the channel from.
    (again,) = store.claim_due(worker="w2", now=NOW + LEASE * 2, lease=LEASE)
    assert again.check_since == NOW
    # The dead worker, come back, can no longer record anything for it.
    from visibility.errors import TransitionError

    with pytest.raises(TransitionError):
        store.mark_published(claim, worker="w1", external_id="1", url=None)
    done = store.mark_published(again, worker="w2", external_id="1", url=None, outcome="found")
    assert done.status is PostStatus.PUBLISHED and not done.needs_check
    assert [a.outcome for a in store.attempts(post_id)] == ["lost", "found"]


def test_a_batch_of_outcomes_is_recorded_in_one_go(store: Store) -> None:
    ids = scheduled_tweets(store, 5)
    claims = store.claim_due(worker="w", now=NOW, lease=LEASE, limit=5)
    assert sorted(c.post.id for c in claims) == ids
    assert len({c.attempt_id for c in claims}) == 5
    at = NOW + timedelta(seconds=2)
    first = NOW + timedelta(hours=1)
    done = [
        Success(c, f"x-{c.post.id}", f"https://x.example/{c.post.id}", at, next_snapshot_at=first)
        for c in claims
    ]
    assert store.record_published(done, worker="w") == []
    for post_id in ids:
        post = store.get_post(post_id)
        assert (post.status, post.external_id, post.external_url) == (
            PostStatus.PUBLISHED,
            f"x-{post_id}",
            f"https://x.example/{post_id}",
        )
        assert (post.published_at, post.next_snapshot_at, post.lease_owner) == (at, first, None)
        (attempt,) = store.attempts(post_id)
        assert (attempt.outcome, attempt.external_id) == ("published", f"x-{post_id}")
        assert attempt.finished_at is not None
    assert store.record_published([], worker="w") == []


def test_a_batch_records_the_rest_when_leases_were_lost(store: Store) -> None:
    ids = scheduled_tweets(store, 3)
    mine = store.claim_due(worker="w1", now=NOW, lease=LEASE, limit=2)
    late = store.claim_due(worker="w1", now=NOW + LEASE, lease=LEASE, limit=1)
    # The first two leases lapse and recovery takes them; a second worker
    # claims one of them again, the other waits in the queue to be checked.
    assert sorted(store.recover_expired(NOW + LEASE + timedelta(seconds=1))) == sorted(
        c.post.id for c in mine
    )
    (again,) = store.claim_due(worker="w2", now=NOW + LEASE * 2, lease=LEASE, limit=1)
    batch = [Success(c, f"x-{c.post.id}", None, NOW + LEASE) for c in [*mine, *late]]
    lost = store.record_published(batch, worker="w1")
    assert sorted(lost) == sorted(c.post.id for c in mine)
    # The late claim is recorded; the others are untouched, their attempts "lost".
    assert store.get_post(late[0].post.id).status is PostStatus.PUBLISHED
    assert store.get_post(again.post.id).lease_owner == "w2"
    for claim in mine:
        post = store.get_post(claim.post.id)
        assert post.status is not PostStatus.PUBLISHED and post.needs_check
        assert store.attempts(claim.post.id)[0].outcome == "lost"
    assert set(ids) == {c.post.id for c in [*mine, *late]}


def test_heartbeats_and_group_commits_on_the_same_posts_never_deadlock(store: Store) -> None:
    """Heartbeats lock a worker's posts in one statement, a batch one post at a time.

    Without a common order (or skipping locked rows) PostgreSQL detects
    deadlocks here in most rounds; SQLite has one writer at a time anyway.
    """
    rng = random.Random(7)
    rounds, size = 5, 48
    scheduled_tweets(store, rounds * size)
    errors: list[BaseException] = []
    for _ in range(rounds):
        claims = store.claim_due(worker="w", now=NOW, lease=LEASE, limit=size)
        ids = [c.post.id for c in claims]
        stop = threading.Event()

        def heartbeat(ids: list[int] = ids, stop: threading.Event = stop) -> None:
            beats = Store(store.engine)
            try:
                while not stop.is_set():
                    beats.extend_leases(worker="w", post_ids=ids, until=NOW + LEASE * 2)
            except BaseException as exc:  # reported below, with the deadlock in it
                errors.append(exc)

        beating = [threading.Thread(target=heartbeat) for _ in range(3)]
        for thread in beating:
            thread.start()
        try:
            rng.shuffle(claims)
            done = [Success(c, str(c.post.id), None, NOW) for c in claims]
            assert store.record_published(done, worker="w") == []
        finally:
            stop.set()
            for thread in beating:
                thread.join()
        assert errors == []
    assert store.count_by_status() == {PostStatus.PUBLISHED: rounds * size}


def test_heartbeats_keep_a_lease_alive(store: Store) -> None:
    (post_id,) = scheduled_tweets(store, 1)
    store.claim_due(worker="w1", now=NOW, lease=LEASE)
    later = NOW + LEASE * 3
    assert store.extend_leases(worker="w1", post_ids=[post_id], until=later) == [post_id]
    assert store.extend_leases(worker="w2", post_ids=[post_id], until=later) == []
    assert store.recover_expired(NOW + LEASE * 2) == []
    assert store.get_post(post_id).lease_expires_at == later


def test_an_uncertain_attempt_is_checked_before_the_next_send(store: Store) -> None:
    (post_id,) = scheduled_tweets(store, 1)
    (claim,) = store.claim_due(worker="w", now=NOW, lease=LEASE)
    store.requeue(claim, worker="w", at=NOW, error="timeout", outcome="uncertain", needs_check=True)
    (again,) = store.claim_due(worker="w", now=NOW, lease=LEASE)
    assert again.check_since == NOW and again.post.needs_check
    # A retry after a rate limit (certainly not sent) keeps the pending check.
    store.requeue(again, worker="w", at=NOW, error="429", outcome="retry")
    assert store.get_post(post_id).needs_check


def test_a_minimum_gap_spreads_a_burst(store: Store) -> None:
    paced(store, min_gap_seconds=60)
    ids = scheduled_tweets(store, 3)
    assert [c.post.id for c in store.claim_due(worker="w", now=NOW, lease=LEASE)] == ids[:1]
    assert store.claim_due(worker="w", now=NOW + timedelta(seconds=59), lease=LEASE) == []
    assert store.next_due_at() == NOW + timedelta(seconds=60)
    second = store.claim_due(worker="w", now=NOW + timedelta(seconds=60), lease=LEASE)
    assert [c.post.id for c in second] == ids[1:2]


def test_a_budget_per_window(store: Store) -> None:
    paced(store, max_posts=2, window_hours=1)
    ids = scheduled_tweets(store, 5)
    got = [c.post.id for c in store.claim_due(worker="w", now=NOW, lease=LEASE, limit=10)]
    assert got == ids[:2]
    assert store.claim_due(worker="w", now=NOW + timedelta(minutes=59), lease=LEASE) == []
    assert store.next_due_at() == NOW + timedelta(hours=1)
    later = store.claim_due(worker="w", now=NOW + timedelta(hours=1), lease=LEASE, limit=10)
    assert [c.post.id for c in later] == ids[2:4]


def test_pacing_is_shared_by_concurrent_workers(store: Store) -> None:
    paced(store, max_posts=5, window_hours=1)
    scheduled_tweets(store, 20)
    got: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        mine = Store(store.engine)
        for _ in range(5):
            claims = mine.claim_due(worker=name, now=NOW, lease=LEASE, limit=2)
            with lock:
                got.extend(c.post.id for c in claims)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 5 and len(set(got)) == 5


def test_the_platform_cap_limits_posts_in_flight(store: Store) -> None:
    scheduled_tweets(store, 6)
    first = store.claim_due(worker="w", now=NOW, lease=LEASE, limit=10, platform_cap=2)
    assert len(first) == 2
    assert store.claim_due(worker="w2", now=NOW, lease=LEASE, platform_cap=2) == []
    store.mark_published(first[0], worker="w", external_id="1", url=None)
    assert len(store.claim_due(worker="w2", now=NOW, lease=LEASE, platform_cap=2)) == 1


def test_many_workers_claim_each_post_once_under_a_cap(store: Store) -> None:
    ids = scheduled_tweets(store, 40)
    got: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        mine = Store(store.engine)
        while True:
            claims = mine.claim_due(worker=name, now=NOW, lease=LEASE, limit=3, platform_cap=3)
            if not claims:
                with lock:
                    if len(got) == len(ids):
                        return
                continue
            with lock:
                got.extend(c.post.id for c in claims)
            for claim in claims:
                mine.mark_published(claim, worker=name, external_id=str(claim.post.id), url=None)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(got) == ids
    assert Counter(got).most_common(1)[0][1] == 1


def test_stale_posts_exclude_those_waiting_for_a_check(store: Store) -> None:
    old, recent = (
        scheduled_tweets(store, 1, at=NOW - timedelta(hours=5)),
        scheduled_tweets(store, 1, at=NOW - timedelta(minutes=5), start=10),
    )
    assert [p.id for p in store.stale(before=NOW - timedelta(hours=2))] == old
    (claim,) = store.claim_due(worker="w", now=NOW, lease=LEASE, limit=1)
    store.requeue(
        claim,
        worker="w",
        at=claim.post.scheduled_at or NOW,
        error="t",
        outcome="uncertain",
        needs_check=True,
    )
    assert store.stale(before=NOW - timedelta(hours=2)) == []
    assert recent


def test_workers_are_listed_with_their_heartbeat(store: Store) -> None:
    store.worker_started("host:1", host="host", pid=1)
    store.worker_started("host:2", host="host", pid=2)
    store.worker_heartbeat("host:2")
    store.worker_stopped("host:1")
    workers = {w.name: w for w in store.workers()}
    assert workers["host:1"].stopped_at is not None
    assert workers["host:2"].stopped_at is None
    assert workers["host:2"].heartbeat_at >= workers["host:1"].heartbeat_at


def test_pacing_settings_reach_the_database(store: Store) -> None:
    paced(store, min_gap_seconds=90, max_posts=50, window_hours=24)
    account = {a.name: a for a in store.channel_accounts()}["twitter"]
    assert (account.min_gap_seconds, account.max_posts, account.window_seconds) == (90, 50, 86_400)
    assert PacingConfig().window_seconds == 86_400
    assert ChannelConfig(name="x", kind="dry-run", imitates="twitter").pacing.max_posts is None
