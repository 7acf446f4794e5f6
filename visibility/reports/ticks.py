"""Where a chart's axes get their ticks: round numbers, and dates a reader can scan."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

# Figures are counts: steps are whole numbers, and 2.5 only from 25 up.
_MULTIPLES = (1.0, 2.0, 2.5, 5.0, 10.0)
_DAY_STEPS = (1, 2, 3, 7, 14)
_MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60, 120)


def number_ticks(top: float, count: int = 5) -> list[int]:
    """0, then evenly spaced round numbers up to the first one at or above ``top``."""
    if top <= 0:
        return [0, 1]
    rough = top / count
    magnitude = 10 ** math.floor(math.log10(rough))
    step = 1
    for multiple in _MULTIPLES:
        candidate = multiple * magnitude
        if candidate >= rough and candidate == int(candidate):
            step = max(1, int(candidate))
            break
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


@dataclass(frozen=True)
class DateTick:
    """A tick on a time axis: its ``label``, and the month or year it starts (``context``)."""

    day: date
    label: str
    context: str = ""


def _month_starts(first: date, last: date, months: int) -> list[date]:
    index = first.year * 12 + first.month - 1
    if first.day > 1:
        index += 1
    index += -index % months
    days = []
    while (day := date(index // 12, index % 12 + 1, 1)) <= last:
        days.append(day)
        index += months
    return days


def date_ticks(first: date, last: date, most: int = 8) -> list[DateTick]:
    """At most ``most`` ticks from ``first`` to ``last``: days, or months for long periods.

    Labels are short (``3``, ``Dec``) and each month's or year's first tick
    says which one it is, so the axis reads "3 4 5 ..." over "Dec 2026".
    """
    span = (last - first).days
    for step in _DAY_STEPS:
        if span // step + 1 <= most:
            days = [first + timedelta(days=i) for i in range(0, span + 1, step)]
            ticks: list[DateTick] = []
            for i, day in enumerate(days):
                before = days[i - 1] if i else None
                if before is None or before.year != day.year:
                    context = f"{day:%b %Y}"
                elif before.month != day.month:
                    context = f"{day:%b}"
                else:
                    context = ""
                ticks.append(DateTick(day, str(day.day), context))
            return ticks
    # Month steps divide a year, so every January is a tick and says its year.
    starts: list[date] = []
    for months in _MONTH_STEPS:
        starts = _month_starts(first, last, months)
        if len(starts) <= most:
            if months >= 12:
                return [DateTick(day, str(day.year)) for day in starts]
            break
    return [
        DateTick(day, f"{day:%b}", str(day.year) if i == 0 or day.month == 1 else "")
        for i, day in enumerate(starts)
    ]
