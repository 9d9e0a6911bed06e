"""The default strategy: column generation on the Dantzig-Wolfe master, price-and-branch.

Orders interact only through stock (rule 1) and node capacity (rule 2), so the
batch is "pick one way to serve each order" under those rows (``optimize.master``).

1. Start (``optimize.start``): candidate nodes per order, pruned safely
   (``optimize.candidates``); first columns, including a feasible plan's (priced
   repair at zero prices); L(0) or L at prices found without an LP: the per-unit
   flow's duals (``prices.flow``), or on the largest batches short SKUs
   (``prices.scarce``) and clearing (``prices.clearing``); with a previous run's plan and
   prices when given (``optimize.warm``).
2. Column generation (``optimize.column_generation``): the master LP (GLOP, or PDLP
   on large batches) gives prices; every order's own choice is solved exactly at them
   (``optimize.pricing``), which yields new columns and the Lagrangian bound
   L(lam, mu) = sum over orders of their priced optimum (floors for dropped nodes)
   - lam . avail - mu . capacity, valid for any prices >= 0.
3. Final bound (``optimize.final_bound``): the exact pricing at the best LP prices, or
   the probe between the flow's duals. It runs before the plan, which then has every
   second to the deadline; on large batches in a forked child beside the plan
   (``final_bound.bound_beside``).
4. Plan (``_plan``): dive from the LP (``plan.dive``), priced repair of the orders it
   left open (``plan.repair``), orders served whole by moving others out of the way
   (``plan.rescue``), local search (``plan.local_search``), then the restricted master
   as a MIP (SCIP) over neighbourhoods of the LP's fractional orders
   (``plan.neighbourhood``).
5. Finish (off by default): small batches whose plan has the time get SCIP over the whole restricted
   master on the other core, from the end of column generation while steps 3-4 run
   (``plan.whole_master``); the cheaper plan is kept. Batches of at most ``exact_up_to``
   orders then get the exact MIP in the time left (``baselines.mip``).

Every share of the time limit and every deadline lives in one ``Budget``
(``optimize.budget``); its ``stop()`` ends every step early with the best plan so far.
"""

import time
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from parallel.executor import Executor, SerialExecutor
from parallel.guard import Guarded
from planner.baselines.mip import solve_mip
from planner.core.group import Group
from planner.core.instance import Instance
from planner.core.plan import Plan
from planner.core.result import PlanResult, finish
from planner.optimize.budget import Budget, Deadline
from planner.optimize.column_generation import Search, column_generation, lp_solver, price
from planner.optimize.columns import Columns, plan_cost
from planner.optimize.final_bound import bound_beside, final_bound
from planner.optimize.master import MasterResult
from planner.optimize.plan import neighbourhood, whole_master
from planner.optimize.plan.dive import WHOLE, DiveOptions, dive
from planner.optimize.plan.local_search import local_search
from planner.optimize.plan.repair import priced_repair
from planner.optimize.plan.rescue import rescue
from planner.optimize.settings import Settings
from planner.optimize.start import Start, begin
from planner.optimize.warm import Warm, warm_from
from planner.optimize.workers import LOCAL, Workers, workers_for

FloatA = npt.NDArray[np.float64]
DEFAULT_TIME_LIMIT = 60.0


@dataclass
class Outcome:
    plan: Plan
    bound: float
    lp_value: float
    rounds: int
    notes: list[str]
    optimal: bool = False
    prices: tuple[FloatA, FloatA] | None = None  # (lam, mu) the Lagrangian bound was taken
    # at (a small batch's exact MIP may raise the bound past it)
    warm: Warm | None = None  # what the next run on a similar batch may start from


def budget_for(
    inst: Instance,
    time_limit: float | None = None,
    settings: Settings | None = None,
    started: float | None = None,
) -> Budget:
    """The budget ``solve`` would make: a caller makes it first to keep ``stop()`` at hand,
    and gives ``started`` (a ``time.perf_counter`` reading) when the limit began before."""
    settings = settings or Settings()
    limit = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
    return Budget(limit, settings, inst.n_orders <= settings.simplex_up_to, started=started)


def solve(
    inst: Instance,
    time_limit: float | None = None,
    settings: Settings | None = None,
    budget: Budget | None = None,
    executor: Executor | None = None,
    warm: Warm | None = None,
) -> Outcome:
    """Plan and bound (see the module docstring for the method). ``budget`` (made here
    from ``time_limit`` when not given) lets a caller stop the solve or drive its clock;
    ``executor`` runs the independent calls (this machine's threads and forked
    processes when not given; the caller closes its own); ``warm`` is what a previous run
    left (``Outcome.warm``): the run starts from its prices and plan."""
    settings = settings or (budget.settings if budget is not None else Settings())
    small = inst.n_orders <= settings.simplex_up_to
    if budget is None:
        budget = budget_for(inst, time_limit, settings)
    notes: list[str] = []
    retried_before = executor.retries if executor is not None else 0
    if executor is not None:
        executor = _guarded(executor, budget, notes)
    workers = workers_for(executor)
    budget.enter("start (candidates, first plan, prices)")
    start = begin(inst, settings, budget, notes, workers, warm)
    budget.found_plan(start.seed, plan_cost(inst, start.seed))
    budget.found_bound(start.bound)
    budget.enter("column generation")
    search = column_generation(inst, start, settings, budget, notes, workers)
    budget.found_bound(search.bound)
    finish = _finish_beside(inst, start, search, settings, budget, workers)
    if finish is not None:  # the finish has the other core: one neighbourhood at a time
        workers = replace(workers, here=SerialExecutor())
    beside = bound_beside(inst, start, search, budget, small, workers)
    if beside is None:
        budget.enter("final bound")
        bound_started = budget.now()
        bound, lam, mu = final_bound(inst, start, search, settings, budget, small, notes, workers)
        budget.found_bound(bound)
        budget.borrow(budget.now() - bound_started)
    plan = _plan(inst, start, search, settings, budget, notes, workers)
    if beside is not None:
        bound, lam, mu = beside.result(notes)
        budget.found_bound(bound)
    if plan_cost(inst, start.seed) < plan_cost(inst, plan):
        plan = start.seed  # a warm seed the steps could not improve on stays the plan
    plan = whole_master.better(inst, plan, finish, notes)
    total = plan_cost(inst, plan)
    budget.found_plan(plan, total)
    notes.append(f"plan {total:,.2f} {budget.after()}")
    plan, bound, optimal = _exact_finish(inst, plan, total, bound, settings, budget, notes)
    lp_value = search.master.value if search.master is not None else float("nan")
    if executor is not None:
        notes.append(f"{executor.name}: {executor.workers} workers; calls run again after "
                     f"their worker died: {executor.retries - retried_before}")  # fmt: skip
    return Outcome(plan, bound, lp_value, search.rounds, notes, optimal, (lam, mu),
                   warm_from(inst, plan, lam, mu))  # fmt: skip


def _guarded(executor: Executor, budget: Budget, notes: list[str]) -> Executor:
    """The caller's executor until a call on it fails (its cluster lost); then the run
    stops with the best plan so far and the rest is done on this machine's threads."""

    def lost(why: str) -> None:
        notes.append(f"{executor.name} lost {budget.after()}: {why}; stopped early")
        budget.stop()

    return Guarded(executor, LOCAL.shared, lost)


def _plan(
    inst: Instance,
    start: Start,
    search: Search,
    settings: Settings,
    budget: Budget,
    notes: list[str],
    workers: Workers,
) -> Plan:
    """Dive from the LP (or keep the seed), rescue and local search, then neighbourhood
    search on the restricted master."""
    groups, pool, master = search.groups, search.pool, search.master
    plan = start.seed
    if master is not None:
        budget.enter("plan: dive from the LP")
        # The dive continues column generation on what is left; it gets a share of the
        # time, the neighbourhood search the rest.
        dive_end = budget.part_of_rest(settings.dive_share, budget.deadline)
        margin = settings.dive_margin * start.repair_seconds
        dived = _dive_and_repair(inst, groups, pool, master, budget.until(dive_end - margin),
                                 settings, workers)  # fmt: skip
        dived_total = plan_cost(inst, dived)
        notes.append(f"dive and repair {dived_total:,.2f} {budget.after()}")
        if dived_total < plan_cost(inst, plan):
            plan = dived
        budget.found_plan(dived, dived_total)
    # Rescue and local search share the time left before the neighbourhood search.
    budget.enter("plan: rescue")
    rescue_end = budget.until(budget.part_of_rest(settings.rescue_share, budget.deadline))
    plan = rescue(inst, plan, start.free_value, rescue_end, settings.rescue_nodes)
    total = plan_cost(inst, plan)
    budget.found_plan(plan, total)
    notes.append(f"rescue (moves that serve orders whole) {total:,.2f} {budget.after()}")
    budget.enter("plan: local search")
    free = [start.free_value[g.orders] for g in groups]
    plan = local_search(inst, groups, plan, free, budget.plan_deadline(), settings.improve_passes)
    total = plan_cost(inst, plan)
    budget.found_plan(plan, total)
    notes.append(f"local search {total:,.2f} {budget.after()}")
    if master is None or settings.neighbourhood <= 0:
        return plan
    budget.enter("plan: neighbourhood search")
    plan = neighbourhood.search(
        inst, pool, master, plan, inst.order_unfilled_cost, budget.plan_deadline(), settings,
        notes, workers.here,
    )  # fmt: skip
    # The re-solves keep their columns whole: stock they freed may still serve a line.
    no_pending = [np.zeros(0, np.int64)] * len(groups)
    return _repair(inst, groups, master, plan, no_pending, settings)


def _dive_and_repair(
    inst: Instance,
    groups: list[Group],
    pool: Columns,
    master: MasterResult,
    deadline: Deadline,
    settings: Settings,
    workers: Workers,
) -> Plan:
    """Dive from the LP; orders still open when time runs out get priced repair."""

    # The dive re-prices on less stock: vectorised pricing only (no exact MIP).
    quick = replace(settings, exact_pricing_up_to=0)

    def reprice(sub: list[Group], lam: FloatA, mu: FloatA, ref: FloatA) -> Columns:
        return price(inst, sub, lam, mu, ref, quick, deadline, workers=workers).columns

    solver, params = lp_solver(inst, settings)
    small = inst.n_orders <= settings.simplex_up_to
    options = DiveOptions(
        steps=settings.dive_steps, lean=settings.dive_lean,
        rounds=settings.dive_rounds if small else settings.large_dive_rounds,
        solver_name=solver, params=params,
        # PDLP stops near, not at, a vertex: an order at 0.99 on one column is whole.
        whole_at=WHOLE if solver == "glop" else 1 - 10 * settings.pdlp_tolerance,
        simplex_up_to=settings.simplex_up_to,
    )  # fmt: skip
    empty = inst.order_unfilled_cost
    plan, open_orders = dive(inst, groups, pool, master, empty, reprice, deadline, options)
    pending_mask = np.zeros(inst.n_orders, bool)
    pending_mask[open_orders] = True
    pending = [np.flatnonzero(pending_mask[g.orders]) for g in groups]
    return _repair(inst, groups, master, plan, pending, settings)


def _repair(
    inst: Instance,
    groups: list[Group],
    master: MasterResult,
    plan: Plan,
    pending: list[npt.NDArray[np.int64]],
    settings: Settings,
) -> Plan:
    """Priced repair at the LP's prices: the ``pending`` rows of each group placed on
    the stock ``plan`` leaves."""
    return priced_repair(
        inst, groups, master.lam, master.mu, pending=pending, plan=plan,
        rounds=settings.repair_rounds,
    )  # fmt: skip


def _finish_beside(
    inst: Instance,
    start: Start,
    search: Search,
    settings: Settings,
    budget: Budget,
    workers: Workers,
) -> whole_master.Finish | None:
    """Small batch with the time for it: the whole restricted master as a MIP, started on
    the other core as soon as the pool is final (``plan.whole_master``)."""
    if search.master is None:
        return None
    deadline = budget.plan_deadline()
    return whole_master.begin(inst, search.pool, start.seed, deadline, settings, workers.aside)


def _exact_finish(
    inst: Instance,
    plan: Plan,
    total: float,
    bound: float,
    settings: Settings,
    budget: Budget,
    notes: list[str],
) -> tuple[Plan, float, bool]:
    """Small batch: the exact model may close the gap in the time left."""
    remaining = budget.plan_deadline().left()
    gap_open = total - bound > 1e-6 * total
    if inst.n_orders > settings.exact_up_to or remaining <= 0 or not gap_open:
        return plan, bound, False
    budget.enter("exact MIP")
    mip_plan, mip_bound, optimal = solve_mip(inst, remaining, interruptible=budget.interruptible)
    if len(mip_plan.line) and plan_cost(inst, mip_plan) < total:
        plan = mip_plan
    if mip_bound is not None:
        bound = max(bound, mip_bound)
    notes.append("exact MIP: " + ("optimal" if optimal else "stopped at the time limit"))
    return plan, bound, optimal


def plan_optimize(
    inst: Instance,
    time_limit: float | None = None,
    budget: Budget | None = None,
    executor: Executor | None = None,
    warm: Warm | None = None,
) -> PlanResult:
    """The optimizer as a strategy; ``budget`` lets a caller stop it (Ctrl-C), ``executor``
    runs its independent calls and ``warm`` starts it from a previous run (see ``solve``)."""
    started = time.perf_counter()
    out = solve(inst, time_limit, budget=budget, executor=executor, warm=warm)
    result = finish(
        inst, out.plan, "optimize", started,
        lower_bound=out.bound, proven_optimal=out.optimal, notes=out.notes,
    )  # fmt: skip
    return replace(result, warm=out.warm)
