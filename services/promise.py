"""Delivery promises and availability: use cases over the in-memory promise index.

The index lives in the process that owns the store, in ``Database.cache``
(a batch load clears that cache, so the next call rebuilds the index from
the new network). It is built from one snapshot read while writers are held
back, so no committed stock change falls between the snapshot and the index.
"""

import threading
from datetime import UTC, date, datetime
from typing import Any

from data.lifecycle_db import Database
from data.promise_repo import PromiseRepo
from models.lifecycle_errors import FieldError, InvalidInput
from models.promise import ListingRequest, PromiseRequest
from promise.index import CartLine, ListingRow, NodeAvailability, Promise, PromiseIndex

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
            snap = db.read(lambda r: PromiseRepo(r.cur).snapshot())
            index = PromiseIndex(snap)
            db.cache[INDEX_KEY] = index
        return index


def apply_committed(db: Database, deltas: dict[tuple[str, str], tuple[int, int]]) -> None:
    """A write committed these stock changes: the index (if built) follows them."""
    found = db.cache.get(INDEX_KEY)
    if isinstance(found, PromiseIndex) and deltas:
        found.apply(deltas)


def promise(db: Database, req: PromiseRequest, now: datetime | None = None) -> Promise:
    index = index_of(db)
    lines = [CartLine(ln.sku, ln.qty) for ln in req.lines]
    return index.promise(
        lines,
        ship_zip=req.ship_zip,
        pickup_zip=req.pickup.zip if req.pickup else None,
        radius_miles=req.pickup.radius_miles if req.pickup else 25.0,
        hold=req.hold,
        ttl_s=req.ttl_seconds,
        now=now or datetime.now(UTC),
    )


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
    promised: list[tuple[str, str, date, str]],
    allocations: list[tuple[str, int, str, int]],
    ordered: dict[tuple[str, int], int],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Share of promised orders whose plan meets the promised date, and why the rest do not.

    ``promised``: (order_id, service, promised_date, ship_zip) of the orders the
    run planned; ``allocations``: the plan's (order_id, line_no, node_id, qty);
    ``ordered``: units per (order_id, line_no). A package's date is the one a
    promise made now from its node would give (promise/README.md), so a node
    the plan chose that is slower, closed or full shows in the reason.
    """
    now = now or datetime.now(UTC)
    got: dict[tuple[str, int], int] = {}
    nodes: dict[str, set[str]] = {}
    for order_id, line_no, node_id, qty in allocations:
        got[(order_id, line_no)] = got.get((order_id, line_no), 0) + qty
        nodes.setdefault(order_id, set()).add(node_id)
    lines: dict[str, list[int]] = {}
    for order_id, line_no in ordered:
        lines.setdefault(order_id, []).append(line_no)
    broken: list[dict[str, Any]] = []
    for order_id, service, promised_date, ship_zip in promised:
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
        for node_id in sorted(nodes.get(order_id, ())):
            when, why = index.delivery_date(node_id, service, ship_zip, now)
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
