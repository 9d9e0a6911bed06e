"""A sourcing run's plan that keeps the delivery promises made for its orders.

The planner minimises the contract's objective (docs/sourcing-problem.md): it
prices lateness at ``w.late`` per package-day and sees neither node calendars
nor the queue a node builds inside one run, so its cheapest plan moves some
promised orders to a node where, by the promise's own date rules, they arrive
a day or two late. A promise is a commitment already made to a shopper, so a
run applies the planner's allocation of every order whose promise it keeps,
and gives each promised order it would break back what that order held before
the run: its promised packages (the hold that became its reservation). Orders
whose stock or node capacity those need follow with their own earlier
holdings, until the mix fits the stock and the capacity the run had and no
reverting mends another promise. Nothing here changes the objective: the plan
applied is costed by the contract's cost model (``planner.evaluate``) and
keeps the planner's lower bound, so its gap says what keeping promises cost.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

import planner
from data.lifecycle_db import Database
from planner.core.result import PlanResult
from promise.index import PromiseIndex
from services.promise import promises_kept

MAX_ROUNDS = 30  # revert-and-check rounds; each only grows the reverted set
COLUMNS = ["order_id", "line_no", "node_id", "qty"]


@dataclass(frozen=True)
class Promised:
    """What the run knows of its orders' promises (services.promise.promises_kept)."""

    orders: list[tuple[str, str, date, str, datetime]]
    captured_at: dict[str, datetime]
    before: Mapping[str, int]  # units per node held by orders outside the run


def promised_in_run(
    db: Database, index: PromiseIndex, held: pd.DataFrame, orders: list[str]
) -> Promised:
    """The promises of a run's orders, and each node's work from outside the run."""
    listed, captured = db.read(lambda r: (r.order_promises(orders), r.capture_times(orders)))
    before = {n: int(index.reserved_node[c]) for c, n in enumerate(index.node_ids)}
    if len(held):
        for node_id, qty in held.groupby("node_id")["qty"].sum().items():
            before[str(node_id)] = before.get(str(node_id), 0) - int(qty)
    return Promised(listed, captured, before)


def keep_promises(
    index: PromiseIndex, batch: Any, result: PlanResult, held: pd.DataFrame, promised: Promised
) -> tuple[PlanResult, int]:
    """The plan to apply, and how many orders kept what they held before the run."""
    if not promised.orders or not len(result.allocations):
        return result, 0
    plan = result.allocations[COLUMNS]
    old = held[COLUMNS]
    ids = {o for o, *_ in promised.orders}
    ordered = {
        (str(o), int(n)): int(q)
        for o, n, q in batch.order_lines[["order_id", "line_no", "qty"]].itertuples(index=False)
    }
    limits = _Limits(batch)
    back: set[str] = set()
    for _ in range(MAX_ROUNDS):
        mixed = pd.concat(
            [plan[~plan["order_id"].isin(back)], old[old["order_id"].isin(back)]],
            ignore_index=True,
        )
        crowded = limits.crowding(mixed, old)
        if crowded - back:
            back |= crowded
            continue
        rows = [
            (str(o), int(n), str(d), int(q))
            for o, n, d, q in mixed[COLUMNS].itertuples(index=False)
        ]
        broken = promises_kept(
            index, promised.orders, rows, ordered, promised.captured_at, promised.before, None
        )["broken"]
        late = {b["order_id"] for b in broken} & ids
        # Still late with what it held: the planner queued newcomers ahead of it there.
        more = (late - back) | _newcomers(mixed, old, late & back) - back
        if not more:
            break
        back |= more
    if not back:
        return result, 0
    return _costed(batch, result, mixed, len(back)), len(back)


def _newcomers(mixed: pd.DataFrame, old: pd.DataFrame, orders: set[str]) -> set[str]:
    """Orders the mix puts at the nodes of ``orders`` that did not hold units there."""
    if not orders:
        return set()
    nodes = set(mixed.loc[mixed["order_id"].isin(orders), "node_id"])
    there = mixed[mixed["node_id"].isin(nodes)]
    before = set(zip(old["order_id"], old["node_id"], strict=True))
    return {
        o for o, n in zip(there["order_id"], there["node_id"], strict=True) if (o, n) not in before
    }


class _Limits:
    """The run's stock per (node, sku) and capacity per node, to keep a mix within."""

    def __init__(self, batch: Any) -> None:
        inv = batch.inventory
        free = inv["on_hand"] - inv["reserved"] - inv["safety_stock"]
        self.room = dict(zip(zip(inv["node_id"], inv["sku"], strict=True), free, strict=True))
        self.capacity = dict(
            zip(batch.nodes["node_id"], batch.nodes["capacity_units"], strict=True)
        )
        self.sku = batch.order_lines.set_index(["order_id", "line_no"])["sku"]

    def crowding(self, mixed: pd.DataFrame, old: pd.DataFrame) -> set[str]:
        """Orders the mix moved onto a stock row or node it over-fills (what orders held
        before the run fitted, so the newcomers are what does not)."""
        a = mixed.assign(
            sku=self.sku.reindex(pd.MultiIndex.from_frame(mixed[["order_id", "line_no"]])).values
        )
        per_row = a.groupby(["node_id", "sku"])["qty"].sum()
        rows = {k for k, q in per_row.items() if q > self.room.get(k, 0)}  # type: ignore[call-overload]
        per_node = a.groupby("node_id")["qty"].sum()
        nodes = {n for n, q in per_node.items() if q > self.capacity.get(n, 0)}
        if not rows and not nodes:
            return set()
        before = set(zip(old["order_id"], old["node_id"], strict=True))
        there = [
            (o, n)
            for o, n, s in zip(a["order_id"], a["node_id"], a["sku"], strict=True)
            if (n, s) in rows or n in nodes
        ]
        # Newcomers first; if the planner over-filled it with orders that were there
        # (more units than they held), those go back too.
        return {o for o, n in there if (o, n) not in before} or {o for o, _ in there}


def _costed(batch: Any, result: PlanResult, mixed: pd.DataFrame, reverted: int) -> PlanResult:
    """The mixed plan with its unfilled lines and its summary by the contract's cost."""
    alloc = mixed.groupby(["order_id", "line_no", "node_id"], sort=True)["qty"].sum().reset_index()
    alloc["qty"] = alloc["qty"].astype("int64")
    got = alloc.groupby(["order_id", "line_no"])["qty"].sum()
    lines = batch.order_lines.set_index(["order_id", "line_no"])["qty"]
    physical = pd.MultiIndex.from_frame(  # digital lines are in neither table
        pd.concat([result.allocations, result.unfilled])[["order_id", "line_no"]]
    ).unique()
    lines = lines[lines.index.isin(physical)]
    left = lines - got.reindex(lines.index).fillna(0).astype("int64")
    unfilled = left[left > 0].rename("qty").reset_index()
    s = result.summary
    cost = planner.evaluate(batch, alloc, s.cost.weights)
    bound = s.lower_bound
    gap = None if bound is None else ((cost.total - bound) / cost.total if cost.total else 0.0)
    note = f"{reverted} orders kept what they held before the run (their promise)"
    summary = s.model_copy(
        update={
            "cost": cost,
            "total": cost.total,
            "gap": gap,
            "proven_optimal": False,
            "notes": [*s.notes, note],
        }
    )
    return PlanResult(alloc, unfilled, summary)
