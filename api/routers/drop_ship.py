"""Drop-ship purchase orders: what a vendor does beyond any node's ship and reject."""

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import DB, Id, allow
from api.problems import PROBLEMS
from models.api import Actor, Role, WorkItemView
from models.lifecycle import WorkAction
from services import fulfilment

router = APIRouter(prefix="/work-items", tags=["work items"], responses=PROBLEMS)
Vendor = Annotated[Actor, Depends(allow(Role.NODE))]


@router.post("/{work_item_id}/acknowledge", summary="The vendor accepts the purchase order")
def acknowledge(work_item_id: Id, db: DB, actor: Vendor) -> WorkItemView:
    return fulfilment.act(db, work_item_id, WorkAction.ACKNOWLEDGE, actor)
