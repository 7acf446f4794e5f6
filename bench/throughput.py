"""Throughput: how fast a burst of due posts goes out, against the HTTP ceiling.

5,000 posts fall due at the same instant on one website channel (webhook
adapter) whose emulator answers at once, on loopback:

(a) one ``visibility run`` worker on SQLite;
(b) four workers on PostgreSQL;

each with ``VISIBILITY_PUBLISH_THREADS`` 4 and 8 and ``VISIBILITY_PLATFORM_CONCURRENCY``
64, other settings (batch, log level) at their defaults. Posts per second from
the first to the last arrival at the emulator, and end to end (due time to the
last ``published_at`` in the database).

The ceiling: the same POSTs from a plain loop with one ``requests.Session``
and no queue, sequential and from threads (and from four processes, the shape
of (b)), against the same emulator. The machine's speed drifts by 10-20% from
minute to minute (it is shared), so every engine run is paired with a
sequential ceiling measured just before it, and its ratio is to that one;
``--repeat`` runs each configuration several times and judges the median.

Target: the engine reaches at least half of the ceiling.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass

import common

TARGET_RATIO = 0.5


@dataclass
class EngineRun:
    label: str
    backend: str
    workers: int
    threads: int
    posts: int
    arrived: int
    distinct: int
    first_arrival_s: float  # after the due time
    rate: float  # first to last arrival
    end_to_end_s: float  # due time to the last published_at
    end_to_end_rate: float
    published: int
    cpu: dict[str, float]
    ceiling: float = float("nan")  # the sequential ceiling measured just before this run

    @property
    def ratio(self) -> float:
        return self.rate / self.ceiling

    @property
    def cpu_line(self) -> str:
        c = self.cpu
        return (
            f"CPU: workers {1000 * c['workers_cpu_s'] / max(1, self.arrived):.1f} ms per post "
            f"({c['workers_cores']:.2f} cores), emulator {c['bench_cores']:.2f} cores, "
            f"whole machine {c['machine_cores']:.2f} cores busy"
        )


def engine_run(
    site: common.BenchSite, *, backend: str, workers: int, threads: int, posts: int
) -> EngineRun:
    site.reset()
    label = f"{workers} worker{'s' if workers > 1 else ''}, {backend}, {threads} threads"
    with common.bench_folder("throughput") as folder:
        channels = common.write_channels(folder, site.url)
        database_cm = (
            common.sqlite_database(folder) if backend == "sqlite" else common.postgres_database()
        )
        with database_cm as database:
            common.sync_channels(database, channels)
            pool = common.Workers(
                folder,
                database,
                channels,
                env={
                    "VISIBILITY_PUBLISH_THREADS": str(threads),
                    "VISIBILITY_PLATFORM_CONCURRENCY": "64",
                },
            )
            pool.start(workers)
            try:
                pool.wait_ready()
                due = common.due_soon(9.0)
                ids = common.seed(database, [due] * posts)
                common.sleep_until(due)
                watch = common.CpuWatch([w.pid for w in pool.procs])
                common.wait_until(lambda: site.count() >= posts, timeout=600, poll=0.2)
                cpu = watch.stop()
                common.wait_until(
                    lambda: common.count_status(database, "published") >= posts,
                    timeout=120,
                    poll=0.1,
                )
                warnings = pool.errors()
            finally:
                pool.stop()
            rows = common.published_rows(database)
    for line in warnings[:10]:
        print("   worker log:", line)
    wanted = set(ids)
    times = sorted(t for p, t in site.arrivals if p in wanted)
    published_at = [at for p, _, at in rows if p in wanted]
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float("nan")
    end = max(published_at).timestamp() if published_at else float("nan")
    e2e = end - due.timestamp()
    return EngineRun(
        label=label,
        backend=backend,
        workers=workers,
        threads=threads,
        posts=posts,
        arrived=len(times),
        distinct=len({p for p, _ in site.arrivals if p in wanted}),
        first_arrival_s=(times[0] - due.timestamp()) if times else float("nan"),
        rate=rate,
        end_to_end_s=e2e,
        end_to_end_rate=len(published_at) / e2e if published_at else float("nan"),
        published=len(published_at),
        cpu=cpu,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--threads", default="4,8", help="publish threads to try, comma-separated")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each configuration (the median is judged)"
    )
    args = parser.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]
    common.header(f"throughput: {args.posts} posts due at once, zero-latency website emulator")
    pg_missing = None if not args.skip_postgres else "skipped (--skip-postgres)"
    pg_missing = pg_missing or common.postgres_available()

    ceilings: dict[str, common.Ceiling] = {}
    runs: list[EngineRun] = []
    with common.BenchSite() as site:
        assert isinstance(site, common.BenchSite)
        shapes = [("sequential", 1, 1)]
        shapes += [(f"{t} threads", t, 1) for t in thread_counts]
        shapes += [(f"4 processes x {t} threads", t, 4) for t in thread_counts]
        print("   ceiling (plain requests.Session loop, no queue):")
        for name, threads, processes in shapes:
            ceiling = common.run_ceiling(site, args.posts, threads=threads, processes=processes)
            ceilings[name] = ceiling
            print(
                f"     {name:<26} {ceiling.rate:7.0f} calls/s ({ceiling.count} calls; client CPU "
                f"{ceiling.cpu_ms:.2f} ms per call)"
            )
        print("   engine (visibility run):")
        plans = [("sqlite", 1, t) for t in thread_counts]
        if pg_missing is None:
            plans += [("postgresql", 4, t) for t in thread_counts]
        else:
            print(f"     PostgreSQL runs skipped: {pg_missing}")
        for backend, workers, threads in plans:
            same_shape = ceilings[
                f"{threads} threads" if workers == 1 else f"4 processes x {threads} threads"
            ].rate
            for _ in range(args.repeat):
                paired = common.run_ceiling(site, args.posts)
                run = engine_run(
                    site, backend=backend, workers=workers, threads=threads, posts=args.posts
                )
                run.ceiling = paired.rate
                runs.append(run)
                print(
                    f"     {run.label:<34} {run.rate:6.0f} posts/s arrivals, "
                    f"{run.end_to_end_rate:6.0f} posts/s end to end ({run.end_to_end_s:.1f} s; "
                    f"first arrival {run.first_arrival_s * 1000:.0f} ms after due); "
                    f"{run.arrived}/{run.posts} arrived, {run.distinct} distinct, "
                    f"{run.published} published"
                )
                print(
                    f"     {'':<34} ratio to ceiling: {run.ratio:.2f} of sequential "
                    f"({run.ceiling:.0f}/s, measured just before), {run.rate / same_shape:.2f} "
                    f"of the same shape ({same_shape:.0f}/s, measured at the start)"
                )
                print(f"     {'':<34} {run.cpu_line}", flush=True)
    plans_summary: dict[str, dict[str, float]] = {}
    for label in dict.fromkeys(r.label for r in runs):
        mine = [r for r in runs if r.label == label]
        plans_summary[label] = {
            "rate": round(statistics.median(r.rate for r in mine), 1),
            "ratio_sequential": round(statistics.median(r.ratio for r in mine), 2),
            "runs": len(mine),
        }
    # A fast run that lost or doubled a post is no result at all.
    exact = all(r.arrived == r.distinct == r.published == r.posts for r in runs)
    if not exact:
        print("   NOT every post arrived and was recorded exactly once in every run (see above)")
    met = (
        bool(runs)
        and exact
        and all(p["ratio_sequential"] >= TARGET_RATIO for p in plans_summary.values())
    )
    if args.repeat > 1:
        for label, plan in plans_summary.items():
            print(
                f"   median of {plan['runs']:.0f}: {label:<34} {plan['rate']:6.0f} posts/s, "
                f"{plan['ratio_sequential']:.2f} of sequential"
            )
    print(
        f"   target: every configuration >= {TARGET_RATIO:g} x the sequential ceiling "
        f"measured just before it{' (median)' if args.repeat > 1 else ''}: "
        f"{'met' if met else 'MISSED'}"
    )
    common.result_line(
        "throughput",
        {
            "posts": args.posts,
            "ceilings": {k: round(c.rate, 1) for k, c in ceilings.items()},
            "ceiling_cpu_ms": {k: round(c.cpu_ms, 2) for k, c in ceilings.items()},
            "runs": [
                {
                    "label": r.label,
                    "rate": round(r.rate, 1),
                    "end_to_end_rate": round(r.end_to_end_rate, 1),
                    "ceiling": round(r.ceiling, 1),
                    "ratio_sequential": round(r.ratio, 2),
                    "cpu_ms_per_post": round(1000 * r.cpu["workers_cpu_s"] / max(1, r.arrived), 2),
                }
                for r in runs
            ],
            "plans": plans_summary,
            "target_ratio": TARGET_RATIO,
            "met": met,
        },
    )


if __name__ == "__main__":
    main()
