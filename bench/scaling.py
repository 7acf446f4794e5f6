"""Scaling: do more workers publish more when the platform is slow?

A website emulator that takes 50 ms to answer every request (as a real
platform takes tens to hundreds of milliseconds); the same burst of posts,
all due at once, published by one and then by four ``visibility run``
workers on PostgreSQL, with the same settings (publish threads at their
default of 4, ``VISIBILITY_PLATFORM_CONCURRENCY`` 64 so the cap is not what
limits).

Target: four workers reach at least 3x the posts per second of one.
"""

from __future__ import annotations

import argparse

import common
from throughput import engine_run

TARGET_FACTOR = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--threads", type=int, default=4, help="VISIBILITY_PUBLISH_THREADS")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    common.header(
        f"scaling: {args.posts} posts due at once, {args.latency * 1000:.0f} ms platform "
        f"latency, PostgreSQL, {args.threads} publish threads per worker"
    )
    missing = common.postgres_available()
    if missing:
        print(f"   skipped: {missing}")
        common.result_line("scaling", {"skipped": missing})
        return
    rates: dict[int, float] = {}
    with common.BenchSite(latency=args.latency) as site:
        assert isinstance(site, common.BenchSite)
        for workers in (1, args.workers):
            run = engine_run(
                site,
                backend="postgresql",
                workers=workers,
                threads=args.threads,
                posts=args.posts,
            )
            rates[workers] = run.rate
            bound = workers * args.threads / args.latency
            print(
                f"   {run.label:<36} {run.rate:6.1f} posts/s arrivals, "
                f"{run.end_to_end_rate:6.1f} end to end ({run.end_to_end_s:.1f} s); "
                f"{run.arrived}/{run.posts} arrived, {run.distinct} distinct; "
                f"bound with no overhead {bound:.0f}/s ({run.rate / bound:.0%} of it)"
            )
            print(f"   {'':<36} {run.cpu_line}")
    factor = rates[args.workers] / rates[1]
    verdict = "met" if factor >= TARGET_FACTOR else "MISSED"
    print(
        f"   {args.workers} workers / 1 worker: {factor:.2f}x "
        f"(target >= {TARGET_FACTOR:g}x: {verdict})"
    )
    common.result_line(
        "scaling",
        {
            "posts": args.posts,
            "latency_s": args.latency,
            "rate_1": round(rates[1], 1),
            f"rate_{args.workers}": round(rates[args.workers], 1),
            "factor": round(factor, 2),
            "target_factor": TARGET_FACTOR,
            "met": verdict == "met",
        },
    )


if __name__ == "__main__":
    main()
