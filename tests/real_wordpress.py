"""pytest plugin: a real WordPress (Debian's package, php -S, MariaDB) for the session.

Register with ``pytest_plugins = ["real_wordpress"]`` in tests/conftest.py and ask
for the ``real_wordpress`` fixture. It runs ``scripts/wordpress-test-server``
under a run name of its own, so a server a developer started by hand is left
alone, and stops it (database, user, config file and all) at the end.

When the packages are missing or MariaDB is unreachable the tests that use it
are skipped, unless VISIBILITY_REQUIRE_WORDPRESS=1 (CI), where they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "wordpress-test-server"
CANNOT_RUN = 3  # the script's exit code for "WordPress cannot run on this machine"
# Read at import: the suite's autouse fixture clears VISIBILITY_* before each test.
REQUIRED = bool(os.environ.get("VISIBILITY_REQUIRE_WORDPRESS"))


@dataclass(frozen=True)
class RealWordPress:
    base_url: str
    admin_user: str
    admin_app_password: str
    contributor_user: str
    contributor_app_password: str
    pid: int
    database: str
    pretty_permalinks: bool = True
    wordpress_version: str = ""
    name: str = ""
    state_dir: str = ""

    def rest_url(self, route: str) -> str:
        """The URL of a REST route such as ``/wp/v2/posts``, as WordPress spells it."""
        if self.pretty_permalinks:
            return f"{self.base_url}/wp-json{route}"
        return f"{self.base_url}/?rest_route={route}"

    @property
    def admin_auth(self) -> tuple[str, str]:
        return (self.admin_user, self.admin_app_password)

    @property
    def contributor_auth(self) -> tuple[str, str]:
        return (self.contributor_user, self.contributor_app_password)


def _script(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_wordpress(
    name: str, *, plain_permalinks: bool = False, php_limits: Mapping[str, str] | None = None
) -> RealWordPress:
    """Start a run of scripts/wordpress-test-server; skip (or fail in CI) if it cannot run.

    ``php_limits``: PHP's ``upload_max_filesize`` and ``post_max_size`` (``"16K"``).
    """
    args = ["start", "--name", name]
    if plain_permalinks:
        args.append("--plain-permalinks")
    for limit, size in (php_limits or {}).items():
        args += [f"--{limit.replace('_', '-')}", size]
    proc = _script(*args)
    if proc.returncode != 0:
        why = proc.stderr.strip().removeprefix("WordPress cannot be started here: ")
        message = (
            f"WordPress cannot be started here: {why}; run scripts/wordpress-test-server install"
        )
        if proc.returncode == CANNOT_RUN and not REQUIRED:
            pytest.skip(message)
        pytest.fail(f"{message} (exit code {proc.returncode})", pytrace=False)
    state = json.loads(proc.stdout.strip().splitlines()[-1])
    fields = RealWordPress.__dataclass_fields__
    return RealWordPress(**{k: v for k, v in state.items() if k in fields})


def stop_wordpress(name: str) -> None:
    proc = _script("stop", "--name", name)
    if proc.returncode != 0:
        raise RuntimeError(f"wordpress-test-server stop --name {name}: {proc.stderr.strip()}")


@pytest.fixture(scope="session", name="real_wordpress")
def real_wordpress_fixture() -> Iterator[RealWordPress]:
    """A fresh WordPress with pretty permalinks, an administrator and a contributor."""
    name = f"pytest-{os.getpid()}"
    wp = start_wordpress(name)
    try:
        yield wp
    finally:
        stop_wordpress(name)
