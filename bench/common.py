"""Shared set-up for the benchmarks: an emulated website, databases, seeding, workers.

Not a test helper: nothing here asserts. Every wait is bounded in time, every
server binds loopback only, and each database (a SQLite file in a temporary
folder, or a schema of its own on the local PostgreSQL) is removed at the end.

Run as a script (``python bench/common.py ceiling ...``) it is the "ceiling"
client: the same HTTP calls as the webhook adapter, in a plain loop with one
``requests.Session`` and no queue, from a process of its own as the workers are.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# The platform emulators are test support in tests/emulators/, not part of the
# installed package.
for _path in (REPO, REPO / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from sqlalchemy import Engine, create_engine, func, insert, select, text  # noqa: E402

from emulators.server import Emulator, Request, Response, route  # noqa: E402
from visibility.queue import db  # noqa: E402
from visibility.queue.models import ChannelAccount, NewsItem, Post, Worker  # noqa: E402

PYTHON = sys.executable
PG_URL = os.environ.get(
    "VISIBILITY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
HOOK_PATH = "/hooks/articles"
CHANNEL = "website"

# A realistic article: about 2 KB of HTML, sent as the webhook's content_html.
ARTICLE_HTML = "".join(
    f"<p>Paragraf {n}: Qendra Burimore për Shoqërinë Civile organizon trajnime për "
    "organizatat e shoqërisë civile në të gjithë vendin, me fokus në qeverisje.</p>"
    for n in range(14)
)


# -- the emulated website -------------------------------------------------------


class BenchSite(Emulator):
    """A webhook receiver that answers at once (or after ``latency`` seconds).

    It records when each article arrived (wall clock, comparable with the due
    times in the database: the workers run on this machine) and nothing else,
    so the emulator costs as little as possible per request.
    """

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__()
        self.latency = latency
        self.arrivals: list[tuple[int, float]] = []

    @property
    def url(self) -> str:
        return f"{self.base_url}{HOOK_PATH}"

    def reset(self) -> None:
        with self.lock:
            self.arrivals.clear()
            self.requests.clear()

    @route("POST", HOOK_PATH)
    def _receive(self, request: Request) -> Response:
        arrived = time.time()
        post_id = int(json.loads(request.body)["post_id"])
        with self.lock:
            self.arrivals.append((post_id, arrived))
            # The base class keeps every request for tests; a benchmark only
            # needs the arrival times.
            self.requests.clear()
        if self.latency:
            time.sleep(self.latency)
        return Response(201, {"id": str(post_id), "url": f"{self.base_url}/news/{post_id}"})

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def times(self) -> list[float]:
        with self.lock:
            return sorted(t for _, t in self.arrivals)


def article_payload(post_id: int, news_item_id: int) -> bytes:
    """The body the webhook adapter sends for one of the seeded posts."""
    return json.dumps(
        {
            "post_id": post_id,
            "news_item_id": news_item_id,
            "title": f"Lajm {news_item_id}",
            "content_html": ARTICLE_HTML,
            "excerpt": "Trajnime për organizatat e shoqërisë civile.",
            "link": None,
        },
        ensure_ascii=False,
    ).encode("utf-8")


# -- databases ------------------------------------------------------------------


@dataclass
class Database:
    url: str  # what the workers get as VISIBILITY_DATABASE_URL
    engine: Engine  # the package's own engine (migrations, seeding)
    reader: Engine  # for polling: on SQLite without BEGIN IMMEDIATE

    @property
    def kind(self) -> str:
        return self.engine.dialect.name


@contextmanager
def sqlite_database(folder: Path) -> Iterator[Database]:
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    # WAL is set on the file by the package's engine; plain reads through a
    # second engine never take the write lock, so polling does not slow the
    # worker down.
    reader = create_engine(url, connect_args={"timeout": 30})
    try:
        yield Database(url, engine, reader)
    finally:
        reader.dispose()
        engine.dispose()


def postgres_available() -> str | None:
    """None when the benchmark PostgreSQL server answers, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    try:
        psycopg.connect(
            PG_URL.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3
        ).close()
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable at {PG_URL} ({exc.__class__.__name__})"
    return None


@contextmanager
def postgres_database() -> Iterator[Database]:
    """A schema of its own on the local server, dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = db.make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        yield Database(url, engine, engine)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


# -- configuration and seeding --------------------------------------------------


def write_channels(folder: Path, site_url: str) -> Path:
    """One website channel that publishes through the webhook adapter to the emulator."""
    path = folder / "channels.toml"
    path.write_text(
        f"""
[[channels]]
name = "{CHANNEL}"
kind = "website"
options = {{ api = "webhook", url = "{site_url}" }}
""",
        encoding="utf-8",
    )
    return path


def sync_channels(database: Database, channels_file: Path) -> None:
    """What ``visibility run`` does at start: record the configured channel account."""
    from visibility.config.channels import load_channels
    from visibility.queue.store import Store

    Store(database.engine).sync_channels(load_channels(channels_file).channels)


def seed(database: Database, due: Sequence[datetime], *, tag: str = "") -> list[int]:
    """Insert one news item and one scheduled website post per due time; returns post ids.

    Bench code only: the package keeps all queue SQL in ``visibility.queue``,
    and adds posts one news item at a time through parsing and derivation. To put
    thousands of posts in the queue quickly, the rows go in here in bulk, with
    the values the store's approve/schedule moves would have left.
    """
    now = datetime.now(UTC)
    tag = tag or uuid.uuid4().hex[:8]
    news_rows: list[dict[str, Any]] = []
    for n in range(len(due)):
        news_rows.append(
            {
                "fingerprint": hashlib.sha256(f"bench-{tag}-{n}".encode()).hexdigest(),
                "title": f"Lajm {n}",
                "social_title": f"Lajm {n}",
                "lead": "Trajnime për organizatat e shoqërisë civile.",
                "paragraphs_json": "[]",
                "body_html": ARTICLE_HTML,
                "language": "sq",
                "source_format": "text",
                "source": f"bench:{tag}:{n}",
                "created_at": now,
            }
        )
    with database.engine.begin() as conn:
        channel_id = conn.execute(
            select(ChannelAccount.id).where(ChannelAccount.name == CHANNEL)
        ).scalar_one()
        for start in range(0, len(news_rows), 1000):
            conn.execute(insert(NewsItem), news_rows[start : start + 1000])
        news_ids = [
            row[0]
            for row in conn.execute(
                select(NewsItem.id)
                .where(NewsItem.source.like(f"bench:{tag}:%"))
                .order_by(NewsItem.id)
            )
        ]
        post_rows = [
            {
                "news_item_id": news_id,
                "channel_id": channel_id,
                "kind": "website",
                "status": "scheduled",
                "title": f"Lajm {n}",
                "body": ARTICLE_HTML,
                "excerpt": "Trajnime për organizatat e shoqërisë civile.",
                "scheduled_at": when,
                "approved_by": "bench",
                "approved_at": now,
                "attempts": 0,
                "needs_check": False,
                "created_at": now,
                "updated_at": now,
            }
            for n, (news_id, when) in enumerate(zip(news_ids, due, strict=True))
        ]
        for start in range(0, len(post_rows), 1000):
            conn.execute(insert(Post), post_rows[start : start + 1000])
        return [
            row[0]
            for row in conn.execute(
                select(Post.id).where(Post.news_item_id.in_(news_ids)).order_by(Post.id)
            )
        ]


def count_status(database: Database, status: str) -> int:
    with database.reader.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(Post).where(Post.status == status)
            ).scalar_one()
        )


def published_rows(database: Database) -> list[tuple[int, datetime, datetime]]:
    """(post id, due, published_at) of every published post, as aware UTC times."""
    table = Post.__table__
    with database.engine.connect() as conn:
        rows = conn.execute(
            select(table.c.id, table.c.scheduled_at, table.c.published_at).where(
                table.c.status == "published"
            )
        ).all()
    return [(int(i), due, at) for i, due, at in rows]


# -- workers --------------------------------------------------------------------


@dataclass
class WorkerProcess:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Workers:
    folder: Path
    database: Database
    channels_file: Path
    env: dict[str, str] = field(default_factory=dict)
    procs: list[WorkerProcess] = field(default_factory=list)

    def start(self, count: int) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith("VISIBILITY_")}
        base.update(
            {
                "VISIBILITY_DATA_DIR": str(self.folder / "data"),
                "VISIBILITY_DATABASE_URL": self.database.url,
                "VISIBILITY_CHANNELS_FILE": str(self.channels_file),
                "VISIBILITY_SECRETS_DIR": str(self.folder / "no-secrets"),
                **self.env,
            }
        )
        for n in range(count):
            name = f"bench-{n + 1}"
            log = self.folder / f"{name}.log"
            env = {**base, "VISIBILITY_WORKER_ID": name}
            with log.open("wb") as out:
                # cwd: the temporary folder, so no developer's .env is read.
                proc = subprocess.Popen(
                    [PYTHON, "-m", "visibility", "run"],
                    cwd=self.folder,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            self.procs.append(WorkerProcess(name, proc, log))

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until every worker has registered in the database (its first pass follows)."""
        names = {w.name for w in self.procs}
        deadline = time.monotonic() + timeout
        table = Worker.__table__
        while time.monotonic() < deadline:
            for worker in self.procs:
                if worker.proc.poll() is not None:
                    raise RuntimeError(f"worker {worker.name} exited:\n{worker.tail()}")
            with self.database.reader.connect() as conn:
                up = {
                    row[0]
                    for row in conn.execute(
                        select(table.c.name).where(table.c.stopped_at.is_(None))
                    )
                }
            if names <= up:
                return
            time.sleep(0.2)
        raise TimeoutError(f"workers not up after {timeout:g} s")

    def stop(self, timeout: float = 60.0) -> None:
        for worker in self.procs:
            if worker.proc.poll() is None:
                worker.proc.send_signal(signal.SIGTERM)
        for worker in self.procs:
            try:
                worker.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait(10)
        self.procs.clear()

    def errors(self) -> list[str]:
        """Warning and error lines the workers logged (a benchmark should have none)."""
        found = []
        for worker in self.procs:
            for line in worker.tail(100_000).splitlines():
                if any(word in line for word in ("WARNING", "ERROR", "Traceback")):
                    found.append(f"{worker.name}: {line}")
        return found


@contextmanager
def bench_folder(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"visibility-{prefix}-") as name:
        yield Path(name)


def wait_until(done: Any, timeout: float, poll: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(poll)
    return bool(done())


def due_soon(seconds: float) -> datetime:
    """A due time far enough ahead that a running worker's periodic scan sees it first.

    A worker learns of posts added by another process at its next scan (every
    ``scan_interval``, 5 s by default); from then on its wake-up job fires at
    the due time itself.
    """
    return datetime.now(UTC) + timedelta(seconds=seconds)


def sleep_until(when: datetime) -> None:
    delay = (when - datetime.now(UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)


# -- measurements ---------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in kB, from /proc/<pid>/status."""
    values: dict[str, int] = {}
    with suppress(OSError), open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuWatch:
    """CPU used during a run: by the given processes, and by the whole machine.

    The machine may be shared: "machine" minus "workers" minus this process
    is what else ran at the same time.
    """

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = list(pids)
        self._start = time.monotonic()
        self._procs = [cpu_seconds(p) for p in self.pids]
        self._own = sum(os.times()[:2])
        self._machine = _busy_ticks()

    def stop(self) -> dict[str, float]:
        wall = max(1e-9, time.monotonic() - self._start)
        procs = sum(cpu_seconds(p) for p in self.pids) - sum(self._procs)
        own = sum(os.times()[:2]) - self._own
        busy, total = _busy_ticks()
        cpus = os.cpu_count() or 1
        machine = cpus * (busy - self._machine[0]) / max(1, total - self._machine[1])
        return {
            "workers_cpu_s": procs,
            "workers_cores": procs / wall,
            "bench_cores": own / wall,
            "machine_cores": machine,
        }


def reset_peak(pid: int) -> bool:
    """Reset the kernel's peak RSS (VmHWM) of a process, so it covers what follows.

    Writing 5 to /proc/<pid>/clear_refs does this (Linux 4.0+; our own child
    process, so no special rights). False when not possible: use the samples.
    """
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def machine() -> dict[str, str]:
    cpu = "?"
    with suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "?"
    with suppress(OSError), open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "ram": ram,
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _busy_ticks() -> tuple[int, int]:
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def machine_busy(seconds: float = 1.0) -> float:
    """CPU cores busy with other work right now (the machine may be shared)."""
    busy0, total0 = _busy_ticks()
    time.sleep(seconds)
    busy1, total1 = _busy_ticks()
    cpus = os.cpu_count() or 1
    return cpus * (busy1 - busy0) / max(1, total1 - total0)


def header(title: str) -> None:
    info = machine()
    print(f"== {title}")
    print(
        f"   {info['date']}; {info['cpus']} CPUs ({info['cpu']}), {info['ram']} RAM, "
        f"Python {info['python']}; other load before start: {machine_busy():.2f} cores busy",
        flush=True,
    )


def result_line(name: str, figures: dict[str, Any]) -> None:
    """The machine-readable last line that run_all.py collects."""
    print("RESULT " + json.dumps({"bench": name, **figures}), flush=True)


# -- the ceiling: plain requests, no queue --------------------------------------


@dataclass
class Ceiling:
    threads: int
    processes: int
    count: int
    rate: float  # calls per second, first to last arrival at the emulator
    wall: float  # seconds the clients took
    cpu_ms: float  # client CPU time per call (the loop only), milliseconds


def run_ceiling(site: BenchSite, count: int, *, threads: int = 1, processes: int = 1) -> Ceiling:
    """The same webhook POSTs from ``processes`` client processes of ``threads`` threads."""
    site.reset()
    per = count // processes
    started = time.monotonic()
    clients = [
        subprocess.Popen(
            [
                PYTHON,
                __file__,
                "ceiling",
                "--url",
                site.url,
                "--count",
                str(per),
                "--threads",
                str(threads),
                "--first-id",
                str(1_000_000 * (n + 1)),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    cpu = 0.0
    for client in clients:
        try:
            out, _ = client.communicate(timeout=300)
            cpu += float(json.loads(out.strip().splitlines()[-1])["cpu_s"])
        except subprocess.TimeoutExpired:
            client.kill()
            client.wait(10)
        except (ValueError, IndexError, KeyError):
            cpu = float("nan")
    wall = time.monotonic() - started
    times = site.times()
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float("nan")
    return Ceiling(threads, processes, len(times), rate, wall, 1000 * cpu / max(1, len(times)))


def _ceiling_client(url: str, count: int, threads: int, first_id: int) -> None:
    import requests

    session = requests.Session()
    headers = {"Content-Type": "application/json; charset=utf-8"}

    def send(ids: range) -> None:
        for post_id in ids:
            response = session.post(
                url,
                data=article_payload(post_id, post_id),
                headers=headers,
                timeout=30,
                allow_redirects=False,
            )
            response.json()

    chunks = [range(first_id + n, first_id + count, threads) for n in range(threads)]
    # CPU of the calls only, not of starting Python and importing requests.
    cpu = time.process_time()
    if threads == 1:
        send(chunks[0])
    else:
        pool = [threading.Thread(target=send, args=(chunk,)) for chunk in chunks]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    cpu = time.process_time() - cpu
    session.close()
    print(json.dumps({"cpu_s": cpu}))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    client = sub.add_parser("ceiling", help="send webhook POSTs in a plain loop")
    client.add_argument("--url", required=True)
    client.add_argument("--count", type=int, required=True)
    client.add_argument("--threads", type=int, default=1)
    client.add_argument("--first-id", type=int, default=1)
    args = parser.parse_args(argv)
    if not args.url.startswith("http://127.0.0.1:"):
        parser.error("the ceiling client only talks to an emulator on loopback")
    _ceiling_client(args.url, args.count, args.threads, args.first_id)


if __name__ == "__main__":
    main()
