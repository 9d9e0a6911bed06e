"""Exchanges: a return's lines replaced by a linked order."""

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import DB, Id, allow
from api.problems import PROBLEMS
from models.api import Actor, Role
from models.exchanges import ExchangeRequest, ExchangeView
from services import exchanges

router = APIRouter(prefix="/returns", tags=["returns"], responses=PROBLEMS)


@router.post(
    "/{return_id}/exchange",
    status_code=201,
    summary="Exchange returned units for a replacement (a linked order)",
)
def exchange(
    return_id: Id,
    body: ExchangeRequest,
    db: DB,
    actor: Annotated[Actor, Depends(allow(Role.CUSTOMER_SERVICE, Role.NODE))],
) -> ExchangeView:
    return exchanges.create_exchange(db, return_id, body, actor)
