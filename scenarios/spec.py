"""A scenario spec: one base and its variations, read from YAML and validated before any run.

Every scenario is the base with some keys changed, so the comparison is
"this change against the base" on the very same orders. A bad spec is refused
with the file, the line and the key (``scenarios[2].bopis_share``), never a
traceback: the YAML is composed into nodes that keep their line numbers, and
pydantic's error locations are mapped back onto them.
"""

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models.errors import DomError
from models.weights import Weights

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Factor = Annotated[float, Field(gt=0.0, le=100.0)]
Hour = Annotated[float, Field(ge=0.0, le=24.0)]
STRICT = ConfigDict(extra="forbid", frozen=True)


class SpecError(DomError):
    """A spec that cannot run; the message names the file, line and key."""


class NewNode(BaseModel):
    """A node the scenario opens: where, what it costs, and whose stock it starts with."""

    model_config = STRICT

    node_id: Annotated[str, Field(min_length=1, max_length=64)]
    kind: Literal["dc", "store"]
    zip: Annotated[str, Field(pattern=r"^\d{5}$")]
    capacity_units: Annotated[int, Field(ge=0)]
    pick_cost: Annotated[float, Field(ge=0)] = 0.35
    pack_cost: Annotated[float, Field(ge=0)] = 1.2
    processing_days: Annotated[int, Field(ge=0, le=10)] = 1
    stock_like: str | None = Field(
        default=None, description="copy the starting stock of this existing node"
    )
    stock_share: Factor = 1.0


class Variation(BaseModel):
    """What a scenario may change. Unset keys keep the base's value."""

    model_config = STRICT

    strategy: Literal["optimize", "greedy", "nearest"] | None = None
    ship_from_store: bool | list[str] | None = Field(
        default=None, description="true: every store that can ship; false: none; a list: only those"
    )
    bopis_share: Share | None = Field(default=None, description="share of orders picked up")
    boris_share: Share | None = Field(
        default=None, description="share of returns the customer brings to a store"
    )
    store_capacity: Factor | None = Field(default=None, description="x stores' daily capacity")
    weights: dict[str, float] | None = None
    weight_profile: str | None = Field(default=None, description="a stored profile, name[@version]")
    service_mix: dict[Literal["ground", "two_day", "next_day"], Share] | None = None
    close_nodes: list[str] | None = None
    add_nodes: list[NewNode] | None = None
    inventory_depth: Factor | None = Field(default=None, description="x starting and target stock")

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None:
            Weights(**value)  # unknown or negative components are refused here
        return value

    @field_validator("service_mix")
    @classmethod
    def _mix(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and abs(sum(value.values()) - 1.0) > 1e-6:
            raise ValueError(f"shares must add up to 1 (they add up to {sum(value.values()):g})")
        return value


class Scenario(Variation):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,39}$")]


class Schedule(BaseModel):
    """When sourcing runs and when nodes work (hours of the day, local to the network)."""

    model_config = STRICT

    run_hours: list[Hour] = Field(default=[10.0, 14.0, 18.0, 22.0], min_length=1)
    time_limit: Annotated[float, Field(gt=0, le=3600)] = 3.0
    store_hours: tuple[Hour, Hour] = (9.0, 21.0)
    dc_hours: tuple[Hour, Hour] = (0.0, 24.0)

    @field_validator("run_hours")
    @classmethod
    def _sorted(cls, value: list[float]) -> list[float]:
        if value != sorted(set(value)):
            raise ValueError("run hours must be distinct and in increasing order")
        return value


class Supply(BaseModel):
    """Starting stock and replenishment: order-up-to levels reviewed on a schedule."""

    model_config = STRICT

    cover_days: Annotated[float, Field(gt=0, le=60)] = 6.0
    dc_lead_days: Annotated[int, Field(ge=0, le=30)] = 3
    dc_review_days: Annotated[int, Field(ge=1, le=30)] = 1
    store_lead_days: Annotated[int, Field(ge=0, le=30)] = 1
    store_review_days: Annotated[int, Field(ge=1, le=30)] = 2


class Returns(BaseModel):
    model_config = STRICT

    rate: Share = 0.08
    lag_days: tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]] = (3, 10)
    restock_share: Share = 0.85


class History(BaseModel):
    """Replay an order history instead of generating one: a batch folder whose orders file
    has a ``created_at`` timestamp per order (network, stock and capacity as given)."""

    model_config = STRICT

    batch: Annotated[str, Field(min_length=1)] = Field(description="folder, relative to the spec")
    start: date | None = Field(default=None, description="day 0; default: the first order's day")


class Base(Variation):
    """The base scenario: every key set."""

    strategy: Literal["optimize", "greedy", "nearest"] | None = "optimize"
    ship_from_store: bool | list[str] | None = True
    boris_share: Share | None = 0.3
    store_capacity: Factor | None = 1.0
    inventory_depth: Factor | None = 1.0


class Spec(BaseModel):
    model_config = STRICT

    name: Annotated[str, Field(min_length=1, max_length=80)] = "scenarios"
    days: Annotated[int, Field(ge=1, le=366)] = 14
    orders_per_day: Annotated[int, Field(ge=1, le=200_000)] = 5_000
    seeds: list[int] = Field(default=[7], min_length=1, max_length=30)
    nodes: Annotated[int, Field(ge=2, le=2_000)] | None = None
    skus: Annotated[int, Field(ge=1, le=200_000)] | None = None
    max_backlog_days: Annotated[int, Field(ge=0, le=60)] = 7
    history: History | None = None
    schedule: Schedule = Schedule()
    supply: Supply = Supply()
    returns: Returns = Returns()
    base: Base = Base()
    scenarios: list[Scenario] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _names(self) -> "Spec":
        seen = {"base"}
        for i, s in enumerate(self.scenarios):
            if s.name in seen:
                raise ValueError(f"scenarios[{i}].name: {s.name!r} is used twice")
            seen.add(s.name)
        return self

    def resolved(self) -> list["Resolved"]:
        """The base and every scenario with the base's values filled in."""
        out = [_resolve("base", self.base, None)]
        out += [_resolve(s.name, self.base, s) for s in self.scenarios]
        return out


class Resolved(BaseModel):
    """One scenario, every key known: what a simulation worker receives."""

    model_config = ConfigDict(frozen=True)

    name: str
    strategy: str
    ship_from_store: bool | list[str]
    bopis_share: float | None
    boris_share: float
    store_capacity: float
    weights: Weights
    weight_profile: str | None
    service_mix: dict[str, float] | None
    close_nodes: list[str]
    add_nodes: list[NewNode]
    inventory_depth: float


def _resolve(name: str, base: Base, var: Variation | None) -> Resolved:
    merged: dict[str, Any] = base.model_dump(exclude_none=False)
    merged["add_nodes"] = list(base.add_nodes or [])
    weights = dict(base.weights or {})
    if var is not None:
        for key, value in var.model_dump(exclude_none=True).items():
            if key == "weights":
                weights.update(value)
            elif key == "add_nodes":
                merged["add_nodes"] = list(var.add_nodes or [])
            elif key != "name":
                merged[key] = value
    merged.pop("weights", None)
    return Resolved(
        name=name,
        strategy=merged["strategy"],
        ship_from_store=merged["ship_from_store"],
        bopis_share=merged["bopis_share"],
        boris_share=merged["boris_share"],
        store_capacity=merged["store_capacity"],
        weights=Weights(**weights),
        weight_profile=merged["weight_profile"],
        service_mix=merged["service_mix"],
        close_nodes=list(merged["close_nodes"] or []),
        add_nodes=merged["add_nodes"],
        inventory_depth=merged["inventory_depth"],
    )


# --- reading, with line numbers -------------------------------------------------------


def _lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    """Line (1-based) of every key and list item in the composed YAML."""
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, key.value)
            out[sub] = key.start_mark.line + 1
            _lines(value, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)


def _where(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> tuple[str, int | None]:
    """Dotted key (``scenarios[1].weights``) and the nearest line that holds it."""
    keys = [k for k in loc if not (isinstance(k, str) and ("[" in k or k in _UNION_TAGS))]
    text = ""
    for k in keys:
        text += f"[{k}]" if isinstance(k, int) else (f".{k}" if text else str(k))
    for end in range(len(keys), -1, -1):
        if tuple(keys[:end]) in lines:
            return text or "(top level)", lines[tuple(keys[:end])]
    return text or "(top level)", None


_UNION_TAGS = {"bool", "list[str]", "str", "float", "int", "dict[str,float]"}


def parse_spec(text: str, source: str = "spec") -> Spec:
    """A validated spec from YAML text; SpecError names the source, line and key."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{source}{line}: not valid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError(f"{source} line 1: the spec must be a mapping of keys (name, days, ...)")
    lines: dict[tuple[Any, ...], int] = {}
    if root is not None:
        _lines(root, (), lines)
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key, where = _where(tuple(err["loc"]), lines)
            at = f" line {where}" if where else ""
            problems.append(f"{source}{at}: {key}: {err['msg']}")
        raise SpecError("\n".join(dict.fromkeys(problems))) from None


def load_spec(path: str | Path) -> Spec:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec ({exc.strerror})") from None
    spec = parse_spec(text, str(path))
    if spec.history is not None and not Path(spec.history.batch).is_absolute():
        # A history folder is named relative to the spec file, wherever the command runs.
        where = str(path.parent / spec.history.batch)
        spec = spec.model_copy(update={"history": spec.history.model_copy(update={"batch": where})})
    return spec
