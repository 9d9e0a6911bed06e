"""Date rules of a delivery promise: node working days, cut-offs, carrier days.

Pure functions over dates; the contract they implement, with worked examples,
is ``promise/README.md``. A node's local time comes from its ZIP's time zone
(IANA name, e.g. ``America/Chicago``); ``tzdata`` ships the zone rules so this
works on a machine without a system zone database.

Why dates are cached per node: a promise asks "the next working day after d"
thousands of times a second, and ``holidays`` lookups cost microseconds each.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CARRIER_CLOSED_WEEKDAYS = frozenset({6})  # carriers deliver Monday to Saturday
DEFAULT_CUTOFF_HOUR = 14
DEFAULT_CLOSED_WEEKDAYS = "sat,sun"
DEFAULT_HOLIDAY_CALENDAR = "US"
MAX_SCAN_DAYS = 366  # a calendar with no working day in a year is refused


class CalendarError(ValueError):
    """A node's calendar settings cannot be used (names the setting)."""


def parse_weekdays(text: str) -> frozenset[int]:
    """'sat,sun' -> {5, 6}; separators are commas or spaces, case-insensitive."""
    out = set()
    if text.strip().lower() == "none":
        return frozenset()
    for word in text.replace(",", " ").split():
        key = word.strip().lower()[:3]
        if key not in WEEKDAYS:
            raise CalendarError(f"closed_weekdays: {word!r} is not a weekday (mon..sun)")
        out.add(WEEKDAYS.index(key))
    return frozenset(out)


def parse_dates(text: str, setting: str) -> frozenset[date]:
    """'2026-12-26 2026-12-31' -> two dates; separators are commas, semicolons or spaces."""
    out = set()
    for word in text.replace(",", " ").replace(";", " ").split():
        try:
            out.add(date.fromisoformat(word))
        except ValueError:
            raise CalendarError(f"{setting}: {word!r} is not a date (YYYY-MM-DD)") from None
    return frozenset(out)


@cache
def holiday_calendar(code: str) -> holidays.HolidayBase:
    """The ``holidays`` calendar for 'US' or 'US-CA' (country-subdivision); '' is none."""
    if not code or code.upper() == "NONE":
        return holidays.HolidayBase()
    country, _, subdiv = code.partition("-")
    try:
        return holidays.country_holidays(country, subdiv=subdiv or None)
    except NotImplementedError:
        raise CalendarError(f"holiday_calendar: unknown calendar {code!r}") from None


def federal_holiday(d: date) -> bool:
    """US federal holidays (observed days included): no carrier delivers."""
    return d in holiday_calendar("US")


def carrier_day(d: date) -> bool:
    """Carriers deliver Monday to Saturday, never on a federal holiday."""
    return d.weekday() not in CARRIER_CLOSED_WEEKDAYS and not federal_holiday(d)


def add_carrier_days(ship: date, days: int) -> date:
    """The ``days``-th carrier day after ``ship`` (0 -> ``ship`` itself)."""
    d = ship
    for _ in range(days):
        d += timedelta(days=1)
        while not carrier_day(d):
            d += timedelta(days=1)
    return d


@cache
def ship_by(delivery: date, days: int) -> date:
    """The latest day a package can ship and still arrive by ``delivery`` with ``days``
    carrier days of transit (the day a node must hand it to the carrier)."""
    d = delivery
    while add_carrier_days(d, days) > delivery:
        d -= timedelta(days=1)
    return d


@dataclass(frozen=True)
class NodeCalendar:
    """When one node works: time zone, cut-off hour, closed weekdays, holidays."""

    tz: str
    cutoff_hour: int = DEFAULT_CUTOFF_HOUR
    closed_weekdays: frozenset[int] = frozenset({5, 6})
    holiday_calendar: str = DEFAULT_HOLIDAY_CALENDAR
    closed_dates: frozenset[date] = frozenset()
    open_dates: frozenset[date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.cutoff_hour <= 24:
            raise CalendarError(f"cutoff_hour: {self.cutoff_hour} is not in 0..24")
        try:
            object.__setattr__(self, "_zone", ZoneInfo(self.tz))
        except (KeyError, ValueError):
            raise CalendarError(f"time zone {self.tz!r} is unknown") from None
        holiday_calendar(self.holiday_calendar)  # fail early on an unknown calendar
        if len(self.closed_weekdays) == 7 and not self.open_dates:
            raise CalendarError("closed_weekdays: a node must work on some weekday")

    @classmethod
    def from_settings(
        cls,
        tz: str,
        cutoff_hour: int = DEFAULT_CUTOFF_HOUR,
        closed_weekdays: str = DEFAULT_CLOSED_WEEKDAYS,
        holiday_calendar: str = DEFAULT_HOLIDAY_CALENDAR,
        closed_dates: str = "",
        open_dates: str = "",
    ) -> "NodeCalendar":
        """A calendar from a node row's text settings (batch file or store columns)."""
        return cls(
            tz=tz,
            cutoff_hour=int(cutoff_hour),
            closed_weekdays=parse_weekdays(closed_weekdays),
            holiday_calendar=holiday_calendar.strip().upper(),
            closed_dates=parse_dates(closed_dates, "closed_dates"),
            open_dates=parse_dates(open_dates, "open_dates"),
        )

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def working_day(self, d: date) -> bool:
        """Open dates always work; else not a closed weekday, holiday or closed date."""
        if d in self.open_dates:
            return True
        if d.weekday() in self.closed_weekdays or d in self.closed_dates:
            return False
        return d not in holiday_calendar(self.holiday_calendar)

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        for _ in range(MAX_SCAN_DAYS):
            d += timedelta(days=1)
            if self.working_day(d):
                return d
        raise CalendarError("the node has no working day within a year")

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (0 -> ``start`` itself)."""
        d = start
        for _ in range(days):
            d = self.next_working_day(d)
        return d

    def local(self, at: datetime) -> datetime:
        if at.tzinfo is None:
            raise ValueError("promise times must be timezone-aware")
        return at.astimezone(self._zone)

    def start_day(self, at: datetime) -> date:
        """The working day an order placed at ``at`` starts processing.

        Today, if today is a working day and the local hour is before the
        cut-off; otherwise the next working day.
        """
        local = self.local(at)
        today = local.date()
        if self.working_day(today) and local.hour < self.cutoff_hour:
            return today
        return self.next_working_day(today)

    def cutoff_at(self, day: date) -> datetime:
        """The instant orders stop counting for ``day`` (local cut-off, aware)."""
        if self.cutoff_hour == 24:
            return datetime.combine(day + timedelta(days=1), datetime.min.time(), self._zone)
        return datetime.combine(day, datetime.min.time(), self._zone).replace(hour=self.cutoff_hour)

    def ship_day(self, at: datetime, processing_days: int, backlog_days: int = 0) -> date:
        """Start day plus processing and backlog, in working days: the carrier's pickup day."""
        return self.add_working_days(self.start_day(at), processing_days + backlog_days)


def delivery_day(ship: date, transit_days: int) -> date:
    """Delivered ``transit_days`` carrier days after the pickup day (0: same day)."""
    return add_carrier_days(ship, transit_days)


def backlog_days(backlog_units: int, capacity_units: int) -> int:
    """Whole working days of work ahead of a new order: units taken // units per day."""
    if capacity_units <= 0:
        raise ValueError("a node with no capacity cannot take work")
    return max(0, backlog_units) // capacity_units
