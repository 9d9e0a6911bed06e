"""Local search: take one order out, re-solve its own choice exactly on what is
left, keep the change if the plan gets cheaper. Orders are visited where it can
pay: those not at the choice they would make with the whole network to
themselves (they were displaced from scarce stock, split, or left units unfilled),
the most costly such excess first, so a run cut short by the clock has done the
visits worth most.
"""

import numpy as np
import numpy.typing as npt

from planner.core.group import Group, subset
from planner.core.instance import Instance
from planner.core.plan import Plan, left_by
from planner.optimize.budget import Deadline
from planner.optimize.columns import plan_order_costs
from planner.optimize.pricing.subproblem import solve_group

IntA = npt.NDArray[np.int64]


def order_cost(g: Group, row: int, lines: IntA, nodes: IntA, qty: IntA, split: float) -> float:
    """Objective share of one order (packages, splits, units, unfilled) from group arrays."""
    cand = g.cand[row]
    cost = 0.0
    opened = np.unique(nodes)
    for n in opened:
        col = int(np.flatnonzero((cand == n) & np.isfinite(g.fixed[row]))[0])
        cost += float(g.fixed[row, col])
    cost += split * max(0, len(opened) - 1)
    served = np.zeros(g.n_lines)
    for ln, n, q in zip(lines.tolist(), nodes.tolist(), qty.tolist(), strict=True):
        li = int(np.flatnonzero(g.lines[row] == ln)[0])
        col = int(np.flatnonzero((cand == n) & np.isfinite(g.fixed[row]))[0])
        cost += q * float(g.unit[row, li, col])
        served[li] += q
    cost += float(((g.qty[row] - served) * g.unit_penalty[row]).sum())
    return cost


def local_search(
    inst: Instance,
    groups: list[Group],
    plan: Plan,
    free_value: list[np.ndarray],
    deadline: Deadline,
    passes: int = 2,
) -> Plan:
    """Re-insert displaced orders one at a time while it lowers the total."""
    avail, cap = left_by(inst, plan)
    zero_lam = np.zeros(inst.avail.shape)
    zero_mu = np.zeros(inst.n_nodes)
    split = inst.weights.split
    by_order: dict[int, list[int]] = {}
    for i, ln in enumerate(plan.line.tolist()):
        by_order.setdefault(int(inst.line_order[ln]), []).append(i)
    line, node, qty = plan.line.copy(), plan.node.copy(), plan.qty.copy()
    alive = np.ones(len(line), bool)
    extra: list[tuple[int, int, int]] = []
    for _ in range(passes):
        changed = 0
        for gi, row in _worst_first(
            inst, groups, Plan(line[alive], node[alive], qty[alive]), free_value
        ):
            if deadline.passed():
                break
            g = groups[gi]
            o = int(g.orders[row])
            idx = [i for i in by_order.get(o, []) if (i < len(line) and alive[i])]
            cur_lines = line[idx] if idx else np.zeros(0, np.int64)
            cur_nodes = node[idx] if idx else np.zeros(0, np.int64)
            cur_qty = qty[idx] if idx else np.zeros(0, np.int64)
            try:
                current = order_cost(g, row, cur_lines, cur_nodes, cur_qty, split)
            except IndexError:
                continue  # placed by the top-up on a non-candidate node: leave it
            np.add.at(avail, (cur_nodes, inst.line_sku[cur_lines]), cur_qty)
            np.add.at(cap, cur_nodes, cur_qty)
            sub = subset(g, np.array([row]), avail, cap)
            sol = solve_group(sub, zero_lam, zero_mu, split)
            new = []
            for nd, qt in ((sol.node1[0], sol.qty1[0]), (sol.node2[0], sol.qty2[0])):
                for li in np.flatnonzero((nd >= 0) & (qt > 0)):
                    new.append((int(g.lines[row, li]), int(nd[li]), int(qt[li])))
            if sol.value[0] < current - 1e-9 and fits_jointly(inst, new, avail, cap):
                alive[idx] = False
                for ln, nd_, qt_ in new:
                    avail[nd_, inst.line_sku[ln]] -= qt_
                    cap[nd_] -= qt_
                start = len(line) + len(extra)
                extra.extend(new)
                by_order[o] = list(range(start, start + len(new)))
                changed += 1
                if len(extra) > 4096:
                    line, node, qty, alive = _merge(line, node, qty, alive, extra)
                    extra = []
            else:
                np.subtract.at(avail, (cur_nodes, inst.line_sku[cur_lines]), cur_qty)
                np.subtract.at(cap, cur_nodes, cur_qty)
        if extra:
            line, node, qty, alive = _merge(line, node, qty, alive, extra)
            extra = []
        if not changed or deadline.passed():
            break
    assert (avail >= 0).all() and (cap >= 0).all()
    keep = alive
    return Plan(line[keep], node[keep], qty[keep])


def _worst_first(
    inst: Instance, groups: list[Group], plan: Plan, free_value: list[np.ndarray]
) -> list[tuple[int, int]]:
    """(group, row) of every order that costs more than with the network to itself,
    the largest excess first: when time is short, the visits that can pay most."""
    if not groups:
        return []
    current = plan_order_costs(inst, plan)
    gid = np.concatenate([np.full(g.size, gi) for gi, g in enumerate(groups)])
    row = np.concatenate([np.arange(g.size) for g in groups])
    order = np.concatenate([g.orders for g in groups])
    excess = current[order] - np.concatenate(free_value)
    pick = np.flatnonzero(excess > 1e-9)
    pick = pick[np.argsort(-excess[pick], kind="stable")]
    return list(zip(gid[pick].tolist(), row[pick].tolist(), strict=True))


def fits_jointly(
    inst: Instance, new: list[tuple[int, int, int]], avail: np.ndarray, cap: np.ndarray
) -> bool:
    """Jointly within stock and capacity (lines of one order may share a node)."""
    need_stock: dict[tuple[int, int], int] = {}
    need_cap: dict[int, int] = {}
    for ln, nd, qt in new:
        key = (nd, int(inst.line_sku[ln]))
        need_stock[key] = need_stock.get(key, 0) + qt
        need_cap[nd] = need_cap.get(nd, 0) + qt
    return all(avail[k] >= v for k, v in need_stock.items()) and all(
        cap[k] >= v for k, v in need_cap.items()
    )


def _merge(
    line: IntA, node: IntA, qty: IntA, alive: np.ndarray, extra: list[tuple[int, int, int]]
) -> tuple[IntA, IntA, IntA, np.ndarray]:
    e = np.asarray(extra, np.int64).reshape(-1, 3)
    return (
        np.concatenate([line, e[:, 0]]),
        np.concatenate([node, e[:, 1]]),
        np.concatenate([qty, e[:, 2]]),
        np.concatenate([alive, np.ones(len(e), bool)]),
    )
