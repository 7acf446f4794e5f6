"""Graph API usage headers, and slowing down before Facebook throttles a Page.

Every Graph answer says how much of its rate limits the caller has used, as
percentages of a rolling one-hour window:

* ``X-App-Usage`` and ``X-Page-Usage``: ``{"call_count", "total_time",
  "total_cputime"}``;
* ``X-Business-Use-Case-Usage``: ``{"<business id>": [{"type", "call_count",
  "total_cputime", "total_time", "estimated_time_to_regain_access"}]}``, the
  last figure in minutes once a limit has been hit.

Reaching 100% of any figure gets calls refused for a while, so the adapter
stops sending publish and engagement calls a little before that.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from visibility.errors import RetryableChannelError

USAGE_HEADERS = ("X-App-Usage", "X-Page-Usage", "X-Business-Use-Case-Usage")
_FIGURES = ("call_count", "total_time", "total_cputime")

#: How long to hold off when usage is high but Graph gave no estimate: usage
#: counts over a rolling hour, so a few minutes lets it fall a little.
DEFAULT_PAUSE = timedelta(minutes=5)


@dataclass(frozen=True)
class Usage:
    """The highest usage figure one Graph answer reported."""

    percent: int
    regain_minutes: int  # Graph's estimated_time_to_regain_access; 0 when not throttled
    header: str  # which header held the highest figure


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return None
    return None


def _entries(header: str, value: Any) -> Iterable[Mapping[str, Any]]:
    if header == "X-Business-Use-Case-Usage":
        if isinstance(value, Mapping):
            for per_business in value.values():
                if isinstance(per_business, list):
                    yield from (e for e in per_business if isinstance(e, Mapping))
    elif isinstance(value, Mapping):
        yield value


def read_usage(headers: Mapping[str, str]) -> Usage | None:
    """The highest figure in a Graph answer's usage headers, or None if it had none."""
    lowered = {k.lower(): v for k, v in headers.items()}
    best: Usage | None = None
    regain = 0
    for header in USAGE_HEADERS:
        text = lowered.get(header.lower())
        if not text:
            continue
        try:
            value = json.loads(text)
        except ValueError:
            continue  # a garbled header is no reason to fail a call that worked
        for entry in _entries(header, value):
            regain = max(regain, _number(entry.get("estimated_time_to_regain_access")) or 0)
            for figure in _FIGURES:
                percent = _number(entry.get(figure))
                if percent is not None and (best is None or percent > best.percent):
                    best = Usage(percent=percent, regain_minutes=0, header=header)
    if best is None:
        return None
    return Usage(percent=best.percent, regain_minutes=regain, header=best.header)


class UsageGauge:
    """The Page's latest usage figure, and until when calls should hold off.

    Shared by the worker threads that use one adapter. A hold always ends:
    the first call after it goes through and its answer sets the next figure.
    """

    def __init__(self, *, slow_down_at: int, channel: str) -> None:
        self.slow_down_at = slow_down_at
        self.channel = channel
        self._lock = threading.Lock()
        self._percent: int | None = None
        self._hold_until: datetime | None = None
        self._reason = ""

    @property
    def percent(self) -> int | None:
        with self._lock:
            return self._percent

    @property
    def hold_until(self) -> datetime | None:
        with self._lock:
            return self._hold_until

    def record(self, headers: Mapping[str, str], *, now: datetime) -> Usage | None:
        """Take the figures of one Graph answer; the latest answer wins."""
        usage = read_usage(headers)
        if usage is None:
            return None
        with self._lock:
            self._percent = usage.percent
            if usage.percent >= self.slow_down_at or usage.regain_minutes > 0:
                pause = (
                    timedelta(minutes=usage.regain_minutes)
                    if usage.regain_minutes > 0
                    else DEFAULT_PAUSE
                )
                self._hold_until = now + pause
                self._reason = (
                    f"Facebook usage for this Page is at {usage.percent}% of its limit; "
                    "slowing down"
                )
            else:
                self._hold_until = None
        return usage

    def hold(self, until: datetime, reason: str) -> None:
        """Hold off until ``until`` (Graph refused a call for its rate limits)."""
        with self._lock:
            if self._hold_until is None or until > self._hold_until:
                self._hold_until = until
                self._reason = reason

    def refuse(self, *, now: datetime) -> RetryableChannelError | None:
        """The error to raise instead of calling Graph now, or None to go ahead."""
        with self._lock:
            if self._hold_until is None or now >= self._hold_until:
                return None
            until = self._hold_until
            reason = self._reason
        return RetryableChannelError(
            f"{reason} (will try again after {until:%H:%M} UTC)",
            channel=self.channel,
            retry_after=until,
            reached=False,  # Graph is not called at all
        )
