"""Engagement snapshots: read at the right ages, in full batches, never before publishing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from emulators.x import XEmulator
from visibility.adapters.twitter import TwitterAdapter
from visibility.config.settings import load_settings
from visibility.engagement.ages import next_reading, parse_ages
from visibility.engagement.collector import Collector
from visibility.errors import ConfigError
from visibility.queue.states import PostStatus
from visibility.service.publisher import Publisher
from visibility.workflow import Visibility

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AGES = parse_ages("1h,6h,24h,3d,7d,30d")


def test_ages_parse_and_sort() -> None:
    assert parse_ages("6h, 1h,3d,90m") == (
        timedelta(hours=1),
        timedelta(minutes=90),
        timedelta(hours=6),
        timedelta(days=3),
    )
    for bad in ("6", "6x", "0h", "1h,,2h"):
        with pytest.raises(ValueError, match="age"):
            parse_ages(bad)


def test_bad_ages_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIBILITY_ENGAGEMENT_AGES", "1h,soon")
    with pytest.raises(ConfigError, match=r"VISIBILITY_ENGAGEMENT_AGES: .*'soon' is not an age"):
        load_settings()


def test_a_late_reading_counts_for_every_age_it_passed() -> None:
    assert next_reading(T0, AGES, T0 + timedelta(minutes=61)) == T0 + timedelta(hours=6)
    # The service was down for two days: the next reading is the 3-day one.
    assert next_reading(T0, AGES, T0 + timedelta(days=2)) == T0 + timedelta(days=3)
    assert next_reading(T0, AGES, T0 + timedelta(days=31)) is None


@pytest.fixture
def x() -> Iterator[XEmulator]:
    with XEmulator(post_limit=10_000) as emulator:
        yield emulator


@pytest.fixture
def app(x: XEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Visibility]:
    account = x.account
    for name, value in {
        "X_KEY": x.consumer_key,
        "X_SECRET": x.consumer_secret,
        "X_TOKEN": account.access_token,
        "X_TOKEN_SECRET": account.access_token_secret,
    }.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "channels.toml"
    path.write_text(
        f"""
[[channels]]
name = "x"
kind = "twitter"
secrets.api_key = "X_KEY"
secrets.api_secret = "X_SECRET"
secrets.access_token = "X_TOKEN"
secrets.access_token_secret = "X_TOKEN_SECRET"
options = {{ base_url = "{x.base_url}" }}
""",
        encoding="utf-8",
    )
    visibility = Visibility.open(load_settings(channels_file=path))
    yield visibility
    visibility.close()


def publish(app: Visibility, count: int, clock: list[datetime]) -> tuple[list[int], TwitterAdapter]:
    ids = []
    for n in range(count):
        added = app.add_news_text(f"Lajmi numër {n}\n\nNjoftim i shkurtër numër {n} për OShC-të.\n")
        (post,) = added.posts
        app.approve(post.id, by="Ardita")
        app.store.schedule(post.id, at=clock[0])
        ids.append(post.id)
    adapter = TwitterAdapter(app.config.channel("x"))
    publisher = Publisher(
        app.store, {"x": adapter}, worker="w", threads=4, platform_cap=None, clock=lambda: clock[0]
    )
    while publisher.run_due().published:
        pass
    publisher.stopping.set()
    assert {app.store.get_post(i).status for i in ids} == {PostStatus.PUBLISHED}
    return ids, adapter


def lookups(x: XEmulator) -> list[list[str]]:
    return [(r.arg("ids") or "").split(",") for r in x.calls(r"^/2/tweets$", "GET")]


def test_snapshots_land_at_their_ages_in_full_batches(app: Visibility, x: XEmulator) -> None:
    clock = [T0]
    ids, adapter = publish(app, 250, clock)
    assert {app.store.get_post(i).next_snapshot_at for i in ids} == {T0 + timedelta(hours=1)}
    collector = Collector(app.store, {"x": adapter}, ages=AGES, clock=lambda: clock[0])

    clock[0] = T0 + timedelta(minutes=59)
    assert collector.run_once().calls == 0

    clock[0] = T0 + timedelta(hours=1)
    x.advance(3600)
    first = collector.run_once()
    assert sorted(first.read) == ids
    assert [len(batch) for batch in lookups(x)] == [100, 100, 50]  # ceil(250 / 100) calls
    assert first.calls == 3

    clock[0] = T0 + timedelta(hours=6)
    x.advance(5 * 3600)
    second = collector.run_once()
    assert sorted(second.read) == ids and second.calls == 3
    series = app.store.snapshots(ids[:1])[ids[0]]
    assert [s.taken_at for s in series] == [T0 + timedelta(hours=1), T0 + timedelta(hours=6)]
    one_hour, six_hours = series
    assert one_hour.reactions is not None and six_hours.reactions is not None
    assert six_hours.impressions is not None and one_hour.impressions is not None
    assert six_hours.impressions > one_hour.impressions  # the emulated figures grew
    assert six_hours.clicks is None or six_hours.clicks >= 0
    assert six_hours.raw["id"] == app.store.get_post(ids[0]).external_id
    assert app.store.get_post(ids[0]).next_snapshot_at == T0 + timedelta(hours=24)


def test_a_failed_reading_is_retried_later_and_publishing_goes_on(
    app: Visibility, x: XEmulator
) -> None:
    clock = [T0]
    ids, adapter = publish(app, 3, clock)
    collector = Collector(app.store, {"x": adapter}, ages=AGES, clock=lambda: clock[0])
    clock[0] = T0 + timedelta(hours=1)
    x.fail_next(1, status=503, path=r"^/2/tweets$")
    result = collector.run_once()
    assert sorted(result.failed) == ids and result.read == []
    post = app.store.get_post(ids[0])
    assert post.status is PostStatus.PUBLISHED  # untouched
    assert post.next_snapshot_at == clock[0] + timedelta(minutes=5)
    assert post.snapshot_failures == 1
    clock[0] += timedelta(minutes=5)
    assert sorted(collector.run_once().read) == ids
    assert app.store.get_post(ids[0]).snapshot_failures == 0


def test_publishing_goes_first(app: Visibility, x: XEmulator) -> None:
    clock = [T0]
    _, adapter = publish(app, 2, clock)
    added = app.add_news_text("Lajm i ri\n\nDuhet të publikohet tani.\n")
    (waiting,) = added.posts
    app.approve(waiting.id, by="Ardita")
    app.store.schedule(waiting.id, at=T0 + timedelta(minutes=30))
    collector = Collector(app.store, {"x": adapter}, ages=AGES, clock=lambda: clock[0])
    clock[0] = T0 + timedelta(hours=1)
    result = collector.run_once()
    assert result.deferred and result.calls == 0
    assert lookups(x) == []


def test_a_post_deleted_on_the_channel_stops_being_read(app: Visibility, x: XEmulator) -> None:
    clock = [T0]
    ids, adapter = publish(app, 2, clock)
    adapter.delete(app.store.get_post(ids[0]).external_id or "")
    collector = Collector(app.store, {"x": adapter}, ages=AGES, clock=lambda: clock[0])
    clock[0] = T0 + timedelta(hours=1)
    result = collector.run_once()
    assert result.gone == [ids[0]] and result.read == [ids[1]]
    assert app.store.get_post(ids[0]).next_snapshot_at is None
    assert app.store.snapshots([ids[0]])[ids[0]] == []


def test_a_post_left_out_of_an_answer_says_why_readings_stopped(
    app: Visibility, x: XEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    clock = [T0]
    ids, adapter = publish(app, 2, clock)
    adapter.delete(app.store.get_post(ids[0]).external_id or "")
    collector = Collector(app.store, {"x": adapter}, ages=AGES, clock=lambda: clock[0])
    clock[0] = T0 + timedelta(hours=1)
    collector.run_once()
    gone, kept = app.store.get_post(ids[0]), app.store.get_post(ids[1])
    assert gone.engagement_note is not None
    assert "left this post out of its answer" in gone.engagement_note
    assert "deleted there" in gone.engagement_note
    assert kept.engagement_note is None
    assert gone.to_dict()["engagement_note"] == gone.engagement_note
    [warning] = [r for r in caplog.records if "left 1 post(s) out" in r.getMessage()]
    assert str(ids[0]) in warning.getMessage()


def test_a_post_confirmed_by_a_person_is_read_like_the_others(
    app: Visibility, x: XEmulator
) -> None:
    added = app.add_news_text("Lajm i dyshimtë\n\nNjoftim për trajnimet e ardhshme.\n")
    (post,) = added.posts
    app.approve(post.id, by="Ardita")
    app.store.schedule(post.id, at=T0)
    claim = app.store.claim_due(worker="w", now=T0, lease=timedelta(minutes=1))[0]
    app.store.mark_in_doubt(claim, worker="w", reason="the platform did not answer")
    tweet = x.post(post.body)
    before = datetime.now(UTC)
    confirmed = app.confirm(
        post.id, url=f"https://x.com/i/status/{tweet.id}", by="Ardita", external_id=tweet.id
    )
    assert confirmed.status is PostStatus.PUBLISHED
    assert confirmed.next_snapshot_at is not None
    assert before + AGES[0] - timedelta(seconds=5) <= confirmed.next_snapshot_at
    assert confirmed.sent is not None and confirmed.sent.body == post.body
    adapter = TwitterAdapter(app.config.channel("x"))
    at = confirmed.next_snapshot_at
    collector = Collector(app.store, {"x": adapter}, ages=AGES, clock=lambda: at)
    assert collector.run_once().read == [post.id]
    assert len(app.store.snapshots([post.id])[post.id]) == 1


def test_the_engagement_retry_wait_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIBILITY_ENGAGEMENT_RETRY_SECONDS", "90")
    assert load_settings().engagement_retry_seconds == 90
    monkeypatch.setenv("VISIBILITY_ENGAGEMENT_RETRY_SECONDS", "0")
    with pytest.raises(ConfigError, match="VISIBILITY_ENGAGEMENT_RETRY_SECONDS"):
        load_settings()
