"""Memory: resident set size of one ``visibility run`` worker, idle and publishing.

One worker with the default settings on SQLite (``--database postgresql``
for the other backend) and one website channel (the
webhook adapter) whose emulator answers at once. RSS is read from
``/proc/<pid>/status``: ``VmRSS`` sampled every 20 ms, and ``VmHWM`` (the
kernel's own peak, reset once the worker is idle so that it covers the
publishing only). A second burst of the same size tells steady growth (a
leak) from caches that fill once.

Target: <= 100 MB, idle and at the peak.
"""

from __future__ import annotations

import argparse
import time

import common

TARGET_MB = 100.0


def mb(kb: int) -> float:
    return kb / 1024


def burst(
    site: common.BenchSite, database: common.Database, pid: int, posts: int, tag: str
) -> tuple[list[int], int]:
    """Publish ``posts`` posts due at once; returns the RSS samples and how many went out."""
    site.reset()
    due = common.due_soon(7.0)
    common.seed(database, [due] * posts, tag=tag)
    common.sleep_until(due)
    samples: list[int] = []
    deadline = time.monotonic() + 600
    while site.count() < posts and time.monotonic() < deadline:
        samples.append(common.proc_status(pid).get("VmRSS", 0))
        time.sleep(0.02)
    common.wait_until(lambda: common.count_status(database, "scheduled") == 0, timeout=60)
    samples.append(common.proc_status(pid).get("VmRSS", 0))
    return samples, site.count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=2000, help="posts per burst")
    parser.add_argument("--bursts", type=int, default=2)
    parser.add_argument("--settle", type=float, default=5.0, help="idle seconds before reading")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    common.header(
        f"memory: 1 worker, {args.database}, default settings, {args.bursts} bursts of "
        f"{args.posts} posts"
    )
    bursts: list[tuple[float, float, float, int]] = []  # sampled peak, VmHWM, after, sent
    with (
        common.bench_folder("memory") as folder,
        common.BenchSite() as site,
        (
            common.sqlite_database(folder)
            if args.database == "sqlite"
            else common.postgres_database()
        ) as database,
    ):
        assert isinstance(site, common.BenchSite)
        channels = common.write_channels(folder, site.url)
        common.sync_channels(database, channels)
        workers = common.Workers(folder, database, channels)
        workers.start(1)
        try:
            workers.wait_ready()
            pid = workers.procs[0].pid
            # Registered means its first scan is about to run; let it settle.
            time.sleep(args.settle)
            idle = common.proc_status(pid)
            peak_reset = common.reset_peak(pid)
            for n in range(args.bursts):
                samples, sent = burst(site, database, pid, args.posts, tag=f"burst{n}")
                time.sleep(args.settle)
                status = common.proc_status(pid)
                sampled = mb(max(samples, default=0))
                # Without the reset, VmHWM would still hold the start-up peak.
                hwm = mb(status.get("VmHWM", 0)) if peak_reset else sampled
                bursts.append((sampled, hwm, mb(status.get("VmRSS", 0)), sent))
            warnings = workers.errors()
        finally:
            workers.stop()
        published = common.count_status(database, "published")
    for line in warnings[:10]:
        print("   worker log:", line)
    idle_mb = mb(idle.get("VmRSS", 0))
    startup_peak = mb(idle.get("VmHWM", 0))
    print(
        f"   idle after start-up: {idle_mb:.1f} MB (VmRSS {args.settle:g} s after the worker "
        f"registered); start-up peak {startup_peak:.1f} MB (VmHWM until then)"
    )
    source = "VmHWM since idle" if peak_reset else "sampled VmRSS"
    for n, (sampled, hwm, after, sent) in enumerate(bursts, 1):
        print(
            f"   burst {n}: {sent}/{args.posts} sent; peak {hwm:.1f} MB ({source}; sampled "
            f"VmRSS peak {sampled:.1f} MB); {args.settle:g} s after it {after:.1f} MB"
        )
    print(f"   published in all: {published}")
    peak = max((b[1] for b in bursts), default=float("nan"))
    met = idle_mb <= TARGET_MB and peak <= TARGET_MB
    print(
        f"   target <= {TARGET_MB:g} MB idle and while publishing: {'met' if met else 'MISSED'}"
        + ("" if startup_peak <= TARGET_MB else "; the start-up peak is above it too")
    )
    common.result_line(
        "memory",
        {
            "posts": args.posts,
            "bursts": args.bursts,
            "idle_mb": round(idle_mb, 1),
            "startup_peak_mb": round(startup_peak, 1),
            "peak_mb": round(peak, 1),
            "burst_peaks_mb": [round(b[1], 1) for b in bursts],
            "after_mb": [round(b[2], 1) for b in bursts],
            "target_mb": TARGET_MB,
            "met": met,
        },
    )


if __name__ == "__main__":
    main()
