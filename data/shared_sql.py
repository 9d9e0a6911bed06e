"""SQL that the batch store and the order-lifecycle repository share.

Each rule is written once: the availability expression, the one writer of
order events and the one writer of plans. Both callers pass their own cursor,
so the write joins whatever transaction the caller holds.
"""

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from itertools import count
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel

# Units a stock row may still promise. ``available("i")`` qualifies the columns.
AVAILABLE = "on_hand - reserved - safety_stock"


def available(alias: str = "") -> str:
    """The availability rule as a SQL expression, on table ``alias`` if given."""
    p = f"{alias}." if alias else ""
    return f"({p}on_hand - {p}reserved - {p}safety_stock)"


EVENT_COLUMNS = (
    "order_id",
    "occurred_at",
    "actor",
    "channel",
    "event_type",
    "from_status",
    "to_status",
    "details",
)
# Up to this many events go in one VALUES list; more go through a registered frame.
_VALUES_MAX = 64
_views = count(1)


def to_json(value: Any) -> str:
    """JSON text for DuckDB's JSON type: NaN/inf become null, Decimals strings."""

    def clean(v: Any) -> Any:
        if isinstance(v, BaseModel):
            return clean(v.model_dump(mode="json"))
        if isinstance(v, Mapping):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, float | np.floating) and not math.isfinite(v):
            return None
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, Decimal):
            return str(v)
        if isinstance(v, date | datetime):
            return v.isoformat()
        return v

    return json.dumps(clean(value), allow_nan=False)


@contextmanager
def registered(cur: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> Iterator[str]:
    """Expose a DataFrame to SQL on this cursor for the block (set-wise writes)."""
    name = f"_frame_{next(_views)}"
    cur.register(name, frame)
    try:
        yield name
    finally:
        cur.unregister(name)


def insert_events(cur: duckdb.DuckDBPyConnection, events: Sequence[Sequence[Any]]) -> list[int]:
    """Append events (tuples in EVENT_COLUMNS order, details a dict or None); their ids."""
    if not events:
        return []
    rows = [(*e[:7], None if e[7] is None else to_json(e[7])) for e in events]
    names = ", ".join(EVENT_COLUMNS)
    if len(rows) <= _VALUES_MAX:
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
        res = cur.execute(
            f"INSERT INTO order_events ({names}) VALUES {values} RETURNING event_id",
            [v for row in rows for v in row],
        )
    else:
        frame = pd.DataFrame(rows, columns=list(EVENT_COLUMNS), dtype=object)
        frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
        with registered(cur, frame) as view:
            res = cur.execute(
                f"INSERT INTO order_events ({names}) SELECT order_id, occurred_at, actor, "
                "channel, event_type, from_status, to_status, CAST(details AS JSON) "
                f"FROM {view} RETURNING event_id"
            )
    return [int(r[0]) for r in res.fetchall()]


def insert_plan(
    cur: duckdb.DuckDBPyConnection,
    plan_id: str,
    strategy: str,
    batch_date: date,
    weights: Any,
    summary: Mapping[str, Any],
    allocations: pd.DataFrame,
    unfilled: pd.DataFrame,
) -> None:
    """Write a plan: its row, then allocations (order_id, line_no, node_id, qty) and
    unfilled lines (order_id, line_no, qty), each numbered in the order given."""
    cur.execute(
        "INSERT INTO plans (plan_id, strategy, batch_date, weights, summary, total, "
        "lower_bound, gap, wall_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            plan_id,
            strategy,
            batch_date,
            to_json(weights),
            to_json(summary),
            _float_or_none(summary["total"]),
            _float_or_none(summary.get("lower_bound")),
            _float_or_none(summary.get("gap")),
            _float_or_none(summary.get("wall_seconds")),
        ],
    )
    parts = {
        "plan_allocations": (allocations, ["order_id", "line_no", "node_id", "qty"]),
        "plan_unfilled": (unfilled, ["order_id", "line_no", "qty"]),
    }
    for table, (df, cols) in parts.items():
        if not len(df):
            continue
        frame = df.loc[:, cols].reset_index(drop=True)
        frame["seq"] = np.arange(len(frame), dtype=np.int64)
        names = ", ".join([*cols, "seq"])
        with registered(cur, frame) as view:
            cur.execute(
                f"INSERT INTO {table} (plan_id, {names}) SELECT ?, {names} FROM {view}",
                [plan_id],
            )


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)
