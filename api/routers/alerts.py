"""Stock alerts: reorder points per node and SKU, and the alerts they raise."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from api.deps import DB, Cursor, Id, IdQuery, allow, paged
from api.problems import PROBLEMS
from models.alerts import AlertView, ReorderPointIn, ReorderPointView
from models.api import Actor, Page, Role
from services import alerts

router = APIRouter(tags=["alerts"], responses=PROBLEMS)
Setter = Annotated[Actor, Depends(allow(Role.MERCHANDISER, Role.NODE))]
Reader = Annotated[
    Actor, Depends(allow(Role.MERCHANDISER, Role.ANALYST, Role.SCHEDULER, Role.NODE))
]


@router.put("/reorder-points/{node_id}/{sku}", summary="Set the reorder point of a SKU at a node")
def put_reorder_point(
    node_id: Id, sku: Id, body: ReorderPointIn, db: DB, actor: Setter
) -> ReorderPointView:
    return alerts.set_reorder_point(db, node_id, sku, body.reorder_point, actor)


@router.get("/alerts", summary="Stock alerts by node and SKU (network-wide ones first)")
def list_alerts(
    db: DB,
    request: Request,
    response: Response,
    actor: Reader,
    node_id: IdQuery = None,
    sku: IdQuery = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Cursor = None,
) -> Page[AlertView]:
    page = alerts.list_alerts(db, node_id, sku, active, limit, cursor)
    return paged(page, request, response)
