"""Posting slots and wall-time conversion, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from itertools import islice
from zoneinfo import ZoneInfo

import pytest

from visibility.config.slots import Slot, local_to_utc, parse_slot, slot_times

BELGRADE = ZoneInfo("Europe/Belgrade")


@pytest.mark.parametrize(
    ("text", "days", "at"),
    [
        ("mon-fri 09:30", {0, 1, 2, 3, 4}, time(9, 30)),
        ("weekdays 14:00", {0, 1, 2, 3, 4}, time(14, 0)),
        ("sat,sun 11:00", {5, 6}, time(11, 0)),
        ("daily 7:05", set(range(7)), time(7, 5)),
        ("Mon,wed-fri 23:59", {0, 2, 3, 4}, time(23, 59)),
    ],
)
def test_slots_parse(text: str, days: set[int], at: time) -> None:
    assert parse_slot(text) == Slot(at=at, weekdays=frozenset(days))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("09:30", "malformed slot"),
        ("mon-fri 9:70", "no such time of day"),
        ("mon-fri 24:00", "no such time of day"),
        ("fri-mon 10:00", "runs backwards"),
        ("funday 10:00", "unknown day 'funday'"),
        ("mon 10.30", "malformed slot"),
    ],
)
def test_bad_slots_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as info:
        parse_slot(text)
    assert "mon-fri 09:30" in str(info.value)  # the message shows the right form


def test_wall_time_keeps_its_hour_across_the_spring_change() -> None:
    # Europe/Belgrade moves from +01:00 to +02:00 on 29 March 2026.
    assert local_to_utc(date(2026, 3, 28), time(9, 30), BELGRADE) == datetime(
        2026, 3, 28, 8, 30, tzinfo=UTC
    )
    assert local_to_utc(date(2026, 3, 30), time(9, 30), BELGRADE) == datetime(
        2026, 3, 30, 7, 30, tzinfo=UTC
    )


def test_a_skipped_wall_time_moves_forward_by_the_gap() -> None:
    # 02:30 does not exist on 29 March 2026 in Belgrade: it becomes 03:30 CEST.
    instant = local_to_utc(date(2026, 3, 29), time(2, 30), BELGRADE)
    assert instant == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert instant.astimezone(BELGRADE).strftime("%H:%M %Z") == "03:30 CEST"


def test_an_ambiguous_wall_time_takes_its_first_occurrence() -> None:
    # 02:30 happens twice on 25 October 2026; the first is still summer time.
    instant = local_to_utc(date(2026, 10, 25), time(2, 30), BELGRADE)
    assert instant == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_slot_times_follow_the_local_clock_through_the_autumn_change() -> None:
    slots = [parse_slot("daily 09:30")]
    after = datetime(2026, 10, 23, 12, 0, tzinfo=UTC)  # Friday, summer time
    got = list(islice(slot_times(slots, BELGRADE, after), 4))
    assert got == [
        datetime(2026, 10, 24, 7, 30, tzinfo=UTC),  # Sat 09:30 CEST
        datetime(2026, 10, 25, 8, 30, tzinfo=UTC),  # Sun 09:30 CET
        datetime(2026, 10, 26, 8, 30, tzinfo=UTC),
        datetime(2026, 10, 27, 8, 30, tzinfo=UTC),
    ]
    assert {t.astimezone(BELGRADE).strftime("%H:%M") for t in got} == {"09:30"}


def test_slot_times_skip_days_without_slots_and_merge_duplicates() -> None:
    slots = [parse_slot("mon-fri 09:30"), parse_slot("mon-fri 14:00"), parse_slot("fri 14:00")]
    after = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)  # Friday 14:00 Belgrade, exactly
    got = list(islice(slot_times(slots, BELGRADE, after), 3))
    assert [t.astimezone(BELGRADE).strftime("%a %H:%M") for t in got] == [
        "Mon 09:30",
        "Mon 14:00",
        "Tue 09:30",
    ]


def test_no_slots_no_times() -> None:
    assert list(slot_times([], BELGRADE, datetime(2026, 1, 1, tzinfo=UTC))) == []
