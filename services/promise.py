"""Delivery promises and availability: use cases over the in-memory promise index.

The index lives in the process that owns the store, in ``Database.cache``
(a batch load clears that cache, so the next call rebuilds the index from
the new network). It is built from one snapshot read while writers are held
back, so no committed stock change falls between the snapshot and the index.
"""

import threading
from datetime import UTC, datetime

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
