"""A feasible plan from the master LP by diving: fix what the LP decided, re-price the rest.

Each step: orders the LP puts wholly on one column keep it, orders it leaves
empty stay unfilled, and the fractional orders that lean to one column
(value >= 1/2, or the most leaning quarter) take it, in order of that value, as
long as it fits the stock and capacity left. The LP is then solved again over
the orders still open, on what is left, with a few rounds of column
generation (so they find the alternatives the fixed orders left them).
"""

import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from planner.candidates import Group
from planner.columns import Columns
from planner.improve import fits_jointly
from planner.instance import Instance
from planner.master import MasterResult, _argmin_by, _sum_by, solve_master
from planner.primal import Flat, subset

IntA = npt.NDArray[np.int64]
FloatA = npt.NDArray[np.float64]
WHOLE = 1 - 1e-6
Pricer = Callable[[list[Group], FloatA, FloatA, FloatA], Columns]


def dive(
    inst: Instance,
    groups: list[Group],
    pool: Columns,
    master: MasterResult,
    empty: FloatA,
    price: Pricer,
    deadline: float,
    max_steps: int = 40,
    cg_rounds: int = 5,
    share: float = 0.2,
    solver_name: str = "glop",
    params: str = "",
    whole_at: float = WHOLE,
    simplex_up_to: int = 0,
) -> tuple[Flat, IntA]:
    """Returns the plan and the orders still open when time ran out (to be repaired).

    Once at most ``simplex_up_to`` orders are open the LPs are GLOP's (dual simplex):
    a first-order solver's LP leaves many orders slightly fractional (10,000 orders
    after PDLP: 3,400 below 0.99), a vertex few."""
    avail = inst.avail.copy()
    cap = inst.capacity.copy()
    plan = Flat.empty()
    active = np.ones(inst.n_orders, bool)
    # Columns priced after the last LP have no value in it yet.
    cols, z = pool, np.concatenate([master.z, np.zeros(pool.size - len(master.z))])
    last = 0.0  # seconds the last LP and pricing took
    solved = True  # z is an LP's over the current columns (not yet thinned since)
    simplex = solver_name == "glop"  # z is a vertex
    for _ in range(max_steps):
        at = WHOLE if simplex else whole_at
        best = _argmin_by(cols.order, -z, inst.n_orders)
        has = best >= 0
        zmax = np.zeros(inst.n_orders)
        zmax[has] = z[best[has]]
        act = np.flatnonzero(active)
        whole = act[zmax[act] >= at]
        frac = act[(zmax[act] > 1e-9) & (zmax[act] < at)]
        if solved:
            active[act[zmax[act] <= 1e-9]] = False  # the LP leaves them unfilled
        # (Otherwise a zero may only mean the column was dropped for lack of stock
        # below: those orders stay open for the repair.)
        lean = frac[np.argsort(-zmax[frac], kind="stable")[: int(np.ceil(len(frac) * share))]]
        candidates = np.concatenate([whole, lean[np.argsort(-zmax[lean], kind="stable")]])
        taken = _take_fitting(inst, cols, best[candidates], avail, cap)
        plan = plan.extend(cols.allocations(best[candidates[taken]]))
        active[candidates[taken]] = False
        if not active.any() or time.perf_counter() > deadline:
            break
        act = np.flatnonzero(active)
        sub = [
            subset(g, r, avail, cap) for g in groups if len(r := np.flatnonzero(active[g.orders]))
        ]
        # Columns made for the stock as it was may now ask for more than is left.
        keep = np.flatnonzero(active[cols.order] & fits_alone(inst, cols, avail, cap))
        cols, z = cols.take(keep), z[keep]
        solved = False
        for _ in range(cg_rounds):
            if time.perf_counter() + last > deadline:
                break  # the last LP and pricing would not fit again: go with what z says
            step_started = time.perf_counter()
            simplex = len(act) <= simplex_up_to
            m = solve_master(
                cols, inst.line_sku, empty, act, avail, cap,
                time_limit=deadline - time.perf_counter(),
                solver_name="glop" if simplex else solver_name, params="" if simplex else params,
            )  # fmt: skip
            if not m.optimal:
                return plan, np.flatnonzero(active)
            z, solved = m.z, True
            if time.perf_counter() > deadline:
                break
            new = price(sub, m.lam, m.mu, m.ref)
            last = time.perf_counter() - step_started
            if not new.size:
                break
            cols = cols.extend(new)
            z = np.concatenate([z, np.zeros(new.size)])
    return plan, np.flatnonzero(active)


def fits_alone(
    inst: Instance, cols: Columns, avail: npt.NDArray[np.int64], cap: IntA
) -> npt.NDArray[np.bool_]:
    """Columns whose own use fits the stock and capacity given."""
    n_skus = avail.shape[1]
    bad = np.zeros(cols.size, bool)
    for key, supply, n_keys in (
        (cols.ent_node * n_skus + inst.line_sku[cols.ent_line], avail.ravel(), avail.size),
        (cols.ent_node, cap, len(cap)),
    ):
        (c_idx, k), use = _sum_by(cols.ent_col, key, cols.ent_qty, n_keys)
        bad[c_idx[use > supply[k]]] = True
    return ~bad


def _take_fitting(
    inst: Instance, cols: Columns, chosen: IntA, avail: npt.NDArray[np.int64], cap: IntA
) -> npt.NDArray[np.bool_]:
    """Which chosen columns fit, taken in the given order; ``avail``/``cap`` are reduced."""
    ok = np.zeros(len(chosen), bool)
    if not len(chosen):
        return ok
    # Fast path: all of them fit together (the usual case for the LP's whole columns).
    part = cols.allocations(chosen)
    sku = inst.line_sku[part.line]
    used = np.zeros(avail.shape, np.int64)
    np.add.at(used, (part.node, sku), part.qty)
    used_node = np.bincount(part.node, weights=part.qty, minlength=len(cap)).astype(np.int64)
    if (used <= avail).all() and (used_node <= cap).all():
        avail -= used
        cap -= used_node
        ok[:] = True
        return ok
    starts = np.searchsorted(cols.ent_col, chosen)
    ends = np.searchsorted(cols.ent_col, chosen, side="right")
    for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        line, node, qty = cols.ent_line[a:b], cols.ent_node[a:b], cols.ent_qty[a:b]
        entries = list(zip(line.tolist(), node.tolist(), qty.tolist(), strict=True))
        if fits_jointly(inst, entries, avail, cap):
            np.subtract.at(avail, (node, inst.line_sku[line]), qty)
            np.subtract.at(cap, node, qty)
            ok[i] = True
    return ok
