"""Between a spec run and the stores: named weight profiles in, analysts' tables out."""

from pathlib import Path

import pandas as pd

from scenarios.runner import SpecResult
from scenarios.spec import Resolved, SpecError


def resolve_profiles(scenarios: list[Resolved], store: Path | None) -> list[Resolved]:
    """Each ``weight_profile: name[@version]`` replaced by its stored weights (inline on top)."""
    named = [s for s in scenarios if s.weight_profile]
    if not named:
        return scenarios
    from data.lifecycle_db import Database
    from data.store import Store
    from models import Weights
    from models.errors import DomError
    from services import weights as profiles

    db = Database(Store(store))
    try:
        out = []
        for s in scenarios:
            if s.weight_profile:
                try:
                    prof = profiles.show(db, s.weight_profile)
                except DomError as exc:
                    raise SpecError(f"scenario {s.name}: weight_profile: {exc}") from None
                inline = {
                    k: v for k, v in s.weights.model_dump().items() if k in s.model_fields_set
                }
                s = s.model_copy(update={"weights": Weights(**{**prof["weights"], **inline})})
            out.append(s)
        return out
    finally:
        db.close()


def frames_for_db(result: SpecResult, spec_file: Path) -> tuple[dict, dict[str, pd.DataFrame]]:
    """The run's header and frames for ``data.scenario_tables``."""
    spec = result.spec
    header = {
        "spec_name": spec.name,
        "wall_seconds": result.wall_seconds,
        "days": spec.days,
        "orders_per_day": spec.orders_per_day,
        "seeds": ",".join(map(str, spec.seeds)),
        "spec": spec.model_dump_json(),
        "spec_file": str(spec_file),
    }
    plans = pd.concat(
        [r.runs.assign(scenario=r.scenario, seed=r.seed) for r in result.runs], ignore_index=True
    )
    allocs = pd.concat(
        [r.allocations.assign(scenario=r.scenario, seed=r.seed) for r in result.runs],
        ignore_index=True,
    )
    returns = pd.concat(
        [r.returns.assign(scenario=r.scenario, seed=r.seed) for r in result.runs], ignore_index=True
    )
    first = ["scenario", "seed"]

    def lead(df: pd.DataFrame) -> pd.DataFrame:
        return df[first + [c for c in df.columns if c not in first]]

    frames = {
        "scenario_summary": lead(result.summaries),
        "scenario_kpis_daily": lead(result.daily),
        "scenario_plans": lead(plans),
        "scenario_allocations": lead(allocs),
        "scenario_returns": lead(returns),
    }
    return header, frames
