"""The default strategy: column generation on the Dantzig-Wolfe master, price-and-branch.

Orders interact only through stock (rule 1) and node capacity (rule 2), so the
batch is "pick one way to serve each order" under those rows (``planner.master``).

1. Start (``planner.start``): candidate nodes per order, pruned safely
   (``planner.candidates``); first columns, including a feasible plan's; L(0);
   prices found without an LP: the per-unit flow's duals (``planner.flow_prices``),
   or on the largest batches short SKUs (``planner.scarce``) and clearing
   (``planner.clearing``).
2. Column generation (``_column_generation``): the master LP (GLOP, or PDLP on
   large batches) gives prices; every order's own choice is solved exactly at
   them (``planner.pricing``), which yields new columns and the Lagrangian bound
   L(lam, mu) = sum over orders of their priced optimum (floors for dropped
   nodes) - lam . avail - mu . capacity, valid for any prices >= 0.
3. Plan (``_plan``): dive from the LP (``planner.dive``), priced repair
   (``planner.primal``), orders served whole by moving others out of the way
   (``planner.rescue``), local search (``planner.improve``), then the
   restricted master as a MIP (SCIP) over the batch or the LP's fractional
   neighbourhood.
4. Bound: the best L over the start and the rounds, with the exact pricing at its
   prices when they are an LP's (it runs before step 3, which then has every second
   to the deadline).
"""

import time
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from planner import lns
from planner.candidates import Group, widen
from planner.columns import Columns, best_singles, from_solution, plan_cost
from planner.dive import WHOLE, dive
from planner.exact_pricing import solve_exact
from planner.improve import improve
from planner.instance import Instance
from planner.master import MasterResult, solve_master
from planner.mip import solve_mip
from planner.pricing import (
    bound_of,
    lagrangian_bound,
    price_groups,
    solve_groups,
    without_floor,
)
from planner.primal import Flat, construct
from planner.rescue import rescue
from planner.result import Assignment, PlanResult, finish
from planner.settings import Settings
from planner.start import Start, begin, best_between

FloatA = npt.NDArray[np.float64]
IntA = npt.NDArray[np.int64]
DEFAULT_TIME_LIMIT = 60.0
MIN_EXACT = 0.25  # seconds: a small batch's final bound runs only if its exact part gets
# this (SCIP proves a 1,500-order batch's 15-31 loose orders in 0.22-0.29 s)


@dataclass
class Outcome:
    plan: Flat
    bound: float
    lp_value: float
    rounds: int
    notes: list[str]
    optimal: bool = False
    prices: tuple[FloatA, FloatA] | None = None  # (lam, mu) the Lagrangian bound was taken
    # at (a small batch's exact MIP may raise the bound past it)


def _price(
    inst: Instance,
    groups: list[Group],
    lam: FloatA,
    mu: FloatA,
    ref: FloatA,
    settings: Settings,
    deadline: float,
    exact: bool = False,
    with_bound: bool = False,
) -> tuple[Columns, bool, float, list[Group]]:
    """Columns with negative reduced cost (priced cost below what the order has, ref),
    whether the exact pricing ran, L(lam, mu) without the exact part (orders that
    may want three or more packages count at their floor; -inf unless
    ``with_bound``), and the groups (widened where the floor bound, with_bound).

    The exact pricing of orders that may want three or more packages costs a
    SCIP solve: it runs when asked or once the vectorised pricing is nearly dry.
    """
    split = inst.weights.split
    offers: list[Columns] = []
    loose: list[tuple[Group, IntA]] = []
    if with_bound:
        priced = price_groups(inst, groups, lam, mu, settings.bound_widen_by)
        bound = bound_of(inst, priced, lam, mu)
    else:
        priced = solve_groups(groups, lam, mu, split)
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
    new = _negative(inst, offers, lam, mu, ref, settings.tolerance)
    orders = sum(g.size for g in groups)
    budget = min(settings.exact_pricing_seconds, deadline - time.perf_counter())
    n_loose = sum(len(r) for _, r in loose)
    dry = new.size <= settings.exact_when_below * orders
    if not (exact or dry) or not 0 < n_loose <= settings.exact_pricing_up_to or budget <= 0:
        return new, False, bound, groups
    solved = solve_exact(loose, lam, mu, split, inst.line_sku, budget)
    offers = [ex.columns for ex in solved]
    new = new.extend(_negative(inst, offers, lam, mu, ref, settings.tolerance))
    return new, True, bound, groups


def _negative(
    inst: Instance, offers: list[Columns], lam: FloatA, mu: FloatA, ref: FloatA, tolerance: float
) -> Columns:
    """The offered columns whose reduced cost is below -tolerance."""
    kept = []
    for cols in offers:
        rc = cols.priced(inst.line_sku, lam, mu) - ref[cols.order]
        kept.append(cols.take(np.flatnonzero(rc < -tolerance)))
    return Columns.concat(kept)


def bound_fits(now: float, deadline: float, seconds: float, least: float) -> bool:
    """Whether a step of ``seconds`` (the probe, or a large batch's final bound: see
    ``final_budget``) may run before the plan: only if the plan keeps at least ``least``
    seconds to ``deadline`` after it. Rescue and local search come first: 10k at 10 s, a
    third LP ending at 7.9 s left the plan 0.6 s when the final bound's time was held back
    (no rescue: $192.7k, gap 4.8 %); without it six such runs planned $187.0-187.6k."""
    return deadline - now - seconds >= least


def final_budget(
    now: float, deadline: float, pricing: float, exact: float, least: float, trim: bool
) -> float:
    """Seconds the final bound's exact part may take (0: the final bound does not run),
    leaving the plan ``least`` seconds to ``deadline``. Large batches hold back twice a
    pricing pass plus the whole budget ``exact``, or skip it: their plans are starved
    (10k at 10 s: the ~1 s it takes cost the plan $500-800 on a loaded machine, for a
    bound $243 higher). Small ones (``trim``) hold back 1.5 passes and cut the exact part
    to what is left, down to ``MIN_EXACT``: their plans level off (neighbourhood
    search at 1,500 orders: -$53 in 1 s, -$67 in 2 s), the bound does not (2,200 orders at
    5 s: skipped, $52,214; run, $52,425-52,459)."""
    held = pricing_held(pricing, trim)
    if not trim:
        return exact if bound_fits(now, deadline, held + exact, least) else 0.0
    budget = min(exact, deadline - now - least - held)
    return budget if budget >= MIN_EXACT else 0.0


def pricing_held(pricing: float, trim: bool) -> float:
    """The time held for the final bound's pricing pass, from the last one's ``pricing``:
    widening varies (10k at 10 s: a 0.4 s round and 0.5 s of exact pricing took 1.3 s)."""
    return (1.5 if trim else 2.0) * pricing


def _after(started: float) -> str:
    return f"after {time.perf_counter() - started:.1f} s"


def _lp_solver(inst: Instance, settings: Settings, tol: float | None = None) -> tuple[str, str]:
    """GLOP's dual simplex up to ``simplex_up_to`` orders (vertex solutions dive well);
    above, PDLP on both cores to a loose tolerance (a 100k-order master in ~8 s,
    where GLOP needs minutes), or ``tol``."""
    if inst.n_orders <= settings.simplex_up_to:
        return "glop", ""
    tol = settings.pdlp_tolerance if tol is None else tol
    return "pdlp", (
        "num_threads: 2 termination_criteria { simple_optimality_criteria { "
        f"eps_optimal_absolute: {tol} eps_optimal_relative: {tol} }} }}"
    )


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
        simplex_up_to=settings.simplex_up_to,
    )  # fmt: skip
    pending_mask = np.zeros(inst.n_orders, bool)
    pending_mask[open_orders] = True
    pending = [np.flatnonzero(pending_mask[g.orders]) for g in groups]
    return construct(inst, groups, master.lam, master.mu, pending=pending, plan=plan)


def _master_lp(
    inst: Instance,
    pool: Columns,
    empty: FloatA,
    seconds: float,
    solver: tuple[str, str],
    warm: MasterResult | None,
) -> MasterResult:
    """The master LP over every order with the columns so far; PDLP starts from
    ``warm``, the last round's LP (from the start's prices a first LP was no faster:
    100k 16.5 s and 15.7 s against 16.1 s and 14.1 s cold)."""
    return solve_master(
        pool, inst.line_sku, empty, np.arange(inst.n_orders), inst.avail, inst.capacity,
        time_limit=max(0.01, seconds), solver_name=solver[0], params=solver[1], warm=warm,
    )  # fmt: skip


@dataclass
class _Search:
    """What column generation leaves: the last LP, the columns, and the prices of
    the best bound it found (each round prices every order, which bounds)."""

    groups: list[Group]
    pool: Columns
    master: MasterResult | None
    lam: FloatA
    mu: FloatA
    bound: float
    rounds: int = 0
    price_seconds: float = 0.0  # the last round's vectorised pricing (no exact MIP)
    from_round: bool = False  # the best prices are an LP's (their bound lacks the exact part)


def _column_generation(
    inst: Instance,
    start: Start,
    settings: Settings,
    search_end: float,
    stretch_end: float,
    deadline: float,
    notes: list[str],
) -> _Search:
    """Rounds of: master LP, price every order at its prices (the bound comes with
    it), add the columns that price out, widen orders a dropped node tempts.

    A round may end as late as ``stretch_end`` (not ``search_end``) when the last
    round's prices bound within ``stretch_within`` of the start's without beating it:
    that next round usually beats it, and without it the plan is measured against
    the start's weaker bound (10,000 orders at 10 s: a fourth round sat on the
    edge of the share, and its bound, $181.5k instead of $168.4k, came and went)."""
    tol = settings.pdlp_tolerance
    lp_solver = _lp_solver(inst, settings, tol)
    out = _Search(
        start.groups, start.pool, None,
        start.lam, start.mu, start.bound,
    )  # fmt: skip
    exact_ran = False
    round_seconds = 0.0
    round_bound = -np.inf  # the last round's bound
    lp_times: list[float] = []
    for out.rounds in range(1, settings.max_rounds + 1):
        now = time.perf_counter()
        near = not out.from_round and round_bound >= out.bound * (1 - settings.stretch_within)
        end = stretch_end if near else search_end
        if out.master is not None and now + round_seconds > end:
            out.rounds -= 1  # this one did not run
            break  # another round would not finish inside the search share
        # The first LP may overrun the share: without it there is nothing to dive from.
        lp_end = end if out.master is not None else deadline - 2 * start.repair_seconds
        m = _master_lp(
            inst, out.pool, inst.order_unfilled_cost, lp_end - now, lp_solver,
            out.master if settings.warm_start else None,
        )  # fmt: skip
        lp_times.append(time.perf_counter() - now)
        if not m.optimal:
            notes.append(f"round {out.rounds}: master LP ({lp_solver[0]}) {m.status}")
            break
        previous, out.master = out.master, m
        if previous is None and time.perf_counter() + lp_times[-1] > end:
            # No second round fits: a first LP's prices bound far below the start's
            # (10k: $55k against $177k; 100k: $33k against $1.754M), so the plan gets the
            # time instead. The orders its prices tempt to a dropped node still get more
            # candidates: the dive and the local search choose among them.
            out.groups, _ = _widen_tempted(inst, out.groups, m, settings)
            notes.append(f"round 1: LP {m.value:,.1f}, not priced (no second round fits)")
            break
        stalled = previous is not None and previous.value - m.value < settings.stall * abs(m.value)
        if stalled and lp_solver[0] == "pdlp":
            # PDLP's duals are as loose as its tolerance; the rounds left get tighter ones
            # (from its last solution, a few more iterations).
            tol = max(settings.pdlp_tolerance_floor, tol / 4)
            lp_solver = _lp_solver(inst, settings, tol)
        if stalled and exact_ran and out.bound >= m.value * (1 - settings.stall_gap):
            break  # the LP stopped moving with the bound close to it
        # A stalled LP gets one round with the exact pricing before it stops.
        priced_at = time.perf_counter()
        new, exact_ran, bound, out.groups = _price(
            inst, out.groups, m.lam, m.mu, m.ref, settings, end, exact=stalled,
            with_bound=True,
        )  # fmt: skip
        round_bound = bound
        if not exact_ran:  # what a final bound's pricing costs, without the exact part
            out.price_seconds = time.perf_counter() - priced_at
        notes.append(f"round {out.rounds}: LP {m.value:,.1f}, bound at its prices {bound:,.1f}")
        if bound > out.bound:
            out.lam, out.mu, out.bound, out.from_round = m.lam, m.mu, bound, True
        if out.bound >= m.value - settings.stall * abs(m.value):
            break  # the bound meets the LP: column generation has converged
        out.groups, widened = _widen_tempted(inst, out.groups, m, settings)
        if not new.size and not widened:
            break
        out.pool = out.pool.extend(new)
        round_seconds = time.perf_counter() - now
    if out.master is not None:
        lps = ", ".join(f"{t:.1f}" for t in lp_times)
        notes.append(
            f"column generation: {out.rounds} rounds, {out.pool.size:,} columns, "
            f"LP {out.master.value:,.2f} over {out.master.rows:,} rows (LPs: {lps} s)"
        )
    return out


def _widen_tempted(
    inst: Instance, groups: list[Group], m: MasterResult, settings: Settings
) -> tuple[list[Group], int]:
    """The groups with ``widen_by`` more candidates for the orders a dropped node tempts
    at the LP's prices, and how many orders grew."""
    if all(g.cand.shape[1] >= inst.n_nodes for g in groups):  # nothing was pruned
        return groups, 0
    parts, widened = [], 0
    for g in groups:
        for part in widen(inst, g, m.lam, m.mu, m.ref[g.orders], settings.widen_by):
            widened += part.size if part.cand.shape[1] > g.cand.shape[1] else 0
            parts.append(without_floor(part))
    return parts, widened


def _plan(
    inst: Instance,
    start: Start,
    search: _Search,
    settings: Settings,
    deadline: float,
    notes: list[str],
    started: float,
) -> Flat:
    """Dive from the LP (or keep the seed), local search, then neighbourhood search
    on the restricted master (``planner.lns``)."""
    groups, pool, master = search.groups, search.pool, search.master
    plan = start.seed
    if master is not None:
        # The dive continues column generation on what is left; it gets a share of the
        # time, the neighbourhood search the rest.
        dive_end = time.perf_counter() + settings.dive_share * (deadline - time.perf_counter())
        dived = _primal(
            inst, groups, pool, master, inst.order_unfilled_cost,
            dive_end - 1.5 * start.repair_seconds, settings,
        )  # fmt: skip
        dived_total = plan_cost(inst, dived)
        notes.append(f"dive and repair {dived_total:,.2f} {_after(started)}")
        if dived_total < plan_cost(inst, plan):
            plan = dived
    # Rescue and local search share the time left before the neighbourhood search.
    rescue_end = time.perf_counter() + settings.rescue_share * (deadline - time.perf_counter())
    plan = rescue(inst, plan, start.free_value, rescue_end)
    notes.append(
        f"rescue (moves that serve orders whole) {plan_cost(inst, plan):,.2f} {_after(started)}"
    )
    plan = improve(
        inst, groups, plan, [start.free_value[g.orders] for g in groups], deadline,
        settings.improve_passes,
    )  # fmt: skip
    notes.append(f"local search {plan_cost(inst, plan):,.2f} {_after(started)}")
    if master is None or settings.neighbourhood <= 0:
        return plan
    plan = lns.search(
        inst, pool, master, plan, inst.order_unfilled_cost, deadline, settings.neighbourhood, notes
    )
    # The re-solves keep their columns whole: stock they freed may still serve a line.
    no_pending = [np.zeros(0, np.int64)] * len(groups)
    return construct(inst, groups, master.lam, master.mu, pending=no_pending, plan=plan)


def solve(
    inst: Instance, time_limit: float | None = None, settings: Settings | None = None
) -> Outcome:
    """Plan and bound. See the module docstring for the method."""
    settings = settings or Settings()
    started = time.perf_counter()
    limit = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
    small = inst.n_orders <= settings.simplex_up_to
    search_end = started + limit * (settings.small_search_share if small else settings.search_share)
    deadline = started + limit * (1 - settings.finish_share)
    notes: list[str] = []
    start = begin(inst, settings, limit, notes)
    stretch_end = started + limit * settings.stretch_share
    search = _column_generation(inst, start, settings, search_end, stretch_end, deadline, notes)
    bound, lam, mu = search.bound, search.lam, search.mu
    # The bound's last step runs before the plan, which then has every second to the
    # deadline (run after it, its time was held back by an estimate and, when the plan
    # overran that by a few ms, went unused: 10k at 10 s ended at 8.6 s). It prices every
    # order once more, with the exact part and widening, at an LP's prices; the start's
    # prices have their bound already (redone that way: clearing prices +0.1 % at 10k,
    # +0.03 % for 2.3 s at 100k).
    least = settings.min_plan_share * limit
    bound_started = time.perf_counter()
    if search.from_round:
        # The rounds priced three-or-more-package orders at a floor; exact here.
        pricing = max(start.bound_seconds, search.price_seconds)
        budget = final_budget(bound_started, deadline, pricing, start.exact_seconds, least, small)
        if budget > 0:
            exact = lagrangian_bound(
                inst, search.groups, search.lam, search.mu, budget,
                settings.exact_pricing_up_to, settings.bound_widen_by,
                deadline=bound_started + pricing_held(pricing, small) + budget,
            )  # fmt: skip
            notes.append(f"Lagrangian bound at the best prices {exact:,.2f} {_after(started)}")
            bound = max(bound, exact)
    elif _probes(inst, start, settings, limit) and bound_fits(
        bound_started, deadline, 2.5 * start.bound_seconds, least
    ):
        # The rounds never beat the flow's prices: two pricings between its highest and
        # lowest optimal potentials may (10k seed 8 at 10 s, one round: $184.7k ->
        # $186.6k).
        between, b_lam, b_mu = best_between(inst, start, settings.bound_widen_by, notes)
        if between > bound:
            bound, lam, mu = between, b_lam, b_mu
    # The plan gets back the bound's time out of a quarter of the margin kept for costing
    # (run after the plan, the bound used that margin: 10k at 60 s ended at 59.1 s).
    borrowed = min(time.perf_counter() - bound_started, settings.finish_share * limit / 4)
    deadline += borrowed
    plan = _plan(inst, start, search, settings, deadline, notes, started)
    total = plan_cost(inst, plan)
    notes.append(f"plan {total:,.2f} {_after(started)}")
    optimal = False
    remaining = deadline - time.perf_counter()
    if inst.n_orders <= settings.exact_up_to and remaining > 0 and total - bound > 1e-6 * total:
        # Small batch: the exact model may close the gap in the time left.
        assignment, mip_bound, optimal = solve_mip(inst, remaining)
        mip_plan = Flat(assignment.line, assignment.node, assignment.qty)
        if len(mip_plan.line) and plan_cost(inst, mip_plan) < total:
            plan = mip_plan
        if mip_bound is not None:
            bound = max(bound, mip_bound)
        notes.append("exact MIP: " + ("optimal" if optimal else "stopped at the time limit"))
    lp_value = search.master.value if search.master is not None else float("nan")
    return Outcome(plan, bound, lp_value, search.rounds, notes, optimal, (lam, mu))


def _probes(inst: Instance, start: Start, settings: Settings, limit: float) -> bool:
    """Whether the probe between the flow's duals may run: it has a second point, the
    batch is small enough (100k at 60 s: ~6 s for +0.02 %) and its two pricings are
    cheap beside the limit."""
    return (
        start.low is not None
        and inst.n_orders <= settings.between_up_to
        and 2 * start.bound_seconds <= settings.between_share * limit
        and not (np.array_equal(start.low[0], start.lam) and np.array_equal(start.low[1], start.mu))
    )


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
