"""Date rules of promise/README.md, each date worked out by hand from a calendar.

2026 calendar used: Mon 2026-05-25 Memorial Day; Wed 2026-11-11 Veterans Day;
Sat 2026-12-05; Mon 2026-12-07. Chicago is UTC-6 in December, New York UTC-5
in December and UTC-4 in May.
"""

from datetime import UTC, date, datetime, timedelta

import pytest

from promise.calendar import (
    CalendarError,
    NodeCalendar,
    add_carrier_days,
    backlog_days,
    carrier_day,
    delivery_day,
    parse_weekdays,
)

NY = NodeCalendar.from_settings("America/New_York")
CHI = NodeCalendar.from_settings("America/Chicago")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_cutoff_is_local_to_the_node() -> None:
    # 19:30 UTC Monday = 13:30 in Chicago (before 14:00) but 14:30 in New York (after).
    at = utc(2026, 12, 7, 19, 30)
    assert CHI.start_day(at) == date(2026, 12, 7)
    assert NY.start_day(at) == date(2026, 12, 8)
    # 20:30 UTC = 14:30 in Chicago: after its cut-off too.
    assert CHI.start_day(utc(2026, 12, 7, 20, 30)) == date(2026, 12, 8)
    # The cut-off instant that makes Monday in Chicago is 20:00 UTC.
    assert CHI.cutoff_at(date(2026, 12, 7)) == utc(2026, 12, 7, 20, 0)


def test_friday_afternoon_over_a_holiday_weekend() -> None:
    # Fri 2026-05-22 15:00 EDT (19:00 UTC), after the 14:00 cut-off. Sat, Sun closed,
    # Mon 25 Memorial Day: starts Tue 26; 1 processing day -> ships Wed 27; ground
    # 3 carrier days: Thu 28, Fri 29, Sat 30.
    at = utc(2026, 5, 22, 19, 0)
    assert NY.start_day(at) == date(2026, 5, 26)
    ship = NY.ship_day(at, processing_days=1)
    assert ship == date(2026, 5, 27)
    assert delivery_day(ship, 3) == date(2026, 5, 30)
    # Ordered at 13:00 EDT with no processing day it ships Friday; the carrier skips
    # Sunday and the Monday holiday: Sat 23, Tue 26, Wed 27.
    before = utc(2026, 5, 22, 17, 0)
    assert NY.ship_day(before, processing_days=0) == date(2026, 5, 22)
    assert delivery_day(date(2026, 5, 22), 3) == date(2026, 5, 27)


def test_node_closed_on_sundays_only() -> None:
    sun_closed = NodeCalendar.from_settings("America/New_York", closed_weekdays="sun")
    at = utc(2026, 12, 5, 15, 0)  # Sat 10:00 EST
    assert sun_closed.start_day(at) == date(2026, 12, 5)  # works Saturdays
    assert sun_closed.ship_day(at, 1) == date(2026, 12, 7)  # Sunday skipped
    assert delivery_day(date(2026, 12, 7), 1) == date(2026, 12, 8)
    # The default calendar (closed Sat and Sun) starts Monday, ships Tuesday.
    assert NY.ship_day(at, 1) == date(2026, 12, 8)


def test_date_overrides_win_over_weekdays_and_holidays() -> None:
    cal = NodeCalendar.from_settings(
        "America/New_York", closed_dates="2026-12-07", open_dates="2026-05-25"
    )
    assert cal.start_day(utc(2026, 12, 7, 14, 0)) == date(2026, 12, 8)  # closed that Monday
    assert cal.working_day(date(2026, 5, 25))  # works Memorial Day
    assert not NY.working_day(date(2026, 5, 25))
    none = NodeCalendar.from_settings("America/New_York", holiday_calendar="none")
    assert none.working_day(date(2026, 5, 25))


def test_carriers_deliver_monday_to_saturday_never_on_federal_holidays() -> None:
    assert carrier_day(date(2026, 12, 5))  # Saturday
    assert not carrier_day(date(2026, 12, 6))  # Sunday
    assert not carrier_day(date(2026, 11, 11))  # Veterans Day
    # Ships Tue 2026-11-10, 2 carrier days: Wed 11 is skipped -> Thu 12, Fri 13.
    assert add_carrier_days(date(2026, 11, 10), 2) == date(2026, 11, 13)
    assert add_carrier_days(date(2026, 11, 10), 0) == date(2026, 11, 10)


def test_backlog_in_whole_days_of_capacity() -> None:
    assert backlog_days(0, 100) == 0
    assert backlog_days(99, 100) == 0
    assert backlog_days(100, 100) == 1
    assert backlog_days(250, 100) == 2
    # A full node (100 units/day, 100 taken) ships one working day later: Mon -> Tue.
    at = utc(2026, 12, 7, 15, 0)
    assert NY.ship_day(at, 0, backlog_days(100, 100)) == date(2026, 12, 8)


def test_cutoff_24_takes_orders_all_day() -> None:
    late = NodeCalendar.from_settings("America/New_York", cutoff_hour=24)
    at = utc(2026, 12, 8, 4, 30)  # Mon 23:30 EST
    assert late.start_day(at) == date(2026, 12, 7)
    assert late.cutoff_at(date(2026, 12, 7)) - at == timedelta(minutes=30)


def test_bad_settings_name_the_setting() -> None:
    with pytest.raises(CalendarError, match="closed_weekdays"):
        parse_weekdays("funday")
    with pytest.raises(CalendarError, match="closed_dates"):
        NodeCalendar.from_settings("America/New_York", closed_dates="2026-02-30")
    with pytest.raises(CalendarError, match="time zone"):
        NodeCalendar.from_settings("Mars/Olympus")
    with pytest.raises(CalendarError, match="cutoff_hour"):
        NodeCalendar.from_settings("America/New_York", cutoff_hour=25)


def test_ship_by_is_the_last_day_a_package_can_leave_and_arrive_in_time() -> None:
    from promise.calendar import ship_by

    # Arrive by Mon 2026-12-14 with 3 carrier days: Thu 10 -> Fri 11, Sat 12, Mon 14;
    # Fri 11 -> Sat 12, Mon 14, Tue 15 is too late.
    assert ship_by(date(2026, 12, 14), 3) == date(2026, 12, 10)
    # With 1 carrier day, Saturday and Sunday both reach Monday (no Sunday delivery).
    assert ship_by(date(2026, 12, 14), 1) == date(2026, 12, 13)
    # 0 days: the day itself.
    assert ship_by(date(2026, 12, 14), 0) == date(2026, 12, 14)
