"""Each order's priced choice solved exactly, for the few orders that need it.

``planner.optimize.pricing.subproblem`` enumerates one and two nodes exactly and only floors
three or more. For most orders that floor is above the best pair, which
settles them. For the rest (several units, no package limit) the order's own
problem at prices lam, mu is solved as a small MIP: y[k] opens candidate k,
x[l, k] units of line l from k (at most its stock, and only if open),
u[l] unfilled, s splits; ship-complete and max_packages as in the contract.
Orders are independent, so one model holds them all and its optimum is
their sum; each order's optimum is also a column for the master.
"""

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from ortools.linear_solver.python import model_builder as mb

from planner.core.group import Group
from planner.optimize.budget import Budget, interruptible
from planner.optimize.columns import Columns, columns_from_units
from planner.optimize.pricing.compact_model import _add_orders, _Builder
from planner.optimize.pricing.subproblem import unit_prices

IntA = npt.NDArray[np.int64]
FloatA = npt.NDArray[np.float64]


@dataclass
class ExactPricing:
    rows: IntA  # group rows solved
    value: FloatA  # (R,) each order's exact priced optimum (nan if not proven)
    columns: Columns  # the optimal choice of each row (true costs)
    proven: bool


def solve_exact(
    parts: list[tuple[Group, IntA]],
    lam: FloatA,
    mu: FloatA,
    split: float,
    sku_of_line: IntA,
    time_limit: float,
    budget: Budget | None = None,
) -> list[ExactPricing]:
    """The priced subproblems of these (group, rows), exactly, in one SCIP model
    (one solver start for all of them: they are independent, the optimum is the sum).
    ``budget``'s stop() interrupts the solve."""
    b, xs = _priced_model(parts, lam, mu, split)
    model = b.model()
    for col in np.concatenate([x[x >= 0] for x in xs] + b.int_cols).tolist():
        model.helper.set_var_integrality(int(col), True)
    solver = mb.Solver("scip")
    solver.enable_output(False)
    solver.set_time_limit_in_seconds(max(0.05, time_limit))
    with interruptible(budget, solver.stop_search):
        status = solver.solve(model)
    proven = status == mb.SolveStatus.OPTIMAL
    if status not in (mb.SolveStatus.OPTIMAL, mb.SolveStatus.FEASIBLE):
        return [
            ExactPricing(rows, np.full(len(rows), np.nan), Columns.empty(), False)
            for _, rows in parts
        ]
    values = np.asarray(solver.values(model.get_variables()), float)
    out = []
    for (g, rows), x in zip(parts, xs, strict=True):
        units = np.where(x >= 0, np.round(values[np.maximum(x, 0)]), 0).astype(np.int64)
        cols = columns_from_units(g, rows, units, split)
        value = cols.priced(sku_of_line, lam, mu) if proven else np.full(len(rows), np.nan)
        out.append(ExactPricing(rows, value, cols, proven))
    return out


def relaxed_values(
    parts: list[tuple[Group, IntA]], lam: FloatA, mu: FloatA, split: float
) -> list[FloatA]:
    """Each of these orders' priced optimum over its candidates with packages relaxed to
    fractions (the same model as an LP, GLOP): a lower bound on it for when SCIP cannot
    prove the exact one in time (10k benchmark: 56-99 such orders, none proven in 5 s;
    their LPs bound $243 above the floors in 0.3 s). Orders are independent, so the LP's
    optimum is optimal for each; -inf where GLOP gives no optimum."""
    b, _ = _priced_model(parts, lam, mu, split)
    model = b.model()
    solver = mb.Solver("glop")
    solver.enable_output(False)
    if solver.solve(model) != mb.SolveStatus.OPTIMAL:
        return [np.full(len(rows), -np.inf) for _, rows in parts]
    values = np.asarray(solver.values(model.get_variables()), float)
    cost = np.concatenate(b.obj) * values
    per_order = np.bincount(np.concatenate(b.owner), weights=cost, minlength=b.n_orders).astype(
        np.float64, copy=False
    )
    per_order -= 1e-6 * (1 + np.abs(per_order))  # the LP's tolerances: stay below it
    cuts = np.cumsum([len(rows) for _, rows in parts])[:-1]
    return list(np.split(per_order, cuts))


def _priced_model(
    parts: list[tuple[Group, IntA]], lam: FloatA, mu: FloatA, split: float
) -> tuple[_Builder, list[IntA]]:
    """The compact model of these (group, rows) at prices lam, mu, one block per order,
    and each part's x column ids (``planner.optimize.pricing.compact_model._add_orders``)."""
    b = _Builder()
    xs = []
    for g, rows in parts:
        part = g.take(rows)
        priced = unit_prices(part, lam, mu, slice(None))
        xs.append(_add_orders(b, replace(part, unit=priced), split, merged=False))
    return b, xs
