"""The exact model: a MIP over every (line, node) pair, solved by HiGHS via OR-Tools.

It proves optimality on small batches and is the yardstick the fast optimizer
is measured against. Names follow the maths:

    y[o,n]  binary   order o ships a package from node n
    x[l,n]  integer  units of line l from node n
    u[l]    >= 0     unfilled units of line l
    s[o]    >= 0     extra packages of order o (splits)

    min  sum F[o,n] y + sum U[l,n] x + sum P[l] u + w.split * sum s
    s.t. sum_n x[l,n] + u[l] = q[l]                       (every unit placed)
         x[l,n] <= min(q[l], avail[n,sku]) * y[o,n]       (only from open packages)
         sum_{l of sku} x[l,n] <= avail[n,sku]            (rule 1)
         sum_l x[l,n] <= capacity[n]                      (rule 2)
         s[o] >= sum_n y[o,n] - 1
         sum_n y[o,n] <= max_packages[o]                  (rule 5)
         ship-complete: sum_n y[o,n] <= 1, x[l,n] = q[l] y[o,n]   (rule 4)
Rule 3 is in the variables: only allowed nodes get a y.
"""

import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.linear_solver import pywraplp  # type: ignore[attr-defined]

from planner.core.instance import Instance
from planner.core.plan import Plan
from planner.core.result import PlanResult, finish

Interruptible = Callable[[Callable[[], object]], AbstractContextManager[None]]
IntA = npt.NDArray[np.int64]


@dataclass
class Part:
    """The model over ``orders`` only: they may use ``avail`` (N, S) and ``capacity``
    (N,), what the other orders leave; ``allowed`` (O, N) bool, when given, keeps only
    those (order, node) packages; ``hint`` is a feasible plan of these orders the solver
    starts from (SCIP only: a hint made HiGHS crash through OR-Tools 9.15, so it gets
    none)."""

    orders: IntA
    avail: IntA
    capacity: IntA
    allowed: npt.NDArray[np.bool_] | None = None
    hint: Plan | None = None


def solve_mip(
    inst: Instance,
    time_limit: float | None = None,
    solver_name: str = "HIGHS",
    interruptible: Interruptible | None = None,
    part: Part | None = None,
) -> tuple[Plan, float | None, bool]:
    """Plan, best proven bound (None if unknown) and whether it is optimal.

    ``interruptible`` (e.g. an optimizer budget's) is entered around the solve with the
    solver's interrupt, so a stop ends it early with the best plan found. ``part`` solves
    the model over some orders only, on the stock the others leave, over the nodes it
    allows, from a hint (see ``Part``); the bound is then that part's.
    """
    solver = pywraplp.Solver.CreateSolver(solver_name)
    if solver is None:  # pragma: no cover - every OR-Tools wheel ships HiGHS and SCIP
        raise RuntimeError(f"OR-Tools has no {solver_name} solver here")
    solver.SuppressOutput()
    if solver_name == "HIGHS":  # SuppressOutput leaves HiGHS's banner on stdout
        solver.SetSolverSpecificParametersAsString("log_to_console=false")
    if time_limit is not None:
        solver.SetTimeLimit(int(time_limit * 1000))
    w = inst.weights
    objective = solver.Objective()
    x: dict[tuple[int, int], pywraplp.Variable] = {}
    by_stock: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    by_node: dict[int, list[tuple[int, int]]] = defaultdict(list)
    ys_of: dict[tuple[int, int], pywraplp.Variable] = {}  # (order, node): y
    rest: dict[str, pywraplp.Variable] = {}  # u[line] and s[order], by name: the hint's
    penalty = inst.unfilled_unit_cost
    orders = np.arange(inst.n_orders) if part is None else part.orders
    avail = inst.avail if part is None else part.avail
    capacity = inst.capacity if part is None else part.capacity

    for start in range(0, len(orders), 1024):
        block = orders[start : start + 1024]
        costs = inst.order_costs(block)
        for row, o in enumerate(block.tolist()):
            lines = inst.lines_of(o)
            skus, qtys = inst.line_sku[lines], inst.line_qty[lines]
            unit = inst.unit_costs(costs, row, lines)
            stock = avail[:, skus]  # (N, L)
            sc = bool(inst.ship_complete[o])
            if sc:
                useful = np.isfinite(costs.fixed[row]) & (stock >= qtys).all(axis=1)
            else:
                useful = np.isfinite(costs.fixed[row]) & (stock > 0).any(axis=1)
            if part is not None and part.allowed is not None:
                useful &= part.allowed[o]
            nodes = np.flatnonzero(useful)
            split = solver.NumVar(0, solver.infinity(), f"s[{o}]")
            objective.SetCoefficient(split, w.split)
            rest[f"s[{o}]"] = split
            ys = []
            for n in nodes:
                y = solver.BoolVar(f"y[{o},{n}]")
                ys_of[o, int(n)] = y
                objective.SetCoefficient(y, float(costs.fixed[row, n]))
                ys.append(y)
            if ys:
                solver.Add(split >= sum(ys) - 1)
                cap = int(inst.package_limit[o])
                if cap < len(ys):
                    solver.Add(sum(ys) <= cap)
            for i, line in enumerate(range(lines.start, lines.stop)):
                q = int(qtys[i])
                u = solver.NumVar(0, q, f"u[{line}]")
                objective.SetCoefficient(u, float(penalty[line]))
                rest[f"u[{line}]"] = u
                placed = [u]
                for y, n in zip(ys, nodes, strict=True):
                    hi = min(q, int(stock[n, i]))
                    if hi <= 0:
                        continue
                    var = solver.IntVar(0, hi, f"x[{line},{n}]")
                    objective.SetCoefficient(var, float(unit[i, n]))
                    if sc:
                        solver.Add(var == q * y)
                    else:
                        solver.Add(var <= hi * y)
                    placed.append(var)
                    x[line, int(n)] = var
                    by_stock[int(n), int(skus[i])].append((line, int(n)))
                    by_node[int(n)].append((line, int(n)))
                solver.Add(sum(placed) == q)

    for (node, sku), keys in by_stock.items():
        vars_ = [x[k] for k in keys]
        if sum(v.ub() for v in vars_) > avail[node, sku]:
            solver.Add(sum(vars_) <= int(avail[node, sku]))
    for node, keys in by_node.items():
        vars_ = [x[k] for k in keys]
        if sum(v.ub() for v in vars_) > capacity[node]:
            solver.Add(sum(vars_) <= int(capacity[node]))
    objective.SetMinimization()
    if part is not None and part.hint is not None and solver_name != "HIGHS":
        _hint(solver, inst, x, ys_of, rest, part.hint)

    with interruptible(solver.InterruptSolve) if interruptible else nullcontext():
        status = solver.Solve()
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return Plan.from_lists([], [], []), None, False
    keys = [k for k, v in x.items() if v.solution_value() > 0.5]
    qty = [int(round(x[k].solution_value())) for k in keys]
    bound = objective.BestBound()
    return (
        Plan.from_lists([k[0] for k in keys], [k[1] for k in keys], qty),
        float(bound) if np.isfinite(bound) else None,
        status == pywraplp.Solver.OPTIMAL,
    )


def _hint(
    solver: pywraplp.Solver,
    inst: Instance,
    x: dict[tuple[int, int], pywraplp.Variable],
    ys_of: dict[tuple[int, int], pywraplp.Variable],
    rest: dict[str, pywraplp.Variable],
    plan: Plan,
) -> None:
    """Every variable's value in ``plan`` (units, packages, unfilled units, splits)."""
    units: dict[tuple[int, int], int] = defaultdict(int)
    for line, node, qty in zip(
        plan.line.tolist(), plan.node.tolist(), plan.qty.tolist(), strict=True
    ):
        units[line, node] += qty
    placed: dict[int, int] = defaultdict(int)
    packages: dict[int, set[int]] = defaultdict(set)
    for (line, node), qty in units.items():
        placed[line] += qty
        packages[int(inst.line_order[line])].add(node)
    names, values = [], []
    for (line, node), var in x.items():
        names.append(var)
        values.append(float(units.get((line, node), 0)))
    for (o, n), var in ys_of.items():
        names.append(var)
        values.append(1.0 if n in packages.get(o, ()) else 0.0)
    for name, var in rest.items():
        key = int(name[2:-1])
        names.append(var)
        if name[0] == "u":
            values.append(float(inst.line_qty[key] - placed.get(key, 0)))
        else:
            values.append(float(max(0, len(packages.get(key, ())) - 1)))
    solver.SetHint(names, values)


def plan_mip(inst: Instance, time_limit: float | None = None) -> PlanResult:
    """Exact strategy for small batches: HiGHS proves optimality or reports its gap."""
    started = time.perf_counter()
    assignment, bound, optimal = solve_mip(inst, time_limit)
    return finish(inst, assignment, "mip", started, lower_bound=bound, proven_optimal=optimal)
