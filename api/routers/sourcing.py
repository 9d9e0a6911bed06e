"""Sourcing runs (plan every unreleased order, apply whole) and release to the nodes."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import DB, Cursor, Id, allow, paged
from api.problems import PROBLEMS
from models.api import Actor, Page, ReleaseRequest, ReleaseResult, Role, RunRequest, RunView
from services import sourcing

router = APIRouter(prefix="/sourcing", tags=["sourcing"], responses=PROBLEMS)
Scheduler = Annotated[Actor, Depends(allow(Role.SCHEDULER))]


@router.post("/runs", status_code=201, summary="Plan and apply a sourcing run")
async def run(body: RunRequest, request: Request, db: DB, actor: Scheduler) -> RunView:
    """Plans all orders not yet released on the current stock; applied all or nothing."""
    if body.time_limit is None:
        body = body.model_copy(update={"time_limit": request.app.state.settings.run_time_limit})
    return await run_in_threadpool(sourcing.run_sourcing, db, body, actor)


@router.get("/runs", summary="Sourcing runs, newest first")
def list_runs(
    db: DB,
    request: Request,
    response: Response,
    actor: Annotated[Actor, Depends(allow(Role.SCHEDULER, Role.ANALYST, Role.MERCHANDISER))],
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    cursor: Cursor = None,
) -> Page[RunView]:
    return paged(sourcing.list_runs(db, limit, cursor), request, response)


@router.get("/runs/{run_id}", summary="A run: status, weights, KPIs")
def get_run(
    run_id: Id,
    db: DB,
    actor: Annotated[Actor, Depends(allow(Role.SCHEDULER, Role.ANALYST, Role.MERCHANDISER))],
) -> RunView:
    return sourcing.get_run(db, run_id)


@router.post("/release", summary="Release sourced orders to work items per node")
def release(body: ReleaseRequest, db: DB, actor: Scheduler) -> ReleaseResult:
    return sourcing.release(db, body.order_ids, actor)
