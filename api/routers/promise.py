"""Delivery promises and availability for sales channels (answers from memory, in ms)."""

import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, Security

from api.deps import READERS, api_key_header, get_db
from api.problems import PROBLEMS
from data.lifecycle_db import Database
from models.api import Actor, Role
from models.lifecycle_errors import Forbidden
from models.promise import (
    MAX_AVAILABILITY_RADIUS_MILES,
    AvailabilityView,
    ListingItemView,
    ListingRequest,
    ListingView,
    NodeStockView,
    PromiseRequest,
    PromiseView,
)
from promise.index import Promise
from services import admin
from services import promise as promising

promise_router = APIRouter(prefix="/promise", tags=["promise"], responses=PROBLEMS)
availability_router = APIRouter(prefix="/availability", tags=["promise"], responses=PROBLEMS)
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
KEY_CACHE_TTL_S = 5.0  # a revoked key stops working here within this many seconds
JSON = "application/json"


def cached_caller(*roles: Role) -> Callable[..., Awaitable[Actor]]:
    """Like ``api.deps.allow``, but async and with the key's role cached for a few
    seconds: a promise must not cost a database read for its API key."""

    async def caller(
        request: Request, key: Annotated[str | None, Security(api_key_header)] = None
    ) -> Actor:
        db = get_db(request)
        cache = db.cache.setdefault("promise_keys", {})
        assert isinstance(cache, dict)
        hit = cache.get(key)
        now = time.monotonic()
        if hit is None or now - hit[0] > KEY_CACHE_TTL_S:
            actor = admin.authenticate(db, key)
            if len(cache) > 10_000:
                cache.clear()
            cache[key] = hit = (now, actor)
        actor = hit[1]
        if actor.role is not Role.ADMIN and actor.role not in roles:
            allowed = ", ".join(sorted(r.value for r in roles))
            raise Forbidden(f"role '{actor.role.value}' may not do this (needs: {allowed})")
        return actor

    return caller


async def _db(request: Request) -> Database:
    """The store handle, on the event loop (a sync dependency would cost a thread hop)."""
    return get_db(request)


DB = Annotated[Database, Depends(_db)]
Channel = Annotated[Actor, Depends(cached_caller(Role.CHANNEL, Role.CUSTOMER_SERVICE))]
Reader = Annotated[Actor, Depends(cached_caller(*READERS))]


def promise_body(p: Promise) -> dict[str, Any]:
    """The ``PromiseView`` JSON of a promise, built as plain data: on the hottest route,
    seventeen nested pydantic models per answer cost more than the promise itself.
    ``tests/test_api_promise.py`` validates it against ``PromiseView``."""
    now = datetime.now(UTC)
    return {
        "promise_id": p.promise_id,
        "created_at": p.created_at.isoformat(),
        "expires_at": p.expires_at.isoformat(),
        "held": p.held,
        "ship_zip": p.ship_zip,
        "options": [
            {
                "service": o.service,
                "delivery_date": o.delivery_date.isoformat(),
                "order_by": o.order_by.isoformat(),
                "order_within_seconds": max(0, int((o.order_by - now).total_seconds())),
                "packages": [
                    {
                        "node_id": k.node_id,
                        "node_kind": k.node_kind,
                        "lines": [{"sku": sku, "qty": q} for _, sku, q in k.lines],
                        "units": k.units,
                        "weight_lb": k.weight_lb,
                        "zone": k.zone,
                        "ship_date": k.ship_date.isoformat(),
                        "delivery_date": k.delivery_date.isoformat(),
                        "shipping": k.shipping,
                        "handling": k.handling,
                    }
                    for k in o.packages
                ],
                "package_count": len(o.packages),
                "shipping": o.shipping,
                "handling": o.handling,
                "splits": o.splits,
                "cost": o.cost,
            }
            for o in p.options
        ],
        "unavailable": [{"service": u.service, "reason": u.reason} for u in p.unavailable],
        "pickup": [
            {
                "node_id": s.node_id,
                "miles": s.miles,
                "ready_date": s.ready_date.isoformat(),
                "order_by": s.order_by.isoformat(),
            }
            for s in p.pickup
        ],
        "digital": [{"sku": ln.sku, "qty": ln.qty} for ln in p.digital],
    }


@promise_router.post(
    "",
    response_model=PromiseView,
    summary="Delivery options for a cart: earliest date per service, its cost, pickup stores",
)
async def make_promise(body: PromiseRequest, db: DB, actor: Channel) -> Response:
    """Each option holds its units softly until ``expires_at`` (quote ``promise_id``
    when capturing the order); an expired hold simply stops counting.

    Answered on the event loop from memory (no database read, no thread hop);
    the view is serialised once, by its own model."""
    return Response(json.dumps(promise_body(promising.promise(db, body))), media_type=JSON)


@availability_router.get("", summary="Available to promise of a SKU by node, and network total")
async def availability(
    db: DB,
    actor: Reader,
    sku: Annotated[str, Query(pattern=ID_PATTERN)],
    zip: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
    radius_miles: Annotated[float | None, Query(gt=0, le=MAX_AVAILABILITY_RADIUS_MILES)] = None,
) -> AvailabilityView:
    total, nodes = promising.availability(db, sku, zip, radius_miles)
    return AvailabilityView(
        sku=sku,
        network_available=total,
        zip=zip,
        radius_miles=radius_miles,
        nodes=[
            NodeStockView(node_id=n.node_id, kind=n.kind, miles=n.miles, available=n.available)
            for n in nodes
        ],
    )


@availability_router.post(
    "/listing",
    response_model=ListingView,
    summary="For up to 500 SKUs: can it arrive at a ZIP, by ground and next day",
)
async def listing(body: ListingRequest, db: DB, actor: Reader) -> Response:
    rows = promising.listing(db, body)
    view = ListingView(
        zip=body.zip,
        items=[
            ListingItemView(
                sku=r.sku, deliverable=r.deliverable, ground=r.ground, next_day=r.next_day
            )
            for r in rows
        ],
    )
    return Response(view.model_dump_json(), media_type=JSON)
