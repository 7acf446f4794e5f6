"""The queue store's contract, run over SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from visibility.errors import NotFoundError, TransitionError
from visibility.news.model import ParsedNews
from visibility.queue.states import PostStatus
from visibility.queue.store import Draft, PostView, Store

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def news(n: int = 1) -> ParsedNews:
    return ParsedNews(
        title=f"LAJMI NR. {n}",
        social_title=f"Lajmi nr. {n}",
        lead=f"Paragrafi i parë i lajmit {n}.",
        paragraphs=(f"Paragrafi i parë i lajmit {n}.", "Paragrafi i dytë."),
        body_html=f"<p>Paragrafi i parë i lajmit {n}.</p><p>Paragrafi i dytë.</p>",
        language="sq",
        source_format="text",
        fingerprint=f"{n:064x}",
    )


DRAFTS = (
    Draft(channel="website", kind="website", title="LAJMI", body="<p>x</p>", excerpt="x"),
    Draft(channel="facebook", kind="facebook", body="Lajmi\n\n{link}", links_to_article=True),
    Draft(channel="twitter", kind="twitter", body="Lajmi {link}", links_to_article=True),
)


def add(store: Store, n: int = 1) -> list[PostView]:
    _, _, posts = store.add_news(news(n), source=f"lajm-{n}.txt", drafts=DRAFTS)
    return posts


def test_news_item_is_stored_once_with_its_drafts(store: Store) -> None:
    first, created, posts = store.add_news(news(), source="a.txt", drafts=DRAFTS)
    again, created_again, posts_again = store.add_news(news(), source="b.txt", drafts=DRAFTS)
    assert created and not created_again
    assert again.id == first.id and again.source == "a.txt"
    assert [p.id for p in posts_again] == [p.id for p in posts]
    assert len(store.list_news()) == 1
    assert len(store.list_posts()) == 3
    assert store.get_news(first.id).paragraphs == news().paragraphs


def test_social_drafts_link_to_the_website_post(store: Store) -> None:
    website, facebook, twitter = add(store)
    assert website.channel == "website" and website.link_post_id is None
    assert facebook.link_post_id == website.id
    assert twitter.link_post_id == website.id
    assert all(p.status is PostStatus.DRAFT for p in (website, facebook, twitter))


def test_unknown_ids_are_named(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no post 999"):
        store.get_post(999)
    with pytest.raises(NotFoundError, match="no news item 999"):
        store.get_news(999)
    with pytest.raises(NotFoundError, match="no post 999"):
        store.approve(999, by="ana")


# -- every state, every move ------------------------------------------------


def reach(store: Store, status: PostStatus) -> PostView:
    """Drive a fresh website post to ``status`` through legal moves only."""
    post = add(store, n=list(PostStatus).index(status) + 1)[0]
    if status is PostStatus.DRAFT:
        return post
    if status is PostStatus.CANCELLED:
        return store.cancel(post.id)
    store.approve(post.id, by="ana")
    if status is PostStatus.APPROVED:
        return store.get_post(post.id)
    store.schedule(post.id, at=NOW)
    if status is PostStatus.SCHEDULED:
        return store.get_post(post.id)
    (claim,) = store.claim_due(worker="w1", now=NOW, lease=LEASE)
    if status is PostStatus.PUBLISHING:
        return store.get_post(post.id)
    if status is PostStatus.PUBLISHED:
        return store.mark_published(claim, worker="w1", external_id="x1", url="https://e.org/1")
    if status is PostStatus.IN_DOUBT:
        return store.mark_in_doubt(claim, worker="w1", reason="the channel cannot tell")
    assert status is PostStatus.FAILED
    return store.mark_failed(claim, worker="w1", error="refused")


ACTIONS = {
    "edit": ({"draft", "approved", "scheduled"}, "draft", lambda s, i: s.edit(i, body="new")),
    "approve": ({"draft"}, "approved", lambda s, i: s.approve(i, by="ana")),
    "schedule": ({"approved", "scheduled"}, "scheduled", lambda s, i: s.schedule(i, at=NOW)),
    "cancel": (
        {"draft", "approved", "scheduled", "failed", "in_doubt"},
        "cancelled",
        lambda s, i: s.cancel(i),
    ),
    "retry": ({"failed"}, "approved", lambda s, i: s.retry(i)),
    "hold": ({"scheduled"}, "approved", lambda s, i: s.hold(i, reason="missed")),
    "confirm": (
        {"in_doubt"},
        "published",
        lambda s, i: s.confirm(i, external_id="9", url="https://e.org/9", by="ana"),
    ),
    "resend": ({"in_doubt"}, "scheduled", lambda s, i: s.resend(i, at=NOW, by="ana")),
}


@pytest.mark.parametrize("status", list(PostStatus), ids=lambda s: s.value)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_transition_is_allowed_or_refused(
    store: Store, status: PostStatus, action: str
) -> None:
    allowed, target, call = ACTIONS[action]
    post = reach(store, status)
    assert post.status is status
    if status.value in allowed:
        after = call(store, post.id)
        assert after.status.value == target
    else:
        with pytest.raises(TransitionError, match=f"post {post.id} is {status.value}; only "):
            call(store, post.id)
        assert store.get_post(post.id).status is status


@pytest.mark.parametrize("status", list(PostStatus), ids=lambda s: s.value)
def test_only_scheduled_posts_are_claimed(store: Store, status: PostStatus) -> None:
    post = reach(store, status)
    claims = store.claim_due(worker="w2", now=NOW + timedelta(hours=1), lease=LEASE)
    assert [c.post.id for c in claims] == ([post.id] if status is PostStatus.SCHEDULED else [])


def test_scheduler_moves_need_the_lease(store: Store) -> None:
    post = reach(store, PostStatus.SCHEDULED)
    (claim,) = store.claim_due(worker="w1", now=NOW, lease=LEASE)
    with pytest.raises(TransitionError, match="changed while marked published"):
        store.mark_published(claim, worker="someone-else", external_id="x", url=None)
    assert store.get_post(post.id).status is PostStatus.PUBLISHING
    done = store.mark_published(claim, worker="w1", external_id="x", url=None)
    assert done.status is PostStatus.PUBLISHED and done.lease_owner is None


def test_edit_sends_an_approved_post_back_to_draft(store: Store) -> None:
    post = reach(store, PostStatus.SCHEDULED)
    edited = store.edit(post.id, body="<p>new</p>", title="NEW")
    assert edited.status is PostStatus.DRAFT
    assert (edited.body, edited.title) == ("<p>new</p>", "NEW")
    assert edited.approved_by is None and edited.approved_at is None
    assert edited.scheduled_at is None
    assert store.claim_due(worker="w", now=NOW + timedelta(days=1), lease=LEASE) == []


def test_approval_records_who(store: Store) -> None:
    post = add(store)[0]
    approved = store.approve(post.id, by="Ardita")
    assert approved.approved_by == "Ardita"
    assert approved.approved_at is not None and approved.approved_at.tzinfo is not None


def test_times_come_back_as_the_same_utc_instant(store: Store) -> None:
    post = add(store)[0]
    store.approve(post.id, by="ana")
    from zoneinfo import ZoneInfo

    local = datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/Belgrade"))
    stored = store.schedule(post.id, at=local)
    assert stored.scheduled_at == local
    assert stored.scheduled_at is not None and stored.scheduled_at.utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="aware"):
        store.schedule(post.id, at=datetime(2026, 1, 1, 9, 0))


def test_claim_takes_due_posts_in_order_and_waits_for_the_article(store: Store) -> None:
    website, facebook, twitter = add(store)
    for post, minutes in ((website, 10), (facebook, 0), (twitter, 5)):
        store.approve(post.id, by="ana")
        store.schedule(post.id, at=NOW + timedelta(minutes=minutes))
    assert store.claim_due(worker="w", now=NOW + timedelta(minutes=9), lease=LEASE) == []
    assert store.count_due(NOW + timedelta(minutes=9)) == 0
    # Only the article can go: the others wait for it, so no wake-up before it.
    assert store.next_due_at() == NOW + timedelta(minutes=10)
    (claim,) = store.claim_due(worker="w", now=NOW + timedelta(minutes=10), lease=LEASE)
    assert claim.post.id == website.id and claim.link is None
    assert claim.post.attempts == 1 and claim.post.lease_owner == "w"
    assert claim.post.lease_expires_at == NOW + timedelta(minutes=10) + LEASE
    store.mark_published(claim, worker="w", external_id="7", url="https://site.example.org/a/7")
    claims = store.claim_due(worker="w", now=NOW + timedelta(minutes=10), lease=LEASE)
    assert [c.post.id for c in claims] == [facebook.id, twitter.id]
    assert {c.link for c in claims} == {"https://site.example.org/a/7"}


def test_requeue_and_attempt_history(store: Store) -> None:
    post = reach(store, PostStatus.SCHEDULED)
    (claim,) = store.claim_due(worker="w", now=NOW, lease=LEASE)
    later = NOW + timedelta(minutes=3)
    back = store.requeue(claim, worker="w", at=later, error="HTTP 503", outcome="retry")
    assert back.status is PostStatus.SCHEDULED and back.scheduled_at == later
    assert back.last_error == "HTTP 503"
    assert store.claim_due(worker="w", now=NOW, lease=LEASE) == []
    (claim2,) = store.claim_due(worker="w", now=later, lease=LEASE)
    store.mark_published(claim2, worker="w", external_id="9", url=None)
    attempts = store.attempts(post.id)
    assert [(a.outcome, a.error, a.external_id) for a in attempts] == [
        ("retry", "HTTP 503", None),
        ("published", None, "9"),
    ]
    assert store.get_post(post.id).attempts == 2


def test_two_actors_racing_for_one_post_cannot_both_win(store: Store) -> None:
    post = reach(store, PostStatus.SCHEDULED)
    other = Store(store.engine)
    store.cancel(post.id)
    with pytest.raises(TransitionError, match="is cancelled"):
        other.schedule(post.id, at=NOW)
    assert other.claim_due(worker="w", now=NOW, lease=LEASE) == []


def test_concurrent_claims_hand_out_each_post_once(store: Store) -> None:
    posts = []
    for n in range(30):
        website = add(store, n=1000 + n)[0]
        store.approve(website.id, by="ana")
        store.schedule(website.id, at=NOW)
        posts.append(website.id)
    got: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        mine = Store(store.engine)
        try:
            while claims := mine.claim_due(worker=name, now=NOW, lease=LEASE, limit=3):
                with lock:
                    got.extend(c.post.id for c in claims)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(got) == sorted(posts)
    assert Counter(got).most_common(1)[0][1] == 1


def test_occupied_times_per_channel(store: Store) -> None:
    website, facebook, _ = add(store)
    for post in (website, facebook):
        store.approve(post.id, by="ana")
    store.schedule(website.id, at=NOW)
    store.schedule(facebook.id, at=NOW + timedelta(hours=1))
    assert store.occupied_times("website", since=NOW) == {NOW}
    assert store.occupied_times("facebook", since=NOW) == {NOW + timedelta(hours=1)}
    assert store.occupied_times("website", since=NOW + timedelta(seconds=1)) == set()


def test_channels_removed_from_configuration_keep_their_rows(store: Store) -> None:
    from visibility.config.channels import load_channels

    channels = load_channels(None).channels
    store.sync_channels(channels[:1])
    accounts = {a.name: a.configured for a in store.channel_accounts()}
    assert accounts == {"website": True, "facebook": False, "twitter": False}
    store.sync_channels(channels)
    assert all(a.configured for a in store.channel_accounts())
