"""Requests and responses of appointments (the API's schemas).

Format rules live here so pydantic names a bad field before any lookup runs;
rules that need the store (the order exists, a crew serves the ZIP) are
checked by ``services.appointments``, naming the field the same way.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

from appointments.model import SLOTS, AppointmentRuleError, Crew, clock, parse_clock, slot_of
from models.api import STRICT, Id

WINDOW_PATTERN = r"^\d{2}:\d{2}-\d{2}:\d{2}$"
# Skills are stored space-separated, so a skill is one word.
Skill = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
WINDOWS = ", ".join(f"{clock(a)}-{clock(b)}" for a, b in SLOTS)


def parse_window(text: str) -> tuple[int, int]:
    """'08:00-12:00' -> (480, 720) if it is one of the offered slots."""
    start, _, end = text.partition("-")
    return slot_of(parse_clock(start, "window"), parse_clock(end, "window"))


class Window(BaseModel):
    model_config = STRICT

    day: date = Field(description="The appointment's day, local to the crew's node.")
    window: str = Field(pattern=WINDOW_PATTERN, description=f"One of {WINDOWS} (local time).")

    @field_validator("window")
    @classmethod
    def _offered(cls, value: str) -> str:
        try:
            parse_window(value)
        except AppointmentRuleError as exc:
            raise ValueError(str(exc)) from None
        return value


class BookingIn(Window):
    order_id: Id


class SlotView(BaseModel):
    day: date
    window: str
    starts_at: datetime
    ends_at: datetime
    node_id: str
    crew_id: str
    ready_date: date = Field(description="The first day the products can be at the node.")


class SlotsView(BaseModel):
    zip: str
    skills: list[str]
    minutes_on_site: int
    slots: list[SlotView]


class AppointmentView(BaseModel):
    appointment_id: str
    order_id: str
    status: str
    day: date
    window: str
    node_id: str
    crew_id: str
    zip: str
    minutes_on_site: int
    skills: list[str]
    stop_number: int = Field(description="1-based place in the crew's day.")
    planned_start: str | None = Field(description="Planned visit start, local HH:MM.")


def appointment_view(row: dict) -> AppointmentView:
    start = row.get("planned_start")
    return AppointmentView(
        appointment_id=row["appointment_id"],
        order_id=row["order_id"],
        status=row["status"],
        day=row["day"],
        window=f"{clock(row['window_start'])}-{clock(row['window_end'])}",
        node_id=row["node_id"],
        crew_id=row["crew_id"],
        zip=row["zip"],
        minutes_on_site=row["minutes"],
        skills=row["skills"].split(),
        stop_number=int(row["seq"]) + 1,
        planned_start=None if start is None else clock(int(start)),
    )


class OrderAppointmentsView(BaseModel):
    order_id: str
    needs_appointment: bool = Field(description="A line needs a delivery or service visit.")
    awaiting_appointment: bool = Field(description="Needs one and has none booked or done.")
    appointments: list[AppointmentView]


class OutcomeIn(BaseModel):
    model_config = STRICT

    outcome: Literal["done", "customer_absent", "failed"]


class OutcomeView(BaseModel):
    appointment: AppointmentView
    next_slots: list[SlotView] = Field(description="New slots to offer after a missed visit.")


WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class CrewIn(BaseModel):
    model_config = STRICT

    node_id: Id
    skills: list[Skill] = Field(min_length=1, max_length=20)
    shift_start: str = Field(pattern=r"^\d{2}:\d{2}$", examples=["08:00"])
    shift_end: str = Field(pattern=r"^\d{2}:\d{2}$", examples=["18:00"])
    regions: dict[str, list[str]] = Field(
        description="ZIP3s served per weekday: {'mon': ['021', '022'], ...}"
    )

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, zips in value.items():
            if day not in WEEKDAY_NAMES:
                raise ValueError(f"{day!r} is not a weekday ({', '.join(WEEKDAY_NAMES)})")
            for z in zips:
                if len(z) != 3 or not z.isdigit():
                    raise ValueError(f"{day}: {z!r} is not a 3-digit ZIP prefix")
        return value

    def crew(self, crew_id: str) -> Crew:
        return Crew(
            crew_id,
            self.node_id,
            frozenset(self.skills),
            parse_clock(self.shift_start, "shift_start"),
            parse_clock(self.shift_end, "shift_end"),
            {WEEKDAY_NAMES.index(d): frozenset(z) for d, z in self.regions.items()},
        )


class CrewView(CrewIn):
    crew_id: str

    @classmethod
    def of(cls, c: Crew) -> "CrewView":
        return cls(
            crew_id=c.crew_id,
            node_id=c.node_id,
            skills=sorted(c.skills),
            shift_start=clock(c.shift_start),
            shift_end=clock(c.shift_end),
            regions={WEEKDAY_NAMES[d]: sorted(z) for d, z in sorted(c.regions.items()) if z},
        )


class ItemServiceIn(BaseModel):
    model_config = STRICT

    service: str = Field(min_length=1, max_length=64, examples=["install"])
    skill: Skill = Field(examples=["install"])
    minutes: int = Field(ge=1, le=600, description="Minutes on site per unit.")


class RouteStopView(BaseModel):
    appointment_id: str
    start: int = Field(description="Planned visit start, minutes after local midnight.")
    window: list[int]


class CrewRouteView(BaseModel):
    crew_id: str
    day: date
    node_id: str
    stops: list[RouteStopView]
    drive_minutes: int
    insertion_drive_minutes: int = Field(description="Drive of the insertion-only schedule.")


class CapacityView(BaseModel):
    node_id: str
    day: date
    crews_booked: int
    appointments: int
    service_hours: float
    drive_hours: float
    shift_hours: float
    free_hours: float
    utilisation: float
