"""The default strategy: Lagrangian relaxation with priced repair.

Orders interact only through stock (rule 1) and node capacity (rule 2). Both
are priced (lam[n, sku], mu[n]) and moved into the objective, after which each
order's choice is independent and solved exactly (``planner.subproblem``) over
safely pruned candidates (``planner.candidates``). That gives, at any prices,
a proven lower bound

    L(lam, mu) = sum_o bound_o(lam, mu) - sum lam * avail - sum mu * capacity

which projected subgradient steps raise, and prices that tell the repair
(``planner.primal``) which orders should yield scarce stock. The best feasible
plan found is returned with the best bound, so the gap is a measured fact.
See planner/README.md for the design and its measured results.
"""

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planner.candidates import Group, build_groups
from planner.cost import evaluate
from planner.instance import Instance
from planner.primal import Flat, construct
from planner.result import Assignment, PlanResult, allocation_frames, finish
from planner.subproblem import GroupSolution, solve_group

FloatA = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Settings:
    """Knobs of the method; the defaults are what benchmarks/README.md measured."""

    candidates: int = 12  # candidate nodes per single-line order (more for more lines)
    max_iterations: int = 300
    target_gap: float = 2e-4  # stop once the plan is proven this close to optimal
    primal_every: int = 10  # iterations between repairs
    theta: float = 1.0  # Polyak step scale, halved when the bound stalls
    patience: int = 8


@dataclass
class State:
    lam: FloatA
    mu: FloatA
    bound: float = -np.inf
    best_total: float = np.inf
    best_plan: Flat | None = None
    iterations: int = 0


def lagrangian_value(inst: Instance, sols: list[GroupSolution], lam: FloatA, mu: FloatA) -> float:
    return (
        sum(float(s.bound.sum()) for s in sols)
        - float((lam * inst.avail).sum())
        - float((mu * inst.capacity).sum())
    )


def usage(inst: Instance, groups: list[Group], sols: list[GroupSolution]) -> tuple[FloatA, FloatA]:
    """Units the priced choices take per (node, sku) and per node."""
    n_nodes, n_skus = inst.avail.shape
    stock = np.zeros(n_nodes * n_skus)
    for g, s in zip(groups, sols, strict=True):
        for node, qty in ((s.node1, s.qty1), (s.node2, s.qty2)):
            ok = node >= 0
            np.add.at(stock, node[ok] * n_skus + g.skus[ok], qty[ok])
    stock = stock.reshape(n_nodes, n_skus)
    return stock, stock.sum(axis=1)


def plan_total(inst: Instance, plan: Flat) -> float:
    """The contract's total of a plan, from the one cost model."""
    alloc, _ = allocation_frames(inst, Assignment(plan.line, plan.node, plan.qty))
    return evaluate(inst.batch, alloc, inst.weights).total


def solve(inst: Instance, time_limit: float | None = None,
          settings: Settings = Settings()) -> tuple[Flat, float, State]:
    started = time.perf_counter()
    deadline = started + (time_limit if time_limit is not None else 3600.0)
    groups = build_groups(inst, settings.candidates)
    state = State(lam=np.zeros(inst.avail.shape), mu=np.zeros(inst.n_nodes))
    theta, stall = settings.theta, 0

    def try_primal() -> None:
        plan = construct(inst, groups, state.lam, state.mu)
        total = plan_total(inst, plan)
        if total < state.best_total:
            state.best_total, state.best_plan = total, plan

    try_primal()  # prices zero: the plain cheapest plan that fits
    for it in range(settings.max_iterations):
        state.iterations = it + 1
        sols = [solve_group(g, state.lam, state.mu, inst.weights.split) for g in groups]
        value = lagrangian_value(inst, sols, state.lam, state.mu)
        if value > state.bound + 1e-9:
            state.bound, stall = value, 0
        else:
            stall += 1
            if stall >= settings.patience:
                theta, stall = theta / 2, 0
        used, used_node = usage(inst, groups, sols)
        g_lam = used - inst.avail
        g_mu = used_node - inst.capacity
        g_lam = np.where((state.lam > 0) | (g_lam > 0), g_lam, 0.0)
        g_mu = np.where((state.mu > 0) | (g_mu > 0), g_mu, 0.0)
        norm = float((g_lam**2).sum() + (g_mu**2).sum())
        if it % settings.primal_every == settings.primal_every - 1 or norm == 0:
            try_primal()
        gap = (state.best_total - state.bound) / max(state.best_total, 1e-9)
        if norm == 0 or gap <= settings.target_gap or time.perf_counter() > deadline:
            break
        step = theta * (state.best_total - value) / norm
        state.lam = np.maximum(0.0, state.lam + step * g_lam)
        state.mu = np.maximum(0.0, state.mu + step * g_mu)
    assert state.best_plan is not None
    return state.best_plan, state.bound, state


def plan_optimize(inst: Instance, time_limit: float | None = None) -> PlanResult:
    started = time.perf_counter()
    plan, bound, state = solve(inst, time_limit)
    notes = [f"lagrangian iterations: {state.iterations}"]
    return finish(inst, Assignment(plan.line, plan.node, plan.qty), "optimize", started,
                  lower_bound=bound, notes=notes)
