"""Column generation: rounds of master LP, pricing every order at its prices (which yields
new columns and the Lagrangian bound), and widening the orders a dropped node tempts."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planner.core.group import Group
from planner.core.instance import Instance
from planner.optimize.budget import Budget, Deadline
from planner.optimize.candidates import widen
from planner.optimize.columns import Columns, best_singles, from_solution
from planner.optimize.master import MasterResult, SolveOptions, solve_master
from planner.optimize.pricing.exact import solve_exact
from planner.optimize.pricing.orders import bound_of, price_groups, solve_groups, without_floor
from planner.optimize.settings import Settings
from planner.optimize.start import Start
from planner.optimize.workers import LOCAL, Workers

FloatA = npt.NDArray[np.float64]
IntA = npt.NDArray[np.int64]


@dataclass
class Search:
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


@dataclass
class Priced:
    """One pricing pass: the columns with negative reduced cost, whether the exact
    pricing ran, L at the prices without the exact part (-inf unless asked) and the
    groups (widened where the floor bound)."""

    columns: Columns
    exact_ran: bool
    bound: float
    groups: list[Group]


def price(
    inst: Instance,
    groups: list[Group],
    lam: FloatA,
    mu: FloatA,
    ref: FloatA,
    settings: Settings,
    deadline: Deadline,
    exact: bool = False,
    with_bound: bool = False,
    workers: Workers = LOCAL,
) -> Priced:
    """Columns with negative reduced cost (priced cost below what the order has, ref),
    and with ``with_bound`` L(lam, mu) with orders that may want three or more packages
    at their floor.

    The exact pricing of those orders costs a SCIP solve: it runs when asked
    (``exact``) or once the vectorised pricing is nearly dry."""
    split = inst.weights.split
    offers: list[Columns] = []
    loose: list[tuple[Group, IntA]] = []
    if with_bound:
        priced = price_groups(inst, groups, lam, mu, settings.bound_widen_by, workers.shared)
        bound = bound_of(inst, priced, lam, mu)
    else:
        priced = solve_groups(groups, lam, mu, split, workers.shared)
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
    seconds = min(settings.exact_pricing_seconds, deadline.left())
    n_loose = sum(len(r) for _, r in loose)
    dry = new.size <= settings.exact_when_below * orders
    if not (exact or dry) or not 0 < n_loose <= settings.exact_pricing_up_to or seconds <= 0:
        return Priced(new, False, bound, groups)
    solved = solve_exact(loose, lam, mu, split, inst.line_sku, seconds, deadline.budget)
    offers = [ex.columns for ex in solved]
    new = new.extend(_negative(inst, offers, lam, mu, ref, settings.tolerance))
    return Priced(new, True, bound, groups)


def _negative(
    inst: Instance, offers: list[Columns], lam: FloatA, mu: FloatA, ref: FloatA, tolerance: float
) -> Columns:
    """The offered columns whose reduced cost is below -tolerance."""
    kept = []
    for cols in offers:
        rc = cols.priced(inst.line_sku, lam, mu) - ref[cols.order]
        kept.append(cols.take(np.flatnonzero(rc < -tolerance)))
    return Columns.concat(kept)


def lp_solver(inst: Instance, settings: Settings, tol: float | None = None) -> tuple[str, str]:
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


def _master_lp(
    inst: Instance,
    pool: Columns,
    seconds: float,
    solver: tuple[str, str],
    warm: MasterResult | None,
    budget: Budget,
) -> MasterResult:
    """The master LP over every order with the columns so far; PDLP starts from
    ``warm``, the last round's LP (from the start's prices a first LP was no faster:
    100k 16.5 s and 15.7 s against 16.1 s and 14.1 s cold)."""
    options = SolveOptions(
        time_limit=max(0.01, seconds), solver_name=solver[0], params=solver[1], warm=warm,
        budget=budget,
    )  # fmt: skip
    scope = np.arange(inst.n_orders)
    empty = inst.order_unfilled_cost
    return solve_master(pool, inst.line_sku, empty, scope, inst.avail, inst.capacity, options)


@dataclass
class _Round:
    """What the loop carries from one round to the next."""

    lp_solver: tuple[str, str]
    tol: float
    exact_ran: bool = False
    seconds: float = 0.0  # the last round's
    bound: float = -np.inf  # the last round's bound


def column_generation(
    inst: Instance,
    start: Start,
    settings: Settings,
    budget: Budget,
    notes: list[str],
    workers: Workers = LOCAL,
) -> Search:
    """Rounds of: master LP, price every order at its prices (the bound comes with
    it), add the columns that price out, widen orders a dropped node tempts.

    A round may end as late as ``budget.stretch_end`` (not ``search_end``) when the last
    round's prices bound within ``stretch_within`` of the start's without beating it:
    that next round usually beats it, and without it the plan is measured against
    the start's weaker bound (10,000 orders at 10 s: a fourth round sat on the
    edge of the share, and its bound, $181.5k instead of $168.4k, came and went)."""
    out = Search(start.groups, start.pool, None, start.lam, start.mu, start.bound)
    state = _Round(lp_solver(inst, settings, settings.pdlp_tolerance), settings.pdlp_tolerance)
    lp_times: list[float] = []
    for out.rounds in range(1, settings.max_rounds + 1):
        if not _one_round(inst, start, settings, budget, notes, out, state, lp_times, workers):
            break
    if out.master is not None:
        lps = ", ".join(f"{t:.1f}" for t in lp_times)
        notes.append(
            f"column generation: {out.rounds} rounds, {out.pool.size:,} columns, "
            f"LP {out.master.value:,.2f} over {out.master.rows:,} rows (LPs: {lps} s)"
        )
    return out


def _one_round(
    inst: Instance,
    start: Start,
    settings: Settings,
    budget: Budget,
    notes: list[str],
    out: Search,
    state: _Round,
    lp_times: list[float],
    workers: Workers,
) -> bool:
    """One round; False when column generation stops."""
    now = budget.now()
    near = not out.from_round and state.bound >= out.bound * (1 - settings.stretch_within)
    end = budget.stretch_end if near else budget.search_end
    if budget.stopped or (out.master is not None and now + state.seconds > end):
        out.rounds -= 1  # this one did not run
        return False  # another round would not finish inside the search share
    # The first LP may overrun the share: without it there is nothing to dive from.
    lp_end = (
        end
        if out.master is not None
        else budget.deadline - (settings.first_lp_margin * start.repair_seconds)
    )
    warm = out.master if settings.warm_start else None
    m = _master_lp(inst, out.pool, lp_end - now, state.lp_solver, warm, budget)
    lp_times.append(budget.now() - now)
    if not m.optimal:
        notes.append(f"round {out.rounds}: master LP ({state.lp_solver[0]}) {m.status}")
        return False
    previous, out.master = out.master, m
    if previous is None and (budget.stopped or budget.now() + lp_times[-1] > end):
        # No second round fits: a first LP's prices bound far below the start's
        # (10k: $55k against $177k; 100k: $33k against $1.754M), so the plan gets the
        # time instead. The orders its prices tempt to a dropped node still get more
        # candidates: the dive and the local search choose among them.
        out.groups, _ = _widen_tempted(inst, out.groups, m, settings)
        notes.append(f"round 1: LP {m.value:,.1f}, not priced (no second round fits)")
        return False
    stalled = previous is not None and previous.value - m.value < settings.stall * abs(m.value)
    if stalled and state.lp_solver[0] == "pdlp":
        # PDLP's duals are as loose as its tolerance; the rounds left get tighter ones
        # (from its last solution, a few more iterations).
        state.tol = max(settings.pdlp_tolerance_floor, state.tol / 4)
        state.lp_solver = lp_solver(inst, settings, state.tol)
    if stalled and state.exact_ran and out.bound >= m.value * (1 - settings.stall_gap):
        return False  # the LP stopped moving with the bound close to it
    # A stalled LP gets one round with the exact pricing before it stops.
    priced_at = budget.now()
    found = price(
        inst, out.groups, m.lam, m.mu, m.ref, settings, budget.until(end), exact=stalled,
        with_bound=True, workers=workers,
    )  # fmt: skip
    state.exact_ran, state.bound, out.groups = found.exact_ran, found.bound, found.groups
    if not found.exact_ran:  # what a final bound's pricing costs, without the exact part
        out.price_seconds = budget.now() - priced_at
    notes.append(f"round {out.rounds}: LP {m.value:,.1f}, bound at its prices {found.bound:,.1f}")
    if found.bound > out.bound:
        out.lam, out.mu, out.bound, out.from_round = m.lam, m.mu, found.bound, True
        budget.found_bound(found.bound)
    if out.bound >= m.value - settings.stall * abs(m.value):
        return False  # the bound meets the LP: column generation has converged
    out.groups, widened = _widen_tempted(inst, out.groups, m, settings)
    if not found.columns.size and not widened:
        return False
    out.pool = out.pool.extend(found.columns)
    state.seconds = budget.now() - now
    return True


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
