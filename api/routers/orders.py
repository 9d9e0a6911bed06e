"""Orders: capture (idempotent), read, search, change (If-Match), cancel, hold, timeline."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from api.deps import DB, READERS, Cursor, Id, IdempotencyKey, allow, creating, paged
from api.problems import MISSING_IF_MATCH, PROBLEMS, STALE
from models.api import (
    Actor,
    CancelOrder,
    CaptureOrder,
    ChangeOrder,
    EventView,
    HoldOrder,
    IsoDate,
    OrderQuery,
    OrderView,
    Page,
    ReturnRequest,
    ReturnView,
    Role,
)
from models.lifecycle import OrderStatus
from services import orders, returns

router = APIRouter(prefix="/orders", tags=["orders"], responses=PROBLEMS)
R = Role
LimitQ = Annotated[int, Query(ge=1, le=500)]
Plain = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
IfMatch = Annotated[str | None, Header(max_length=200, pattern=r"^[\x20-\x7e]*$")]

Capturer = Annotated[Actor, Depends(allow(R.CHANNEL, R.CUSTOMER_SERVICE))]
Reader = Annotated[Actor, Depends(allow(*READERS))]
Service = Annotated[Actor, Depends(allow(R.CUSTOMER_SERVICE))]
Canceller = Annotated[Actor, Depends(allow(R.CUSTOMER_SERVICE, R.CHANNEL))]
Returner = Annotated[Actor, Depends(allow(R.CUSTOMER_SERVICE, R.CHANNEL, R.NODE))]


def _etag(response: Response, view: OrderView) -> OrderView:
    response.headers["ETag"] = orders.etag(view.version)
    return view


@router.post("", status_code=201, summary="Capture an order from any channel")
def capture(
    body: CaptureOrder,
    db: DB,
    response: Response,
    actor: Capturer,
    idempotency_key: IdempotencyKey = None,
) -> OrderView:
    """Same Idempotency-Key and body: the first response again; another body: 409."""
    view = orders.capture(db, body, actor, creating(actor, "POST /orders", idempotency_key, body))
    response.headers["Location"] = f"/orders/{view.order_id}"
    return _etag(response, view)


@router.get("", summary="Search orders (newest first)")
def search(
    db: DB,
    request: Request,
    response: Response,
    actor: Reader,
    email: Plain = None,
    status: OrderStatus | None = None,
    channel: Plain = None,
    created_from: IsoDate | None = None,
    created_to: IsoDate | None = None,
    limit: LimitQ = 50,
    cursor: Cursor = None,
) -> Page[OrderView]:
    query = OrderQuery(
        email=email,
        status=status.value if status else None,
        channel=channel,
        created_from=created_from,
        created_to=created_to,
    )
    return paged(orders.list_orders(db, query, limit, cursor), request, response)


@router.get(
    "/{order_id}", response_model=OrderView, summary="One order with its lines, holds and totals"
)
def get(order_id: Id, db: DB, actor: Reader) -> Response:
    # The stored JSON document as it is (read model): no re-validation per request.
    doc = orders.order_doc(db, order_id)
    return Response(
        doc.body, media_type="application/json", headers={"ETag": orders.etag(doc.version)}
    )


@router.patch(
    "/{order_id}",
    summary="Change an open order (needs If-Match)",
    responses={**STALE, **MISSING_IF_MATCH},
)
def change(
    order_id: Id,
    body: ChangeOrder,
    db: DB,
    response: Response,
    actor: Service,
    if_match: IfMatch = None,
) -> OrderView:
    return _etag(response, orders.change(db, order_id, body, actor, if_match))


@router.post(
    "/{order_id}/cancel",
    summary="Cancel an order or some units of its lines (If-Match optional)",
    responses=STALE,
)
def cancel(
    order_id: Id,
    body: CancelOrder,
    db: DB,
    response: Response,
    actor: Canceller,
    if_match: IfMatch = None,
) -> OrderView:
    return _etag(response, orders.cancel(db, order_id, body, actor, if_match))


@router.post("/{order_id}/hold", summary="Put an open order on hold")
def hold(order_id: Id, body: HoldOrder, db: DB, response: Response, actor: Service) -> OrderView:
    return _etag(response, orders.hold(db, order_id, body.reason, actor))


@router.post("/{order_id}/release-hold", summary="Release an order's hold")
def unhold(order_id: Id, db: DB, response: Response, actor: Service) -> OrderView:
    return _etag(response, orders.unhold(db, order_id, actor))


@router.get("/{order_id}/events", summary="The order's timeline, oldest first")
def events(
    order_id: Id,
    db: DB,
    request: Request,
    response: Response,
    actor: Reader,
    limit: LimitQ = 100,
    cursor: Cursor = None,
) -> Page[EventView]:
    return paged(orders.timeline(db, order_id, limit, cursor), request, response)


@router.post("/{order_id}/returns", status_code=201, summary="Authorise a return")
def authorize_return(
    order_id: Id,
    body: ReturnRequest,
    db: DB,
    actor: Returner,
    idempotency_key: IdempotencyKey = None,
) -> ReturnView:
    key = creating(actor, f"POST /orders/{order_id}/returns", idempotency_key, body)
    return returns.authorize(db, order_id, body, actor, key)
