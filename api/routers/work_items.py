"""Work at the node: list, pick, pack, ship, deliver, pickup, reject."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from api.deps import DB, Cursor, Id, IdQuery, allow, paged
from api.problems import PROBLEMS
from models.api import Actor, Page, RejectRequest, Role, ShipRequest, WorkItemView
from models.lifecycle import WorkAction, WorkItemStatus
from services import fulfilment

router = APIRouter(prefix="/work-items", tags=["work items"], responses=PROBLEMS)
Node = Annotated[Actor, Depends(allow(Role.NODE))]
Reader = Annotated[Actor, Depends(allow(Role.NODE, Role.SCHEDULER, Role.ANALYST))]


@router.get("", summary="Work items, oldest first (a node sees only its own)")
def list_items(
    db: DB,
    request: Request,
    response: Response,
    actor: Reader,
    node_id: IdQuery = None,
    status: WorkItemStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Cursor = None,
) -> Page[WorkItemView]:
    page = fulfilment.list_work_items(
        db, actor, node_id, status.value if status else None, limit, cursor
    )
    return paged(page, request, response)


@router.get("/{work_item_id}", summary="One work item: pick list, shipment, invoice")
def get(work_item_id: Id, db: DB, actor: Reader) -> WorkItemView:
    return fulfilment.get_work_item(db, work_item_id, actor)


@router.post("/{work_item_id}/pick", summary="Picked")
def pick(work_item_id: Id, db: DB, actor: Node) -> WorkItemView:
    return fulfilment.act(db, work_item_id, WorkAction.PICK, actor)


@router.post("/{work_item_id}/pack", summary="Packed")
def pack(work_item_id: Id, db: DB, actor: Node) -> WorkItemView:
    return fulfilment.act(db, work_item_id, WorkAction.PACK, actor)


@router.post("/{work_item_id}/ship", summary="Shipped: carrier, tracking, weight; invoiced")
def ship(work_item_id: Id, body: ShipRequest, db: DB, actor: Node) -> WorkItemView:
    return fulfilment.act(db, work_item_id, WorkAction.SHIP, actor, body)


@router.post("/{work_item_id}/deliver", summary="Carrier confirmed delivery")
def deliver(
    work_item_id: Id,
    db: DB,
    actor: Annotated[Actor, Depends(allow(Role.NODE, Role.SCHEDULER))],
) -> WorkItemView:
    return fulfilment.act(db, work_item_id, WorkAction.DELIVER, actor)


@router.post("/{work_item_id}/ready-for-pickup", summary="Pickup order ready at the store")
def ready(work_item_id: Id, db: DB, actor: Node) -> WorkItemView:
    return fulfilment.act(db, work_item_id, WorkAction.READY, actor)


@router.post("/{work_item_id}/picked-up", summary="Customer collected; invoiced")
def picked_up(work_item_id: Id, db: DB, actor: Node) -> WorkItemView:
    return fulfilment.act(db, work_item_id, WorkAction.HAND_OVER, actor)


@router.post("/{work_item_id}/reject", summary="Cannot fulfil: short pick or damaged")
def reject(work_item_id: Id, body: RejectRequest, db: DB, actor: Node) -> WorkItemView:
    """Stock is corrected; the units are re-sourced to another node or backordered."""
    return fulfilment.reject(db, work_item_id, body, actor)
