"""Rule-of-thumb strategies: the yardsticks the optimizer must beat.

``greedy`` (the spec's): orders in turn, each line from the cheapest feasible
node given what earlier orders took. ``nearest``: each line from the nearest
node with stock, the rule most order systems ship with. Both respect every
hard rule; both fill ship-complete orders from the single best node that can
fill them whole.
"""

import time
from collections.abc import Callable

import numpy as np

from planner.core.group import BLOCK
from planner.core.instance import Instance, OrderCosts
from planner.core.plan import Plan
from planner.core.result import PlanResult, finish


def _plan_sequential(inst: Instance, by_distance: bool) -> Plan:
    avail = inst.avail.copy()
    cap = inst.capacity.copy()
    out_line: list[int] = []
    out_node: list[int] = []
    out_qty: list[int] = []

    def take(line: int, node: int, qty: int) -> None:
        avail[node, inst.line_sku[line]] -= qty
        cap[node] -= qty
        out_line.append(line)
        out_node.append(node)
        out_qty.append(qty)

    for start in range(0, inst.n_orders, BLOCK):
        block = np.arange(start, min(start + BLOCK, inst.n_orders))
        costs = inst.order_costs(block)
        for row, o in enumerate(block):
            _fill_order(inst, costs, row, int(o), avail, cap, take, by_distance)
    return Plan.from_lists(out_line, out_node, out_qty)


def _fill_order(
    inst: Instance,
    costs: OrderCosts,
    row: int,
    o: int,
    avail: np.ndarray,
    cap: np.ndarray,
    take: Callable[[int, int, int], None],
    by_distance: bool,
) -> None:
    lines = inst.lines_of(o)
    skus = inst.line_sku[lines]
    qtys = inst.line_qty[lines]
    fixed = costs.fixed[row]
    allowed = np.isfinite(fixed)
    unit = inst.unit_costs(costs, row, lines)
    score_open = costs.miles[row] if by_distance else fixed

    if inst.ship_complete[o]:
        # Lines of one SKU draw on the same stock: compare their sum.
        distinct, at = np.unique(skus, return_inverse=True)
        need = np.bincount(at, weights=qtys)
        whole = allowed & (avail[:, distinct] >= need[None, :]).all(axis=1) & (cap >= qtys.sum())
        if not whole.any():
            return  # the whole order stays unfilled
        order_cost = score_open + (0.0 if by_distance else (unit * qtys[:, None]).sum(axis=0))
        n = int(np.argmin(np.where(whole, order_cost, np.inf)))
        for i, line in enumerate(range(lines.start, lines.stop)):
            take(line, n, int(qtys[i]))
        return

    limit = int(inst.package_limit[o])
    split = inst.weights.split
    opened = np.zeros(inst.n_nodes, dtype=bool)
    for i, line in enumerate(range(lines.start, lines.stop)):
        remaining = int(qtys[i])
        penalty = float(inst.unfilled_unit_cost[line])
        while remaining > 0:
            can = np.minimum(np.minimum(avail[:, skus[i]], cap), remaining)
            ok = allowed & (can > 0)
            if opened.sum() >= limit:
                ok &= opened
            if not ok.any():
                break
            if by_distance:
                score = np.where(opened, 0.0, score_open)
            else:
                # Cost of what this node can take, plus the penalty for what it leaves.
                open_cost = fixed + (split if opened.any() else 0.0)
                score = (
                    np.where(opened, 0.0, open_cost) + unit[i] * can + penalty * (remaining - can)
                )
            n = int(np.argmin(np.where(ok, score, np.inf)))
            got = int(can[n])
            take(line, n, got)
            opened[n] = True
            remaining -= got


def greedy_plan(inst: Instance) -> Plan:
    """The spec's greedy plan itself (a feasible answer while a better one is sought)."""
    return _plan_sequential(inst, by_distance=False)


def plan_greedy(inst: Instance, time_limit: float | None = None) -> PlanResult:
    started = time.perf_counter()
    return finish(inst, _plan_sequential(inst, by_distance=False), "greedy", started)


def plan_nearest(inst: Instance, time_limit: float | None = None) -> PlanResult:
    started = time.perf_counter()
    return finish(inst, _plan_sequential(inst, by_distance=True), "nearest", started)
