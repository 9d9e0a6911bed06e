"""Feasible plans from prices: priority rounds, then a greedy top-up.

Given prices (lam, mu), every order's priced choice is computed on the stock
that is still free; orders are accepted in order of regret (those that lose
most by moving go first) as long as their units fit what is left, counted
cumulatively per (node, sku) and per node. Orders that did not fit are priced
again on the smaller stock, round after round. All of it is vectorised; only
the rare leftovers (an order whose lines share a sku, orders that need three
or more packages) are finished one at a time in plain Python.
"""

import numpy as np
import numpy.typing as npt

from planner.core.group import Group, subset
from planner.core.instance import Instance
from planner.core.plan import Plan, left_by
from planner.optimize.pricing.subproblem import solve_group

IntA = npt.NDArray[np.int64]
FloatA = npt.NDArray[np.float64]


def _entries(g: Group, sol, keys: FloatA) -> tuple[IntA, IntA, IntA, IntA, FloatA]:
    """Flatten a group solution: (row, line, node, qty, priority key) per source."""
    m, n_lines = g.qty.shape
    row = np.repeat(np.arange(m), n_lines)
    parts = []
    for node, qty in ((sol.node1, sol.qty1), (sol.node2, sol.qty2)):
        nd, qt = node.ravel(), qty.ravel()
        ok = (nd >= 0) & (qt > 0)
        parts.append((row[ok], g.lines.ravel()[ok], nd[ok], qt[ok]))
    r = np.concatenate([p[0] for p in parts])
    return (
        r,
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]),
        keys[r],
    )


def priced_repair(
    inst: Instance,
    groups: list[Group],
    lam: FloatA,
    mu: FloatA,
    pending: list[IntA] | None = None,
    plan: Plan | None = None,
    rounds: int = 30,
) -> Plan:
    """A feasible plan guided by prices lam, mu (zero prices = plain cost).

    ``plan`` holds allocations already fixed (their stock is taken first) and
    ``pending`` the rows of each group still to place (default: all); at most ``rounds``
    priority rounds, then the greedy top-up.
    """
    plan = plan or Plan.empty()
    avail, cap = left_by(inst, plan)
    assert (avail >= 0).all() and (cap >= 0).all(), "fixed allocations exceed stock"
    split = inst.weights.split
    n_skus = inst.avail.shape[1]
    pending = [np.arange(g.size) for g in groups] if pending is None else list(pending)
    for _ in range(rounds):
        if not any(len(p) for p in pending):
            break
        rows_all, lines_all, nodes_all, qty_all, key_all, gid_all = [], [], [], [], [], []
        for gi, (g, rows) in enumerate(zip(groups, pending, strict=True)):
            if not len(rows):
                continue
            sub = subset(g, rows, avail, cap)
            sol = solve_group(sub, lam, mu, split)
            r, ln, nd, qt, key = _entries(sub, sol, -sol.regret)
            rows_all.append(rows[r])
            lines_all.append(ln)
            nodes_all.append(nd)
            qty_all.append(qt)
            key_all.append(key)
            gid_all.append(np.full(len(r), gi))
            # Orders whose best choice is to take nothing are settled now.
            takes = np.zeros(len(rows), bool)
            takes[r] = True
            pending[gi] = rows[takes]
        if not rows_all:
            break
        row = np.concatenate(rows_all)
        line = np.concatenate(lines_all)
        node = np.concatenate(nodes_all)
        qty = np.concatenate(qty_all)
        key = np.concatenate(key_all)
        gid = np.concatenate(gid_all)
        order_uid = gid * (1 << 40) + row
        ok = _fits(order_uid, node, inst.line_sku[line], qty, key, avail, cap, n_skus)
        # An order is accepted only if all its entries fit.
        uids, inv = np.unique(order_uid, return_inverse=True)
        order_ok = np.ones(len(uids), bool)
        np.logical_and.at(order_ok, inv, ok)
        accept = order_ok[inv]
        if not accept.any():
            break
        np.subtract.at(avail, (node[accept], inst.line_sku[line[accept]]), qty[accept])
        np.subtract.at(cap, node[accept], qty[accept])
        plan = plan.extend(Plan(line[accept], node[accept], qty[accept]))
        done_uid = uids[order_ok]
        for gi in range(len(groups)):
            mine = done_uid[(done_uid >> 40) == gi] & ((1 << 40) - 1)
            pending[gi] = np.setdiff1d(pending[gi], mine, assume_unique=True)
    assert (avail >= 0).all() and (cap >= 0).all()
    return top_up(inst, plan, avail, cap)


def _fits(
    uid: IntA,
    node: IntA,
    sku: IntA,
    qty: IntA,
    key: FloatA,
    avail: npt.NDArray[np.int64],
    cap: IntA,
    n_skus: int,
) -> npt.NDArray[np.bool_]:
    """Entries that fit when orders claim stock in key order (cumulative per stock and node)."""
    order = np.lexsort((uid, key))
    ok = np.ones(len(uid), bool)
    for group_key, limit in ((node * n_skus + sku, avail.ravel()), (node, cap)):
        g = group_key[order]
        q = qty[order]
        srt = np.argsort(g, kind="stable")
        gs, qs = g[srt], q[srt]
        cum = np.cumsum(qs)
        starts = np.r_[0, np.flatnonzero(np.diff(gs)) + 1]
        seg_base = np.repeat(np.r_[0, cum[starts[1:] - 1]], np.diff(np.r_[starts, len(gs)]))
        within = cum - seg_base
        fits = within <= limit[gs]
        ok_sorted = np.empty(len(g), bool)
        ok_sorted[srt] = fits
        ok[order] &= ok_sorted
    return ok


def top_up(inst: Instance, plan: Plan, avail: npt.NDArray[np.int64], cap: IntA) -> Plan:
    """Fill what is still unfilled from any allowed node with stock, cheapest first."""
    filled = np.bincount(plan.line, weights=plan.qty, minlength=inst.n_lines).astype(np.int64)
    short = inst.line_qty - filled
    lines = np.flatnonzero(short > 0)
    if not len(lines):
        return plan
    orders = np.unique(inst.line_order[lines])
    orders = orders[~inst.ship_complete[orders]]  # ship-complete orders are whole or nothing
    opened_by_order: dict[int, set[int]] = {}
    for ln, nd in zip(plan.line.tolist(), plan.node.tolist(), strict=True):
        opened_by_order.setdefault(int(inst.line_order[ln]), set()).add(nd)
    extra_line, extra_node, extra_qty = [], [], []
    w = inst.weights
    for start in range(0, len(orders), 1024):
        block = orders[start : start + 1024]
        costs = inst.order_costs(block)
        for row, o in enumerate(block.tolist()):
            sl = inst.lines_of(o)
            opened = opened_by_order.get(o, set())
            limit = int(inst.package_limit[o])
            unit = inst.unit_costs(costs, row, sl)
            for i, line in enumerate(range(sl.start, sl.stop)):
                need = int(short[line])
                s = int(inst.line_sku[line])
                while need > 0:
                    can = np.minimum(np.minimum(avail[:, s], cap), need)
                    ok = np.isfinite(costs.fixed[row]) & (can > 0)
                    is_open = np.zeros(inst.n_nodes, bool)
                    if opened:
                        is_open[list(opened)] = True
                    if len(opened) >= limit:
                        ok &= is_open
                    if not ok.any():
                        break
                    open_cost = np.where(
                        is_open, 0.0, costs.fixed[row] + (w.split if opened else 0.0)
                    )
                    gain = can * (inst.unfilled_unit_cost[line] - unit[i]) - open_cost
                    gain = np.where(ok, gain, -np.inf)
                    n = int(np.argmax(gain))
                    if gain[n] <= 0:
                        break
                    got = int(can[n])
                    avail[n, s] -= got
                    cap[n] -= got
                    opened.add(n)
                    extra_line.append(line)
                    extra_node.append(n)
                    extra_qty.append(got)
                    need -= got
            opened_by_order[o] = opened
    return plan.extend(
        Plan(
            np.asarray(extra_line, np.int64),
            np.asarray(extra_node, np.int64),
            np.asarray(extra_qty, np.int64),
        )
    )
