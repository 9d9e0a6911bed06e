"""Delivery and service appointments: slots that fit a crew's route, bookings, pools."""

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.deps import DB, READERS, Id, IdempotencyKey, IdQuery, allow, bad, creating
from api.problems import PROBLEMS
from appointments.model import MAX_SEARCH_DAYS, Service
from models.api import Actor, Role
from models.appointments import (
    AppointmentView,
    BookingIn,
    CapacityView,
    CrewIn,
    CrewRouteView,
    CrewView,
    ItemServiceIn,
    OrderAppointmentsView,
    OutcomeIn,
    OutcomeView,
    SlotsView,
    SlotView,
    Window,
    appointment_view,
    parse_window,
)
from services import appointments as svc

router = APIRouter(prefix="/appointments", tags=["appointments"], responses=PROBLEMS)

BOOKERS = (Role.CHANNEL, Role.CUSTOMER_SERVICE)
POOL_EDITORS = (Role.MERCHANDISER,)
Reader = Annotated[Actor, Depends(allow(*READERS))]
Booker = Annotated[Actor, Depends(allow(*BOOKERS))]
Editor = Annotated[Actor, Depends(allow(*POOL_EDITORS))]
Visitor = Annotated[Actor, Depends(allow(Role.NODE, Role.CUSTOMER_SERVICE))]


def _cart(text: str | None) -> dict[str, int] | None:
    """'SOFA:1,TV:2' -> {'SOFA': 1, 'TV': 2}; the field named on a bad entry."""
    if not text:
        return None
    out: dict[str, int] = {}
    for part in text.split(","):
        sku, _, qty = part.strip().partition(":")
        if not sku or not (qty or "1").isdigit() or int(qty or "1") < 1:
            raise bad("cart", f"{part!r} is not SKU[:QTY] with QTY >= 1")
        out[sku] = out.get(sku, 0) + int(qty or "1")
    return out


@router.get("/slots", summary="Free appointment slots for an order, or a cart and a ZIP")
def slots(
    db: DB,
    _: Reader,
    order_id: IdQuery = None,
    cart: Annotated[str | None, Query(max_length=2000, examples=["SOFA:1,TV:1"])] = None,
    zip: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
    start: date | None = None,
    days: Annotated[int, Query(ge=1, le=MAX_SEARCH_DAYS)] = 14,
) -> SlotsView:
    req = svc.SlotRequest(order_id=order_id, cart=_cart(cart), zip=zip, first_day=start, days=days)
    offer = svc.search_slots(db, req)
    return SlotsView(
        zip=offer.zip,
        skills=sorted(offer.need.skills),
        minutes_on_site=offer.need.minutes,
        slots=[SlotView(**svc.slot_view(s, offer.depots)) for s in offer.slots],
    )


@router.post(
    "",
    status_code=201,
    summary="Book a slot for an order (409 lists the next free slots if it is gone)",
)
def book(
    db: DB,
    who: Booker,
    body: BookingIn,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> AppointmentView:
    """Same Idempotency-Key and body: the first booking again; another body: 409."""
    view = svc.book(
        db,
        svc.SlotRequest(order_id=body.order_id),
        body.day,
        parse_window(body.window),
        who,
        idempotency=creating(who, "POST /appointments", idempotency_key, body),
    )
    response.headers["Location"] = f"/appointments/{view.appointment_id}"
    return view


@router.get("/crews", summary="The resource pools: crews, skills, shifts, regions")
def crews(db: DB, _: Reader, node_id: IdQuery = None) -> list[CrewView]:
    return [CrewView.of(c) for c in svc.list_crews(db, node_id)]


@router.put("/crews/{crew_id}", summary="Create or replace a crew (merchandiser)")
def put_crew(db: DB, _: Editor, crew_id: Id, body: CrewIn) -> CrewView:
    try:
        crew = body.crew(crew_id)
    except ValueError as exc:
        raise bad("body", str(exc)) from None
    svc.put_crews(db, [crew])
    return CrewView.of(crew)


@router.delete("/crews/{crew_id}", status_code=204, summary="Remove a crew (merchandiser)")
def delete_crew(db: DB, _: Editor, crew_id: Id) -> Response:
    svc.delete_crew(db, crew_id)
    return Response(status_code=204)


@router.put("/item-services/{sku}", summary="What an item needs on site (merchandiser)")
def put_item_service(db: DB, _: Editor, sku: Id, body: ItemServiceIn) -> ItemServiceIn:
    svc.put_item_services(db, [Service(sku, body.service, body.skill, body.minutes)])
    return body


@router.get("/capacity", summary="Booked vs free capacity, drive hours per node and day")
def capacity(
    db: DB,
    _: Reader,
    start: date,
    days: Annotated[int, Query(ge=1, le=366)] = 14,
    node_id: IdQuery = None,
) -> list[CapacityView]:
    rows = svc.capacity(db, start, start + timedelta(days=days - 1), node_id)
    return [CapacityView(**r) for r in rows]


@router.get("/routes", summary="A day's crew work items: ordered stops with planned starts")
def routes(db: DB, _: Visitor, day: date, node_id: IdQuery = None) -> list[CrewRouteView]:
    return [CrewRouteView(**r) for r in svc.crew_routes(db, day, node_id)]


@router.get("/orders/{order_id}", summary="An order's appointments; is it awaiting one?")
def for_order(db: DB, _: Reader, order_id: Id) -> OrderAppointmentsView:
    needs, rows = svc.order_status(db, order_id)
    views = [appointment_view(r) for r in rows]
    return OrderAppointmentsView(
        order_id=order_id,
        needs_appointment=needs,
        awaiting_appointment=needs and not any(v.status in ("booked", "done") for v in views),
        appointments=views,
    )


@router.get("/{appointment_id}", summary="One appointment")
def get_appointment(db: DB, _: Reader, appointment_id: Id) -> AppointmentView:
    return appointment_view(svc.appointment(db, appointment_id))


@router.post("/{appointment_id}/reschedule", summary="Move an appointment to another slot")
def reschedule(db: DB, who: Booker, appointment_id: Id, body: Window) -> AppointmentView:
    return svc.reschedule(db, appointment_id, body.day, parse_window(body.window), who)


@router.post(
    "/{appointment_id}/complete",
    summary="A visit's outcome (done, customer_absent, failed); the latter two offer new slots",
)
def complete(db: DB, who: Visitor, appointment_id: Id, body: OutcomeIn) -> OutcomeView:
    row, again = svc.complete(db, appointment_id, body.outcome, who)
    return OutcomeView(appointment=appointment_view(row), next_slots=[SlotView(**s) for s in again])


@router.post("/{appointment_id}/cancel", summary="Cancel an appointment (frees its slot)")
def cancel(db: DB, who: Booker, appointment_id: Id) -> AppointmentView:
    return appointment_view(svc.cancel(db, appointment_id, who))
