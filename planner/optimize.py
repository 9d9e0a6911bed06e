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
from planner.improve import improve
from planner.instance import Instance
from planner.lp import LpResult, solve_lp
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
    all_nodes_up_to: int = 64  # networks this small keep every node: no pruning at all
    widen_by: int = 8  # nodes added per column-generation round
    max_rounds: int = 4  # column-generation rounds
    min_lp_gain: float = 1e-4  # stop widening when the LP improves less than this
    improve_passes: int = 2
    simplex_up_to: int = 3000  # orders; larger LPs go to PDLP (first-order, scales better)


@dataclass
class Outcome:
    plan: Flat
    bound: float
    lp_value: float
    rounds: int
    notes: list[str]


def plan_total(inst: Instance, plan: Flat) -> float:
    """The contract's total of a plan, from the one cost model."""
    alloc, _ = allocation_frames(inst, Assignment(plan.line, plan.node, plan.qty))
    return evaluate(inst.batch, alloc, inst.weights).total


def lagrangian_bound(inst: Instance, groups: list[Group], lam: FloatA, mu: FloatA) -> float:
    """L(lam, mu): a proven lower bound on the optimum for any prices >= 0."""
    total = 0.0
    for g in groups:
        g = replace(g, dropped_bound=dropped_bound_at(inst, g, lam, mu))
        total += float(solve_group(g, lam, mu, inst.weights.split).bound.sum())
    return total - float((lam * inst.avail).sum()) - float((mu * inst.capacity).sum())


def _integral_part(inst: Instance, groups: list[Group], lp: LpResult) -> tuple[Flat, list[IntA]]:
    """Orders the LP placed in whole units keep that placement; the rest are pending."""
    plan = Flat.empty()
    pending = []
    for g, x in zip(groups, lp.x, strict=True):
        rounded = np.round(x)
        whole = (np.abs(x - rounded) < 1e-6).all(axis=(1, 2))
        # The LP may open two half packages: keep only placements within the order's limit.
        packages = (rounded > 0).any(axis=1).sum(axis=1)
        limit = np.where(g.ship_complete, 1, g.max_packages)
        whole &= (limit == 0) | (packages <= limit)
        full = (rounded.sum(axis=2) == g.qty).all(axis=1)
        whole &= ~g.ship_complete | full | (packages == 0)
        rows = np.flatnonzero(whole)
        r, li, k = np.nonzero(rounded[rows] > 0)
        plan = plan.extend(Flat(g.lines[rows[r], li], g.cand[rows[r], k],
                                rounded[rows[r], li, k].astype(np.int64)))
        pending.append(np.flatnonzero(~whole))
    return plan, pending


def solve(inst: Instance, time_limit: float | None = None,
          settings: Settings = Settings()) -> Outcome:
    started = time.perf_counter()
    deadline = started + (DEFAULT_TIME_LIMIT if time_limit is None else time_limit)
    notes: list[str] = []
    k = inst.n_nodes if inst.n_nodes <= settings.all_nodes_up_to else settings.candidates
    groups = build_groups(inst, k)
    zero_lam, zero_mu = np.zeros(inst.avail.shape), np.zeros(inst.n_nodes)

    lp: LpResult | None = None
    rounds = 0
    for rounds in range(1, settings.max_rounds + 1):
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            break
        solver = "glop" if inst.n_orders <= settings.simplex_up_to else "pdlp"
        result = solve_lp(inst, groups, solver, time_limit=remaining * 0.5)
        if not result.optimal:
            notes.append(f"LP round {rounds}: {result.status}")
            break
        gain = 1.0 if lp is None else (lp.value - result.value) / max(lp.value, 1e-9)
        lp = result
        if gain < settings.min_lp_gain or rounds == settings.max_rounds:
            break
        sols = [solve_group(g, lp.lam, lp.mu, inst.weights.split) for g in groups]
        widened = [widen(inst, g, lp.lam, lp.mu, s.value, settings.widen_by)
                   for g, s in zip(groups, sols, strict=True)]
        if sum(n for _, n in widened) == 0:
            break
        groups = [g for g, _ in widened]

    lam, mu = (lp.lam, lp.mu) if lp is not None else (zero_lam, zero_mu)
    if lp is not None:
        fixed, pending = _integral_part(inst, groups, lp)
        plan = construct(inst, groups, lam, mu, pending=pending, plan=fixed)
        notes.append(f"LP rounds: {rounds}; LP value over candidates {lp.value:,.2f}")
    else:
        plan = construct(inst, groups, zero_lam, zero_mu)
    greedy_like = construct(inst, groups, zero_lam, zero_mu)
    if plan_total(inst, greedy_like) < plan_total(inst, plan):
        plan = greedy_like
    free = [solve_group(g, zero_lam, zero_mu, inst.weights.split).value for g in groups]
    plan = improve(inst, groups, plan, free, deadline, settings.improve_passes)
    bound = max(lagrangian_bound(inst, groups, lam, mu),
                lagrangian_bound(inst, groups, zero_lam, zero_mu))
    return Outcome(plan, bound, lp.value if lp else float("nan"), rounds, notes)


def plan_optimize(inst: Instance, time_limit: float | None = None) -> PlanResult:
    started = time.perf_counter()
    out = solve(inst, time_limit)
    return finish(inst, Assignment(out.plan.line, out.plan.node, out.plan.qty), "optimize",
                  started, lower_bound=out.bound, notes=out.notes)
