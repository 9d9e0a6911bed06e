"""KPIs of a scenario run, per day and over the horizon, and the comparison against the base.

Money comes from the planner's cost breakdowns (one per sourcing run) and, for
cancelled demand, from the same cost model: nothing here re-costs a package.
Late days and extra packages are priced at the spec's default weights
($5 a package-day, $2 an extra package) whatever weights a scenario planned
with, so that a scenario that weighs lateness x3 is compared in the same
dollars as the base.
"""

import numpy as np
import pandas as pd

from models import Weights
from scenarios.simulate import ScenarioRun

PRICE = Weights()  # the spec's defaults: what a late day and an extra package cost
COMPONENTS = ("shipping", "handling", "late", "split", "lost")


def _per(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den per day, 0 where nothing was served."""
    return (num / den.where(den > 0)).fillna(0.0)


def _div(num: float, den: float) -> float:
    return float(num) / den if den else 0.0


def daily(run: ScenarioRun) -> pd.DataFrame:
    """One row per day: cost per order by component, service, packages, labour, backlog."""
    days = pd.RangeIndex(len(run.days), name="day")
    runs = run.runs.groupby("day").sum(numeric_only=True).reindex(days, fill_value=0)
    pkg = run.packages
    out = pd.DataFrame(index=days)
    out["scenario"] = run.scenario
    out["seed"] = run.seed
    if len(pkg):
        per_order = pkg.groupby(["day", "order_id"]).size()
        served = per_order.groupby("day").size()
        split = (per_order > 1).groupby("day").sum()
        parcel = pkg[pkg["parcel"]]
        miles = parcel.groupby("day")["miles"].mean()
        zone = parcel.groupby("day")["zone"].mean()
        units = pkg.pivot_table(index="day", columns="kind", values="units", aggfunc="sum")
    else:
        served = split = miles = zone = pd.Series(dtype=float)
        units = pd.DataFrame()
    out["orders_served"] = served.reindex(days, fill_value=0).astype(int)
    out["shipping"] = runs["shipping"]
    out["handling"] = runs["handling"]
    out["late"] = PRICE.late * runs["late_days"]
    out["split"] = PRICE.split * runs["splits"]
    out["lost"] = run.days.set_index("day")["lost_cost"].reindex(days, fill_value=0.0)
    out["cost"] = out[list(COMPONENTS)].sum(axis=1)
    for c in (*COMPONENTS, "cost"):
        out[f"{c}_per_order"] = _per(out[c], out["orders_served"])
    # What serving an order cost that day, without the lumps of cancelled demand.
    out["fulfilment_per_order"] = out["cost_per_order"] - out["lost_per_order"]
    out["packages"] = runs["packages"].astype(int)
    out["packages_per_order"] = _per(out["packages"], out["orders_served"])
    out["split_rate"] = _per(split.reindex(days, fill_value=0), out["orders_served"])
    out["on_time_rate"] = 1.0 - _per(runs["late_packages"], runs["packages"])
    end = run.days.set_index("day").reindex(days)
    open_units = runs["units_allocated"] + end["backlog_units"] + end["dropped_units"]
    out["fill_rate"] = _per(runs["units_allocated"], open_units)
    out["avg_miles"] = miles.reindex(days)
    out["avg_zone"] = zone.reindex(days)
    for kind in ("dc", "store"):
        col = units[kind] if kind in units else pd.Series(dtype=float)
        out[f"units_{kind}"] = col.reindex(days, fill_value=0).fillna(0).astype(int)
    out["backlog_units"] = end["backlog_units"].astype(int)
    out["backlog_orders"] = end["backlog_orders"].astype(int)
    out["dropped_units"] = end["dropped_units"].astype(int)
    back = run.returns.groupby("day")["units"].sum() if len(run.returns) else pd.Series()
    out["returns_restocked"] = back.reindex(days, fill_value=0).astype(int)
    return out.reset_index()


def summary(run: ScenarioRun) -> dict[str, float | int | str]:
    """The horizon's KPIs of one scenario under one seed."""
    d = daily(run)
    pkg = run.packages
    runs = run.runs
    per_order = pkg.groupby("order_id").size() if len(pkg) else pd.Series(dtype=int)
    parcel = pkg[pkg["parcel"]] if len(pkg) else pkg
    units_dc, units_store = int(d["units_dc"].sum()), int(d["units_store"].sum())
    money = {c: float(d[c].sum()) for c in COMPONENTS}
    total = float(d["cost"].sum())
    packages = int(runs["packages"].sum()) if len(runs) else 0
    late = float(runs["late_packages"].sum()) if len(runs) else 0.0
    allocated = float(runs["units_allocated"].sum()) if len(runs) else 0.0
    out: dict[str, float | int | str] = {"scenario": run.scenario, "seed": run.seed}
    out.update(money)
    out["total_cost"] = total
    out["cost_per_order"] = _div(total, run.orders)
    out.update({f"{c}_per_order": _div(v, run.orders) for c, v in money.items()})
    out["orders"] = run.orders
    out["packages"] = packages
    out["packages_per_order"] = _div(packages, len(per_order))
    out["split_rate"] = _div(int((per_order > 1).sum()), len(per_order))
    out["on_time_rate"] = 1.0 - _div(late, packages)
    out["fill_rate"] = _div(allocated, run.units)
    out["miles_per_package"] = float(parcel["miles"].mean()) if len(parcel) else 0.0
    out["avg_zone"] = float(parcel["zone"].mean()) if len(parcel) else 0.0
    out["units_dc"] = units_dc
    out["units_store"] = units_store
    out["store_unit_share"] = _div(units_store, units_dc + units_store)
    out["backlog_end"] = int(d["backlog_units"].iloc[-1]) if len(d) else 0
    out["dropped_units"] = int(d["dropped_units"].sum())
    out["returns_restocked"] = int(d["returns_restocked"].sum())
    out["plan_seconds"] = float(runs["wall_seconds"].sum()) if len(runs) else 0.0
    return out


TABLE_KPIS: tuple[tuple[str, str, str], ...] = (
    # key, header, format
    ("cost_per_order", "$/order", "{:.2f}"),
    ("on_time_rate", "on-time", "{:.1%}"),
    ("fill_rate", "fill", "{:.1%}"),
    ("miles_per_package", "mi/pkg", "{:.0f}"),
    ("packages_per_order", "pkg/ord", "{:.3f}"),
    ("store_unit_share", "store", "{:.1%}"),
)


def compare(summaries: pd.DataFrame, base: str = "base") -> pd.DataFrame:
    """Mean per scenario over seeds, delta against the base (paired by seed), 95 % CI."""
    from scipy import stats

    keys = [c for c in summaries.columns if c not in ("scenario", "seed")]
    keys = [k for k in keys if pd.api.types.is_numeric_dtype(summaries[k])]
    base_rows = summaries[summaries["scenario"] == base].set_index("seed")[keys]
    rows = []
    for name, grp in summaries.groupby("scenario", sort=False):
        g = grp.set_index("seed")[keys]
        n = len(g)
        row: dict[str, float | int | str] = {"scenario": str(name), "seeds": n}
        diff = g - base_rows.reindex(g.index)
        t = float(stats.t.ppf(0.975, n - 1)) if n > 1 else float("nan")
        for k in keys:
            row[k] = float(g[k].mean())
            row[f"{k}_delta"] = float(diff[k].mean())
            row[f"{k}_delta_pct"] = _div(float(diff[k].mean()), float(base_rows[k].mean()))
            row[f"{k}_ci"] = t * float(g[k].std(ddof=1)) / np.sqrt(n) if n > 1 else float("nan")
            row[f"{k}_delta_ci"] = (
                t * float(diff[k].std(ddof=1)) / np.sqrt(n) if n > 1 else float("nan")
            )
        rows.append(row)
    return pd.DataFrame(rows)
