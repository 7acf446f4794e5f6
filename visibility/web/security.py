"""Session signing key, CSRF tokens and login rate limiting."""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import deque
from pathlib import Path

from visibility.config.settings import Settings


def session_key(settings: Settings) -> str:
    """The configured secret key, or one generated once and kept in the data directory.

    Kept in a file readable by its owner only, so sessions survive restarts
    without anyone having to invent a key.
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / "secret_key"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    _write_private(path, key)
    return key


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected and given and hmac.compare_digest(expected, given))


class LoginLimiter:
    """At most ``attempts`` failed logins per ``window`` seconds per user name and per address."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def retry_after(self, *keys: str) -> float:
        """Seconds to wait before another try; 0 when allowed."""
        now = time.monotonic()
        with self._lock:
            waits = []
            for key in keys:
                failures = self._recent(key, now)
                if len(failures) >= self.attempts:
                    waits.append(failures[0] + self.window - now)
            return max(waits, default=0.0)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
