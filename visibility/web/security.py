"""Session signing key, CSRF tokens, sign-in rate limits and the security headers."""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` failures in any ``window`` seconds."""

    attempts: int
    window: float


#: One person mistyping at their desk: 5 failures in 5 minutes for one name
#: from one address, then a wait.
PAIR_LIMIT = Limit(5, 300.0)
#: One name guessed from many addresses (a botnet): slower, across addresses.
#: It locks the owner of the name out too, for at most an hour; that is the
#: price of stopping a distributed guess.
NAME_LIMIT = Limit(20, 3600.0)
#: Password spraying from one address (one guess each for many names). The
#: pair limit already holds each name to 5 failures per address, so reaching
#: 100 in 5 minutes takes 20 names each failing 5 times, or 100 names failing
#: once: no office of people mistyping their own passwords comes near it.
ADDRESS_LIMIT = Limit(100, 300.0)


class LoginLimiter:
    """Failed sign-ins, counted per name and address, per name, and per address.

    Unknown names are counted exactly like known ones, so the answers never
    tell which names exist. A name is counted whether it exists or not.
    Counts live in this process: each web process limits on its own.
    """

    #: Beyond this many counters, ones with nothing recent are dropped first.
    MAX_KEYS = 20_000

    def __init__(
        self,
        pair: Limit = PAIR_LIMIT,
        name: Limit = NAME_LIMIT,
        address: Limit = ADDRESS_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.limits: Mapping[str, Limit] = {"pair": pair, "name": name, "address": address}
        self._failures: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(name: str, address: str) -> dict[str, tuple[str, ...]]:
        name = name.strip().lower()
        return {
            "pair": ("pair", name, address),
            "name": ("name", name),
            "address": ("address", address),
        }

    def _recent(self, key: tuple[str, ...], limit: Limit, now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            # Only the newest ``attempts`` failures decide a wait.
            failures = self._failures[key] = deque(maxlen=limit.attempts)
        while failures and failures[0] <= now - limit.window:
            failures.popleft()
        return failures

    def retry_after(self, name: str, address: str) -> float:
        """Seconds to wait before another try; 0 when allowed."""
        now = self.clock()
        waits = []
        with self._lock:
            for kind, key in self._keys(name, address).items():
                limit = self.limits[kind]
                failures = self._failures.get(key)
                if failures is None:
                    continue
                failures = self._recent(key, limit, now)
                if len(failures) >= limit.attempts:
                    waits.append(failures[0] + limit.window - now)
        return max(waits, default=0.0)

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) >= self.MAX_KEYS:
                self._forget_old(now)
            for kind, key in self._keys(name, address).items():
                self._recent(key, self.limits[kind], now).append(now)

    def succeeded(self, name: str, address: str) -> None:
        """Clear the pair only: the owner signing in says nothing about guesses
        made for their name elsewhere, nor about other names from this address."""
        with self._lock:
            self._failures.pop(self._keys(name, address)["pair"], None)

    def _forget_old(self, now: float) -> None:
        longest = max(limit.window for limit in self.limits.values())
        for key in [k for k, v in self._failures.items() if not v or v[-1] <= now - longest]:
            del self._failures[key]
        # Still full (a flood from very many addresses): drop the oldest counters.
        excess = len(self._failures) - self.MAX_KEYS // 2
        for key in list(self._failures)[: max(excess, 0)]:
            del self._failures[key]


# -- security headers -------------------------------------------------------------

#: Scripts and styles only from this site's /static (styles may also be inline,
#: for the charts' SVG), nothing may frame a page, forms post only here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def policy_allowing_scripts(*hashes: str) -> str:
    """The policy, also allowing inline scripts with these ``sha256-...`` hashes."""
    extra = "".join(f" '{h}'" for h in hashes)
    return CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self'{extra}", 1)


class SecurityHeadersMiddleware:
    """Puts the security headers on every response: pages, JSON, errors, static files.

    A response may bring its own Content-Security-Policy (``/docs`` adds the
    hash of its one inline script); the other headers are always these.
    Answers other than static files are not cached: they may hold private data.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HardenedFastAPI(FastAPI):
    """FastAPI with the security headers outside even its own error handling.

    Middleware added with ``add_middleware`` runs inside Starlette's
    ServerErrorMiddleware, so a 500 would leave without the headers.
    """

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeadersMiddleware(super().build_middleware_stack())
