"""Shared helpers for the engine tests: real workers, a real X emulator, many posts.

The engine tests drive the publishing engine as it runs in production:
``python -m visibility run`` worker processes (or the in-process ``Service``)
publishing through the real X adapter to the X emulator on loopback. This
module builds the channels file, seeds posts, starts, kills and restarts
workers, watches the queue until it settles, and checks the one property that
matters: every post is on the channel exactly once, and the database says so.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session, col, select

from emulators.server import Request, Response
from emulators.x import XEmulator
from visibility.config.settings import Settings, load_settings
from visibility.queue import db
from visibility.queue.models import PublishAttempt
from visibility.queue.states import PostStatus
from visibility.queue.types import utcnow
from visibility.queue.views import PostView
from visibility.workflow import Visibility

#: Everything the engine writes; TRUNCATE them before a test on a shared schema.
TABLES = "publish_attempt, post, news_item, channel_account, worker"
#: Statuses a post stays in until a person acts.
SETTLED = frozenset(
    {PostStatus.PUBLISHED, PostStatus.FAILED, PostStatus.IN_DOUBT, PostStatus.CANCELLED}
)
#: Environment variables the test run itself relies on (see conftest's clean-up).
_KEPT_SETTINGS = frozenset(
    {
        "VISIBILITY_TEST_POSTGRES_URL",
        "VISIBILITY_TWITTER_TEXT_DATA",
        "VISIBILITY_REQUIRE_POSTGRES",
        "VISIBILITY_REQUIRE_WORDPRESS",
    }
)
TWEETS_PATH = "/2/tweets"


def x_emulator(*, post_limit: int = 1_000_000, window_seconds: int = 10) -> XEmulator:
    """An X emulator that does not rate-limit tweets unless asked to.

    The short window matters too: every restarted worker reads the account
    (``GET /2/users/me``, 75 per window), and dozens of restarts must not
    run into that limit.
    """
    return XEmulator(post_limit=post_limit, window_seconds=window_seconds).start()


# -- configuration --------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """Where a test's engine finds its channels file, secrets and database."""

    channels_file: Path
    secrets: dict[str, str]
    data_dir: Path
    database_url: str | None = None

    def settings(self, **overrides: object) -> Settings:
        """Settings for an in-process ``Visibility`` (the secrets must be in os.environ)."""
        values: dict[str, object] = {
            "channels_file": self.channels_file,
            "data_dir": self.data_dir,
            "scan_interval": 0.5,
        }
        if self.database_url is not None:
            values["database_url"] = self.database_url
        values.update(overrides)
        return load_settings(**values)

    def open(self, **overrides: object) -> Visibility:
        return Visibility.open(self.settings(**overrides))

    def env(self, **settings: object) -> dict[str, str]:
        """The environment of a worker process: its secrets and ``VISIBILITY_*`` settings."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("VISIBILITY_") or k in _KEPT_SETTINGS
        }
        env.update(self.secrets)
        env["VISIBILITY_DATA_DIR"] = str(self.data_dir)
        env["VISIBILITY_CHANNELS_FILE"] = str(self.channels_file)
        if self.database_url is not None:
            env["VISIBILITY_DATABASE_URL"] = self.database_url
        for name, value in settings.items():
            env[f"VISIBILITY_{name.upper()}"] = str(value)
        return env


def x_setup(
    tmp_path: Path,
    x: XEmulator,
    *,
    timeout: float = 5.0,
    database_url: str | None = None,
    setenv: Callable[[str, str], None] | None = None,
) -> Setup:
    """A channels file with one X account (``x``) on the emulator, and nothing else.

    No website channel, so tweets carry no ``{link}`` and never wait for an
    article. ``setenv`` (``monkeypatch.setenv``) puts the secrets in this
    process's environment too, for an in-process ``Visibility``.
    """
    account = x.account
    secrets = {
        "ENGINE_X_KEY": x.consumer_key,
        "ENGINE_X_SECRET": x.consumer_secret,
        "ENGINE_X_TOKEN": account.access_token,
        "ENGINE_X_TOKEN_SECRET": account.access_token_secret,
    }
    if setenv is not None:
        for name, value in secrets.items():
            setenv(name, value)
    path = tmp_path / "engine-channels.toml"
    path.write_text(
        f"""
[[channels]]
name = "x"
kind = "twitter"
secrets.api_key = "ENGINE_X_KEY"
secrets.api_secret = "ENGINE_X_SECRET"
secrets.access_token = "ENGINE_X_TOKEN"
secrets.access_token_secret = "ENGINE_X_TOKEN_SECRET"
options = {{ base_url = "{x.base_url}", timeout = {timeout} }}
""",
        encoding="utf-8",
    )
    return Setup(path, secrets, tmp_path / "data", database_url)


def truncate(database_url: str) -> None:
    """Empty the engine's tables on a shared PostgreSQL schema."""
    engine = db.make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


# -- posts ------------------------------------------------------------------------


def news_text(tag: str, number: int) -> str:
    """A short news item whose tweet text is unique to ``tag`` and ``number``."""
    return (
        f"Njoftim {tag} nr. {number} për shoqërinë civile\n\n"
        f"Trajnimi {number} ({tag}) mbahet në Tiranë për organizatat e shoqërisë civile."
    )


def seed_posts(
    app: Visibility,
    count: int,
    *,
    tag: str,
    at: datetime | None = None,
    threads: int = 1,
) -> list[int]:
    """Add ``count`` news items, approve and schedule their tweet at ``at`` (default now).

    All posts share one due time. ``threads`` > 1 seeds in parallel
    (PostgreSQL; SQLite serialises writers anyway).
    """
    when = at or utcnow()

    def one(number: int) -> int:
        added = app.add_news_text(news_text(tag, number), language="sq")
        (post,) = added.posts
        # The store's own moves: the derived tweets need no re-check, and 2,000 add up.
        app.store.approve(post.id, by="engine-test")
        app.store.schedule(post.id, at=when)
        return post.id

    if threads <= 1:
        return [one(n) for n in range(count)]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(count)))


def all_posts(app: Visibility) -> list[PostView]:
    return app.store.list_posts(limit=1_000_000)


def attempt_log(app: Visibility) -> list[PublishAttempt]:
    """Every publish attempt, oldest first."""
    with Session(app.engine) as session:
        return list(session.exec(select(PublishAttempt).order_by(col(PublishAttempt.id))))


def settled(app: Visibility, total: int) -> bool:
    counts = app.store.count_by_status()
    return sum(counts.values()) == total and all(s in SETTLED for s in counts)


def wait_until(
    done: Callable[[], bool],
    *,
    timeout: float,
    poll: float = 0.1,
    tick: Callable[[], None] | None = None,
) -> bool:
    """Poll ``done`` (calling ``tick`` between polls) until true or ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    while True:
        if done():
            return True
        if time.monotonic() > deadline:
            return False
        if tick is not None:
            tick()
        time.sleep(poll)


def describe(app: Visibility) -> str:
    """The queue in one line, for assertion messages."""
    counts = app.store.count_by_status()
    return ", ".join(f"{s.value}: {n}" for s, n in sorted(counts.items()))


# -- what the platform saw ----------------------------------------------------------


def endpoint(request: Request) -> str:
    """``POST /2/tweets``, ``GET /2/users/:id/tweets``: a request's endpoint, ids folded."""
    return f"{request.method} {re.sub(r'/[0-9]{5,}', '/:id', request.path)}"


@dataclass
class Tally:
    """An emulator hook that counts what each route did, before any fault replaces it.

    ``created`` counts tweets the platform created; ``duplicates`` the times
    the engine sent a text X already had: the tripwire of a double post.
    """

    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    #: What the platform said in its error answers, by endpoint and status.
    errors: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    duplicates: list[str] = field(default_factory=list)
    #: ``x-rate-limit-reset`` of each 429 answer, in order.
    resets: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Request, response: Response | None) -> None:
        if response is None:
            return
        with self.lock:
            self.answers[(endpoint(request), response.status)] += 1
            body = response.body if isinstance(response.body, dict) else {}
            if response.status >= 400:
                errors = body.get("errors")
                said = errors[0].get("message") if isinstance(errors, list) and errors else None
                said = str(said or body.get("detail") or body.get("title") or "")[:120]
                self.errors[(endpoint(request), response.status, str(said))] += 1
            if response.status == 429:
                self.resets.append(int(response.headers["x-rate-limit-reset"]))
            if response.status == 403 and "duplicate" in str(body.get("detail", "")):
                self.duplicates.append(str(request.json().get("text")))

    @property
    def created(self) -> int:
        return self.answers[(f"POST {TWEETS_PATH}", 201)]

    def summary(self) -> str:
        answers = ", ".join(f"{e} → {s}: {n}" for (e, s), n in sorted(self.answers.items()))
        errors = "; ".join(f"{e} {s} {said!r}: {n}" for (e, s, said), n in self.errors.items())
        return f"{answers}" + (f" (errors: {errors})" if errors else "")


def assert_published_exactly_once(
    app: Visibility,
    x: XEmulator,
    post_ids: Iterable[int],
    *,
    tally: Tally | None = None,
    expect_failed: dict[int, str] | None = None,
    already_on_x: Iterable[str] = (),
) -> dict[str, int]:
    """Each post is published once, as the one tweet with its text; returns outcome counts.

    ``expect_failed`` maps posts that must end failed to a phrase their error
    contains; the engine must have created no tweet for them. ``already_on_x``
    are texts tweeted before the run (not by the engine).
    """
    expect_failed = expect_failed or {}
    before = set(already_on_x)
    wanted = set(post_ids)
    posts = {p.id: p for p in all_posts(app) if p.id in wanted}
    assert set(posts) == wanted, f"posts missing from the database: {sorted(wanted - set(posts))}"
    tweets = x.tweets[x.account.username]
    per_text = Counter(t.text for t in tweets)
    doubled = {text: n for text, n in per_text.items() if n > 1}
    assert not doubled, f"posted more than once on X: {doubled}"
    refused_texts = {posts[i].body.strip() for i in expect_failed}
    if tally is not None:
        resent = [t for t in tally.duplicates if t not in refused_texts]
        assert resent == [], f"texts sent again after X had them: {resent}"
    tweet_of = {t.text: t for t in tweets}
    wrong: list[tuple[int, str, str | None]] = []
    for post in posts.values():
        body = post.body.strip()
        phrase = expect_failed.get(post.id)
        if phrase is not None:
            if post.status is not PostStatus.FAILED or phrase not in (post.last_error or ""):
                wrong.append((post.id, post.status.value, post.last_error))
            if body in tweet_of and body not in before:
                wrong.append((post.id, "failed but on X", tweet_of[body].id))
            continue
        if post.status is not PostStatus.PUBLISHED:
            wrong.append((post.id, post.status.value, post.last_error))
            continue
        tweet = tweet_of.get(body)
        if tweet is None:
            wrong.append((post.id, "published but not on X", post.external_id))
        elif post.external_id != tweet.id:
            wrong.append((post.id, f"external_id is not tweet {tweet.id}", post.external_id))
    assert not wrong, f"{len(wrong)} posts wrong (of {len(posts)}): {wrong[:10]}"
    published = {p.body.strip() for p in posts.values() if p.id not in expect_failed}
    strangers = [t.text for t in tweets if t.text not in published and t.text not in before]
    assert not strangers, f"tweets on X that no published post explains: {strangers[:5]}"
    assert len(tweets) == len(published) + len(before & set(tweet_of))
    attempts = [a for a in attempt_log(app) if a.post_id in wanted]
    successes = Counter(a.post_id for a in attempts if a.outcome in ("published", "found"))
    several = {i: successes[i] for i in wanted if i not in expect_failed and successes[i] != 1}
    assert not several, f"posts without exactly one successful attempt: {several}"
    unfinished = [a.post_id for a in attempts if a.finished_at is None]
    assert not unfinished, f"attempts never finished: {unfinished[:10]}"
    return dict(Counter(a.outcome or "-" for a in attempts))


# -- worker processes ---------------------------------------------------------------


class WorkerProcess:
    """One ``python -m visibility run``: started, killed and restarted from any thread.

    Each start is a new generation with its own worker id (``<name>-<n>``),
    as a restarted process on another host or pid would have.
    """

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.generation = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def worker_id(self) -> str:
        return f"{self.name}-{self.generation}"

    @property
    def alive(self) -> bool:
        proc = self.proc
        return proc is not None and proc.poll() is None

    def start(self) -> None:
        with self._lock:
            if self.proc is not None:
                if self.proc.poll() is None:
                    raise RuntimeError(f"{self.worker_id} is still running")
                self.proc.wait()
            self.generation += 1
            env = {**self.env, "VISIBILITY_WORKER_ID": self.worker_id}
            with self.log_path.open("ab") as log:
                log.write(f"---- {self.worker_id} starts\n".encode())
                log.flush()
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "visibility", "run"],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )

    def kill(self, generation: int | None = None) -> bool:
        """SIGKILL the process (only this ``generation``'s, if given); True if it was alive.

        Returns once the process is gone: it runs no further instruction, so
        nothing it had in hand reaches the database or the channel any more.
        """
        with self._lock:
            proc = self.proc
            if proc is None or proc.poll() is not None:
                return False
            if generation is not None and generation != self.generation:
                return False
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return True

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait; returns the exit code (None if it never ran)."""
        with self._lock:
            proc = self.proc
            if proc is None:
                return None
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            return proc.returncode

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def start_workers(
    setup: Setup, count: int, log_dir: Path, *, prefix: str = "worker", **settings: object
) -> list[WorkerProcess]:
    workers = [
        WorkerProcess(f"{prefix}{n}", setup.env(**settings), log_dir) for n in range(1, count + 1)
    ]
    for worker in workers:
        worker.start()
    return workers


def run_cli(setup: Setup, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """``python -m visibility ARGS`` against the same database and channels."""
    return subprocess.run(
        [sys.executable, "-m", "visibility", *args],
        env=setup.env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
