"""Lateness: how long after its due time a post reaches the platform.

Posts fall due at random instants over about a minute; one ``visibility run``
worker with the default settings (a wake-up job at the next due time, a scan
every 5 s) publishes them on SQLite to a website that answers at once. For
each post: the time its request arrived at the emulator minus its due time.

Target: p99 <= 1 s.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import timedelta

import common

TARGET_P99 = 1.0


def measure(posts: int, spread: float, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    with common.bench_folder("lateness") as folder, common.BenchSite() as site:
        assert isinstance(site, common.BenchSite)
        channels = common.write_channels(folder, site.url)
        with common.sqlite_database(folder) as database:
            common.sync_channels(database, channels)
            workers = common.Workers(folder, database, channels)
            workers.start(1)
            try:
                workers.wait_ready()
                # The first post falls due after the worker's next periodic
                # scan has certainly seen the new rows (scan_interval is 5 s).
                start = common.due_soon(7.0)
                due = sorted(
                    start + timedelta(seconds=rng.uniform(0, spread)) for _ in range(posts)
                )
                ids = common.seed(database, due)
                due_of = dict(zip(ids, due, strict=True))
                last_due = due[-1]
                common.sleep_until(last_due)
                common.wait_until(lambda: site.count() >= posts, timeout=30)
                time.sleep(0.5)  # a second request for a post would show here
                warnings = workers.errors()
            finally:
                workers.stop()
            arrivals = list(site.arrivals)
    late = [at - due_of[post_id].timestamp() for post_id, at in arrivals if post_id in due_of]
    early = sum(1 for d in late if d < 0)
    figures = {
        "posts": posts,
        "arrived": len(arrivals),
        "distinct": len({p for p, _ in arrivals}),
        "p50_s": common.percentile(late, 50),
        "p90_s": common.percentile(late, 90),
        "p99_s": common.percentile(late, 99),
        "max_s": max(late) if late else float("nan"),
        "min_s": min(late) if late else float("nan"),
        "over_1s": sum(1 for d in late if d > 1.0),
        "early": early,
    }
    for line in warnings[:10]:
        print("   worker log:", line)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument(
        "--spread", type=float, default=60.0, help="seconds over which posts fall due"
    )
    parser.add_argument("--seed", type=int, default=20251128)
    args = parser.parse_args()
    common.header(f"lateness: {args.posts} posts due over {args.spread:g} s, 1 worker, SQLite")
    f = measure(args.posts, args.spread, args.seed)
    print(
        f"   arrived {f['arrived']}/{f['posts']} ({f['distinct']} distinct posts, "
        f"{f['early']} before their due time)"
    )
    print(
        f"   due -> arrival: p50 {f['p50_s'] * 1000:.0f} ms, p90 {f['p90_s'] * 1000:.0f} ms, "
        f"p99 {f['p99_s'] * 1000:.0f} ms, max {f['max_s'] * 1000:.0f} ms; "
        f"{f['over_1s']} posts over 1 s"
    )
    verdict = "met" if f["p99_s"] <= TARGET_P99 else "MISSED"
    print(f"   target p99 <= {TARGET_P99:g} s: {verdict}")
    common.result_line("lateness", {**f, "target_p99_s": TARGET_P99, "met": verdict == "met"})


if __name__ == "__main__":
    main()
