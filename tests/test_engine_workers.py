"""Several workers on one PostgreSQL queue: 2,000 tweets due at the same moment.

Four ``python -m visibility run`` processes share the queue. Claims use
``FOR UPDATE SKIP LOCKED`` and a per-platform advisory lock, so they must
split the work without ever taking the same post twice: each post goes out
once on X and is recorded once, none is left behind, and every worker did
some of it.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest
from engine_harness import (
    Tally,
    WorkerProcess,
    assert_published_exactly_once,
    attempt_log,
    describe,
    run_cli,
    seed_posts,
    settled,
    truncate,
    wait_until,
    x_emulator,
    x_setup,
)

from visibility.queue.types import utcnow

POSTS = 2000
WORKERS = 4


@pytest.mark.slow
@pytest.mark.postgres
def test_four_workers_publish_2000_posts_due_at_once_each_exactly_once(
    pg_schema_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    truncate(pg_schema_url)
    x = x_emulator()
    tally = Tally()
    x.hooks.append(tally)
    setup = x_setup(tmp_path, x, database_url=pg_schema_url, setenv=monkeypatch.setenv)
    app = setup.open()
    env = setup.env(scan_interval=0.5, lease_seconds=30, platform_concurrency=16, publish_threads=4)
    workers = [WorkerProcess(f"worker{n}", env, tmp_path) for n in range(1, WORKERS + 1)]
    try:
        begun = time.monotonic()
        # One due time for all: by the time the workers are up, all 2,000 are due at once.
        ids = seed_posts(app, POSTS, tag="workers", at=utcnow(), threads=4)
        seeded = time.monotonic() - begun
        for worker in workers:
            worker.start()
        started = time.monotonic()

        def all_alive() -> None:
            dead = [w.worker_id for w in workers if not w.alive]
            assert not dead, f"{dead} died:\n" + "\n".join(w.log_tail() for w in workers)

        assert wait_until(
            lambda: len(app.store.workers()) == WORKERS, timeout=60, tick=all_alive
        ), app.store.workers()
        status = run_cli(setup, "status", "--json")
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        alive = {w["name"] for w in report["workers"] if w["state"] == "alive"}
        assert alive == {w.worker_id for w in workers}, report["workers"]

        done = wait_until(lambda: settled(app, POSTS), timeout=150, poll=0.25, tick=all_alive)
        assert done, f"not settled: {describe(app)}; X: {tally.summary()}"
        elapsed = time.monotonic() - started
        assert [w.stop() for w in workers] == [0] * WORKERS, [w.log_tail() for w in workers]

        outcomes = assert_published_exactly_once(app, x, ids, tally=tally)
        # No post was ever claimed twice: one attempt each, and it published.
        assert outcomes == {"published": POSTS}
        assert tally.created == POSTS
        assert app.store.count_due(utcnow()) == 0
        share = Counter(a.worker for a in attempt_log(app))
        assert set(share) == {w.worker_id for w in workers}, share
        print(
            f"\n{POSTS} posts seeded in {seeded:.1f} s, published by {WORKERS} workers in "
            f"{elapsed:.1f} s ({POSTS / elapsed:.0f}/s); per worker: {dict(sorted(share.items()))}; "
            f"status during the run: posts {report['posts']}, in flight {report['in_flight']}"
        )
    finally:
        for worker in workers:
            worker.stop()
        app.close()
        x.stop()
        truncate(pg_schema_url)  # the schema is shared with the session's other tests
