"""The default strategy: column generation on the Dantzig-Wolfe master, price-and-branch.

Orders interact only through stock (rule 1) and node capacity (rule 2), so the
batch is "pick one way to serve each order" under those rows (``planner.master``).

1. Candidates: each order keeps its cheapest nodes, pruned safely
   (``planner.candidates``); more join when prices make them attractive.
2. Columns: at prices (lam, mu) every order's own choice is solved exactly and
   vectorised (``planner.subproblem``; ``planner.exact_pricing`` for the few
   orders that may want three or more packages). A choice whose reduced cost is
   negative joins the master (``planner.columns``); the master LP (GLOP) gives
   new prices. Rounds stop when no column prices out, the LP stops moving, or
   the time share is spent.
3. Bound: L(lam, mu) = sum over orders of their exact priced optimum (with a
   floor for dropped nodes) - lam . avail - mu . capacity, valid for any prices
   >= 0; at the LP's final prices it meets the LP value when pricing is exact.
4. Plan: orders the LP puts wholly on one column keep it; the fractional rest
   are solved exactly together over their columns on the stock left
   (restricted-master MIP, SCIP), falling back to priced repair
   (``planner.primal``); then a top-up and a local search (``planner.improve``).
"""

import time
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from planner.candidates import Group, build_groups, widen
from planner.columns import Columns, best_singles, columns_from_plan, from_solution
from planner.cost import evaluate
from planner.dive import WHOLE, dive
from planner.exact_pricing import solve_exact
from planner.improve import improve
from planner.instance import Instance
from planner.master import MasterResult, _argmin_by, solve_master
from planner.mip import solve_mip
from planner.pricing import Priced, price_groups
from planner.primal import Flat, construct
from planner.result import Assignment, PlanResult, allocation_frames, finish
from planner.subproblem import solve_group

FloatA = npt.NDArray[np.float64]
IntA = npt.NDArray[np.int64]
DEFAULT_TIME_LIMIT = 60.0


@dataclass(frozen=True)
class Settings:
    """Knobs of the method; the defaults are what benchmarks/README.md measured."""

    candidates: int = 16  # candidate nodes per single-line order (more for more lines)
    all_nodes_up_to: int = 64  # networks this small keep every node: no pruning
    single_line_candidates: int = 40  # candidates of one-line orders on larger networks
    widen_by: int = 16  # nodes added to an order per round when dropped ones look cheaper
    bound_widen_by: int = 32  # nodes added where a dropped node's floor binds the bound
    initial_singles: int = 3  # single-node columns per order before the first LP
    priced_singles: int = 2  # single-node columns per order offered each round
    max_rounds: int = 40  # column-generation rounds
    stall: float = 2e-5  # stop when a round improves the LP by less than this (relative)
    search_share: float = 0.4  # of the time limit, column generation may use
    finish_share: float = 0.08  # of the time limit, kept for the bound and costing
    exact_pricing_up_to: int = 3000  # orders per round the exact pricing MIP may take
    exact_pricing_seconds: float = 5.0
    exact_when_below: float = 0.02  # new columns per order under which exact pricing runs
    simplex_up_to: int = 5000  # orders; larger masters are solved by PDLP (first-order)
    master_mip_up_to: int = 3000  # orders the restricted-master MIP (SCIP) re-solves in the
    # time left: the whole batch up to this size, else the LP's fractional neighbourhood
    improve_passes: int = 2
    exact_up_to: int = 300  # orders; smaller batches finish with the exact MIP
    tolerance: float = 1e-6  # reduced cost below -tolerance enters the master
    pdlp_tolerance: float = 1e-3  # relative optimality PDLP stops at: its prices need
    # not be exact, the bound is valid at any prices
    restricted_lp: bool = False  # later rounds' LPs hold only the unsettled orders
    smoothing: float = 0.0  # pricing at alpha * best-bound prices + (1 - alpha) * LP prices


@dataclass
class Outcome:
    plan: Flat
    bound: float
    lp_value: float
    rounds: int
    notes: list[str]
    optimal: bool = False
    prices: tuple[FloatA, FloatA] | None = None  # (lam, mu) the bound was taken at


def plan_total(inst: Instance, plan: Flat) -> float:
    """The contract's total of a plan, from the one cost model."""
    alloc, _ = allocation_frames(inst, Assignment(plan.line, plan.node, plan.qty))
    return evaluate(inst.batch, alloc, inst.weights).total


def empty_costs(inst: Instance) -> FloatA:
    """Each order left wholly unfilled: the column every order always has."""
    return np.bincount(
        inst.line_order,
        weights=inst.line_qty * inst.unfilled_unit_cost,
        minlength=inst.n_orders,
    )


def lagrangian_bound(
    inst: Instance,
    groups: list[Group],
    lam: FloatA,
    mu: FloatA,
    exact_seconds: float = Settings.exact_pricing_seconds,
    exact_up_to: int = Settings.exact_pricing_up_to,
    widen_by: int = Settings.bound_widen_by,
) -> float:
    """L(lam, mu): a proven lower bound on the optimum for any prices >= 0.

    Per order, the exact priced optimum over its candidates (sets of three or
    more nodes by the exact MIP where the floor is too weak), capped by the
    floor of any choice that uses a dropped node (``planner.pricing`` widens the
    orders where that floor would bind); minus what the prices charge for the
    whole supply.
    """
    split = inst.weights.split
    priced = price_groups(inst, groups, lam, mu, widen_by)
    bounds = [p.bound for p in priced]
    loose = [
        np.flatnonzero(
            (p.solution.bound < p.solution.value - 1e-9)
            & (p.group.dropped_bound > p.solution.bound)
        )
        for p in priced
    ]
    parts = [(i, r) for i, r in enumerate(loose) if len(r)]
    solved = []
    if 0 < sum(len(r) for _, r in parts) <= exact_up_to:
        solved = solve_exact(
            [(priced[i].group, r) for i, r in parts], lam, mu, split, inst.line_sku, exact_seconds
        )
    if not all(ex.proven for ex in solved) or not solved:
        # No exact answer for the loose orders: enumerate sets of three nodes instead.
        for i, _ in parts:
            bounds[i] = solve_group(priced[i].group, lam, mu, split, tight_bound=True).bound
    else:
        for (i, r), ex in zip(parts, solved, strict=True):
            bounds[i] = bounds[i].copy()
            best = np.minimum(ex.value, priced[i].solution.value[r])
            bounds[i][r] = np.minimum(best, priced[i].group.dropped_bound[r])
    total = sum(float(b.sum()) for b in bounds)
    return total - float((lam * inst.avail).sum()) - float((mu * inst.capacity).sum())


def _price(
    inst: Instance,
    groups: list[Group],
    lam: FloatA,
    mu: FloatA,
    ref: FloatA,
    settings: Settings,
    deadline: float,
    exact: bool = False,
    check: tuple[FloatA, FloatA] | None = None,
    with_bound: bool = False,
) -> tuple[Columns, bool, float, list[Group]]:
    """Columns with negative reduced cost (priced cost below what the order has, ref),
    whether the exact pricing ran, L(lam, mu) without the exact part (orders that
    may want three or more packages count at their floor; -inf unless
    ``with_bound``), and the groups (widened where the floor bound, with_bound).

    The exact pricing of orders that may want three or more packages costs a
    SCIP solve: it runs when asked or once the vectorised pricing is nearly dry.
    Columns are found at (lam, mu); their reduced cost is taken at ``check``
    (the LP's prices, which ``ref`` belongs to) when given.
    """
    split = inst.weights.split
    lam_c, mu_c = check if check is not None else (lam, mu)
    offers: list[Columns] = []
    loose: list[tuple[Group, IntA]] = []
    if with_bound:
        priced = price_groups(inst, groups, lam, mu, settings.bound_widen_by)
        bound = sum(float(p.bound.sum()) for p in priced)
        bound -= float((lam * inst.avail).sum()) + float((mu * inst.capacity).sum())
    else:
        free = [replace(g, dropped_bound=np.full(g.size, np.inf)) for g in groups]
        priced = [Priced(g, solve_group(g, lam, mu, split)) for g in free]
        bound = -np.inf
    for p in priced:
        g, sol = p.group, p.solution
        offers.append(from_solution(g, sol, np.arange(g.size), split))
        if settings.priced_singles:
            offers.append(best_singles(g, lam, mu, settings.priced_singles, split))
        rows = np.flatnonzero(sol.bound < sol.value - 1e-9)
        if len(rows):
            loose.append((g, rows))
    groups = [p.group for p in priced]
    new = _negative(inst, offers, lam_c, mu_c, ref, settings.tolerance)
    orders = sum(g.size for g in groups)
    budget = min(settings.exact_pricing_seconds, deadline - time.perf_counter())
    n_loose = sum(len(r) for _, r in loose)
    dry = new.size <= settings.exact_when_below * orders
    if not (exact or dry) or not 0 < n_loose <= settings.exact_pricing_up_to or budget <= 0:
        return new, False, bound, groups
    solved = solve_exact(loose, lam, mu, split, inst.line_sku, budget)
    offers = [ex.columns for ex in solved]
    new = new.extend(_negative(inst, offers, lam_c, mu_c, ref, settings.tolerance))
    return new, True, bound, groups


def _negative(
    inst: Instance, offers: list[Columns], lam: FloatA, mu: FloatA, ref: FloatA, tolerance: float
) -> Columns:
    """The offered columns whose reduced cost is below -tolerance."""
    new = Columns.empty()
    for cols in offers:
        rc = cols.priced(inst.line_sku, lam, mu) - ref[cols.order]
        new = new.extend(cols.take(np.flatnonzero(rc < -tolerance)))
    return new


def _after(started: float) -> str:
    return f"after {time.perf_counter() - started:.1f} s"


def _lp_solver(inst: Instance, settings: Settings) -> tuple[str, str]:
    """GLOP's dual simplex up to ``simplex_up_to`` orders (vertex solutions dive well);
    above, PDLP on both cores to a loose tolerance (a 100k-order master in ~8 s,
    where GLOP needs minutes)."""
    if inst.n_orders <= settings.simplex_up_to:
        return "glop", ""
    tol = settings.pdlp_tolerance
    return "pdlp", (
        "num_threads: 2 termination_criteria { simple_optimality_criteria { "
        f"eps_optimal_absolute: {tol} eps_optimal_relative: {tol} }} }}"
    )


def _initial_columns(
    inst: Instance, groups: list[Group], settings: Settings
) -> tuple[Columns, FloatA]:
    """Every order's favourite and its few best single nodes at zero prices, and
    each order's favourite cost by order (what it could do with the stock to itself)."""
    lam, mu = np.zeros(inst.avail.shape), np.zeros(inst.n_nodes)
    split = inst.weights.split
    pool = Columns.empty()
    free_value = np.zeros(inst.n_orders)
    for g in groups:
        sol = solve_group(g, lam, mu, split)
        free_value[g.orders] = sol.value
        pool = pool.extend(from_solution(g, sol, np.arange(g.size), split))
        pool = pool.extend(best_singles(g, lam, mu, settings.initial_singles, split))
    return pool, free_value


def _master_mip(
    inst: Instance,
    pool: Columns,
    plan: Flat,
    empty: FloatA,
    scope: IntA,
    seconds: float,
    notes: list[str],
) -> Flat | None:
    """Price-and-branch over the orders ``scope``: the restricted master as a MIP
    (SCIP) on the stock the other orders leave, started from the plan we have (its
    choices join the columns as the hint). Returns the whole plan, or None."""
    inside = np.zeros(inst.n_orders, bool)
    inside[scope] = True
    keep = ~inside[inst.line_order[plan.line]]
    held = Flat(plan.line[keep], plan.node[keep], plan.qty[keep])
    used = np.zeros(inst.avail.shape, np.int64)
    np.add.at(used, (held.node, inst.line_sku[held.line]), held.qty)
    used_node = np.bincount(held.node, weights=held.qty, minlength=inst.n_nodes)
    cols = pool.take(np.flatnonzero(inside[pool.order]))
    start = cols.size
    cols = cols.extend(
        columns_from_plan(inst, Flat(plan.line[~keep], plan.node[~keep], plan.qty[~keep]))
    )
    mip = solve_master(
        cols, inst.line_sku, empty, scope, inst.avail - used,
        inst.capacity - used_node.astype(np.int64),
        integral=True, time_limit=seconds, solver_name="scip", hint=np.arange(start, cols.size),
    )  # fmt: skip
    notes.append(
        f"restricted-master MIP over {len(scope):,} orders ({seconds:.1f} s): {mip.status}"
    )
    if not np.isfinite(mip.value):
        return None
    return held.extend(cols.allocations(np.flatnonzero(mip.z >= 0.5)))


def _neighbourhood(
    inst: Instance, pool: Columns, master: MasterResult, plan: Flat, size: int
) -> IntA:
    """Orders worth re-solving together: those the LP left fractional first, then the
    orders whose planned units share stock with them, up to ``size`` orders."""
    frac = np.zeros(inst.n_orders, bool)
    z = np.concatenate([master.z, np.zeros(pool.size - len(master.z))])  # later columns: 0
    frac[pool.order[(z > 1e-9) & (z < WHOLE)]] = True
    first = np.flatnonzero(frac)[:size]
    n_skus = inst.avail.shape[1]
    cell = pool.ent_node * n_skus + inst.line_sku[pool.ent_line]
    hot = np.zeros(inst.avail.size, bool)
    hot[cell[frac[pool.order[pool.ent_col]]]] = True
    plan_cell = plan.node * n_skus + inst.line_sku[plan.line]
    near = np.unique(inst.line_order[plan.line[hot[plan_cell]]])
    near = near[~frac[near]][: max(0, size - len(first))]
    return np.union1d(first, near)


def _primal(
    inst: Instance,
    groups: list[Group],
    pool: Columns,
    master: MasterResult,
    empty: FloatA,
    deadline: float,
    settings: Settings,
) -> Flat:
    """Dive from the LP; orders still open when time runs out get priced repair."""

    # The dive re-prices on less stock: vectorised pricing only (no exact MIP).
    quick = replace(settings, exact_pricing_up_to=0)

    def price(sub: list[Group], lam: FloatA, mu: FloatA, ref: FloatA) -> Columns:
        return _price(inst, sub, lam, mu, ref, quick, deadline)[0]

    solver, params = _lp_solver(inst, settings)
    # PDLP stops near, not at, a vertex: an order at 0.99 on one column is whole.
    whole_at = WHOLE if solver == "glop" else 1 - 10 * settings.pdlp_tolerance
    plan, open_orders = dive(
        inst, groups, pool, master, empty, price, deadline,
        solver_name=solver, params=params, whole_at=whole_at,
    )  # fmt: skip
    pending_mask = np.zeros(inst.n_orders, bool)
    pending_mask[open_orders] = True
    pending = [np.flatnonzero(pending_mask[g.orders]) for g in groups]
    return construct(inst, groups, master.lam, master.mu, pending=pending, plan=plan)


def _restricted_master(
    inst: Instance,
    pool: Columns,
    empty: FloatA,
    in_lp: npt.NDArray[np.bool_],
    chosen: IntA,
    time_limit: float,
    solver_name: str,
    params: str = "",
) -> MasterResult:
    """The master LP over the orders in ``in_lp``; every other order keeps its
    ``chosen`` column (-1: unfilled) and only its leftover stock is offered.

    The prices only steer: the bound is the Lagrangian, valid for any prices,
    so orders that settled with nothing to gain from moving are left out of the
    LP and it shrinks round after round. The result covers every order.
    """
    fixed = np.flatnonzero(~in_lp & (chosen >= 0))
    fixed_cols = chosen[fixed]
    held = pool.allocations(fixed_cols)
    used = np.zeros(inst.avail.shape, np.int64)
    np.add.at(used, (held.node, inst.line_sku[held.line]), held.qty)
    used_node = np.bincount(held.node, weights=held.qty, minlength=inst.n_nodes)
    mine = np.flatnonzero(in_lp[pool.order])
    m = solve_master(
        pool.take(mine), inst.line_sku, empty, np.flatnonzero(in_lp),
        inst.avail - used, inst.capacity - used_node.astype(np.int64),
        time_limit=time_limit, solver_name=solver_name,
        params=params,
    )  # fmt: skip
    z = np.zeros(pool.size)
    z[mine] = m.z
    z[fixed_cols] = 1.0
    ref = m.ref.copy()
    out = ~in_lp
    ref[out] = empty[out]
    ref[fixed] = pool.priced(inst.line_sku, m.lam, m.mu)[fixed_cols]
    value = m.value + float(pool.cost[fixed_cols].sum() + empty[out].sum() - empty[fixed].sum())
    return replace(m, z=z, ref=ref, value=value)


def _argmax_by(group: IntA, value: FloatA, n_groups: int) -> IntA:
    return _argmin_by(group, -value, n_groups)


def _next_lp_orders(
    inst: Instance, pool: Columns, m: MasterResult, new: Columns
) -> tuple[npt.NDArray[np.bool_], IntA]:
    """Orders the next LP must hold, and each order's column where the LP is whole.

    Held: orders left fractional, orders offered a new column, and orders whose
    column uses stock or capacity that now has a price (they may have to make room).
    """
    best = _argmax_by(pool.order, m.z, inst.n_orders)
    has = best >= 0
    zmax = np.zeros(inst.n_orders)
    zmax[has] = m.z[best[has]]
    chosen = np.where(zmax >= WHOLE, best, -1)
    hold = (zmax > 1e-9) & (zmax < WHOLE)
    hold[new.order] = True
    ok = chosen >= 0
    cols = chosen[ok]
    sel = np.isin(pool.ent_col, cols)
    node, sku = pool.ent_node[sel], inst.line_sku[pool.ent_line[sel]]
    priced = (m.lam[node, sku] > 0) | (m.mu[node] > 0)
    hold[pool.order[pool.ent_col[sel][priced]]] = True
    return hold, chosen


def solve(
    inst: Instance, time_limit: float | None = None, settings: Settings = Settings()
) -> Outcome:
    """Plan and bound. See the module docstring for the method."""
    started = time.perf_counter()
    limit = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
    search_end = started + limit * settings.search_share
    deadline = started + limit * (1 - settings.finish_share)
    notes: list[str] = []
    k = inst.n_nodes if inst.n_nodes <= settings.all_nodes_up_to else settings.candidates
    groups = build_groups(inst, k, settings.single_line_candidates)
    empty = empty_costs(inst)
    pool, free_value = _initial_columns(inst, groups, settings)
    # A feasible plan's columns cap the first LP at that plan's cost: without them
    # the first LP leaves contested orders unfilled and its prices are wild. Its
    # time also tells how long repairing the dive's leftovers may take.
    seed_started = time.perf_counter()
    seed = construct(inst, groups, np.zeros(inst.avail.shape), np.zeros(inst.n_nodes))
    repair_seconds = time.perf_counter() - seed_started
    pool = pool.extend(columns_from_plan(inst, seed))
    # The bound at zero prices needs no search: taken now, it also measures what the
    # final bound will cost, so the search can leave that much of the limit for it.
    bound_started = time.perf_counter()
    exact_seconds = min(settings.exact_pricing_seconds, max(0.2, limit / 20))
    # (At zero prices the floors barely bind: widening would add 0.01 % for twice the time.)
    zero_bound = lagrangian_bound(
        inst, groups, np.zeros(inst.avail.shape), np.zeros(inst.n_nodes),
        exact_seconds, settings.exact_pricing_up_to, widen_by=0,
    )  # fmt: skip
    bound_seconds = time.perf_counter() - bound_started
    master: MasterResult | None = None
    priced_only: MasterResult | None = None
    lp_solver, lp_params = _lp_solver(inst, settings)
    rounds = 0
    lp_times: list[float] = []
    in_lp = np.ones(inst.n_orders, bool)  # the first LP holds every order
    master_full = True
    exact_ran = False
    chosen = np.full(inst.n_orders, -1)
    # The prices with the best Lagrangian bound so far (stabilisation centre).
    best_lam, best_mu, best_bound = np.zeros(inst.avail.shape), np.zeros(inst.n_nodes), zero_bound
    round_seconds = price_seconds = 0.0
    for rounds in range(1, settings.max_rounds + 1):
        now = time.perf_counter()
        # Another round only if it is likely to finish inside the search share.
        if master is not None and now + round_seconds > search_end:
            break
        # The first LP may overrun the search share: without it there is nothing to dive from.
        lp_end = search_end if master is not None else deadline - 2 * repair_seconds
        m = _restricted_master(
            inst, pool, empty, in_lp, chosen, max(0.0, lp_end - now), lp_solver, lp_params
        )
        lp_times.append(time.perf_counter() - now)
        if not m.optimal:
            notes.append(f"round {rounds}: master LP ({lp_solver}) {m.status}")
            if master is None and (m.lam > 0).any():
                priced_only = m  # unconverged duals: still prices to repair and bound with
            break
        previous = master
        master, master_full = m, bool(in_lp.all())
        stalled = previous is not None and previous.value - m.value < settings.stall * abs(m.value)
        if stalled and exact_ran:
            break
        # Smoothed pricing (Wentges): the LP's prices jump between extreme dual
        # solutions; columns priced between them and the best-bound prices are
        # better, and the bound at the smoothed prices climbs steadily.
        a = settings.smoothing
        lam_s, mu_s = a * best_lam + (1 - a) * m.lam, a * best_mu + (1 - a) * m.mu
        # A stalled LP gets one round with the exact pricing before it stops.
        priced_at = time.perf_counter()
        new, exact_ran, at_smoothed, groups = _price(
            inst, groups, lam_s, mu_s, m.ref, settings, search_end, exact=stalled,
            check=(m.lam, m.mu), with_bound=True,
        )  # fmt: skip
        price_seconds = time.perf_counter() - priced_at
        round_seconds = time.perf_counter() - now
        if at_smoothed > best_bound:
            best_lam, best_mu, best_bound = lam_s, mu_s, at_smoothed
        notes.append(
            f"round {rounds}: LP {m.value:,.1f}, bound at smoothed prices {at_smoothed:,.1f}"
        )
        if best_bound >= m.value - settings.stall * abs(m.value):
            break  # the bound meets the LP: column generation has converged
        if not new.size and a > 0:  # mis-priced: the LP's own prices decide
            new, exact_ran, at_lp, groups = _price(
                inst, groups, m.lam, m.mu, m.ref, settings, search_end, exact=stalled,
                with_bound=True,
            )  # fmt: skip
            if at_lp > best_bound:
                best_lam, best_mu, best_bound = m.lam, m.mu, at_lp
        widened = 0
        if k < inst.n_nodes:
            parts = []
            for g in groups:
                for part in widen(inst, g, m.lam, m.mu, m.ref[g.orders], settings.widen_by):
                    widened += part.size if part.cand.shape[1] > g.cand.shape[1] else 0
                    parts.append(replace(part, dropped_bound=np.full(part.size, np.inf)))
            groups = parts
        if not new.size and not widened:
            if in_lp.all():
                break
            # Settled on a restricted LP: one LP over every order gives the prices
            # the bound is taken at (and may still price out columns).
            in_lp[:] = True
            continue
        if settings.restricted_lp:
            in_lp, chosen = _next_lp_orders(inst, pool, m, new)
        pool = pool.extend(new)
    # The final bound prices every order once more, plus the exact part.
    reserve = 1.5 * max(bound_seconds, price_seconds) + exact_seconds
    deadline = min(deadline, started + limit - reserve)
    if master is not None and not master_full:
        # The last LP held only the unsettled orders: the bound and the dive want
        # the prices of the LP over every order (one more solve, no pricing).
        m = _restricted_master(
            inst, pool, empty, np.ones(inst.n_orders, bool), chosen,
            max(0.0, deadline - time.perf_counter()), lp_solver, lp_params,
        )  # fmt: skip
        if m.optimal:
            master = m
    if master is None:  # no converged LP: priced repair at the best prices there are
        lam = priced_only.lam if priced_only else np.zeros(inst.avail.shape)
        mu = priced_only.mu if priced_only else np.zeros(inst.n_nodes)
        plan = construct(inst, groups, lam, mu)
        lp_value = float("nan")
    else:
        lps = ", ".join(f"{t:.1f}" for t in lp_times)
        notes.append(
            f"column generation: {rounds} rounds, {pool.size:,} columns, "
            f"LP {master.value:,.2f} over {master.rows:,} rows, "
            f"{time.perf_counter() - started:.1f} s (LPs: {lps})"
        )
        plan = _primal(inst, groups, pool, master, empty, deadline - 1.5 * repair_seconds, settings)
        lam, mu, lp_value = master.lam, master.mu, master.value
        notes.append(f"dive and repair {plan_total(inst, plan):,.2f} {_after(started)}")
    if plan_total(inst, seed) < plan_total(inst, plan):
        plan = seed
    plan = improve(
        inst, groups, plan, [free_value[g.orders] for g in groups], deadline,
        settings.improve_passes,
    )  # fmt: skip
    notes.append(f"local search {plan_total(inst, plan):,.2f} {_after(started)}")
    remaining = deadline - time.perf_counter()
    if master is not None and settings.master_mip_up_to > 0 and remaining > 0.5:
        # Whole batch when small; otherwise the neighbourhood of the LP's fractional orders.
        scope = (
            np.arange(inst.n_orders)
            if inst.n_orders <= settings.master_mip_up_to
            else _neighbourhood(inst, pool, master, plan, settings.master_mip_up_to)
        )
        exact = _master_mip(inst, pool, plan, empty, scope, remaining * 0.8, notes)
        if exact is not None and plan_total(inst, exact) < plan_total(inst, plan):
            plan = construct(
                inst, groups, lam, mu, pending=[np.zeros(0, np.int64)] * len(groups), plan=exact
            )
    total = plan_total(inst, plan)
    notes.append(f"plan {total:,.2f} after {time.perf_counter() - started:.1f} s")
    bound = max(zero_bound, best_bound)
    if lam.any() or mu.any():
        priced = lagrangian_bound(
            inst, groups, lam, mu, exact_seconds, settings.exact_pricing_up_to
        )
        notes.append(
            f"Lagrangian bound at the prices used {priced:,.2f} "
            f"(after {time.perf_counter() - started:.1f} s)"
        )
        # Prices from an unconverged LP may bound worse than none at all.
        bound = max(bound, priced)
    notes.append(f"Lagrangian bound at zero prices {zero_bound:,.2f} ({bound_seconds:.1f} s)")
    optimal = False
    remaining = deadline - time.perf_counter()
    if inst.n_orders <= settings.exact_up_to and remaining > 0 and total - bound > 1e-6 * total:
        # Small batch: the exact model may close the gap in the time left.
        assignment, mip_bound, optimal = solve_mip(inst, remaining)
        mip_plan = Flat(assignment.line, assignment.node, assignment.qty)
        if len(mip_plan.line) and plan_total(inst, mip_plan) < total:
            plan = mip_plan
        if mip_bound is not None:
            bound = max(bound, mip_bound)
        notes.append("exact MIP: " + ("optimal" if optimal else "stopped at the time limit"))
    return Outcome(plan, bound, lp_value, rounds, notes, optimal, (lam, mu))


def plan_optimize(inst: Instance, time_limit: float | None = None) -> PlanResult:
    started = time.perf_counter()
    out = solve(inst, time_limit)
    return finish(
        inst,
        Assignment(out.plan.line, out.plan.node, out.plan.qty),
        "optimize",
        started,
        lower_bound=out.bound,
        proven_optimal=out.optimal,
        notes=out.notes,
    )
