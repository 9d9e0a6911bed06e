"""Slot search: which (day, window) can a crew serve, with the products there in time.

A slot is offered on ``day`` in ``window`` when some crew

(a) has every skill the visit needs and serves the visit's ZIP3 on that weekday,
    on a working day of its node's calendar (holidays and closed weekdays off);
(b) works at a node the products can be at by then: ``ready_date`` (below);
(c) can take the stop: inserted into its booked day, every window and the shift
    end still hold (``insertion.best_insertion``);

and the window starts at least the minimum notice after now. Of the crews that
can, the one whose detour adds the least drive is named.

Ready date of a node (the contract, to recompute by hand): for each SKU, if
the node has the units, the node's local today; otherwise, over the nodes
that have them, the earliest of (that node's pickup day for an order placed
now: start day + processing days in its working days, see promise/README.md)
+ ground transit days in carrier days + 1 day to receive and stage. The
node's ready date is the latest over the SKUs; no source means no slot there.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from appointments.insertion import insert, prepare
from appointments.model import SLOTS, Crew, Depot, Need, Slot, Stop
from appointments.travel import Travel
from promise.calendar import delivery_day

STAGE_DAYS = 1  # a transfer received on day d is on a van from d + 1


@dataclass(frozen=True)
class Visit:
    """Where and what: the customer's ZIP centroid and the visit's need."""

    zip3: str
    lat: float
    lon: float
    need: Need


def ready_date(
    node_id: str,
    lines: Mapping[str, int],
    stock: Mapping[tuple[str, str], int],
    depots: Mapping[str, Depot],
    processing_days: Mapping[str, int],
    transit_days: Callable[[str, str], int],
    now: datetime,
) -> date | None:
    """The first day every line's units can be at ``node_id`` (see the module's contract)."""
    here = depots[node_id]
    today = here.calendar.local(now).date()
    ready = today
    for sku, qty in lines.items():
        if stock.get((node_id, sku), 0) >= qty:
            continue
        best: date | None = None
        for (source, s), units in stock.items():
            if s != sku or units < qty or source == node_id or source not in depots:
                continue
            cal = depots[source].calendar
            ship = cal.ship_day(now, processing_days.get(source, 1))
            arrive = delivery_day(ship, transit_days(source, node_id)) + timedelta(STAGE_DAYS)
            best = arrive if best is None or arrive < best else best
        if best is None:
            return None
        ready = max(ready, best)
    return ready


def find_slots(
    visit: Visit,
    crews: Iterable[Crew],
    depots: Mapping[str, Depot],
    booked: Mapping[tuple[str, date], Sequence[Stop]],
    ready: Mapping[str, date | None],
    first_day: date,
    days: int,
    earliest_start: datetime,
    travel: Travel,
    windows: Sequence[tuple[int, int]] = SLOTS,
) -> list[Slot]:
    """Every offered (day, window), with the crew whose detour is least; by day, window."""
    able = [c for c in crews if c.can_do(visit.need) and ready.get(c.node_id) is not None]
    out: list[Slot] = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        best: dict[tuple[int, int], tuple[int, Crew]] = {}
        for crew in able:
            depot = depots[crew.node_id]
            node_ready = ready[crew.node_id]
            if node_ready is None or day < node_ready or not crew.serves(visit.zip3, day):
                continue
            if not depot.calendar.working_day(day):
                continue
            plan = prepare(crew, depot, booked.get((crew.crew_id, day), ()), travel)
            for ws, we in windows:
                if (
                    Slot(crew.crew_id, crew.node_id, day, ws, we, day).starts_at(depot.calendar)
                    < earliest_start
                ):
                    continue
                stop = Stop("new", visit.lat, visit.lon, ws, we, visit.need.minutes)
                ins = insert(plan, stop)
                if ins is None:
                    continue
                held = best.get((ws, we))
                if held is None or ins.added_drive < held[0]:
                    best[(ws, we)] = (ins.added_drive, crew)
        for (ws, we), (_, crew) in sorted(best.items()):
            node_ready = ready[crew.node_id]
            assert node_ready is not None
            out.append(Slot(crew.crew_id, crew.node_id, day, ws, we, node_ready))
    return out
