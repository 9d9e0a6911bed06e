"""Returns: read one, receive it at any node (BORIS)."""

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import DB, READERS, Id, allow
from api.problems import PROBLEMS
from models.api import Actor, ReceiveReturn, ReturnView, Role
from services import returns

router = APIRouter(prefix="/returns", tags=["returns"], responses=PROBLEMS)


@router.get("/{return_id}", summary="One return authorisation")
def get(
    return_id: Id, db: DB, actor: Annotated[Actor, Depends(allow(*READERS, Role.NODE))]
) -> ReturnView:
    return returns.get_return(db, return_id)


@router.post("/{return_id}/receive", summary="Receive returned units at a DC or any store")
def receive(
    return_id: Id,
    body: ReceiveReturn,
    db: DB,
    actor: Annotated[Actor, Depends(allow(Role.NODE, Role.CUSTOMER_SERVICE))],
) -> ReturnView:
    return returns.receive(db, return_id, body, actor)
