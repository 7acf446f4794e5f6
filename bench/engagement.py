"""Engagement refresh: 10,000 published posts across X, Facebook and a website, read once.

Prints the number of API calls made per platform against the minimum possible
(ceil(n/100) for X, ceil(n/50) for Facebook; one per post for WordPress, whose
comment counts are per post) and the time taken against the emulators on
loopback. Target: calls equal to the minimum.

Run: .venv/bin/python bench/engagement.py [--posts 10000]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# The platform emulators are test support in tests/emulators/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from sqlalchemy import insert

from emulators.graph import GraphEmulator
from emulators.wordpress import DEFAULT_APP_PASSWORD, WordPressEmulator
from emulators.x import XEmulator
from visibility.config.settings import load_settings
from visibility.engagement.ages import parse_ages
from visibility.engagement.collector import Collector
from visibility.queue.models import NewsItem, Post
from visibility.service.runner import build_adapters
from visibility.workflow import Visibility


def channels_file(folder: Path, x: XEmulator, graph: GraphEmulator, wp: WordPressEmulator) -> Path:
    env = {
        "B_WP_USER": "editor",
        "B_WP_PASSWORD": DEFAULT_APP_PASSWORD,
        "B_FB_TOKEN": graph.token,
        "B_X_KEY": x.consumer_key,
        "B_X_SECRET": x.consumer_secret,
        "B_X_TOKEN": x.account.access_token,
        "B_X_TOKEN_SECRET": x.account.access_token_secret,
    }
    os.environ.update(env)
    path = folder / "channels.toml"
    path.write_text(
        f"""
[[channels]]
name = "website"
kind = "website"
secrets = {{ username = "B_WP_USER", application_password = "B_WP_PASSWORD" }}
options = {{ base_url = "{wp.base_url}" }}
[[channels]]
name = "facebook"
kind = "facebook"
secrets = {{ page_access_token = "B_FB_TOKEN" }}
options = {{ page_id = "{graph.page_id}", base_url = "{graph.base_url}" }}
[[channels]]
name = "x"
kind = "twitter"
secrets.api_key = "B_X_KEY"
secrets.api_secret = "B_X_SECRET"
secrets.access_token = "B_X_TOKEN"
secrets.access_token_secret = "B_X_TOKEN_SECRET"
options = {{ base_url = "{x.base_url}" }}
""",
        encoding="utf-8",
    )
    return path


def seed(app: Visibility, external: dict[str, list[str]], published_at: datetime) -> None:
    """Published posts with the platforms' ids, inserted in bulk.

    Bench code only: the package keeps all queue SQL in its store; going through
    the workflow for 10,000 posts would measure the set-up, not the refresh.
    """
    accounts = {a.name: a.id for a in app.store.channel_accounts()}
    with app.engine.begin() as conn:
        total = sum(len(ids) for ids in external.values())
        conn.execute(
            insert(NewsItem),
            [
                {
                    "id": n + 1,
                    "fingerprint": f"{n:064x}",
                    "title": f"Lajmi {n}",
                    "social_title": f"Lajmi {n}",
                    "lead": "Teksti.",
                    "paragraphs_json": "[]",
                    "body_html": "<p>Teksti.</p>",
                    "language": "sq",
                    "source_format": "text",
                    "source": "bench",
                    "created_at": published_at,
                }
                for n in range(total)
            ],
        )
        rows = []
        n = 0
        for channel, ids in external.items():
            for external_id in ids:
                n += 1
                rows.append(
                    {
                        "news_item_id": n,
                        "channel_id": accounts[channel],
                        "kind": {"x": "twitter"}.get(channel, channel),
                        "status": "published",
                        "body": "x",
                        "external_id": external_id,
                        "published_at": published_at,
                        "next_snapshot_at": published_at + timedelta(hours=1),
                        "created_at": published_at,
                        "updated_at": published_at,
                    }
                )
        conn.execute(insert(Post), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=10_000, help="in all, split across platforms")
    parser.add_argument("--website-share", type=float, default=0.05)
    args = parser.parse_args()
    n_web = round(args.posts * args.website_share)
    n_fb = (args.posts - n_web) // 2
    n_x = args.posts - n_web - n_fb
    with (
        tempfile.TemporaryDirectory(prefix="bench-engagement-") as folder,
        XEmulator(post_limit=10**9) as x,
        GraphEmulator() as graph,
        WordPressEmulator() as wp,
    ):
        os.environ["VISIBILITY_DATA_DIR"] = str(Path(folder) / "data")
        path = channels_file(Path(folder), x, graph, wp)
        started = time.perf_counter()
        external = {
            "x": [x.post(f"Tweet {i}", age_seconds=7200).id for i in range(n_x)],
            "facebook": [graph.seed_post(f"Postim {i}", age_seconds=7200).id for i in range(n_fb)],
            "website": [str(wp.add_post(f"Artikull {i}")) for i in range(n_web)],
        }
        app = Visibility.open(load_settings(channels_file=path))
        published_at = datetime.now(UTC) - timedelta(hours=2)
        seed(app, external, published_at)
        print(f"set-up: {args.posts} published posts in {time.perf_counter() - started:.1f} s")
        before = {
            name: len(e.requests) for name, e in (("x", x), ("facebook", graph), ("website", wp))
        }
        collector = Collector(app.store, build_adapters(app), ages=parse_ages("1h,6h,24h"))
        started = time.perf_counter()
        result = collector.run_once(limit=args.posts)
        elapsed = time.perf_counter() - started
        reads = {
            "x": [
                r for r in x.requests[before["x"] :] if r.path == "/2/tweets" and r.method == "GET"
            ],
            "facebook": [r for r in graph.requests[before["facebook"] :] if r.method == "GET"],
            "website": [r for r in wp.requests[before["website"] :] if "comments" in r.url],
        }
        minimum = {"x": math.ceil(n_x / 100), "facebook": math.ceil(n_fb / 50), "website": n_web}
        print(
            f"refresh: {len(result.read)} posts read, {len(result.failed)} failed, "
            f"{len(result.gone)} gone, in {elapsed:.1f} s "
            f"({len(result.read) / elapsed:.0f} posts/s)"
        )
        print(f"{'platform':<10} {'posts':>6} {'calls':>6} {'minimum':>8}  target: calls = minimum")
        for name, count in (("x", n_x), ("facebook", n_fb), ("website", n_web)):
            calls = len(reads[name])
            mark = "ok" if calls == minimum[name] else "ABOVE MINIMUM"
            print(f"{name:<10} {count:>6} {calls:>6} {minimum[name]:>8}  {mark}")
        print(f"collector's own count of calls: {result.calls}")
        app.close()


if __name__ == "__main__":
    sys.exit(main())
