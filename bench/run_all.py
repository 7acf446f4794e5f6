"""Run every benchmark, one after another in its own process, then print a summary.

    .venv/bin/python bench/run_all.py            # all four, about 6-8 minutes
    .venv/bin/python bench/run_all.py memory     # only some of them

Each benchmark prints its own figures as it goes; the summary repeats the
headline figure of each next to its target. Timings on a shared machine move
with whatever else runs on it: each benchmark prints how busy the CPUs were
before it started.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCHES = ("lateness", "throughput", "scaling", "memory")
TIMEOUT = 15 * 60  # seconds for one benchmark before it is stopped


def run(name: str) -> dict[str, Any] | None:
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / f"{name}.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    result: dict[str, Any] | None = None
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT ") :])
            else:
                print(line, end="", flush=True)
            if time.monotonic() - started > TIMEOUT:
                break
        proc.wait(timeout=max(1.0, TIMEOUT - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        pass
    finally:
        if proc.poll() is None:
            # Its workers get SIGTERM from its own clean-up; this only ends the benchmark.
            proc.terminate()
            proc.wait(60)
            print(f"   {name}: stopped after {TIMEOUT} s")
    print(f"   ({name} took {time.monotonic() - started:.0f} s)\n", flush=True)
    return result


def summary(results: dict[str, dict[str, Any] | None]) -> list[str]:
    lines = []
    for name, r in results.items():
        if r is None:
            lines.append(f"{name:<11} no result (see its output above)")
            continue
        if "skipped" in r:
            lines.append(f"{name:<11} skipped: {r['skipped']}")
            continue
        verdict = "met" if r.get("met") else "MISSED"
        if name == "lateness":
            figure = (
                f"p50 {r['p50_s'] * 1000:.0f} ms, p99 {r['p99_s'] * 1000:.0f} ms, "
                f"max {r['max_s'] * 1000:.0f} ms"
            )
            target = f"p99 <= {r['target_p99_s']:g} s"
        elif name == "throughput":
            seq = r["ceilings"]["sequential"]
            plans = "; ".join(
                f"{label}: {x['rate']:.0f}/s ({x['ratio_sequential']:.2f})"
                for label, x in r["plans"].items()
            )
            figure = f"ceiling {seq:.0f}/s sequential at the start; {plans}"
            target = f">= {r['target_ratio']:g} x the sequential ceiling just before each run"
        elif name == "scaling":
            figure = (
                f"1 worker {r['rate_1']:.0f}/s, 4 workers {r.get('rate_4', float('nan')):.0f}/s "
                f"= {r['factor']:.2f}x"
            )
            target = f">= {r['target_factor']:g}x"
        else:
            figure = (
                f"idle {r['idle_mb']:.0f} MB, publishing peak {r['peak_mb']:.0f} MB "
                f"(start-up peak {r['startup_peak_mb']:.0f} MB)"
            )
            target = f"<= {r['target_mb']:g} MB"
        lines.append(f"{name:<11} {verdict:<7} {figure}  [target {target}]")
    return lines


def main() -> None:
    wanted = sys.argv[1:] or list(BENCHES)
    unknown = [w for w in wanted if w not in BENCHES]
    if unknown:
        sys.exit(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    results = {name: run(name) for name in wanted}
    print("== summary")
    for line in summary(results):
        print("   " + line)


if __name__ == "__main__":
    main()
