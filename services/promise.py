"""Delivery promises and availability: use cases over the in-memory promise index.

The index lives in the process that owns the store, in ``Database.cache``
(a batch load clears that cache, so the next call rebuilds the index from
the new network). It is built from one snapshot read while writers are held
back, so no committed stock change falls between the snapshot and the index.
"""

import dataclasses
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from data.lifecycle_db import Database
from data.lifecycle_repo import LifecycleRepo
from models.lifecycle_errors import FieldError, InvalidInput, OutOfStock
from models.promise import ListingRequest, PromiseRequest
from models.reservation import Hold
from promise.calendar import backlog_days
from promise.index import (
    SERVICES,
    CartLine,
    ListingRow,
    NodeAvailability,
    Promise,
    PromiseExpired,
    PromiseIndex,
)

INDEX_KEY = "promise_index"
_build = threading.Lock()


def index_of(db: Database) -> PromiseIndex:
    """The process's promise index, built from the store on first use."""
    found = db.cache.get(INDEX_KEY)
    if isinstance(found, PromiseIndex):
        return found
    with _build:
        found = db.cache.get(INDEX_KEY)
        if isinstance(found, PromiseIndex):
            return found
        with db.gate.exclusive():
            snap = db.read(lambda r: r.promise_snapshot())
            index = PromiseIndex(snap)
            db.cache[INDEX_KEY] = index
            db.on_stock_change = lambda changes: apply_committed(db, changes)
        return index


def apply_committed(db: Database, deltas: Mapping[tuple[str, str], Sequence[int]]) -> None:
    """A write committed these stock changes: the index (if built) follows them."""
    found = db.cache.get(INDEX_KEY)
    if isinstance(found, PromiseIndex) and deltas:
        found.apply(deltas)


def promise(db: Database, req: PromiseRequest, now: datetime | None = None) -> Promise:
    """Options for the cart's physical lines. Digital lines need no node: they are
    listed as delivered at capture and never make a cart undeliverable; a cart of
    digital lines only gets no shipping option and holds nothing."""
    index = index_of(db)
    lines, digital = index.split_digital([CartLine(ln.sku, ln.qty) for ln in req.lines])
    if not lines:
        at = now or datetime.now(UTC)
        return Promise(f"pr-{uuid.uuid4().hex[:16]}", at, at, req.ship_zip, (), (), (), (),
                       held=False, digital=tuple(digital))  # fmt: skip
    found = index.promise(
        lines,
        ship_zip=req.ship_zip,
        pickup_zip=req.pickup.zip if req.pickup else None,
        radius_miles=req.pickup.radius_miles if req.pickup else 25.0,
        hold=req.hold,
        ttl_s=req.ttl_seconds,
        now=now or datetime.now(UTC),
    )
    return dataclasses.replace(found, digital=tuple(digital)) if digital else found


def availability(
    db: Database, sku: str, zip_code: str | None, radius_miles: float | None
) -> tuple[int, list[NodeAvailability]]:
    if radius_miles is not None and zip_code is None:
        raise InvalidInput([FieldError("radius_miles", "a radius needs a zip to measure from")])
    return index_of(db).availability(sku, zip_code, radius_miles)


def listing(db: Database, req: ListingRequest) -> list[ListingRow]:
    return index_of(db).listing(list(req.skus), req.zip)


MAX_BROKEN_LISTED = 50


def promises_kept(
    index: PromiseIndex,
    promised: list[tuple[str, str, date, str, datetime]],
    allocations: list[tuple[str, int, str, int]],
    ordered: dict[tuple[str, int], int],
    captured_at: dict[str, datetime] | None = None,
    before: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """Share of promised orders whose plan meets the promised date, and why the rest do not.

    ``promised``: (order_id, service, promised_date, ship_zip, promised_at) of the
    orders the run planned; ``allocations``: the plan's (order_id, line_no, node_id,
    qty) for every order of the run; ``ordered``: units per (order_id, line_no).
    Each package is dated by promise/README.md's rules for an order placed at its
    promise's instant, with the work ahead of it at its node: what the node held
    before the run (``before``, per node; default: the index's reserved units less
    the run's), plus the run's orders there that go first: orders without a
    promise, then promised ones by promised date (earliest due first, as nodes
    wave their work by ship-by date), then by capture time.
    """
    at = {o: when for o, _, _, _, when in promised}
    due = {o: d for o, _, d, _, _ in promised}
    first = datetime.min.replace(tzinfo=UTC)
    order_time = {**(captured_at or {}), **at}
    got: dict[tuple[str, int], int] = {}
    units_at: dict[tuple[str, str], int] = {}
    for order_id, line_no, node_id, qty in allocations:
        got[(order_id, line_no)] = got.get((order_id, line_no), 0) + qty
        units_at[(node_id, order_id)] = units_at.get((node_id, order_id), 0) + qty
    # Work ahead of each (node, order): the node's reservations before the run + earlier orders.
    ahead: dict[tuple[str, str], int] = {}
    per_node: dict[str, list[tuple[date, datetime, str, int]]] = {}
    for (node_id, order_id), qty in units_at.items():
        key = (due.get(order_id, date.min), order_time.get(order_id, first))
        per_node.setdefault(node_id, []).append((*key, order_id, qty))
    for node_id, rows in per_node.items():
        c = index.node_pos.get(node_id)
        if before is not None:
            queue = before.get(node_id, 0)
        else:
            run_units = sum(q for *_, q in rows)
            queue = 0 if c is None else max(0, int(index.reserved_node[c]) - run_units)
        for _, _, order_id, qty in sorted(rows):
            ahead[(node_id, order_id)] = queue
            queue += qty
    lines: dict[str, list[int]] = {}
    for order_id, line_no in ordered:
        lines.setdefault(order_id, []).append(line_no)
    broken: list[dict[str, Any]] = []
    for order_id, service, promised_date, ship_zip, promised_at in promised:
        short = [
            n for n in lines.get(order_id, []) if got.get((order_id, n), 0) < ordered[(order_id, n)]
        ]
        if short:
            broken.append(
                {
                    "order_id": order_id,
                    "promised": promised_date.isoformat(),
                    "why": f"line(s) {', '.join(map(str, sorted(short)))} not (fully) sourced",
                }
            )
            continue
        latest: date | None = None
        worst: dict[str, Any] = {}
        nodes = sorted(n for (n, o) in units_at if o == order_id)
        for node_id in nodes:
            when, why = index.delivery_date(
                node_id, service, ship_zip, promised_at, ahead[(node_id, order_id)]
            )
            if when is None:
                latest, worst = None, why
                break
            if latest is None or when > latest:
                latest, worst = when, why
        if latest is None or latest > promised_date:
            broken.append(
                {
                    "order_id": order_id,
                    "promised": promised_date.isoformat(),
                    "planned": latest.isoformat() if latest else None,
                    "why": _why(worst, latest, promised_date),
                }
            )
    n = len(promised)
    return {
        "promised_orders": n,
        "promises_kept": None if n == 0 else round((n - len(broken)) / n, 4),
        "promises_broken": len(broken),
        "broken": broken[:MAX_BROKEN_LISTED],
    }


def _why(info: dict[str, Any], planned: date | None, promised: date) -> str:
    if planned is None:
        return f"{info.get('node_id')}: {info.get('reason', 'cannot ship this service')}"
    return (
        f"{info['node_id']} ships {info['ship_day']} (start {info['start_day']}, "
        f"{info['backlog_days']} backlog day(s)), zone {info['zone']} transit "
        f"{info['transit_days']} day(s): arrives {planned.isoformat()}, "
        f"promised {promised.isoformat()}"
    )


@dataclass(frozen=True)
class PromisedCapture:
    """A quoted promise claimed for one order: the holds to reserve and the dates."""

    promise_id: str
    service: str
    promised_date: date
    promised_at: datetime
    holds: list[Hold]
    due_days: int
    packages: list[dict[str, Any]]
    fresh: bool  # the quoted promise had expired; this one was made for the order


def claim_for_order(
    db: Database,
    promise_id: str,
    fallback: str,
    lines: list[CartLine],
    ship_zip: str | None,
    service: str,
    now: datetime | None = None,
    line_nos: Sequence[int] | None = None,
) -> PromisedCapture:
    """Claim the order's promise: it must be live and made for this cart, address and
    service (InvalidInput naming ``promise.promise_id`` if not: a foreign promise).
    An expired one is PromiseExpired, or with ``fallback='repromise'`` a fresh promise.
    ``line_nos``: the order's line number of each cart line (default 1..n; an order
    whose digital lines are not in the cart numbers them otherwise)."""
    index = index_of(db)
    now = now or datetime.now(UTC)
    fresh = False
    try:
        p = index.claim(promise_id, now)
    except PromiseExpired:
        if fallback != "repromise" or ship_zip is None:
            raise
        p = index.promise(lines, ship_zip=ship_zip, hold=True, ttl_s=120, now=now)
        index.claim(p.promise_id, now)
        fresh = True
    errors = _foreign(p, lines, ship_zip, service)
    option = p.option(service)
    if errors or option is None:
        index.unclaim(p.promise_id)
        if errors:
            raise InvalidInput(errors, "the promise was made for another order")
        raise OutOfStock(f"the promise has no {service} option (no stock to ship it)", [])
    numbers = list(line_nos) if line_nos is not None else list(range(1, len(lines) + 1))
    holds = [
        Hold(line_no=numbers[i], sku=sku, node_id=pkg.node_id, qty=q)
        for pkg in option.packages
        for i, sku, q in pkg.lines
    ]
    packages = [
        {
            "node_id": k.node_id,
            "ship_date": k.ship_date.isoformat(),
            "delivery_date": k.delivery_date.isoformat(),
            "lines": [[numbers[i], s, q] for i, s, q in k.lines],
        }
        for k in option.packages
    ]
    return PromisedCapture(
        promise_id=p.promise_id,
        service=service,
        promised_date=option.delivery_date,
        promised_at=p.created_at,
        holds=holds,
        due_days=max(k.planner_days for k in option.packages),
        packages=packages,
        fresh=fresh,
    )


def _foreign(
    p: Promise, lines: list[CartLine], ship_zip: str | None, service: str
) -> list[FieldError]:
    field = "promise.promise_id"
    if p.ship_zip != ship_zip:
        return [
            FieldError(field, f"promise {p.promise_id} is for ZIP {p.ship_zip}, not {ship_zip}")
        ]
    if sorted((ln.sku, ln.qty) for ln in p.lines) != sorted((ln.sku, ln.qty) for ln in lines):
        return [FieldError(field, f"promise {p.promise_id} was made for another cart")]
    if service not in SERVICES:
        return [FieldError("service", f"a promise covers {', '.join(SERVICES)}, not {service}")]
    return []


def settle(db: Database, claimed: PromisedCapture, used: bool) -> None:
    """After the order's transaction: drop the hold (its units are now reserved) or
    give the claim back (the order failed; the promise lives on until it expires)."""
    found = db.cache.get(INDEX_KEY)
    if not isinstance(found, PromiseIndex):
        return
    if used:
        found.consume(claimed.promise_id)
    else:
        found.unclaim(claimed.promise_id)


def backlog_days_without(db: Database, held: pd.DataFrame) -> dict[str, int]:
    """Per node, whole days of capacity taken by reservations other than ``held``
    (node_id, sku, qty rows: the reservations a sourcing run is about to re-plan)."""
    index = index_of(db)
    out_of_run = index.reserved_node.copy()
    if len(held):
        per_node = held.groupby("node_id")["qty"].sum()
        for node_id, qty in per_node.items():
            c = index.node_pos.get(str(node_id))
            if c is not None:
                out_of_run[c] -= int(qty)
    return {
        node_id: backlog_days(int(out_of_run[c]), int(index.capacity[c]))
        for c, node_id in enumerate(index.node_ids)
        if index.capacity[c] > 0 and out_of_run[c] >= index.capacity[c]
    }


def held_in_all(db: Database) -> dict[tuple[str, str], int]:
    """Every stock row's units held by live promises (for a sourcing run's snapshot)."""
    found = db.cache.get(INDEX_KEY)
    return found.all_held() if isinstance(found, PromiseIndex) else {}


def held_in(cache: Mapping[str, object], keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Units live promises hold at these (node, sku) rows, from the process cache the
    repositories share: reservations without a promise must not take them."""
    found = cache.get(INDEX_KEY)
    return found.held_units(keys) if isinstance(found, PromiseIndex) else {}


def kept_in_run(
    index: PromiseIndex,
    repo: LifecycleRepo,
    allocations: list[tuple[str, int, str, int]],
    ordered: dict[tuple[str, int], int],
    replaced: Mapping[tuple[str, str], int],
) -> dict[str, Any]:
    """ "Promises kept" of a sourcing run, inside its apply (before it commits).

    ``replaced``: units the run's orders held per (node, sku) before the run; the
    index does not have the run's own changes yet, so the work each node had before
    the run is its reserved units less these."""
    orders = sorted({o for o, _ in ordered})
    promised = repo.order_promises(orders)
    if not promised:
        return {"promised_orders": 0, "promises_kept": None, "promises_broken": 0, "broken": []}
    before: dict[str, int] = {}
    for c, node_id in enumerate(index.node_ids):
        before[node_id] = int(index.reserved_node[c])
    for (node_id, _), qty in replaced.items():
        before[node_id] = before.get(node_id, 0) - qty
    captured = repo.capture_times(orders)
    return promises_kept(index, promised, allocations, ordered, captured, before)
