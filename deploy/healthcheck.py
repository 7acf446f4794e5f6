"""Container health check: `visibility serve` answers /healthz, or a worker is alive.

The Dockerfile's HEALTHCHECK runs it (standard library only: slim images have
no curl). A container running `visibility serve` is healthy while /healthz
answers 200. A container running `visibility run` serves no HTTP; it is
healthy while a worker on this host (the container's hostname) has a fresh
heartbeat in the database, as `visibility status` reports it.
Exit status 0: healthy; 1: not, with one line saying why.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request


def check_http(port: str) -> int | None:
    """0 or 1 from /healthz; None when nothing listens on the port."""
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(f"{url} answered {exc.code}")
        return 1
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            return None
        print(f"{url}: {exc.reason}")
        return 1
    except OSError as exc:  # a timeout or a reset while reading
        print(f"{url}: {exc}")
        return 1


def check_worker() -> int:
    host = socket.gethostname()
    try:
        done = subprocess.run(
            ["visibility", "status", "--json"],  # noqa: S607 (on PATH in the image)
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"visibility status did not answer: {exc}")
        return 1
    if done.returncode != 0:
        print(done.stderr.strip() or f"visibility status exited with {done.returncode}")
        return 1
    workers = json.loads(done.stdout).get("workers", [])
    if any(w.get("host") == host and w.get("state") == "alive" for w in workers):
        return 0
    print(f"no HTTP server, and no worker on {host} with a fresh heartbeat")
    return 1


def main() -> int:
    result = check_http(os.environ.get("VISIBILITY_HTTP_PORT", "8000"))
    return check_worker() if result is None else result


if __name__ == "__main__":
    sys.exit(main())
