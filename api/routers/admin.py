"""Promotions (merchandisers) and API keys (admins)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.deps import DB, READERS, Cursor, allow, paged
from api.problems import PROBLEMS
from models.api import (
    Actor,
    ApiKeyIn,
    ApiKeyView,
    Page,
    PromotionIn,
    PromotionPatch,
    PromotionView,
    Role,
    WhoAmI,
)
from services import admin

promotions = APIRouter(prefix="/promotions", tags=["promotions"], responses=PROBLEMS)
auth = APIRouter(prefix="/auth", tags=["auth"], responses=PROBLEMS)
Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{2,32}$")]
Merch = Annotated[Actor, Depends(allow(Role.MERCHANDISER))]
Reader = Annotated[Actor, Depends(allow(*READERS))]


@promotions.get("", summary="Promotion codes")
def list_promotions(
    db: DB,
    request: Request,
    response: Response,
    actor: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Cursor = None,
) -> Page[PromotionView]:
    return paged(admin.list_promotions(db, limit, cursor), request, response)


@promotions.post("", status_code=201, summary="Create a promotion code")
def create_promotion(body: PromotionIn, db: DB, actor: Merch) -> PromotionView:
    return admin.create_promotion(db, body)


@promotions.get("/{code}", summary="One promotion")
def get_promotion(code: Code, db: DB, actor: Reader) -> PromotionView:
    return admin.get_promotion(db, code)


@promotions.patch("/{code}", summary="Deactivate, extend or cap a promotion")
def patch_promotion(code: Code, body: PromotionPatch, db: DB, actor: Merch) -> PromotionView:
    return admin.patch_promotion(db, code, body)


@auth.post("/keys", status_code=201, summary="Create an API key for a role")
def create_key(
    body: ApiKeyIn, db: DB, actor: Annotated[Actor, Depends(allow(Role.ADMIN))]
) -> ApiKeyView:
    return admin.create_key(db, body)


@auth.get("/me", summary="Who this key is")
def me(actor: Annotated[Actor, Depends(allow(*Role))]) -> WhoAmI:
    return WhoAmI(name=actor.name, role=actor.role, node_id=actor.node_id)
