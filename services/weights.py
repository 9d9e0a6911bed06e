"""Weight profiles for merchandisers: named versions, what-ifs on the last run, audited activation.

A what-if re-plans the batch the last sourcing run planned (kept by the run)
twice, with the same strategy and time limit: under the weights that run used
and under the candidate profile, and reports the KPI changes. The costs come
from the planner's one cost model (``planner.evaluate`` inside ``plan``).
"""

import re
from datetime import date
from typing import Any

import pandas as pd
from pydantic import ValidationError

from data import weight_profiles as wp
from data.lifecycle_db import Database
from data.lifecycle_repo import LifecycleRepo
from models import Batch, CostBreakdown, Weights
from models.api import Actor
from models.lifecycle_errors import FieldError, InvalidInput, NotFound
from models.weight_profiles import ProfileView
from services.common import Idempotency

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
WHATIF_TIME_LIMIT = 10.0
BATCH_TABLES = ("nodes", "items", "inventory", "orders", "order_lines", "rate_card")


def _ready(db: Database) -> None:
    if not db.cache.get("weight_tables"):
        db.write(lambda r: wp.ensure_tables(r.cur))
        db.cache["weight_tables"] = True


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``name`` or ``name@version``."""
    name, _, ver = ref.partition("@")
    if not NAME.match(name):
        raise InvalidInput([FieldError("name", f"{name!r}: lower-case letters, digits, . _ -")])
    if ver and not ver.isdigit():
        raise InvalidInput([FieldError("version", f"{ver!r} is not a version number")])
    return name, int(ver) if ver else None


def check_weights(raw: dict[str, Any]) -> Weights:
    """Weights from a mapping; an unknown or negative component is refused, named."""
    try:
        return Weights(**raw)
    except ValidationError as exc:
        errors = [
            FieldError("weights." + ".".join(str(p) for p in e["loc"]), e["msg"])
            for e in exc.errors()
        ]
        raise InvalidInput(errors, "invalid weight profile") from None


def list_profiles(db: Database) -> list[dict[str, Any]]:
    _ready(db)
    return db.read(lambda r: wp.list_profiles(r.cur))


def _find(r: LifecycleRepo, ref: str) -> dict[str, Any]:
    """The profile ``name[@version]`` names (latest version by default), or NotFound."""
    name, version = parse_ref(ref)
    prof = wp.get_profile(r.cur, name, version)
    if prof is None:
        raise NotFound(f"no weight profile {ref!r}")
    return prof


def show(db: Database, ref: str) -> dict[str, Any]:
    _ready(db)
    name, _ = parse_ref(ref)

    def work(r: LifecycleRepo) -> dict[str, Any]:
        prof = _find(r, ref)
        prof["versions"] = [v["version"] for v in wp.versions(r.cur, name)]
        act = wp.active(r.cur)
        prof["active"] = bool(act and act["name"] == name and act["version"] == prof["version"])
        return prof

    return db.read(work)


def create(
    db: Database,
    name: str,
    weights: dict[str, Any],
    note: str | None,
    actor: Actor,
    key: Idempotency | None = None,
) -> ProfileView:
    """A new profile, or the next version of an existing one (a retried key replays it)."""
    _ready(db)
    if not NAME.match(name):
        raise InvalidInput([FieldError("name", f"{name!r}: lower-case letters, digits, . _ -")])
    w = check_weights(weights)

    def work(r: LifecycleRepo) -> ProfileView:
        if key is not None and (first := key.replay(r)) is not None:
            return ProfileView.model_validate_json(first)
        view = ProfileView(**wp.add_version(r.cur, name, w.model_dump(), note, actor.name))
        view.versions = [v["version"] for v in wp.versions(r.cur, name)]
        if key is not None:
            key.remember(r, view)
        return view

    return db.write(work)


def activate(db: Database, ref: str, actor: Actor) -> dict[str, Any]:
    """Make a profile version the one sourcing runs use; the switch is recorded."""
    _ready(db)
    parse_ref(ref)  # a malformed name is refused before the transaction

    def work(r: LifecycleRepo) -> dict[str, Any]:
        prof = _find(r, ref)
        return wp.record_activation(r.cur, prof["name"], prof["version"], actor.name)

    return db.write(work)


def audit(db: Database) -> list[dict[str, Any]]:
    _ready(db)
    return db.read(lambda r: wp.activations(r.cur))


def active_weights(db: Database) -> tuple[Weights, str] | None:
    """The active profile's weights and ``name@version``, or None (spec defaults apply)."""
    _ready(db)

    def work(r: LifecycleRepo) -> tuple[Weights, str] | None:
        act = wp.active(r.cur)
        if act is None:
            return None
        prof = wp.get_profile(r.cur, act["name"], act["version"])
        assert prof is not None
        return Weights(**prof["weights"]), f"{act['name']}@{act['version']}"

    return db.read(work)


def remember_run_batch(db: Database, run_id: str, strategy: str, batch: Batch) -> None:
    """Keep what a sourcing run planned, for later what-ifs."""
    _ready(db)
    tables = {t: batch.table(t) for t in BATCH_TABLES}
    tables["weights"] = pd.DataFrame([batch.weights.model_dump()])
    db.write(lambda r: wp.save_run_batch(r.cur, run_id, strategy, batch.batch_date, tables))


def last_run_batch(db: Database) -> tuple[str, str, Batch]:
    """(run_id, strategy, batch) of the latest sourcing run."""
    _ready(db)
    got = db.read(lambda r: wp.last_run_batch(r.cur))
    if got is None:
        raise NotFound("no sourcing run has been kept yet; run one first")
    run_id, strategy, batch_date, t = got
    weights = Weights(**{str(k): float(v) for k, v in t["weights"].iloc[0].items()})
    batch = Batch(
        batch_date=batch_date
        if isinstance(batch_date, date)
        else date.fromisoformat(str(batch_date)),
        nodes=t["nodes"],
        items=t["items"],
        inventory=t["inventory"],
        orders=t["orders"],
        order_lines=t["order_lines"],
        rate_card=t["rate_card"],
        weights=weights,
    )
    return run_id, strategy, batch


def plan_kpis(cost: CostBreakdown) -> dict[str, float]:
    """What a merchandiser compares: money by component, service and packages."""
    return {
        "total": cost.total,
        "shipping": cost.shipping,
        "handling": cost.handling,
        "late_days": cost.late_days,
        "splits": cost.splits,
        "unfilled": cost.unfilled,
        "packages": float(cost.packages),
        "packages_per_order": cost.packages_per_order,
        "on_time_share": cost.on_time_share,
        "fill_rate": cost.fill_rate,
        "shipping_plus_handling": cost.shipping + cost.handling,
    }


def replan(batch: Batch, strategy: str, weights: Weights, time_limit: float) -> dict[str, float]:
    from planner import plan

    result = plan(batch, strategy, time_limit, weights)
    return plan_kpis(result.summary.cost)


def whatif(
    db: Database, ref: str, time_limit: float = WHATIF_TIME_LIMIT, strategy: str | None = None
) -> dict[str, Any]:
    """The last run's batch under its own weights and under the candidate, and the changes."""
    prof = show(db, ref)
    run_id, run_strategy, batch = last_run_batch(db)
    strategy = strategy or run_strategy
    candidate = Weights(**prof["weights"])
    before = replan(batch, strategy, batch.weights, time_limit)
    after = replan(batch, strategy, candidate, time_limit)
    return {
        "run_id": run_id,
        "strategy": strategy,
        "orders": int(len(batch.orders)),
        "profile": f"{prof['name']}@{prof['version']}",
        "current_weights": batch.weights.model_dump(),
        "candidate_weights": candidate.model_dump(),
        "current": before,
        "candidate": after,
        "delta": {k: after[k] - before[k] for k in before},
    }


def compare(db: Database, a: str, b: str, time_limit: float = WHATIF_TIME_LIMIT) -> dict[str, Any]:
    """Two profiles' weights side by side, and each one's plan of the last run's batch."""
    pa, pb = show(db, a), show(db, b)
    run_id, strategy, batch = last_run_batch(db)
    ka = replan(batch, strategy, Weights(**pa["weights"]), time_limit)
    kb = replan(batch, strategy, Weights(**pb["weights"]), time_limit)
    return {
        "run_id": run_id,
        "a": {"profile": f"{pa['name']}@{pa['version']}", "weights": pa["weights"], "kpis": ka},
        "b": {"profile": f"{pb['name']}@{pb['version']}", "weights": pb["weights"], "kpis": kb},
        "delta": {k: kb[k] - ka[k] for k in ka},
    }


def sweep(
    db: Database,
    component: str,
    values: list[float],
    base_ref: str | None = None,
    time_limit: float = WHATIF_TIME_LIMIT,
) -> list[dict[str, float]]:
    """Re-plan the last run's batch with one weight set to each value: the trade-off curve."""
    if component not in Weights.model_fields:
        raise InvalidInput(
            [FieldError("component", f"{component!r}: one of {', '.join(Weights.model_fields)}")]
        )
    run_id, strategy, batch = last_run_batch(db)
    base = Weights(**show(db, base_ref)["weights"]) if base_ref else batch.weights
    out = []
    for v in values:
        w = check_weights({**base.model_dump(), component: v})
        out.append({"value": v, **replan(batch, strategy, w, time_limit)})
    return out
