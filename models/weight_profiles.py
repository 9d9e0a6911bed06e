"""Request and response schemas of weight profiles (the API's and the CLI's vocabulary)."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ProfileName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")]
ProfileRef = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}(@[0-9]{1,6})?$")]
STRICT = ConfigDict(extra="forbid")


class ProfileIn(BaseModel):
    """A new profile (or the next version of ``name``); unset components keep the defaults."""

    model_config = STRICT

    name: ProfileName
    weights: dict[str, float] = Field(
        description="shipping, handling, late, split, unfilled (each >= 0)"
    )
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class ProfileView(BaseModel):
    name: str
    version: int
    weights: dict[str, float]
    note: str | None
    created_by: str
    created_at: datetime
    versions: list[int] = Field(default_factory=list)
    active: bool = False


class ActivateIn(BaseModel):
    model_config = STRICT

    version: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="default: the latest version"
    )


class ActivationView(BaseModel):
    seq: int
    name: str
    version: int
    from_name: str | None
    from_version: int | None
    actor: str
    activated_at: datetime


class WhatIfIn(BaseModel):
    model_config = STRICT

    profile: ProfileRef
    time_limit: Annotated[float, Field(gt=0, le=600)] = 10.0
    strategy: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")] | None = None


class WhatIfView(BaseModel):
    run_id: str
    strategy: str
    orders: int
    profile: str
    current_weights: dict[str, float]
    candidate_weights: dict[str, float]
    current: dict[str, float]
    candidate: dict[str, float]
    delta: dict[str, float]


class CompareIn(BaseModel):
    model_config = STRICT

    a: ProfileRef
    b: ProfileRef
    time_limit: Annotated[float, Field(gt=0, le=600)] = 10.0


class ProfilePlan(BaseModel):
    profile: str
    weights: dict[str, float]
    kpis: dict[str, float]


class CompareView(BaseModel):
    run_id: str
    a: ProfilePlan
    b: ProfilePlan
    delta: dict[str, float]


class SweepIn(BaseModel):
    model_config = STRICT

    component: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,20}$")]
    values: Annotated[
        list[Annotated[float, Field(ge=0, le=1e6)]], Field(min_length=1, max_length=20)
    ]
    time_limit: Annotated[float, Field(gt=0, le=600)] = 10.0


class SweepPoint(BaseModel):
    value: float
    kpis: dict[str, float]
