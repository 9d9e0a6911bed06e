"""The default strategy: LP prices, column generation, priced repair, local search.

Orders interact only through stock (rule 1) and node capacity (rule 2).

1. Candidates: each order keeps its cheapest nodes (``planner.candidates``).
2. Prices: the LP relaxation over the candidates (``planner.lp``, OR-Tools
   GLOP) gives duals lam[n, sku] and mu[n]. Nodes that look cheaper than the
   order's choice at those prices join its candidates and the LP is solved
   again (column generation), a few rounds.
3. Plan: orders the LP placed integrally keep that placement; the rest are
   placed by priced rounds on the stock left (``planner.primal``), topped up,
   then improved one order at a time (``planner.improve``).
4. Bound: at the final prices every order's own choice is solved exactly, with
   a floor for the nodes it does not consider (``planner.subproblem``), giving
   the Lagrangian bound sum_o bound_o - sum lam * avail - sum mu * capacity,
   valid whatever the prices. The plan's gap is measured against it.
"""

import time
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from planner.candidates import Group, build_groups, dropped_bound_at, widen
from planner.cost import evaluate
from planner.improve import improve, unfilled_neighbourhood
from planner.instance import Instance
from planner.lp import LpResult, solve_lp
from planner.mip import solve_mip
from planner.primal import Flat, construct
from planner.result import Assignment, PlanResult, allocation_frames, finish
from planner.subproblem import GroupSolution, solve_group

FloatA = npt.NDArray[np.float64]
IntA = npt.NDArray[np.int64]
DEFAULT_TIME_LIMIT = 60.0
FINISH_SHARE = 0.08  # of the time limit, kept for bounding and costing after the search
LP_SHARE = 0.75  # of the time left, one LP round may take (the repair and bound are quick)
WHOLE_TOL = 1e-3  # PDLP's solutions are accurate to about 1e-4


@dataclass(frozen=True)
class Settings:
    """Knobs of the method; the defaults are what benchmarks/README.md measured."""

    candidates: int = 16  # candidate nodes per single-line order (more for more lines)
    all_nodes_up_to: int = 64  # networks this small keep every node: no pruning at all
    widen_by: int = 8  # nodes added per column-generation round
    max_rounds: int = 4  # column-generation rounds
    min_lp_gain: float = 1e-4  # stop widening when the LP improves less than this
    improve_passes: int = 2
    simplex_up_to: int = 0  # contested orders up to which GLOP (simplex) solves the LP; PDLP above
    exact_up_to: int = 500  # orders; smaller batches finish with the exact MIP
    exact_rest_up_to: int = 2000  # fractional orders the exact model may finish
    exact_rest_seconds: float = 5.0
    refine_iterations: int = 30  # subgradient steps on the prices before the final bound


@dataclass
class Outcome:
    plan: Flat
    bound: float
    lp_value: float
    rounds: int
    notes: list[str]
    optimal: bool = False


def plan_total(inst: Instance, plan: Flat) -> float:
    """The contract's total of a plan, from the one cost model."""
    alloc, _ = allocation_frames(inst, Assignment(plan.line, plan.node, plan.qty))
    return evaluate(inst.batch, alloc, inst.weights).total


def refine_prices(
    inst: Instance,
    groups: list[Group],
    lam: FloatA,
    mu: FloatA,
    upper: float,
    deadline: float,
    iterations: int,
) -> tuple[FloatA, FloatA]:
    """Projected subgradient steps on the Lagrangian from the LP's prices.

    The LP priced only the contested part with the candidates it had; stock it
    did not see may still be over-asked at those prices. A few steps (Polyak
    step towards the best plan's total) raise the bound; the best prices found
    are returned. Dropped nodes are left out of the search and only enter the
    final, certified bound.
    """
    split = inst.weights.split
    search = [replace(g, dropped_bound=np.full(g.size, np.inf)) for g in groups]
    best, best_lam, best_mu = -np.inf, lam, mu
    theta, stall = 1.0, 0
    for _ in range(iterations):
        if time.perf_counter() > deadline:
            break
        sols = [solve_group(g, lam, mu, split) for g in search]
        value = (
            sum(float(s_.bound.sum()) for s_ in sols)
            - float((lam * inst.avail).sum())
            - float((mu * inst.capacity).sum())
        )
        if value > best + 1e-9:
            best, best_lam, best_mu, stall = value, lam, mu, 0
        else:
            stall += 1
            if stall >= 3:
                theta, stall = theta / 2, 0
        used, used_node = _usage(inst, _all_entries(search, sols))
        g_lam = np.where((lam > 0) | (used > inst.avail), used - inst.avail, 0).astype(float)
        g_mu = np.where(
            (mu > 0) | (used_node > inst.capacity), used_node - inst.capacity, 0
        ).astype(float)
        norm = float((g_lam**2).sum() + (g_mu**2).sum())
        if norm == 0 or upper <= value:
            break
        step = theta * (upper - value) / norm
        lam = np.maximum(0.0, lam + step * g_lam)
        mu = np.maximum(0.0, mu + step * g_mu)
    return best_lam, best_mu


def lagrangian_bound(inst: Instance, groups: list[Group], lam: FloatA, mu: FloatA) -> float:
    """L(lam, mu): a proven lower bound on the optimum for any prices >= 0."""
    total = 0.0
    for g in groups:
        g = replace(g, dropped_bound=dropped_bound_at(inst, g, lam, mu))
        total += float(solve_group(g, lam, mu, inst.weights.split, tight_bound=True).bound.sum())
    return total - float((lam * inst.avail).sum()) - float((mu * inst.capacity).sum())


def _entries(g: Group, sol: GroupSolution, rows: IntA) -> Flat:
    """The allocations of a group solution for some of its rows."""
    parts = Flat.empty()
    for node, qty in ((sol.node1, sol.qty1), (sol.node2, sol.qty2)):
        nd, qt = node[rows], qty[rows]
        r, li = np.nonzero((nd >= 0) & (qt > 0))
        parts = parts.extend(Flat(g.lines[rows[r], li], nd[r, li], qt[r, li]))
    return parts


def _usage(inst: Instance, plan: Flat) -> tuple[npt.NDArray[np.int64], IntA]:
    used = np.zeros(inst.avail.shape, np.int64)
    np.add.at(used, (plan.node, inst.line_sku[plan.line]), plan.qty)
    return used, used.sum(axis=1)


def _touches(
    g: Group, sol: GroupSolution, hot_stock: npt.NDArray[np.bool_], hot_node: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Orders whose choice uses contested stock or a contested node."""
    out = np.zeros(g.size, bool)
    for node in (sol.node1, sol.node2):
        ok = node >= 0
        nd = np.where(ok, node, 0)
        out |= (ok & (hot_stock[nd, g.skus] | hot_node[nd])).any(axis=1)
    return out


def _priced(inst: Instance, g: Group, sol: GroupSolution, lam: FloatA, mu: FloatA) -> FloatA:
    """Cost of each order's current choice at prices lam, mu."""
    extra = np.zeros(g.size)
    for node, qty in ((sol.node1, sol.qty1), (sol.node2, sol.qty2)):
        ok = node >= 0
        nd = np.where(ok, node, 0)
        extra += np.where(ok, qty * (lam[nd, g.skus] + mu[nd]), 0.0).sum(axis=1)
    return sol.value + extra


def _lp_part(
    inst: Instance,
    core: list[Group],
    rows: list[IntA],
    lp: LpResult,
) -> tuple[Flat, list[IntA]]:
    """Core orders the LP placed whole keep that placement; the rest stay pending."""
    plan = Flat.empty()
    pending = []
    for g, r_all, x in zip(core, rows, lp.x, strict=True):
        rounded = np.round(x)
        whole = (np.abs(x - rounded) < WHOLE_TOL).all(axis=(1, 2))
        # The LP may open two half packages: keep only placements within the order's limit.
        packages = (rounded > 0).any(axis=1).sum(axis=1)
        limit = np.where(g.ship_complete, 1, g.max_packages)
        whole &= (limit == 0) | (packages <= limit)
        full = (rounded.sum(axis=2) == g.qty).all(axis=1)
        whole &= ~g.ship_complete | full | (packages == 0)
        keep = np.flatnonzero(whole)
        r, li, k = np.nonzero(rounded[keep] > 0)
        plan = plan.extend(
            Flat(g.lines[keep[r], li], g.cand[keep[r], k], rounded[keep[r], li, k].astype(np.int64))
        )
        pending.append(r_all[~whole])
    return plan, pending


def solve(
    inst: Instance, time_limit: float | None = None, settings: Settings = Settings()
) -> Outcome:
    """Plan and bound. See the module docstring for the method."""
    started = time.perf_counter()
    # Keep a share of the limit for what runs after the search: the final bound,
    # costing the plan and writing it.
    limit = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
    deadline = started + limit * (1 - FINISH_SHARE)
    notes: list[str] = []
    k = inst.n_nodes if inst.n_nodes <= settings.all_nodes_up_to else settings.candidates
    groups = build_groups(inst, k)
    split = inst.weights.split
    lam, mu = np.zeros(inst.avail.shape), np.zeros(inst.n_nodes)

    # Every order's own favourite. Where favourites do not compete they are final.
    free = [solve_group(g, lam, mu, split) for g in groups]
    used, used_node = _usage(inst, _all_entries(groups, free))
    hot_stock, hot_node = used > inst.avail, used_node > inst.capacity
    in_core = [_touches(g, s, hot_stock, hot_node) for g, s in zip(groups, free, strict=True)]

    lp: LpResult | None = None
    rounds = 0
    for rounds in range(1, settings.max_rounds + 1):
        remaining = deadline - time.perf_counter()
        if remaining <= 0 or not any(c.any() for c in in_core):
            break
        fixed = _fixed_entries(groups, free, in_core)
        f_used, f_node = _usage(inst, fixed)
        avail_res, cap_res = inst.avail - f_used, inst.capacity - f_node
        rows = [np.flatnonzero(c) for c in in_core]
        core = [g.take(r) for g, r in zip(groups, rows, strict=True)]
        solver = "glop" if sum(len(r) for r in rows) <= settings.simplex_up_to else "pdlp"
        result = solve_lp(inst, core, solver, remaining * LP_SHARE, avail_res, cap_res)
        notes.append(
            f"round {rounds}: LP over {sum(len(r) for r in rows):,} contested orders "
            f"({solver}): {result.status}"
        )
        if not result.optimal:
            if lp is None and (result.lam > 0).any():
                # Unconverged duals: still prices to steer the repair and to bound with.
                lam, mu = result.lam, result.mu
            break
        lp, lp_core, lp_rows = result, core, rows
        lam, mu = lp.lam, lp.mu
        # Orders outside the core that would move at these prices join it; nodes an
        # order does not consider but that look cheaper at these prices join its candidates.
        priced = [solve_group(g, lam, mu, split) for g in groups]
        joined = 0
        for i, (g, f, p) in enumerate(zip(groups, free, priced, strict=True)):
            moves = ~in_core[i] & (p.value < _priced(inst, g, f, lam, mu) - 1e-6)
            joined += int(moves.sum())
            in_core[i] |= moves
        widened = [
            widen(inst, g, lam, mu, p.value, settings.widen_by)
            for g, p in zip(groups, priced, strict=True)
        ]
        grown = sum(n for _, n in widened)
        if not joined and not grown:
            break
        # Widening only appends candidates, so each order's favourite (and the stock the
        # fixed orders hold) stays as it was.
        groups = [g for g, _ in widened]

    fixed = _fixed_entries(groups, free, in_core)
    if lp is not None:
        lp_plan, pending = _lp_part(inst, lp_core, lp_rows, lp)
        plan = _keep_fitting(inst, fixed, lp_plan)
        # Orders that joined the contest after the last LP are placed too.
        pending = [
            np.union1d(p, np.setdiff1d(np.flatnonzero(c), r))
            for p, c, r in zip(pending, in_core, lp_rows, strict=True)
        ]
        pending = _not_placed(inst, groups, pending, plan)
        repaired = construct(inst, groups, lam, mu, pending=pending, plan=plan)
        exact = plan.extend(_exact_rest(inst, groups, pending, plan, deadline, settings, notes))
        rest = _not_placed(inst, groups, pending, exact)
        exact = construct(inst, groups, lam, mu, pending=rest, plan=exact)
        plan = min((repaired, exact), key=lambda p: plan_total(inst, p))
    else:
        plan = construct(
            inst, groups, lam, mu, pending=[np.flatnonzero(c) for c in in_core], plan=fixed
        )
    zero_lam, zero_mu = np.zeros_like(lam), np.zeros_like(mu)
    plain = construct(inst, groups, zero_lam, zero_mu)
    if plan_total(inst, plain) < plan_total(inst, plan):
        plan = plain
    free_value = [f.value for f in free]
    plan = improve(inst, groups, plan, free_value, deadline, settings.improve_passes)
    plan = _reoptimize_unfilled(inst, groups, plan, deadline, settings, notes)
    total = plan_total(inst, plan)
    lam, mu = refine_prices(inst, groups, lam, mu, total, deadline, settings.refine_iterations)
    priced_bound = lagrangian_bound(inst, groups, lam, mu)
    plain_bound = lagrangian_bound(inst, groups, zero_lam, zero_mu)
    notes.append(
        f"bound at the final prices {priced_bound:,.2f}, at zero prices {plain_bound:,.2f}"
    )
    bound = max(priced_bound, plain_bound)
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
    return Outcome(plan, bound, lp.value if lp else float("nan"), rounds, notes, optimal)


def _not_placed(inst: Instance, groups: list[Group], pending: list[IntA], plan: Flat) -> list[IntA]:
    """The pending rows whose order holds no units in the plan yet."""
    placed = np.zeros(inst.n_orders, bool)
    placed[inst.line_order[plan.line]] = True
    return [p[~placed[g.orders[p]]] for g, p in zip(groups, pending, strict=True)]


def _keep_fitting(inst: Instance, fixed: Flat, extra: Flat) -> Flat:
    """fixed + the orders of ``extra`` whose units still fit. An LP solved to a
    tolerance may overshoot a row by a hair; such orders are placed again later."""
    avail = inst.avail.copy()
    cap = inst.capacity.copy()
    np.subtract.at(avail, (fixed.node, inst.line_sku[fixed.line]), fixed.qty)
    np.subtract.at(cap, fixed.node, fixed.qty)
    order = inst.line_order[extra.line]
    keep = np.ones(len(extra.line), bool)
    starts = np.argsort(order, kind="stable")
    bounds = np.flatnonzero(np.diff(order[starts])) + 1
    for idx in np.split(starts, bounds):
        if not len(idx):
            continue
        nodes, skus, qty = extra.node[idx], inst.line_sku[extra.line[idx]], extra.qty[idx]
        need: dict[tuple[int, int], int] = {}
        need_cap: dict[int, int] = {}
        for n, s_, q_ in zip(nodes.tolist(), skus.tolist(), qty.tolist(), strict=True):
            need[n, s_] = need.get((n, s_), 0) + q_
            need_cap[n] = need_cap.get(n, 0) + q_
        if all(avail[k] >= v for k, v in need.items()) and all(
            cap[n] >= v for n, v in need_cap.items()
        ):
            np.subtract.at(avail, (nodes, skus), qty)
            np.subtract.at(cap, nodes, qty)
        else:
            keep[idx] = False
    return fixed.extend(Flat(extra.line[keep], extra.node[keep], extra.qty[keep]))


def _exact_rest(
    inst: Instance,
    groups: list[Group],
    pending: list[IntA],
    plan: Flat,
    deadline: float,
    settings: Settings,
    notes: list[str],
) -> Flat:
    """The few orders the LP left fractional, solved exactly together on what is left."""
    count = sum(len(p) for p in pending)
    budget = min(settings.exact_rest_seconds, deadline - time.perf_counter())
    if not count or count > settings.exact_rest_up_to or budget <= 0:
        return Flat.empty()
    used, used_node = _usage(inst, plan)
    parts = [g.take(p) for g, p in zip(groups, pending, strict=True) if len(p)]
    exact = solve_lp(
        inst, parts, "scip", budget, inst.avail - used, inst.capacity - used_node, integral=True
    )
    notes.append(f"exact model over the {count:,} orders the LP left fractional: {exact.status}")
    if not np.isfinite(exact.value):
        return Flat.empty()
    out = Flat.empty()
    for g, x in zip(parts, exact.x, strict=True):
        r, li, k = np.nonzero(np.round(x) > 0)
        out = out.extend(Flat(g.lines[r, li], g.cand[r, k], np.round(x[r, li, k]).astype(np.int64)))
    return _only_new(_keep_fitting(inst, plan, out), len(plan.line))


def _reoptimize_unfilled(
    inst: Instance,
    groups: list[Group],
    plan: Flat,
    deadline: float,
    settings: Settings,
    notes: list[str],
) -> Flat:
    """Large-neighbourhood step: orders left short and the orders holding the stock
    they miss are released and solved exactly together; kept if the total drops."""
    orders = unfilled_neighbourhood(inst, plan, settings.exact_rest_up_to)
    budget = min(settings.exact_rest_seconds, deadline - time.perf_counter())
    if not len(orders) or budget <= 0:
        return plan
    released = np.isin(inst.line_order[plan.line], orders)
    kept = Flat(plan.line[~released], plan.node[~released], plan.qty[~released])
    row_of = {}
    for gi, g in enumerate(groups):
        for r, o in enumerate(g.orders.tolist()):
            row_of[o] = (gi, r)
    pending = [[] for _ in groups]
    for o in orders.tolist():
        gi, r = row_of[o]
        pending[gi].append(r)
    pending_arr = [np.asarray(p, np.int64) for p in pending]
    new = _exact_rest(inst, groups, pending_arr, kept, deadline, settings, notes)
    candidate = kept.extend(new)
    if plan_total(inst, candidate) < plan_total(inst, plan) - 1e-6:
        notes.append(f"re-solved {len(orders):,} short and stock-holding orders exactly: kept")
        return candidate
    return plan


def _only_new(plan: Flat, start: int) -> Flat:
    return Flat(plan.line[start:], plan.node[start:], plan.qty[start:])


def _all_entries(groups: list[Group], sols: list[GroupSolution]) -> Flat:
    out = Flat.empty()
    for g, s in zip(groups, sols, strict=True):
        out = out.extend(_entries(g, s, np.arange(g.size)))
    return out


def _fixed_entries(
    groups: list[Group], sols: list[GroupSolution], in_core: list[npt.NDArray[np.bool_]]
) -> Flat:
    out = Flat.empty()
    for g, s, c in zip(groups, sols, in_core, strict=True):
        out = out.extend(_entries(g, s, np.flatnonzero(~c)))
    return out


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
