"""What a strategy returns, and the one way to turn raw assignments into it."""

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models import PlanSummary
from planner.core.cost import evaluate
from planner.core.instance import Instance
from planner.core.plan import Plan

if TYPE_CHECKING:
    from planner.optimize.warm import Warm


@dataclass(frozen=True)
class PlanResult:
    allocations: pd.DataFrame  # order_id, line_no, node_id, qty
    unfilled: pd.DataFrame  # order_id, line_no, qty
    summary: PlanSummary
    warm: "Warm | None" = None  # the optimizer's prices and plan, for the next run to start from


def allocation_frames(inst: Instance, a: Plan) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Allocations and unfilled tables of the contract, merged per (line, node)."""
    keep = a.qty > 0
    raw = pd.DataFrame({"line": a.line[keep], "node": a.node[keep], "qty": a.qty[keep]})
    raw = raw.groupby(["line", "node"], sort=True, as_index=False).agg(qty=("qty", "sum"))
    line = raw["line"].to_numpy()
    alloc = pd.DataFrame(
        {
            "order_id": inst.order_ids[inst.line_order[line]],
            "line_no": inst.line_no[line],
            "node_id": inst.node_ids[raw["node"].to_numpy()],
            "qty": raw["qty"].to_numpy(np.int64),
        }
    )
    filled = np.bincount(line, weights=raw["qty"].to_numpy(), minlength=inst.n_lines)
    left = inst.line_qty - filled.astype(np.int64)
    rows = np.flatnonzero(left > 0)
    unfilled = pd.DataFrame(
        {
            "order_id": inst.order_ids[inst.line_order[rows]],
            "line_no": inst.line_no[rows],
            "qty": left[rows],
        }
    )
    return alloc, unfilled


def finish(
    inst: Instance,
    a: Plan,
    strategy: str,
    started: float,
    lower_bound: float | None = None,
    proven_optimal: bool = False,
    notes: list[str] | None = None,
) -> PlanResult:
    """Cost the plan with the one cost model and wrap it with its summary."""
    alloc, unfilled = allocation_frames(inst, a)
    cost = evaluate(inst.batch, alloc, inst.weights)
    gap = None
    if lower_bound is not None:
        lower_bound = min(lower_bound, cost.total)  # a bound above the total is rounding
        gap = (cost.total - lower_bound) / cost.total if cost.total > 0 else 0.0
    summary = PlanSummary(
        strategy=strategy,
        cost=cost,
        total=cost.total,
        lower_bound=lower_bound,
        gap=gap,
        wall_seconds=time.perf_counter() - started,
        proven_optimal=proven_optimal,
        notes=notes or [],
    )
    return PlanResult(alloc, unfilled, summary)
