"""Weight profiles: merchandisers create, try (what-if, sweep) and activate; analysts read."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import DB, IdempotencyKey, allow, creating
from api.problems import PROBLEMS
from models.api import Actor, Role
from models.weight_profiles import (
    ActivateIn,
    ActivationView,
    CompareIn,
    CompareView,
    ProfileIn,
    ProfileView,
    SweepIn,
    SweepPoint,
    WhatIfIn,
    WhatIfView,
)
from services import weights

router = APIRouter(prefix="/weights", tags=["weights"], responses=PROBLEMS)
Writer = Annotated[Actor, Depends(allow(Role.MERCHANDISER))]
Reader = Annotated[Actor, Depends(allow(Role.MERCHANDISER, Role.ANALYST, Role.SCHEDULER))]
Name = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")]


@router.get("/profiles", summary="Every profile's latest version")
def list_profiles(db: DB, actor: Reader) -> list[ProfileView]:
    return [ProfileView(**p) for p in weights.list_profiles(db)]


@router.get("/profiles/{name}", summary="One profile (latest version unless ?version=)")
def get_profile(
    name: Name, db: DB, actor: Reader, version: Annotated[int | None, Query(ge=1)] = None
) -> ProfileView:
    return ProfileView(**weights.show(db, name if version is None else f"{name}@{version}"))


@router.post("/profiles", status_code=201, summary="Create a profile or its next version")
def create_profile(
    body: ProfileIn, db: DB, actor: Writer, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    key = creating(actor, "POST /weights/profiles", idempotency_key, body)
    prof = weights.create(db, body.name, body.weights, body.note, actor, key)
    return JSONResponse(
        prof.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/weights/profiles/{prof.name}?version={prof.version}"},
    )


@router.post("/profiles/{name}/activate", summary="Make it the profile sourcing runs use")
def activate(name: Name, body: ActivateIn, db: DB, actor: Writer) -> ActivationView:
    ref = name if body.version is None else f"{name}@{body.version}"
    return ActivationView(**weights.activate(db, ref, actor))


@router.get("/active", summary="The active profile (404 while the spec's defaults apply)")
def active(db: DB, actor: Reader) -> ProfileView:
    act = weights.active_weights(db)
    if act is None:
        from models.lifecycle_errors import NotFound

        raise NotFound("no profile has been activated: sourcing runs use the spec's defaults")
    return ProfileView(**weights.show(db, act[1]))


@router.get("/activations", summary="Audit: every activation, who, when, from which version")
def activations(db: DB, actor: Reader) -> list[ActivationView]:
    return [ActivationView(**a) for a in weights.audit(db)]


@router.post("/whatif", summary="Re-plan the last run's batch under a profile: KPI changes")
async def whatif(body: WhatIfIn, db: DB, actor: Reader) -> WhatIfView:
    r = await run_in_threadpool(weights.whatif, db, body.profile, body.time_limit, body.strategy)
    return WhatIfView(**r)


@router.post("/compare", summary="Two profiles on the last run's batch, side by side")
async def compare(body: CompareIn, db: DB, actor: Reader) -> CompareView:
    r = await run_in_threadpool(weights.compare, db, body.a, body.b, body.time_limit)
    return CompareView(**r)


@router.post("/sweep", summary="Re-plan the last run's batch at each value of one weight")
async def sweep(body: SweepIn, db: DB, actor: Reader) -> list[SweepPoint]:
    rows = await run_in_threadpool(
        weights.sweep, db, body.component, body.values, None, body.time_limit
    )
    return [SweepPoint(value=r.pop("value"), kpis=r) for r in rows]
