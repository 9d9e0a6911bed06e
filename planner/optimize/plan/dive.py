"""A feasible plan from the master LP by diving: fix what the LP decided, re-price the rest.

Each step: orders the LP puts wholly on one column keep it, orders it leaves
empty stay unfilled, and the fractional orders that lean to one column
(value >= 1/2, or the most leaning quarter) take it, in order of that value, as
long as it fits the stock and capacity left. The LP is then solved again over
the orders still open, on what is left, with a few rounds of column
generation (so they find the alternatives the fixed orders left them).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planner.core.group import Group, subset
from planner.core.instance import Instance
from planner.core.plan import Plan
from planner.optimize.budget import Deadline
from planner.optimize.columns import Columns
from planner.optimize.master import (
    MasterResult,
    SolveOptions,
    _argmin_by,
    _sum_by,
    solve_master,
)
from planner.optimize.plan.local_search import fits_jointly

IntA = npt.NDArray[np.int64]
FloatA = npt.NDArray[np.float64]
WHOLE = 1 - 1e-6
Pricer = Callable[[list[Group], FloatA, FloatA, FloatA], Columns]


@dataclass(frozen=True)
class DiveOptions:
    steps: int = 40  # fix-and-resolve steps at most
    rounds: int = 5  # column-generation rounds on the open orders after a step
    lean: float = 0.2  # of the fractional orders, the most leaning that take their column
    solver_name: str = "glop"
    params: str = ""
    whole_at: float = WHOLE  # an order at this value on one column is whole
    simplex_up_to: int = 0  # open orders from which on the LPs are GLOP's


@dataclass
class _Dive:
    """Where the dive is: the stock left, the plan so far, the open orders and the LP."""

    avail: IntA
    cap: IntA
    plan: Plan
    active: npt.NDArray[np.bool_]
    cols: Columns
    z: FloatA
    last: float = 0.0  # seconds the last LP and pricing took
    solved: bool = True  # z is an LP's over the current columns (not yet thinned since)
    simplex: bool = True  # z is a vertex
    kept: int = -1  # columns the last step kept for the open orders

    def open_orders(self) -> IntA:
        return np.flatnonzero(self.active)


def dive(
    inst: Instance,
    groups: list[Group],
    pool: Columns,
    master: MasterResult,
    empty: FloatA,
    price: Pricer,
    deadline: Deadline,
    options: DiveOptions,
) -> tuple[Plan, IntA]:
    """Returns the plan and the orders still open when time ran out (to be repaired).

    Once at most ``options.simplex_up_to`` orders are open the LPs are GLOP's (dual
    simplex): a first-order solver's LP leaves many orders slightly fractional (10,000
    orders after PDLP: 3,400 below 0.99), a vertex few."""
    # Columns priced after the last LP have no value in it yet.
    z = np.concatenate([master.z, np.zeros(pool.size - len(master.z))])
    state = _Dive(
        inst.avail.copy(), inst.capacity.copy(), Plan.empty(), np.ones(inst.n_orders, bool),
        pool, z, simplex=options.solver_name == "glop",
    )  # fmt: skip
    for _ in range(options.steps):
        n_open = len(state.open_orders())
        _fix(inst, state, options)
        if not state.active.any() or deadline.passed():
            break
        if not _resolve_open(inst, groups, empty, price, deadline, options, state,
                             fixed=len(state.open_orders()) < n_open):  # fmt: skip
            break
    return state.plan, state.open_orders()


def _fix(inst: Instance, state: _Dive, options: DiveOptions) -> None:
    """Orders the LP puts wholly on one column, then the most leaning fractional ones,
    take that column while it fits; orders a solved LP leaves empty stay unfilled."""
    at = WHOLE if state.simplex else options.whole_at
    best = _argmin_by(state.cols.order, -state.z, inst.n_orders)
    has = best >= 0
    zmax = np.zeros(inst.n_orders)
    zmax[has] = state.z[best[has]]
    act = state.open_orders()
    whole = act[zmax[act] >= at]
    frac = act[(zmax[act] > 1e-9) & (zmax[act] < at)]
    if state.solved:
        state.active[act[zmax[act] <= 1e-9]] = False  # the LP leaves them unfilled
    # (Otherwise a zero may only mean the column was dropped for lack of stock
    # below: those orders stay open for the repair.)
    n_lean = int(np.ceil(len(frac) * options.lean))
    lean = frac[np.argsort(-zmax[frac], kind="stable")[:n_lean]]
    candidates = np.concatenate([whole, lean[np.argsort(-zmax[lean], kind="stable")]])
    taken = _take_fitting(inst, state.cols, best[candidates], state.avail, state.cap)
    state.plan = state.plan.extend(state.cols.allocations(best[candidates[taken]]))
    state.active[candidates[taken]] = False


def _resolve_open(
    inst: Instance,
    groups: list[Group],
    empty: FloatA,
    price: Pricer,
    deadline: Deadline,
    options: DiveOptions,
    state: _Dive,
    fixed: bool = True,
) -> bool:
    """The LP again over the open orders on what is left, with a few rounds of column
    generation; False when the LP failed or would repeat the last step exactly (nothing
    was ``fixed`` since and the columns are the same): the dive stops, repair takes over."""
    act = state.open_orders()
    # Columns made for the stock as it was may now ask for more than is left.
    fits = fits_alone(inst, state.cols, state.avail, state.cap)
    keep = np.flatnonzero(state.active[state.cols.order] & fits)
    if not fixed and len(keep) == state.kept:
        return False  # (10k: 4 orders whose new columns never fit, 30 steps of them)
    state.cols, state.z, state.kept = state.cols.take(keep), state.z[keep], len(keep)
    sub = [
        subset(g, r, state.avail, state.cap)
        for g in groups
        if len(r := np.flatnonzero(state.active[g.orders]))
    ]
    state.solved = False
    for _ in range(options.rounds):
        if not deadline.fits(state.last):
            break  # the last LP and pricing would not fit again: go with what z says
        step_started = deadline.budget.now()
        state.simplex = len(act) <= options.simplex_up_to
        lp = SolveOptions(
            time_limit=deadline.left(),
            solver_name="glop" if state.simplex else options.solver_name,
            params="" if state.simplex else options.params,
            budget=deadline.budget,
        )
        m = solve_master(state.cols, inst.line_sku, empty, act, state.avail, state.cap, lp)
        if not m.optimal:
            return False
        state.z, state.solved = m.z, True
        if deadline.passed():
            break
        new = price(sub, m.lam, m.mu, m.ref)
        state.last = deadline.budget.now() - step_started
        if not new.size:
            break
        state.cols = state.cols.extend(new)
        state.z = np.concatenate([state.z, np.zeros(new.size)])
    return True


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
