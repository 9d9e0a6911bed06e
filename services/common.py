"""Pieces several use cases share: reading an order whole, reserving its open
demand, recording a status change as an event, billing what was fulfilled, and ids."""

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from data.geo import haversine_miles, zip_table
from data.lifecycle_repo import LifecycleRepo
from models.api import (
    Actor,
    AddressView,
    CustomerView,
    LineView,
    OrderView,
    Placement,
    Totals,
)
from models.commerce import Promotion, invoice_for, quote
from models.enums import Service
from models.lifecycle import OrderStatus, check_transition
from models.lifecycle_errors import IdempotencyMismatch, NotFound, WriteConflict
from models.orders import LineState, OrderRecord
from models.reservation import Hold, Need, choose_reservation, sorted_holds
from services.promise import held_in


@dataclass(frozen=True)
class Idempotency:
    """An Idempotency-Key for one caller and route, with the hash of the request body.

    Built by the API (which knows the route and the status it answers with);
    checked and remembered inside the create's own transaction, so a retry sees
    either nothing (and creates) or the first response (and replays it).
    """

    scope: str
    key: str
    request_hash: str
    status: int

    @staticmethod
    def of(scope: str, key: str | None, body: BaseModel, status: int) -> "Idempotency | None":
        if not key:
            return None
        digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
        return Idempotency(scope, key, digest, status)

    def replay(self, repo: LifecycleRepo) -> str | None:
        """The first response's JSON, or None; IdempotencyMismatch for another body."""
        stored = repo.idempotent(self.scope, self.key)
        if stored is None:
            return None
        if stored["request_hash"] != self.request_hash:
            raise IdempotencyMismatch(
                f"Idempotency-Key {self.key!r} was already used with a different request body"
            )
        return str(stored["response"])

    def remember(self, repo: LifecycleRepo, body: BaseModel) -> None:
        repo.remember(self.scope, self.key, self.request_hash, self.status, body.model_dump_json())


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def load_order(repo: LifecycleRepo, order_id: str) -> OrderRecord:
    order = repo.order_row(order_id)
    if order is None:
        raise NotFound(f"no order {order_id!r}")
    if not order["adopted"]:
        # A batch-loaded order seen for the first time: give it lifecycle rows.
        repo.adopt_orders()
        order = repo.order_row(order_id)
        assert order is not None
    return order


def promotion_of(repo: LifecycleRepo, code: str | None) -> Promotion | None:
    if not code:
        return None
    row = repo.promotion(code)
    return None if row is None else Promotion.model_validate(row)


def order_state(order: OrderRecord) -> str | None:
    """The state whose tax applies: the ship-to state, else the pickup store's."""
    if state := order.get("ship_state"):
        return state.upper()
    if zip5 := order.get("ship_zip"):
        return zip_table().state_of(zip5)
    return None


def order_quote(
    repo: LifecycleRepo,
    order: OrderRecord,
    lines: list[LineState],
    items: dict[str, dict[str, Any]] | None = None,
) -> Any:
    """The order's price on its current (uncancelled) quantities (``items``: the items
    already read, when many orders are priced at once)."""
    state = order_state(order)
    if state is None and (pickup := order.get("pickup_node_id")):
        node = next((n for n in repo.nodes() if n["node_id"] == pickup), None)  # cached
        state = zip_table().state_of(node["zip"]) if node else None
    priced = [
        (ls["line_no"], ls["sku"], ls["ordered_qty"] - ls["cancelled_qty"], ls["unit_price"])
        for ls in lines
        if ls["ordered_qty"] - ls["cancelled_qty"] > 0
    ]
    if items is None:
        items = repo.items(sku for _, sku, _, _ in priced)
    ships = any(not items.get(sku, {}).get("digital") for _, sku, _, _ in priced)
    promo = promotion_of(repo, order.get("promo_code"))
    return quote(priced, Service(order["service"]), state, promo, ships=ships)


def bill(
    repo: LifecycleRepo, order: OrderRecord, reference: str, units: dict[int, int], shipping: bool
) -> str:
    """Invoice ``units`` per line_no of the order (line prices, the promotion's share,
    tax; the shipping charge when ``shipping``); ``reference`` names what fulfilled
    them: a work item, or a digital delivery. Returns the invoice id."""
    q = order_quote(repo, order, repo.line_states(order["order_id"]))
    inv = invoice_for(q, units, include_shipping=shipping)
    invoice_id = new_id("inv")
    repo.insert_invoice(
        {
            "invoice_id": invoice_id,
            "order_id": order["order_id"],
            "work_item_id": reference,
            "subtotal": inv.subtotal,
            "discount": inv.discount,
            "shipping": inv.shipping,
            "tax": inv.tax,
            "total": inv.total,
        },
        [ln.__dict__ for ln in inv.lines],
    )
    return invoice_id


def order_view(repo: LifecycleRepo, order_id: str) -> OrderView:
    order = load_order(repo, order_id)
    states = repo.line_states(order_id)
    return whole_view(repo, order, states, repo.open_lines(order_id), repo.reservations(order_id))


def whole_view(
    repo: LifecycleRepo,
    order: OrderRecord,
    states: list[LineState],
    open_lines: list[dict[str, Any]],
    reservations: list[dict[str, Any]],
    items: dict[str, dict[str, Any]] | None = None,
) -> OrderView:
    """The view of an order from its rows: record, line states, open lines, holds."""
    open_qty = {r["line_no"]: r["qty"] for r in open_lines}
    held: dict[int, list[Placement]] = {}
    for r in reservations:
        held.setdefault(r["line_no"], []).append(
            Placement(node_id=r["node_id"], qty=r["qty"], released=r["released"])
        )
    q = order_quote(repo, order, states, items)
    lines = [
        LineView(
            line_no=s["line_no"],
            sku=s["sku"],
            unit_price=s["unit_price"],
            ordered_qty=s["ordered_qty"],
            cancelled_qty=s["cancelled_qty"],
            open_qty=open_qty.get(s["line_no"], 0),
            released_qty=s["released_qty"],
            shipped_qty=s["shipped_qty"],
            returned_qty=s["returned_qty"],
            reservations=held.get(s["line_no"], []),
        )
        for s in states
    ]
    return OrderView(
        **order_header(order),
        lines=lines,
        totals=totals_of(q),
        version=order["version"],
        created_at=order["created_at"],
        updated_at=order["updated_at"],
    )


def order_header(order: OrderRecord) -> dict[str, Any]:
    """The OrderView fields that come straight from the order row."""
    ship_to = None
    if order["ship_zip"]:
        ship_to = AddressView(
            name=order["ship_name"],
            line1=order["ship_line1"],
            city=order["ship_city"],
            state=order["ship_state"],
            zip=order["ship_zip"],
        )
    return {
        "order_id": order["order_id"],
        "status": order["status"],
        "channel": order["channel"],
        "service": order["service"],
        "due_days": order["due_days"],
        "ship_complete": order["ship_complete"],
        "max_packages": order["max_packages"],
        "pickup_node_id": order["pickup_node_id"],
        "customer": CustomerView(
            email=order["customer_email"], name=order["customer_name"], phone=order["phone"]
        ),
        "ship_to": ship_to,
        "promo_code": order["promo_code"],
    }


def totals_of(q: Any) -> Totals:
    return Totals(
        subtotal=q.subtotal, discount=q.discount, shipping=q.shipping, tax=q.tax, total=q.total
    )


def candidate_nodes(
    repo: LifecycleRepo,
    service: str,
    ship_zip: str | None,
    pickup_node_id: str | None,
    exclude: frozenset[str] = frozenset(),
) -> list[str]:
    """Nodes that may fulfil the order, nearest first (pickup: its store only)."""
    if service == Service.PICKUP:
        return [] if not pickup_node_id or pickup_node_id in exclude else [pickup_node_id]
    nodes = [n for n in repo.nodes() if n["ship_enabled"] and n["node_id"] not in exclude]
    if not nodes or not ship_zip:
        return []
    table = zip_table()
    zips = [n["zip"] for n in nodes]
    idx = table.index_of(zips)
    dest = int(table.index_of([ship_zip])[0])
    if dest < 0:
        return sorted(n["node_id"] for n in nodes)
    lat = np.where(idx >= 0, table.lat[idx], 0.0)
    lon = np.where(idx >= 0, table.lon[idx], 0.0)
    miles = haversine_miles(lat, lon, table.lat[dest], table.lon[dest])
    miles = np.where(idx >= 0, miles, np.inf)
    ranked = sorted(range(len(nodes)), key=lambda i: (float(miles[i]), nodes[i]["node_id"]))
    return [nodes[i]["node_id"] for i in ranked]


def reserve_open_demand(
    repo: LifecycleRepo,
    order: OrderRecord,
    needs: list[Need],
    exclude: frozenset[str] = frozenset(),
    released: bool = False,
) -> list[Hold] | None:
    """Reserve stock for ``needs`` all or nothing; the holds taken, or None.

    The stock rows are updated one by one in (node_id, sku) order, each with
    its availability re-checked in the UPDATE itself.
    """
    if not needs:
        return []
    nodes = candidate_nodes(
        repo, order["service"], order["ship_zip"], order["pickup_node_id"], exclude
    )
    avail = repo.availability(nodes, [n.sku for n in needs])
    held = held_in(repo.cache, list(avail))  # units live delivery promises hold
    if held:
        avail = {k: a - held.get(k, 0) for k, a in avail.items()}
    holds = choose_reservation(
        needs,
        nodes,
        avail,
        ship_complete=bool(order["ship_complete"]),
        max_packages=order["max_packages"],
    )
    if holds is None:
        return None
    for node_id, sku, qty in sorted_holds(holds):
        if not repo.reserve_stock(node_id, sku, qty):
            # Our snapshot said it was there; only a concurrent writer explains it: retry.
            raise WriteConflict(f"stock of {sku} at {node_id} moved")
    repo.add_reservations(
        order["order_id"], [(h.line_no, h.node_id, h.sku, h.qty) for h in holds], released
    )
    return holds


def release_reservations(repo: LifecycleRepo, order_id: str) -> list[dict[str, Any]]:
    """Give back every unreleased hold of an order (stock rows in fixed order)."""
    held = repo.drop_reservations(order_id, released=False)
    per_row: dict[tuple[str, str], int] = {}
    for r in held:
        per_row[(r["node_id"], r["sku"])] = per_row.get((r["node_id"], r["sku"]), 0) + r["qty"]
    for (node_id, sku), qty in sorted(per_row.items()):
        repo.unreserve_stock(node_id, sku, qty)
    return held


def move(
    repo: LifecycleRepo,
    order_id: str,
    current: str,
    target: OrderStatus | str,
    actor: Actor,
    event_type: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Change an order's status (checked against the state machine) and log the event."""
    target = OrderStatus(target)
    if target != current:
        check_transition(current, target, f"order {order_id}")
        repo.set_status(order_id, target)
    repo.add_event(order_id, event_type, actor.name, actor.channel, current, target.value, details)
