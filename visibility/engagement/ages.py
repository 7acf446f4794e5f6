"""The ages at which a published post's engagement is read: ``1h,6h,24h,3d,7d,30d``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

DEFAULT_AGES = "1h,6h,24h,3d,7d,30d"
_UNITS = {"m": 60, "h": 3600, "d": 86_400}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhd])\s*$")


def parse_ages(text: str) -> tuple[timedelta, ...]:
    """``"1h,6h,24h"`` → ascending ages; ValueError naming the bad part."""
    ages = []
    for part in text.split(","):
        match = _AGE.match(part)
        if not match:
            raise ValueError(
                f"{part.strip()!r} is not an age: write a number and m, h or d, e.g. 6h or 3d"
            )
        seconds = float(match[1]) * _UNITS[match[2]]
        if seconds <= 0:
            raise ValueError(f"{part.strip()!r}: an age must be more than zero")
        ages.append(timedelta(seconds=seconds))
    return tuple(sorted(set(ages)))


def first_reading(published_at: datetime, ages: Sequence[timedelta]) -> datetime | None:
    return published_at + ages[0] if ages else None


def next_reading(
    published_at: datetime, ages: Sequence[timedelta], taken_at: datetime
) -> datetime | None:
    """The first age still ahead once a reading was taken at ``taken_at``.

    A reading taken late (the service was down) counts for every age it
    passed: the series gets one point per reading, not a burst of catch-ups.
    """
    elapsed = taken_at - published_at
    for age in ages:
        if age > elapsed:
            return published_at + age
    return None
