"""Real-time inventory: per node and SKU; receipts, adjustments, transfers, bulk feed."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from api.deps import DB, READERS, Cursor, Id, IdempotencyKey, IdQuery, allow, creating, paged
from api.problems import PROBLEMS
from models.api import (
    Actor,
    Adjustment,
    FeedResult,
    Page,
    Receipt,
    Role,
    StockView,
    TransferIn,
    TransferView,
)
from services import inventory

router = APIRouter(prefix="/inventory", tags=["inventory"], responses=PROBLEMS)
Reader = Annotated[Actor, Depends(allow(*READERS, Role.NODE))]
Mover = Annotated[Actor, Depends(allow(Role.MERCHANDISER, Role.NODE))]
MAX_FEED_BYTES = 64 * 1024 * 1024


@router.get("", summary="Stock per node and SKU: on hand, reserved, safety, in transit")
def list_stock(
    db: DB,
    request: Request,
    response: Response,
    actor: Reader,
    node_id: IdQuery = None,
    sku: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Cursor = None,
) -> Page[StockView]:
    return paged(inventory.list_stock(db, node_id, sku, limit, cursor), request, response)


@router.get("/{node_id}/{sku}", summary="One stock position")
def get_stock(node_id: Id, sku: Id, db: DB, actor: Reader) -> StockView:
    return inventory.stock(db, node_id, sku)


@router.post("/receipts", summary="Units received at a node")
def receipt(body: Receipt, db: DB, actor: Mover) -> StockView:
    return inventory.receive(db, body, actor)


@router.post("/adjustments", summary="Count correction and/or safety stock")
def adjustment(body: Adjustment, db: DB, actor: Mover) -> StockView:
    return inventory.adjust(db, body, actor)


@router.post("/transfers", status_code=201, summary="Move available units to another node")
def transfer(
    body: TransferIn, db: DB, actor: Mover, idempotency_key: IdempotencyKey = None
) -> TransferView:
    key = creating(actor, "POST /inventory/transfers", idempotency_key, body)
    return inventory.transfer(db, body, actor, key)


@router.post("/transfers/{transfer_id}/receive", summary="A transfer arrived")
def receive_transfer(transfer_id: Id, db: DB, actor: Mover) -> TransferView:
    return inventory.receive_transfer(db, transfer_id, actor)


@router.post(
    "/feed",
    summary="Bulk feed (CSV or Parquet): node_id, sku, "
    "kind (receipt|adjustment|count|reorder_point), qty",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        }
    },
)
async def feed(request: Request, db: DB, actor: Mover) -> FeedResult:
    """All rows apply or none do; every bad row is named."""
    from starlette.concurrency import run_in_threadpool

    body = await request.body()
    if len(body) > MAX_FEED_BYTES:
        from api.deps import bad

        raise bad("body", f"at most {MAX_FEED_BYTES} bytes")
    content_type = request.headers.get("content-type", "")
    frame = await run_in_threadpool(inventory.read_feed, body, content_type)
    return await run_in_threadpool(inventory.apply_feed, db, frame, actor)
