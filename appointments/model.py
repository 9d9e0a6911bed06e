"""What an appointment is made of: services, crews, slots, stops and a crew's day.

Times inside a day are minutes after local midnight at the crew's node (the
node's time zone, from its ZIP); a day is a ``date`` in that zone. Keeping
minutes as plain ints makes the route checks cheap; conversion to aware
datetimes happens only at the edges.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from promise.calendar import NodeCalendar

# The slots offered each day, (start, end) in local minutes: 08-12, 12-16, 16-20.
SLOTS: tuple[tuple[int, int], ...] = ((8 * 60, 12 * 60), (12 * 60, 16 * 60), (16 * 60, 20 * 60))
DEFAULT_MIN_NOTICE_HOURS = 24
MAX_SEARCH_DAYS = 60


class AppointmentRuleError(ValueError):
    """A pool or service setting cannot be used; the message names the setting."""


@dataclass(frozen=True)
class Service:
    """What an item needs on site: a skill and minutes per unit."""

    sku: str
    service: str  # e.g. assembly, install, two_person_delivery
    skill: str
    minutes: int

    def __post_init__(self) -> None:
        if not 1 <= self.minutes <= 600:
            raise AppointmentRuleError(f"minutes: {self.minutes} is not in 1..600")


@dataclass(frozen=True)
class Need:
    """What a visit asks of a crew: every skill, and minutes on site."""

    skills: frozenset[str]
    minutes: int

    @classmethod
    def of(cls, lines: Mapping[str, int], services: Mapping[str, Service]) -> "Need | None":
        """The need of an order's lines (sku -> qty); None when no line needs a service."""
        wanted = [(services[s], q) for s, q in lines.items() if s in services and q > 0]
        if not wanted:
            return None
        return cls(frozenset(s.skill for s, _ in wanted), sum(s.minutes * q for s, q in wanted))


def parse_clock(text: str, setting: str) -> int:
    """'08:30' -> 510 minutes; '24:00' allowed as the end of a day."""
    try:
        hh, mm = text.strip().split(":")
        minutes = int(hh) * 60 + int(mm)
    except ValueError:
        raise AppointmentRuleError(f"{setting}: {text!r} is not a time (HH:MM)") from None
    if not 0 <= minutes <= 24 * 60 or not 0 <= int(mm) < 60:
        raise AppointmentRuleError(f"{setting}: {text!r} is not a time of day")
    return minutes


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Depot:
    """A node crews start from and return to: where it is and when it works."""

    node_id: str
    lat: float
    lon: float
    calendar: NodeCalendar


@dataclass(frozen=True)
class Crew:
    """A crew of a node's resource pool: skills, shift (local minutes), regions by weekday."""

    crew_id: str
    node_id: str
    skills: frozenset[str]
    shift_start: int
    shift_end: int
    regions: Mapping[int, frozenset[str]] = field(default_factory=dict)  # weekday -> ZIP3s

    def __post_init__(self) -> None:
        if not 0 <= self.shift_start < self.shift_end <= 24 * 60:
            raise AppointmentRuleError(
                f"shift: start {clock(self.shift_start)} must be before end {clock(self.shift_end)}"
            )
        for wd in self.regions:
            if not 0 <= wd <= 6:
                raise AppointmentRuleError(f"weekday: {wd} is not in 0..6 (Monday is 0)")

    def can_do(self, need: Need) -> bool:
        return need.skills <= self.skills

    def serves(self, zip3: str, day: date) -> bool:
        return zip3 in self.regions.get(day.weekday(), frozenset())


@dataclass(frozen=True)
class Stop:
    """A booked (or proposed) visit: where, its window (local minutes), minutes on site."""

    appointment_id: str
    lat: float
    lon: float
    window_start: int
    window_end: int
    minutes: int
    skills: frozenset[str] = frozenset()
    zip3: str = ""


@dataclass(frozen=True)
class Slot:
    """One offer: a crew of a node, on a day, in a window; times local to the node."""

    crew_id: str
    node_id: str
    day: date
    window_start: int
    window_end: int
    ready_date: date  # the earliest day the products can be at the node

    def starts_at(self, calendar: NodeCalendar) -> datetime:
        return _at(self.day, self.window_start, calendar)

    def ends_at(self, calendar: NodeCalendar) -> datetime:
        return _at(self.day, self.window_end, calendar)


def _at(day: date, minutes: int, calendar: NodeCalendar) -> datetime:
    return datetime.combine(day, time(0), calendar.zone) + timedelta(minutes=minutes)


def slot_of(window_start: int, window_end: int) -> tuple[int, int]:
    """The offered slot with these bounds; AppointmentRuleError names a malformed window."""
    if (window_start, window_end) not in SLOTS:
        offered = ", ".join(f"{clock(a)}-{clock(b)}" for a, b in SLOTS)
        raise AppointmentRuleError(
            f"window: {clock(window_start)}-{clock(window_end)} is not a slot ({offered})"
        )
    return window_start, window_end
