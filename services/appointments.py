"""Appointments use cases: offer slots, book, reschedule, cancel, edit pools, route a day.

Speaks domain objects (``appointments.model``); reads and writes through
``data.appointments_repo`` inside ``Database`` transactions. A booking re-checks
its slot inside the transaction that writes it and claims the crew's day row,
so of many callers racing for a crew's last slot exactly one commits; the
others find the day full on their retry and get ``SlotTaken`` with the next
free slots.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from appointments.insertion import best_insertion, schedule
from appointments.model import (
    DEFAULT_MIN_NOTICE_HOURS,
    MAX_SEARCH_DAYS,
    Crew,
    Depot,
    Need,
    Service,
    Slot,
    Stop,
)
from appointments.slots import Visit, find_slots, ready_date
from appointments.travel import Travel
from data.appointments_repo import CREWS_CACHE, SERVICES_CACHE, AppointmentsRepo
from data.geo import zip_table, zip_timezone, zone_of_miles
from data.lifecycle_db import Database
from data.lifecycle_repo import LifecycleRepo
from models.api import Actor
from models.appointments import AppointmentView, appointment_view
from models.lifecycle_errors import Conflict, FieldError, InvalidInput, NotFound
from promise.calendar import NodeCalendar
from services.common import Idempotency

TRAVEL = Travel()
DEPOTS_CACHE = "appointment_depots"
NEXT_SLOTS = 5  # how many free slots a refused booking lists
ACTIVE = "booked"


class SlotTaken(Conflict):
    """The slot asked for has no crew left that can take the visit."""

    def __init__(self, message: str, next_slots: list[dict[str, Any]]) -> None:
        self.next_slots = next_slots
        super().__init__(message)

    @property
    def problem_members(self) -> dict[str, Any]:
        return {"next_slots": self.next_slots}


def bad(field: str, message: str) -> InvalidInput:
    return InvalidInput([FieldError(field, message)])


@dataclass(frozen=True)
class SlotRequest:
    """Slots for an order, or for a cart (SKU -> qty) delivered to a ZIP."""

    order_id: str | None = None
    cart: Mapping[str, int] | None = None
    zip: str | None = None
    first_day: date | None = None
    days: int = 14
    min_notice_hours: int = DEFAULT_MIN_NOTICE_HOURS


@dataclass(frozen=True)
class Offer:
    """Slots found, and what they were found for (calendars give local times)."""

    slots: list[Slot]
    need: Need
    zip: str
    depots: Mapping[str, Depot]


@dataclass(frozen=True)
class _Context:
    visit: Visit
    zip: str
    lines: dict[str, int]
    crews: list[Crew]
    depots: Mapping[str, Depot]
    ready: dict[str, date | None]


# -- reading what a search needs ----------------------------------------------------------


def depots(r: LifecycleRepo) -> dict[str, Depot]:
    """Every node as a depot (centroid of its ZIP, its calendar); cached with the node list."""
    nodes = r.nodes()
    hit = r.cache.get(DEPOTS_CACHE)
    if hit is not None and hit[0] is nodes:
        return dict(hit[1])
    table = zip_table()
    out: dict[str, Depot] = {}
    for n in nodes:
        idx = int(table.index_of([n["zip"]])[0])
        if idx < 0:
            continue
        cal = NodeCalendar.from_settings(
            tz=zip_timezone(n["zip"]) or "America/New_York",
            cutoff_hour=n.get("cutoff_hour") or 14,
            closed_weekdays=n.get("closed_weekdays") or "sat,sun",
            holiday_calendar=n.get("holiday_calendar") or "US",
            closed_dates=n.get("closed_dates") or "",
            open_dates=n.get("open_dates") or "",
        )
        out[n["node_id"]] = Depot(n["node_id"], float(table.lat[idx]), float(table.lon[idx]), cal)
    r.cache[DEPOTS_CACHE] = (nodes, out)
    return out


def depots_of(db: Database) -> dict[str, Depot]:
    return db.read(depots)


def _ground_transit(r: LifecycleRepo) -> dict[int, int]:
    hit = r.cache.get("appointment_transit")
    if hit is None:
        rows = r.rows("SELECT zone, transit_days FROM rate_card WHERE service = 'ground'")
        hit = {int(z): int(d) for z, d in rows}
        r.cache["appointment_transit"] = hit
    return dict(hit)


def _visit_zip(zip_code: str | None, field: str) -> tuple[str, float, float]:
    if not zip_code:
        raise bad(field, "a 5-digit US ZIP is required")
    table = zip_table()
    idx = int(table.index_of([zip_code])[0])
    if idx < 0:
        raise bad(field, f"{zip_code!r} is not a known US ZIP")
    return zip_code, float(table.lat[idx]), float(table.lon[idx])


def _order_lines(
    a: AppointmentsRepo, order_id: str
) -> tuple[str, dict[str, int], dict[tuple[str, str], int]]:
    found = a.order_visit(order_id)
    if found is None:
        raise NotFound(f"order_id: order {order_id!r} does not exist")
    return found


def _context(r: LifecycleRepo, req: SlotRequest, now: datetime) -> _Context:
    a = AppointmentsRepo(r.cur, r.cache)
    held: dict[tuple[str, str], int] = {}
    if req.order_id:
        ship_zip, lines, held = _order_lines(a, req.order_id)
        zip_code, lat, lon = _visit_zip(req.zip or ship_zip, "order_id")
        where = "order_id"
    else:
        if not req.cart:
            raise bad("order_id", "give an order_id, or a cart and a zip")
        lines = dict(req.cart)
        zip_code, lat, lon = _visit_zip(req.zip, "zip")
        where = "cart"
    services = a.item_services(lines)
    need = Need.of(lines, services)
    if need is None:
        raise bad(where, "no line needs a delivery or service appointment")
    zip3 = zip_code[:3]
    all_depots = depots(r)
    crews = [c for c in a.crews() if c.node_id in all_depots]
    serving = [c for c in crews if any(zip3 in z for z in c.regions.values())]
    if not serving:
        raise bad("zip", f"ZIP {zip_code} (region {zip3}) is not served by any crew")
    able = [c for c in serving if c.can_do(need)]
    if not able:
        skills = ", ".join(sorted(need.skills))
        raise bad(where, f"no crew serving {zip3} has every skill: {skills}")
    stock = dict(r.availability(list(all_depots), list(lines)))
    for key, qty in held.items():
        stock[key] = max(stock.get(key, 0), 0) + qty
    transit = _ground_transit(r)
    proc = {n["node_id"]: int(n["processing_days"]) for n in r.nodes()}

    def transit_days(src: str, dst: str) -> int:
        s, d = all_depots[src], all_depots[dst]
        zone = int(zone_of_miles(TRAVEL.miles(s.lat, s.lon, d.lat, d.lon) / TRAVEL.road_factor))
        return transit.get(zone, max(transit.values(), default=5))

    ready = {
        node: ready_date(node, lines, stock, all_depots, proc, transit_days, now)
        for node in {c.node_id for c in able}
    }
    return _Context(Visit(zip3, lat, lon, need), zip_code, lines, able, all_depots, ready)


def _window(req: SlotRequest, now: datetime) -> tuple[date, int]:
    today = now.astimezone(UTC).date()
    first = req.first_day or today
    if first < today - timedelta(days=1):
        raise bad("start", f"{first} is in the past")
    if not 1 <= req.days <= MAX_SEARCH_DAYS:
        raise bad("days", f"{req.days} is not in 1..{MAX_SEARCH_DAYS}")
    return first, req.days


def _search(r: LifecycleRepo, req: SlotRequest, now: datetime) -> Offer:
    first, days = _window(req, now)
    ctx = _context(r, req, now)
    a = AppointmentsRepo(r.cur, r.cache)
    booked = a.booked_stops([c.crew_id for c in ctx.crews], first, first + timedelta(days=days - 1))
    slots = find_slots(
        ctx.visit,
        ctx.crews,
        ctx.depots,
        booked,
        ctx.ready,
        first,
        days,
        now + timedelta(hours=req.min_notice_hours),
        TRAVEL,
    )
    return Offer(slots, ctx.visit.need, ctx.zip, ctx.depots)


def search_slots(db: Database, req: SlotRequest, now: datetime | None = None) -> Offer:
    """Every free slot for the order or cart over the search window."""
    at = now or datetime.now(UTC)
    return db.read(lambda r: _search(r, req, at))


def slot_view(slot: Slot, depots: Mapping[str, Depot]) -> dict[str, Any]:
    cal = depots[slot.node_id].calendar
    return {
        "day": slot.day.isoformat(),
        "window": f"{slot.window_start // 60:02d}:00-{slot.window_end // 60:02d}:00",
        "starts_at": slot.starts_at(cal).isoformat(),
        "ends_at": slot.ends_at(cal).isoformat(),
        "node_id": slot.node_id,
        "crew_id": slot.crew_id,
        "ready_date": slot.ready_date.isoformat(),
    }


# -- booking ------------------------------------------------------------------------------


def _place(
    a: AppointmentsRepo,
    ctx: _Context,
    day: date,
    window: tuple[int, int],
    earliest: datetime,
) -> tuple[Crew, list[Stop], int] | None:
    """The crew (least added drive) that can take the visit on ``day`` in ``window``:
    the crew, its day with the stop inserted, and the stop's index."""
    ws, we = window
    best: tuple[int, Crew, list[Stop], int] | None = None
    crews = [
        c
        for c in ctx.crews
        if (ctx.ready.get(c.node_id) or date.max) <= day
        and c.serves(ctx.visit.zip3, day)
        and ctx.depots[c.node_id].calendar.working_day(day)
    ]
    booked = a.booked_stops([c.crew_id for c in crews], day, day)
    for crew in crews:
        depot = ctx.depots[crew.node_id]
        if Slot(crew.crew_id, crew.node_id, day, ws, we, day).starts_at(depot.calendar) < earliest:
            continue
        stops = booked.get((crew.crew_id, day), [])
        new = Stop("new", ctx.visit.lat, ctx.visit.lon, ws, we, ctx.visit.need.minutes)
        ins = best_insertion(crew, depot, stops, new, TRAVEL)
        if ins is not None and (best is None or ins.added_drive < best[0]):
            best = (ins.added_drive, crew, stops, ins.position)
    if best is None:
        return None
    return best[1], best[2], best[3]


def _write_day(
    a: AppointmentsRepo, crew: Crew, depot: Depot, day: date, stops: Sequence[Stop]
) -> None:
    """Number the crew's stops in this order with their planned starts; claim the day."""
    sched = schedule(crew, depot, stops, TRAVEL)
    if sched is None:  # cannot happen for an insertion best_insertion accepted
        raise Conflict(f"crew {crew.crew_id} on {day}: the day no longer routes")
    a.set_sequence(
        crew.crew_id, day, [(s.appointment_id, t) for s, t in zip(stops, sched.starts, strict=True)]
    )
    a.touch_crew_day(crew.crew_id, day, crew.node_id, sched.drive_minutes if stops else 0)


def _book_in(
    r: LifecycleRepo,
    req: SlotRequest,
    day: date,
    window: tuple[int, int],
    actor: Actor,
    now: datetime,
    replacing: str | None = None,
    idempotency: Idempotency | None = None,
) -> AppointmentView:
    if idempotency and (first := idempotency.replay(r)):
        return AppointmentView.model_validate_json(first)
    a = AppointmentsRepo(r.cur, r.cache)
    assert req.order_id
    active = [x for x in a.order_appointments(req.order_id) if x["status"] == ACTIVE]
    if replacing is None and active:
        raise Conflict(
            f"order_id: order {req.order_id!r} already has appointment "
            f"{active[0]['appointment_id']}; reschedule or cancel it"
        )
    ctx = _context(r, req, now)
    earliest = now + timedelta(hours=req.min_notice_hours)
    if replacing is not None:
        _release(a, r, replacing, ctx.depots)
    placed = _place(a, ctx, day, window, earliest)
    if placed is None:
        raise SlotTaken(f"no crew can take order {req.order_id} on {day} in that window", [])
    crew, stops, position = placed
    aid = f"AP-{uuid.uuid4().hex[:12]}"
    a.insert_appointment(
        {
            "appointment_id": aid,
            "order_id": req.order_id,
            "crew_id": crew.crew_id,
            "node_id": crew.node_id,
            "day": day,
            "window_start": window[0],
            "window_end": window[1],
            "zip": ctx.zip,
            "lat": ctx.visit.lat,
            "lon": ctx.visit.lon,
            "minutes": ctx.visit.need.minutes,
            "skills": " ".join(sorted(ctx.visit.need.skills)),
            "seq": position,
            "status": ACTIVE,
        }
    )
    new = Stop(aid, ctx.visit.lat, ctx.visit.lon, window[0], window[1], ctx.visit.need.minutes)
    _write_day(a, crew, ctx.depots[crew.node_id], day, [*stops[:position], new, *stops[position:]])
    kind = "appointment_rescheduled" if replacing else "appointment_booked"
    r.add_event(
        req.order_id,
        kind,
        actor.name,
        actor.channel,
        None,
        None,
        {
            "appointment_id": aid,
            "day": day.isoformat(),
            "window": list(window),
            "crew_id": crew.crew_id,
            "node_id": crew.node_id,
            "replaces": replacing,
        },
    )
    found = a.appointment(aid)
    assert found is not None
    view = appointment_view(found)
    if idempotency:
        idempotency.remember(r, view)
    return view


def _release(
    a: AppointmentsRepo, r: LifecycleRepo, appointment_id: str, all_depots: Mapping[str, Depot]
) -> dict[str, Any]:
    """Take a booked appointment off its crew's day (status cancelled), re-number the rest."""
    row = a.appointment(appointment_id)
    if row is None:
        raise NotFound(f"appointment_id: appointment {appointment_id!r} does not exist")
    if row["status"] != ACTIVE:
        raise Conflict(f"appointment {appointment_id} is {row['status']}, not booked")
    a.set_status(appointment_id, "cancelled")
    crew = a.crew(row["crew_id"])
    if crew is not None and row["node_id"] in all_depots:
        rest = a.booked_stops([crew.crew_id], row["day"], row["day"]).get(
            (crew.crew_id, row["day"]), []
        )
        _write_day(a, crew, all_depots[row["node_id"]], row["day"], rest)
    return row


def _next_slots(db: Database, req: SlotRequest, now: datetime, day: date) -> list[dict[str, Any]]:
    try:
        offer = search_slots(
            db, SlotRequest(req.order_id, req.cart, req.zip, day, 14, req.min_notice_hours), now
        )
    except (InvalidInput, NotFound):
        return []
    return [slot_view(s, offer.depots) for s in offer.slots[:NEXT_SLOTS]]


def _check_slot(day: date, window: tuple[int, int], req: SlotRequest, now: datetime) -> None:
    # The earliest instant any zone's window could start (UTC-12); precise check per crew.
    latest_start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(
        minutes=window[0] + 12 * 60
    )
    if latest_start < now + timedelta(hours=req.min_notice_hours):
        raise bad(
            "day",
            f"{day} {window[0] // 60:02d}:00 is in the past or inside the "
            f"{req.min_notice_hours} h minimum notice",
        )


def book(
    db: Database,
    req: SlotRequest,
    day: date,
    window: tuple[int, int],
    actor: Actor,
    now: datetime | None = None,
    replacing: str | None = None,
    idempotency: Idempotency | None = None,
) -> AppointmentView:
    """Hold the slot for the order, atomically; SlotTaken (with next slots) if it is gone.
    With an Idempotency-Key seen before (same body), the first booking comes back."""
    at = now or datetime.now(UTC)
    if idempotency and (first := db.read(idempotency.replay)):
        return AppointmentView.model_validate_json(first)
    _check_slot(day, window, req, at)
    try:
        return db.write(lambda r: _book_in(r, req, day, window, actor, at, replacing, idempotency))
    except SlotTaken as exc:
        raise SlotTaken(str(exc), _next_slots(db, req, at, day)) from None


def reschedule(
    db: Database,
    appointment_id: str,
    day: date,
    window: tuple[int, int],
    actor: Actor,
    now: datetime | None = None,
) -> AppointmentView:
    row = db.read(lambda r: AppointmentsRepo(r.cur, r.cache).appointment(appointment_id))
    if row is None:
        raise NotFound(f"appointment_id: appointment {appointment_id!r} does not exist")
    return book(
        db, SlotRequest(order_id=row["order_id"]), day, window, actor, now, replacing=appointment_id
    )


def _logged(
    a: AppointmentsRepo,
    r: LifecycleRepo,
    appointment_id: str,
    row: dict[str, Any],
    event: str,
    actor: Actor,
) -> dict[str, Any]:
    """Put ``event`` for appointment ``row`` on its order's timeline; the row as now stored."""
    r.add_event(
        row["order_id"],
        event,
        actor.name,
        actor.channel,
        None,
        None,
        {"appointment_id": appointment_id, "day": row["day"].isoformat()},
    )
    found = a.appointment(appointment_id)
    assert found is not None
    return found


def cancel(db: Database, appointment_id: str, actor: Actor) -> dict[str, Any]:
    def work(r: LifecycleRepo) -> dict[str, Any]:
        a = AppointmentsRepo(r.cur, r.cache)
        row = _release(a, r, appointment_id, depots(r))
        return _logged(a, r, appointment_id, row, "appointment_cancelled", actor)

    return db.write(work)


def appointment(db: Database, appointment_id: str) -> dict[str, Any]:
    row = db.read(lambda r: AppointmentsRepo(r.cur, r.cache).appointment(appointment_id))
    if row is None:
        raise NotFound(f"appointment_id: appointment {appointment_id!r} does not exist")
    return row


# -- pools --------------------------------------------------------------------------------


def put_crews(db: Database, crews: Sequence[Crew]) -> None:
    def work(r: LifecycleRepo) -> None:
        known = {n["node_id"] for n in r.nodes()}
        for i, c in enumerate(crews):
            if c.node_id not in known:
                raise bad(f"crews.{i}.node_id", f"node {c.node_id!r} does not exist")
        AppointmentsRepo(r.cur, r.cache).put_crews(crews)

    db.write(work)
    db.cache.pop(CREWS_CACHE, None)


def delete_crew(db: Database, crew_id: str) -> None:
    gone = db.write(lambda r: AppointmentsRepo(r.cur, r.cache).delete_crew(crew_id))
    db.cache.pop(CREWS_CACHE, None)
    if not gone:
        raise NotFound(f"crew_id: crew {crew_id!r} does not exist")


def list_crews(db: Database, node_id: str | None = None) -> list[Crew]:
    crews = db.read(lambda r: AppointmentsRepo(r.cur, r.cache).crews())
    return [c for c in crews if node_id is None or c.node_id == node_id]


def put_item_services(db: Database, services: Sequence[Service]) -> None:
    db.write(lambda r: AppointmentsRepo(r.cur, r.cache).put_item_services(services))
    db.cache.pop(SERVICES_CACHE, None)


def capacity(
    db: Database, first: date, last: date, node_id: str | None = None
) -> list[dict[str, Any]]:
    return db.read(lambda r: AppointmentsRepo(r.cur, r.cache).capacity(first, last, node_id))


# -- routing a day ------------------------------------------------------------------------


@dataclass(frozen=True)
class DayRoutes:
    node_id: str
    day: date
    result: Any  # appointments.routing.Result
    crews: int
    appointments: int


def route_day(db: Database, day: date, node_id: str, time_limit_s: float = 10.0) -> DayRoutes:
    """Plan the node's crews' day with the routing solver; write the order and the work items.

    The solve runs outside any transaction; the write checks that the day's bookings
    are still the ones routed (a booking meanwhile: Conflict, route again)."""
    from appointments.routing import DayData, Params, solve

    def read(r: LifecycleRepo) -> tuple[DayData, set[str]]:
        a = AppointmentsRepo(r.cur, r.cache)
        all_depots = depots(r)
        if node_id not in all_depots:
            raise NotFound(f"node_id: node {node_id!r} does not exist (or has no known ZIP)")
        crews = [c for c in a.crews() if c.node_id == node_id]
        booked = a.booked_stops([c.crew_id for c in crews], day, day)
        data = DayData(day, all_depots[node_id], crews, {c: s for (c, _), s in booked.items()})
        return data, {s.appointment_id for stops in booked.values() for s in stops}

    data, ids = db.read(read)
    result = solve(data, Params(time_limit_s=time_limit_s))
    crews = {c.crew_id: c for c in data.crews}

    def write(r: LifecycleRepo) -> None:
        a = AppointmentsRepo(r.cur, r.cache)
        now_booked = a.booked_stops(list(crews), day, day)
        if {s.appointment_id for stops in now_booked.values() for s in stops} != ids:
            raise Conflict(f"bookings at {node_id} on {day} changed while routing; route again")
        if result.solved:
            for route in result.routes:
                a.set_sequence(
                    route.crew_id, day, [(s.appointment_id, s.start) for s in route.stops]
                )
                if route.stops or (route.crew_id, day) in now_booked:
                    a.touch_crew_day(route.crew_id, day, node_id, route.drive_minutes)
        a.save_routes(
            day,
            node_id,
            [
                {
                    "crew_id": rt.crew_id,
                    "stops": [
                        {
                            "appointment_id": s.appointment_id,
                            "start": s.start,
                            "window": [s.window_start, s.window_end],
                        }
                        for s in rt.stops
                    ],
                    "drive_minutes": rt.drive_minutes,
                    "insertion_drive_minutes": rt.insertion_drive_minutes,
                }
                for rt in result.routes
                if rt.stops
            ],
        )

    db.write(write)
    return DayRoutes(node_id, day, result, len(data.crews), len(ids))


def nodes_with_bookings(db: Database, day: date) -> list[str]:
    return db.read(lambda r: AppointmentsRepo(r.cur, r.cache).nodes_with_bookings(day))


# -- outcomes and the order's view --------------------------------------------------------

OUTCOMES = {"done": "done", "customer_absent": "customer_absent", "failed": "failed"}


def complete(
    db: Database, appointment_id: str, outcome: str, actor: Actor, now: datetime | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Record a visit's outcome on the order's timeline; an absent customer or a failed
    visit frees the crew's stop and comes back with new slots to offer."""
    if outcome not in OUTCOMES:
        raise bad("outcome", f"{outcome!r} is not one of {', '.join(OUTCOMES)}")

    def work(r: LifecycleRepo) -> dict[str, Any]:
        a = AppointmentsRepo(r.cur, r.cache)
        row = a.appointment(appointment_id)
        if row is None:
            raise NotFound(f"appointment_id: appointment {appointment_id!r} does not exist")
        if row["status"] != ACTIVE:
            raise Conflict(f"appointment {appointment_id} is {row['status']}, not booked")
        a.set_status(appointment_id, OUTCOMES[outcome])
        return _logged(a, r, appointment_id, row, f"appointment_{outcome}", actor)

    row = db.write(work)
    again: list[dict[str, Any]] = []
    if outcome != "done":
        at = now or datetime.now(UTC)
        again = _next_slots(db, SlotRequest(order_id=row["order_id"]), at, at.date())
    return row, again


def order_status(db: Database, order_id: str) -> tuple[bool, list[dict[str, Any]]]:
    """(the order has a line needing a service, its appointments newest last)."""

    def work(r: LifecycleRepo) -> tuple[bool, list[dict[str, Any]]]:
        a = AppointmentsRepo(r.cur, r.cache)
        found = a.order_visit(order_id)
        if found is None:
            raise NotFound(f"order_id: order {order_id!r} does not exist")
        needs = Need.of(found[1], a.item_services(found[1])) is not None
        return needs, a.order_appointments(order_id)

    return db.read(work)


def crew_routes(db: Database, day: date, node_id: str | None = None) -> list[dict[str, Any]]:
    return db.read(lambda r: AppointmentsRepo(r.cur, r.cache).crew_routes(day, node_id))
