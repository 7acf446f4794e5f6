"""Exactly once through crashes: one worker at a time, SIGKILLed again and again.

A few hundred tweets go out through ``python -m visibility run`` to the X
emulator while the worker is killed with SIGKILL at three kinds of moments:

* during the adapter call, before X acted: an emulator hook kills the worker
  when its ``POST /2/tweets`` arrives, and the request is dropped unanswered,
  so the tweet is never created;
* after X accepted, before the database heard: a hook kills the worker once
  the route created the tweet, before the answer is written;
* at random moments (starting up, claiming, recording, between passes): a
  killer thread.

After each kill a new worker process starts. Leases of two seconds let it
recover the dead worker's posts, check X for each, and send only those X
does not have. In the end every post is on X exactly once and published
exactly once in the database.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from engine_harness import (
    TWEETS_PATH,
    Tally,
    WorkerProcess,
    assert_published_exactly_once,
    attempt_log,
    describe,
    seed_posts,
    settled,
    truncate,
    wait_until,
    x_emulator,
    x_setup,
)

from emulators.server import Request, Response
from visibility.workflow import Visibility

POSTS = 300
#: Share of tweet requests whose worker dies before / after X acts, and how many at most.
KILL_SHARE = 0.06
HOOK_KILLS = 8
#: Workers killed at a random moment: the chance per worker start, and how many at most.
RANDOM_SHARE = 0.7
RANDOM_KILLS = 4
TIMEOUT = 150.0


class CrashHooks:
    """Emulator hooks that SIGKILL the worker around a share of ``POST /2/tweets``."""

    def __init__(self, worker: WorkerProcess, rng: random.Random, kills: Counter[str]) -> None:
        self.worker = worker
        self.rng = rng
        self.kills = kills
        self.lock = threading.Lock()

    def _chosen(self, kind: str) -> bool:
        with self.lock:
            return self.kills[kind] < HOOK_KILLS and self.rng.random() < KILL_SHARE

    def __call__(self, request: Request, response: Response | None) -> None:
        if request.method != "POST" or request.path != TWEETS_PATH:
            return
        if response is None:
            if self._chosen("before X acted") and self.worker.kill():
                self.kills["before X acted"] += 1
                # Drop the request: X never saw it whole, so no tweet.
                raise ConnectionResetError("the worker died mid-request")
        elif response.status == 201 and self._chosen("after X accepted") and self.worker.kill():
            self.kills["after X accepted"] += 1


def random_killer(
    worker: WorkerProcess,
    app: Visibility,
    rng: random.Random,
    kills: Counter[str],
    stop: threading.Event,
) -> None:
    """Kill some worker generations at a random moment soon after they came up."""
    seen = 0
    while not stop.is_set() and kills["at a random moment"] < RANDOM_KILLS:
        generation = worker.generation
        if generation == seen:
            stop.wait(0.02)
            continue
        seen = generation
        if rng.random() >= RANDOM_SHARE:
            continue
        # Registered in the database: it recovers, claims, publishes and records next.
        wait_until(partial(_up_or_gone, worker, generation, app, stop), timeout=30, poll=0.05)
        if stop.wait(rng.uniform(0.05, 0.5)):
            return
        if worker.kill(generation):
            kills["at a random moment"] += 1


def _up_or_gone(
    worker: WorkerProcess, generation: int, app: Visibility, stop: threading.Event
) -> bool:
    if stop.is_set() or worker.generation != generation:
        return True
    name = f"{worker.name}-{generation}"
    return any(w.name == name for w in app.store.workers())


def crash_worker(name: str, setup: Any, tmp_path: Path) -> WorkerProcess:
    """A worker that recovers fast (2 s leases) and never gives a post up over crashes."""
    return WorkerProcess(
        name,
        setup.env(
            lease_seconds=2,
            scan_interval=0.5,
            # Crashes count as attempts: a post caught in many must not give up.
            max_attempts=50,
            retry_base_seconds=0.5,
            log_level="INFO",
        ),
        tmp_path,
    )


def run_until_settled(
    worker: WorkerProcess, app: Visibility, total: int, kills: Counter[str]
) -> float:
    """Start the worker, restart it after each SIGKILL, until all posts settled; seconds."""
    started = time.monotonic()
    worker.start()
    while not settled(app, total):
        assert time.monotonic() - started < TIMEOUT, (
            f"not settled after {TIMEOUT:g} s ({describe(app)}); kills {dict(kills)}\n"
            f"{worker.log_tail()}"
        )
        if not worker.alive:
            assert worker.proc is not None
            assert worker.proc.returncode in (-9, None), worker.log_tail()
            worker.start()
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
        return
    url: str = request.getfixturevalue("pg_schema_url")
    truncate(url)
    yield url
    truncate(url)  # the schema is shared with the session's other tests


@pytest.mark.slow
def test_every_post_is_published_exactly_once_through_sigkills(
    database_url: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = x_emulator()
    tally = Tally()
    kills: Counter[str] = Counter()
    rng = random.Random(20261128)
    stop = threading.Event()
    killer: threading.Thread | None = None
    setup = x_setup(tmp_path, x, database_url=database_url, setenv=monkeypatch.setenv)
    app = setup.open()
    worker = crash_worker("crash", setup, tmp_path)
    try:
        ids = seed_posts(app, POSTS, tag="crash", threads=1 if database_url is None else 4)
        x.hooks += [tally, CrashHooks(worker, rng, kills)]
        killer = threading.Thread(
            target=random_killer, args=(worker, app, rng, kills, stop), daemon=True
        )
        killer.start()
        elapsed = run_until_settled(worker, app, POSTS, kills)
        stop.set()
        killer.join(10)
        assert worker.stop() in (0, -9), worker.log_tail()

        outcomes = assert_published_exactly_once(app, x, ids, tally=tally)
        assert tally.created == POSTS  # X created each tweet once, and nothing else
        log = attempt_log(app)
        # A lease that ran out while its worker was still alive (it started
        # attempts afterwards): recovery cannot tell a slow worker from a dead one.
        last_start: dict[str, datetime] = {}
        for attempt in log:
            last_start[attempt.worker] = max(
                attempt.started_at, last_start.get(attempt.worker, attempt.started_at)
            )
        from_live = sum(
            1
            for a in log
            if a.outcome == "lost" and a.finished_at and last_start[a.worker] > a.finished_at
        )
        kinds = ("before X acted", "after X accepted", "at a random moment")
        print(
            f"\n[{'postgres' if database_url else 'sqlite'}] {POSTS} posts in {elapsed:.1f} s; "
            f"kills: {', '.join(f'{k}: {kills[k]}' for k in kinds)}; "
            f"{worker.generation} worker processes; attempts: {outcomes}; most attempts for "
            f"one post: {max(Counter(a.post_id for a in log).values())}; lost from a live "
            f"worker: {from_live}; X: {tally.summary()}"
        )
        assert kills["before X acted"] >= 3 and kills["after X accepted"] >= 3, dict(kills)
        assert kills["at a random moment"] >= 1, dict(kills)
        # Recovery found the tweets X had accepted from dead workers, and sent nothing twice.
        assert outcomes.get("lost", 0) >= kills["before X acted"] + kills["after X accepted"]
        assert outcomes.get("found", 0) >= kills["after X accepted"]
        found = {a.post_id for a in log if a.outcome == "found"}
        lost = {a.post_id for a in log if a.outcome == "lost"}
        assert found <= lost  # only an attempt cut short leaves something to find
    finally:
        stop.set()
        if killer is not None:
            killer.join(10)
        worker.stop()
        app.close()
        x.stop()


IMAGE_POSTS = 120
UPLOAD_PATH = "/2/media/upload"


def _picture(number: int) -> bytes:
    """A small picture of its own for each post (its own hash: no upload is shared)."""
    import io

    from PIL import Image

    picture = Image.new("RGB", (64, 48), (number % 256, (number * 7) % 256, (number * 13) % 256))
    picture.putpixel((number % 64, (number // 64) % 48), (255, 255, 255))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


class UploadKills:
    """SIGKILLs the worker as a share of its picture uploads arrive (before X stored them)
    or once X stored them (before the worker heard)."""

    def __init__(self, worker: WorkerProcess, rng: random.Random, kills: Counter[str]) -> None:
        self.worker, self.rng, self.kills = worker, rng, kills
        self.lock = threading.Lock()

    def __call__(self, request: Request, response: Response | None) -> None:
        if request.method != "POST" or request.path != UPLOAD_PATH:
            return
        kind = "during an upload" if response is None else "after an upload"
        with self.lock:
            chosen = self.kills[kind] < 4 and self.rng.random() < 0.08
        if chosen and self.worker.kill():
            self.kills[kind] += 1
            if response is None:
                raise ConnectionResetError("the worker died mid-upload")


@pytest.mark.slow
def test_posts_with_pictures_are_published_exactly_once_through_sigkills(
    database_url: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = x_emulator()
    tally = Tally()
    kills: Counter[str] = Counter()
    rng = random.Random(20261203)
    setup = x_setup(tmp_path, x, database_url=database_url, setenv=monkeypatch.setenv)
    app = setup.open()
    worker = crash_worker("crash-pictures", setup, tmp_path)
    try:
        ids = []
        for number in range(IMAGE_POSTS):
            added = app.add_news_text(
                f"Lajmi me foto numër {number}\n\nTrajnimi numër {number} për organizatat.",
                language="sq",
            )
            (post,) = added.posts
            picture = app.add_image(
                added.news.id, _picture(number), name=f"foto-{number}.png", alt=f"Foto {number}"
            )
            app.store.choose_images(post.id, [picture.id], by="engine-test")
            app.approve(post.id, by="engine-reviewer")
            app.schedule(post.id, mode="now")
            ids.append(post.id)
        x.hooks += [tally, CrashHooks(worker, rng, kills), UploadKills(worker, rng, kills)]
        run_until_settled(worker, app, IMAGE_POSTS, kills)
        assert worker.stop() in (0, -9), worker.log_tail()

        assert_published_exactly_once(app, x, ids, tally=tally)
        assert tally.created == IMAGE_POSTS
        tweets = x.tweets[x.account.username]
        assert len(tweets) == IMAGE_POSTS
        uploads = {u.id: u for u in x.uploads}
        for tweet in tweets:
            # Every tweet carries its own picture, with its alt text, exactly once.
            assert len(tweet.media_ids) == 1, tweet
            upload = uploads[tweet.media_ids[0]]
            number = tweet.text.split("numër ")[1].split()[0]
            assert upload.alt == f"Foto {number}", (upload.alt, tweet.text)
        finished = [u for u in x.uploads if u.finalized or not u.chunked]
        # A picture is uploaded again only when its worker died between X storing
        # it and the worker remembering it: at most one per publishing thread
        # (4 by default) for each kill, never once per retry.
        upload_kills = kills["during an upload"] + kills["after an upload"]
        assert len(finished) <= IMAGE_POSTS + 4 * sum(kills.values()), len(finished)
        print(
            f"\n[{'postgres' if database_url else 'sqlite'}] {IMAGE_POSTS} posts with pictures; "
            f"kills: {dict(kills)}; uploads: {len(finished)} for {IMAGE_POSTS} pictures "
            f"({upload_kills} kills around uploads); X: {tally.summary()}"
        )
        assert kills["before X acted"] + kills["after X accepted"] >= 2, dict(kills)
        assert upload_kills >= 2, dict(kills)
    finally:
        worker.stop()
        app.close()
        x.stop()
