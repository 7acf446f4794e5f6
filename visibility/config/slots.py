"""Posting slots: the times of the week a channel likes to publish.

A slot is written ``"<days> HH:MM"``, e.g. ``"mon-fri 09:30"``,
``"weekdays 14:00"``, ``"sat,sun 11:00"`` or ``"daily 10:00"``. Times are
wall-clock times in the channel's timezone; conversion to UTC happens per
date so daylight-saving changes never shift a slot.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ALIASES = {
    "daily": frozenset(range(7)),
    "everyday": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
}
_SLOT_RE = re.compile(r"^\s*(?P<days>[a-z,\-]+)\s+(?P<h>\d{1,2}):(?P<m>\d{2})\s*$", re.IGNORECASE)

SLOT_HELP = (
    'write slots as "<days> HH:MM", e.g. "mon-fri 09:30", "weekdays 14:00", '
    '"sat,sun 11:00" or "daily 10:00"'
)


@dataclass(frozen=True, order=True)
class Slot:
    """A weekly posting time: the weekdays it applies to (0 = Monday) and the time."""

    at: time
    weekdays: frozenset[int]

    def __str__(self) -> str:
        days = ",".join(_DAYS[d] for d in sorted(self.weekdays))
        return f"{days} {self.at:%H:%M}"


def _parse_days(spec: str) -> frozenset[int]:
    spec = spec.lower()
    if spec in _ALIASES:
        return _ALIASES[spec]
    days: set[int] = set()
    for part in spec.split(","):
        if "-" in part:
            first, _, last = part.partition("-")
            if first not in _DAYS or last not in _DAYS:
                raise ValueError(f"unknown day range {part!r}")
            a, b = _DAYS.index(first), _DAYS.index(last)
            if a > b:
                raise ValueError(f"day range {part!r} runs backwards")
            days.update(range(a, b + 1))
        elif part in _DAYS:
            days.add(_DAYS.index(part))
        else:
            raise ValueError(f"unknown day {part!r}")
    return frozenset(days)


def parse_slot(text: str) -> Slot:
    """Parse ``"mon-fri 09:30"``; raise ``ValueError`` naming what is wrong."""
    match = _SLOT_RE.match(text)
    if not match:
        raise ValueError(f"malformed slot {text!r}: {SLOT_HELP}")
    try:
        weekdays = _parse_days(match["days"])
    except ValueError as exc:
        raise ValueError(f"malformed slot {text!r}: {exc}; {SLOT_HELP}") from None
    hour, minute = int(match["h"]), int(match["m"])
    if hour > 23 or minute > 59:
        raise ValueError(f"malformed slot {text!r}: no such time of day; {SLOT_HELP}")
    return Slot(at=time(hour, minute), weekdays=weekdays)


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``tz``.

    A wall time that does not exist (skipped by a spring-forward change) is
    moved forward by the gap, which is what a person setting a clock means;
    an ambiguous one (autumn fall-back) takes its first occurrence.
    """
    local = datetime.combine(day, at, tzinfo=tz)
    roundtrip = local.astimezone(UTC).astimezone(tz)
    if roundtrip.replace(tzinfo=None) != local.replace(tzinfo=None):
        # Nonexistent time: fold=0 resolves to the pre-transition offset, so
        # the UTC instant already lies after the gap; keep it.
        return local.astimezone(UTC)
    return local.replace(fold=0).astimezone(UTC)


def slot_times(slots: Sequence[Slot], tz: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """Every slot instant (UTC, ascending) strictly after ``after``, without end."""
    if not slots:
        return
    day = after.astimezone(tz).date() - timedelta(days=1)
    while True:
        instants = sorted(
            {local_to_utc(day, slot.at, tz) for slot in slots if day.weekday() in slot.weekdays}
        )
        for instant in instants:
            if instant > after:
                yield instant
        day += timedelta(days=1)
