"""Analysts' tables of scenario runs in DuckDB: KPIs per day and per scenario, plans, allocations.

Each ``dom scenario run`` appends one ``run_id`` to every table in one
transaction (all of a run or none of it), so runs can be compared in SQL:

    scenario_runs          run_id, spec_name, started_at, wall_seconds, days, seeds, spec
    scenario_summary       run_id, scenario, seed, total_cost, cost_per_order, on_time_rate..
    scenario_kpis_daily    run_id, scenario, seed, day, cost_per_order, backlog_units, ...
    scenario_plans         run_id, scenario, seed, day, hour, orders, shipping, late_days..
    scenario_allocations   run_id, scenario, seed, day, hour, order_id, line_no, node_id, sku, qty
    scenario_returns       run_id, scenario, seed, day, node_id, kind, units
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

TABLES = (
    "scenario_runs",
    "scenario_summary",
    "scenario_kpis_daily",
    "scenario_plans",
    "scenario_allocations",
    "scenario_returns",
)


def save_scenario_run(
    path: str | Path, run_id: str, header: Mapping[str, object], frames: Mapping[str, pd.DataFrame]
) -> None:
    """Append one run's frames (keyed by table name, without run_id) in one transaction."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.begin()
        head = pd.DataFrame([{"run_id": run_id, "started_at": datetime.now(UTC), **header}])
        tables = {"scenario_runs": head}
        tables.update({k: v.assign(run_id=run_id) for k, v in frames.items()})
        for name, frame in tables.items():
            if name not in TABLES:
                raise ValueError(f"unknown scenario table {name!r}")
            cols = ["run_id", *[c for c in frame.columns if c != "run_id"]]
            con.register("incoming", frame[cols])
            exists = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
            ).fetchone()
            if exists and exists[0]:
                con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM incoming")
            else:
                con.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
            con.unregister("incoming")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        con.close()


def query(path: str | Path, sql: str) -> pd.DataFrame:
    """Read-only SQL over the analysts' file (the README's examples run through this)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()
