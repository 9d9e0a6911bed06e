"""What every optimizer run begins with: candidates, first columns, a feasible plan and a
first bound: L at prices found without an LP, the per-unit flow's (``prices.flow``); above
``Settings.flow_up_to`` orders L(0) and L at short SKUs' and clearing prices
(``prices.scarce`` and ``prices.clearing``), priced in parts (``prices.parts``) that end
by ``Settings.start_share`` of the limit.
"""

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from parallel.executor import Executor
from planner.core.group import Group
from planner.core.instance import Instance
from planner.core.plan import Plan
from planner.optimize.budget import Budget, Deadline
from planner.optimize.candidates import build_groups
from planner.optimize.columns import (
    Columns,
    best_singles,
    columns_from_plan,
    from_solution,
    keeping_rules,
    plan_cost,
)
from planner.optimize.plan.repair import priced_repair
from planner.optimize.prices.clearing import clearing_prices
from planner.optimize.prices.flow import FlowPrices, between, flow_prices, with_cheaper_arcs
from planner.optimize.prices.parts import price_until
from planner.optimize.prices.scarce import price_short_skus
from planner.optimize.pricing.orders import Priced, bound_of, order_shares, price_groups
from planner.optimize.pricing.subproblem import solve_group
from planner.optimize.settings import Settings
from planner.optimize.warm import Warm, plan_in, prices_in
from planner.optimize.workers import LOCAL, Workers

FloatA = npt.NDArray[np.float64]


def initial_columns(
    inst: Instance, groups: list[Group], settings: Settings
) -> tuple[Columns, FloatA]:
    """Every order's favourite and its few best single nodes at zero prices, and
    each order's favourite cost by order (what it could do with the stock to itself)."""
    lam, mu = np.zeros(inst.avail.shape), np.zeros(inst.n_nodes)
    split = inst.weights.split
    parts = []
    free_value = np.zeros(inst.n_orders)
    for g in groups:
        sol = solve_group(g, lam, mu, split)
        free_value[g.orders] = sol.value
        parts.append(from_solution(g, sol, np.arange(g.size), split))
        parts.append(best_singles(g, lam, mu, settings.initial_singles, split))
    return Columns.concat(parts), free_value


@dataclass
class Start:
    """What every run begins with: candidates, first columns, a plan and a bound."""

    groups: list[Group]
    pool: Columns
    free_value: FloatA  # each order's best cost with the stock to itself
    seed: Plan  # priced repair at zero prices: a feasible plan from the start
    repair_seconds: float  # what that repair took (the dive leaves room for one)
    bound_seconds: float  # what pricing every order for the start's bound took
    exact_seconds: float  # the exact pricing's budget when a bound is taken
    bound: float  # the best bound so far: L at the flow's prices, L(0), or L at short-SKU
    # or clearing prices
    lam: FloatA  # the prices it was taken at
    mu: FloatA
    low: tuple[FloatA, FloatA] | None = None  # the flow's duals at its lowest optimal
    # potentials, when lam and mu are at its highest (``best_between``)


def keeps_all_nodes(n_orders: int, n_nodes: int, settings: Settings) -> bool:
    """Whether every order keeps every node as a candidate: small networks, as long as
    pricing every pair of nodes for every order stays cheap beside pruning it."""
    pairs = n_orders * n_nodes**2
    return n_nodes <= settings.all_nodes_up_to and pairs <= settings.all_pairs_up_to


def begin(
    inst: Instance,
    settings: Settings,
    budget: Budget,
    notes: list[str],
    workers: Workers = LOCAL,
    warm: Warm | None = None,
) -> Start:
    """Candidates, first columns, a feasible plan (priced repair at zero prices) and the
    first bound with its prices, found without an LP (the pricing and the flow's halves
    on ``workers``); with a previous run's ``warm`` prices and plan where they do better."""
    start = _cold(inst, settings, budget, notes, workers)
    if warm is None or budget.stopped:
        return start
    return _warmed(inst, start, warm, settings, budget, notes, workers)


def _warmed(
    inst: Instance,
    start: Start,
    warm: Warm,
    settings: Settings,
    budget: Budget,
    notes: list[str],
    workers: Workers,
) -> Start:
    """The start with what a previous run left: its plan, where it still applies, with
    the other orders placed by priced repair at its prices (the seed when cheaper, its
    columns in any case), and L at its prices (the start's bound and prices when
    higher), with every order's priced choice there as columns."""
    started = budget.now()
    lam, mu = prices_in(warm, inst)
    kept = plan_in(warm, inst)
    served = np.zeros(inst.n_orders, bool)
    served[inst.line_order[kept.line]] = True
    pending = [np.flatnonzero(~served[g.orders]) for g in start.groups]
    plan = priced_repair(
        inst, start.groups, lam, mu, pending=pending, plan=kept, rounds=settings.repair_rounds
    )
    priced = price_groups(inst, start.groups, lam, mu, settings.bound_widen_by, workers.shared)
    bound = bound_of(inst, priced, lam, mu)
    split = inst.weights.split
    cols = [from_solution(p.group, p.solution, np.arange(p.group.size), split) for p in priced]
    cols.append(columns_from_plan(inst, plan))
    pool = start.pool.extend(Columns.concat(cols).fresh(start.pool))
    total, cold_total = plan_cost(inst, plan), plan_cost(inst, start.seed)
    notes.append(
        f"warm start: {served.sum():,} orders kept their plan, plan {total:,.2f} (cold seed "
        f"{cold_total:,.2f}), Lagrangian bound at its prices {bound:,.2f} "
        f"({budget.now() - started:.1f} s)"
    )
    seed = plan if total < cold_total else start.seed
    if bound > start.bound:
        return replace(start, pool=pool, seed=seed, bound=bound, lam=lam, mu=mu, low=None)
    return replace(start, pool=pool, seed=seed)


def _cold(
    inst: Instance, settings: Settings, budget: Budget, notes: list[str], workers: Workers
) -> Start:
    """The start from the batch alone."""
    limit = budget.limit
    k = (
        inst.n_nodes
        if keeps_all_nodes(inst.n_orders, inst.n_nodes, settings)
        else settings.candidates
    )
    started = budget.now()
    groups = build_groups(inst, k, settings.single_line_candidates)
    pool, free_value = initial_columns(inst, groups, settings)
    set_up = budget.now() - started
    # A feasible plan's columns cap the first LP at that plan's cost: without them
    # the first LP leaves contested orders unfilled and its prices are wild.
    started = budget.now()
    zero_lam, zero_mu = np.zeros(inst.avail.shape), np.zeros(inst.n_nodes)
    seed = priced_repair(inst, groups, zero_lam, zero_mu, rounds=settings.repair_rounds)
    repair_seconds = budget.now() - started
    notes.append(
        f"candidates and first columns {set_up:.1f} s, seed plan (priced repair at zero "
        f"prices) {repair_seconds:.1f} s {budget.after()}"
    )
    budget.found_plan(seed, plan_cost(inst, seed))  # the first plan a stop can answer with
    pool = pool.extend(columns_from_plan(inst, seed))
    # At least 0.5 s: SCIP proves the 15 loose orders of a 1,500-order batch in 0.22-0.27 s,
    # and with 0.25 s the final bound fell back to floors in about half the runs at 5 s
    # (seed 8: $34,195.72 instead of $34,329.66). The final bound may trim it (small batches,
    # short of time: `final_bound.final_budget`).
    exact_seconds = min(
        settings.exact_pricing_seconds, max(settings.exact_least, settings.exact_share * limit)
    )
    lam, mu = np.zeros(inst.avail.shape), np.zeros(inst.n_nodes)
    if budget.stopped:  # cancelled: the seed is the plan, and 0 the only bound proven
        notes.append(f"stopped before the first bound {budget.after()}")
        return Start(
            groups, pool, free_value, seed, repair_seconds, 0.0, exact_seconds, 0.0, lam, mu
        )
    # Prices found without an LP: the bound where column generation does not converge
    # in time, and columns made at prices that know scarcity, which the first LP lacks.
    if inst.n_orders <= settings.flow_up_to:
        found = _prices_from_flow(inst, groups, free_value, settings, budget, notes, workers)
        pool = pool.extend(found.columns.fresh(pool))
        low: tuple[FloatA, FloatA] | None = found.low
        bound, lam, mu = found.bound, found.lam, found.mu
        # L at the flow's prices is at least the flow's optimum when the flow saw every
        # node an order could use; then it bounds far above zero prices (10k: $179.3k
        # against $158.6k; 100k: $1.769M against $1.465M) and L(0) is not taken (2.5 s
        # at 100k). Below it, candidates were priced above nodes the flow did not see
        # (1M orders on 500 nodes) and L(0) may be the better bound.
        if _below_flow(inst, found.bound, found.flow_value):
            zero = _zero_bound(inst, groups, settings, exact_seconds, budget, notes, workers)[0]
            if zero > bound:
                lam, mu, low = np.zeros(inst.avail.shape), np.zeros(inst.n_nodes), None
                bound = zero
        return Start(
            groups, pool, free_value, seed, repair_seconds,
            found.seconds, exact_seconds, bound, lam, mu, low,
        )  # fmt: skip
    # The passes end by ``start_share`` of the limit: on 1M orders each is ~50 s of the
    # 900 on a quiet machine, several times that on a loaded one.
    by = budget.until(budget.at(settings.start_share))
    zero_by = _later(by, budget.from_now(settings.zero_least))
    bound, zero_shares, bound_seconds = _zero_bound(
        inst, groups, settings, exact_seconds, budget, notes, workers, zero_by
    )
    if inst.n_orders > settings.simplex_up_to and not by.passed():
        bound, lam, mu, cols = _prices_without_lp(
            inst, groups, zero_shares, settings, budget, notes, workers.shared, by
        )
        pool = pool.extend(cols.fresh(pool))
    return Start(
        groups, pool, free_value, seed, repair_seconds,
        bound_seconds, exact_seconds, bound, lam, mu,
    )  # fmt: skip


def _zero_bound(
    inst: Instance,
    groups: list[Group],
    settings: Settings,
    exact_seconds: float,
    budget: Budget,
    notes: list[str],
    workers: Workers = LOCAL,
    by: Deadline | None = None,
) -> tuple[float, FloatA, float]:
    """L(0), each order's share of it, and the seconds it took. The bound at zero prices
    needs no search and stands if no LP converges. (At zero prices the floors barely
    bind: widening would add 0.01 % for twice the time.) Priced part by part until
    ``by`` (no deadline but a stop when not given): the orders left when it passes count
    at 0, which is still a bound."""
    started = budget.now()
    by = by if by is not None else budget.until(np.inf)
    lam, mu = np.zeros(inst.avail.shape), np.zeros(inst.n_nodes)
    priced, whole = price_until(inst, groups, lam, mu, by, workers.shared, settings.start_part)
    shares = order_shares(
        inst, groups, lam, mu, exact_seconds, settings.exact_pricing_up_to, widen_by=0,
        deadline=by, executor=workers.shared, priced=priced,
    )  # fmt: skip
    bound, seconds = float(shares.sum()), budget.now() - started
    part = (
        ""
        if whole
        else (
            f" over {sum(p.group.size for p in priced):,} of {inst.n_orders:,} orders (the rest "
            "at 0: the start's time ran out)"
        )
    )
    notes.append(f"Lagrangian bound at zero prices {bound:,.2f}{part} ({seconds:.1f} s)")
    return bound, shares, seconds


@dataclass
class _Found:
    """L at the per-unit flow's prices, the prices, and the columns made there."""

    bound: float
    lam: FloatA
    mu: FloatA
    columns: Columns
    seconds: float  # what pricing every order for the bound took
    flow_value: float  # the flow's own optimum
    low: tuple[FloatA, FloatA]  # the flow's duals at its lowest potentials (lam, mu: highest)


def _prices_from_flow(
    inst: Instance,
    groups: list[Group],
    free_value: FloatA,
    settings: Settings,
    budget: Budget,
    notes: list[str],
    workers: Workers = LOCAL,
) -> _Found:
    """L at the per-unit flow's prices (``planner.optimize.prices.flow``) and the first columns
    made there: every order's priced choice, the flow's own allocation where it keeps
    the order rules, and on smaller batches the touched orders' best single nodes.

    L at the flow's prices is at least the flow's optimum when the flow saw every node
    an order could use (10k: $179.3k against the flow's $176.6k). Below it, the flow
    priced candidates above nodes it did not see, where the orders went: the flow is
    solved again with the arcs its prices say it lacks (``with_cheaper_arcs``; 1M orders
    on 500 nodes: L $10.17M -> $16.59M against the flow's $16.53M)."""
    started = budget.now()
    fp = flow_prices(inst, groups, workers.isolated)
    seconds = budget.now() - started
    notes.append(
        f"flow prices: {fp.arcs:,} arcs, flow {fp.value:,.2f} ({seconds:.1f} s, "
        f"{fp.passes} passes for the duals)"
    )
    priced, bound, bound_seconds = _flow_bound(inst, groups, fp, settings, budget, notes, workers)
    if (
        _below_flow(inst, bound, fp.value)
        and settings.flow_arcs_per_line > 0
        and not budget.stopped
    ):
        again = budget.now()
        more = with_cheaper_arcs(inst, groups, fp, settings.flow_arcs_per_line, workers.isolated)
        if more is not None:
            notes.append(
                f"flow with the arcs its prices lacked: {more.arcs:,} arcs, flow "
                f"{more.value:,.2f} ({budget.now() - again:.1f} s)"
            )
            more_priced, more_bound, more_seconds = _flow_bound(
                inst, groups, more, settings, budget, notes, workers
            )
            if more_bound > bound:
                fp, priced, bound, bound_seconds = more, more_priced, more_bound, more_seconds
    split = inst.weights.split
    parts = [from_solution(p.group, p.solution, np.arange(p.group.size), split) for p in priced]
    # Each order's best single nodes at these prices: alternatives that know scarcity,
    # so the first LPs price it less wildly (10k, 8 per order: the third round's bound
    # $183.1k instead of $178.0k). Only orders the prices touch (dearer than with the
    # network to themselves) need them, and only batches where more than one LP round
    # fits (100k: the first LP took 20 s instead of 8.5 s, or did not finish).
    for p in priced if inst.n_orders <= settings.flow_singles_up_to else []:
        touched = np.flatnonzero(p.solution.value > free_value[p.group.orders] + 1e-9)
        parts.append(
            best_singles(p.group.take(touched), fp.lam, fp.mu, settings.flow_singles, split)
        )
    parts.append(keeping_rules(inst, columns_from_plan(inst, fp.units)))
    cols = Columns.concat(parts)
    return _Found(bound, fp.lam, fp.mu, cols, bound_seconds, fp.value, (fp.low_lam, fp.low_mu))


def best_between(
    inst: Instance,
    start: Start,
    widen_by: int,
    budget: Budget,
    notes: list[str],
    workers: Workers = LOCAL,
) -> tuple[float, FloatA, FloatA]:
    """The best L between the flow's duals at its highest optimal potentials, where the
    start's bound was taken, and at its lowest (``start.low``), with its prices.

    Every point between is an optimal dual of the flow (where the flow saw every node
    the orders use), so L there is at least the flow's value too, but which point
    bounds best depends on the batch (10k benchmark, seed 7: the lowest, +1.1 %; 1,500:
    halfway, +0.2 %; 100k: halfway loses, three quarters up gains 0.02 %). L is concave
    in the prices; as computed (floors, widening that depends on the prices) nearly so,
    and the best point may lie between the probes (t = 0.875 on 4 of 20 small random
    batches): halfway, then the lowest if halfway gained, is a heuristic that never
    lowers the bound. The first columns stay the highest's (the first LP rounds from
    the others' columns bounded less: 10k at 10 s $182.8k after three against $183.6k
    after four), so this runs at the end, where the rounds have not beaten the start."""
    assert start.low is not None
    bound, lam, mu = start.bound, start.lam, start.mu
    started = budget.now()
    best_t = 1.0
    for t in (0.5, 0.0):
        t_lam, t_mu = between((start.lam, start.mu), start.low, t)
        priced = price_groups(inst, start.groups, t_lam, t_mu, widen_by, workers.shared)
        value = bound_of(inst, priced, t_lam, t_mu)
        if value <= bound:
            break  # L is (nearly) concave: nothing below t should beat the best so far
        bound, lam, mu, best_t = value, t_lam, t_mu, t
    notes.append(
        f"Lagrangian bound between the flow's highest and lowest duals {bound:,.2f} "
        f"({best_t:.2f} of the way up, {budget.now() - started:.1f} s)"
    )
    return bound, lam, mu


def _below_flow(inst: Instance, bound: float, flow_value: float) -> bool:
    """Whether L at the flow's prices falls below the flow's own optimum (beyond the
    cents its costs are rounded to): the sign that the flow missed nodes orders use."""
    return bound < flow_value - 0.005 * float(inst.line_qty.sum())


def _flow_bound(
    inst: Instance,
    groups: list[Group],
    fp: FlowPrices,
    settings: Settings,
    budget: Budget,
    notes: list[str],
    workers: Workers = LOCAL,
) -> tuple[list[Priced], float, float]:
    """Every order priced at the flow's prices, L there, and the seconds it took."""
    started = budget.now()
    priced = price_groups(inst, groups, fp.lam, fp.mu, settings.bound_widen_by, workers.shared)
    bound = bound_of(inst, priced, fp.lam, fp.mu)
    seconds = budget.now() - started
    notes.append(f"Lagrangian bound at the flow's prices {bound:,.2f} ({seconds:.1f} s)")
    return priced, bound, seconds


def _prices_without_lp(
    inst: Instance,
    groups: list[Group],
    zero_shares: FloatA,
    settings: Settings,
    budget: Budget,
    notes: list[str],
    executor: Executor | None = None,
    by: Deadline | None = None,
) -> tuple[float, FloatA, FloatA, Columns]:
    """The best L found by pricing the short SKUs (``prices.scarce``), then clearing
    over-taken stock rows (``prices.clearing``), with its prices, and the columns the
    clearing passes chose; each within its share of the limit and by ``by``."""
    lam = np.zeros(inst.avail.shape)
    bound = float(zero_shares.sum())
    started = budget.now()
    by = by if by is not None else budget.until(np.inf)
    scarce = price_short_skus(
        inst, groups, zero_shares, _sooner(budget.from_now(settings.scarce_share), by),
        settings.scarce_passes, executor, settings.start_part,
    )  # fmt: skip
    if scarce is not None:
        notes.append(
            f"short SKUs: {len(scarce.short)} priced over {scarce.orders:,} orders, Lagrangian "
            f"bound {scarce.bound:,.2f} (best pass {scarce.best_pass}, "
            f"{budget.now() - started:.1f} s)"
        )
    frozen = np.zeros(len(inst.sku_ids), bool)
    if scarce is not None and scarce.bound > bound:
        bound, lam = scarce.bound, scarce.lam
        frozen[scarce.short] = True  # the short SKUs keep their network-wide price
    started = budget.now()
    cleared = clearing_prices(
        inst, groups, lam, bound, frozen, _sooner(budget.from_now(settings.clearing_share), by),
        settings.clearing_passes, executor, settings.start_part,
    )  # fmt: skip
    notes.append(
        f"clearing prices: Lagrangian bound {cleared.bound:,.2f} (best of {cleared.passes} "
        f"passes: {cleared.best_pass}, {budget.now() - started:.1f} s)"
    )
    return cleared.bound, cleared.lam, cleared.mu, cleared.columns


def _sooner(a: Deadline, b: Deadline) -> Deadline:
    return a if a.at <= b.at else b


def _later(a: Deadline, b: Deadline) -> Deadline:
    return a if a.at >= b.at else b
