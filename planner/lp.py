"""The LP relaxation over the candidate nodes, built as sparse arrays for OR-Tools.

Same variables and rules as ``planner.mip`` (y, x, u, s), restricted to each
order's candidates and with integrality dropped. Its duals on the stock and
capacity rows are the prices (lam, mu) of the Lagrangian bound, and its
primal solution, mostly integral, seeds the plan. The model is assembled with
numpy and handed to OR-Tools' model builder as one CSR matrix, so building it
costs little next to solving it.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from ortools.linear_solver.python import model_builder as mb

from planner.candidates import Group
from planner.instance import Instance

FloatA = npt.NDArray[np.float64]
IntA = npt.NDArray[np.int64]
INF = np.inf


@dataclass
class LpResult:
    status: str
    optimal: bool  # only optimal duals are valid prices to steer by
    value: float  # LP optimum over the candidates (not a bound on the full problem)
    lam: FloatA  # (N, S) stock prices >= 0
    mu: FloatA  # (N,) capacity prices >= 0
    x: list[FloatA]  # per group, (M, L, K) units in the LP solution


class _Builder:
    """Columns and rows appended as arrays; rows are (lower, upper) ranges."""

    def __init__(self) -> None:
        self.n_cols = 0
        self.lb: list[FloatA] = []
        self.ub: list[FloatA] = []
        self.obj: list[FloatA] = []
        self.n_rows = 0
        self.row_lb: list[FloatA] = []
        self.row_ub: list[FloatA] = []
        self.entries: list[tuple[IntA, IntA, FloatA]] = []
        self.int_cols: list[IntA] = []  # package variables, integer in the exact model

    def cols(self, lb: FloatA, ub: FloatA, obj: FloatA) -> IntA:
        ids = np.arange(self.n_cols, self.n_cols + len(obj))
        self.n_cols += len(obj)
        self.lb.append(np.asarray(lb, float))
        self.ub.append(np.asarray(ub, float))
        self.obj.append(np.asarray(obj, float))
        return ids

    def rows(self, lo: FloatA, hi: FloatA) -> IntA:
        ids = np.arange(self.n_rows, self.n_rows + len(lo))
        self.n_rows += len(lo)
        self.row_lb.append(np.asarray(lo, float))
        self.row_ub.append(np.asarray(hi, float))
        return ids

    def coef(self, row: IntA, col: IntA, val: FloatA | float) -> None:
        val = np.broadcast_to(np.asarray(val, float), row.shape)
        self.entries.append((row.ravel(), col.ravel(), val.ravel()))

    def model(self) -> mb.Model:
        r = np.concatenate([e[0] for e in self.entries])
        c = np.concatenate([e[1] for e in self.entries])
        v = np.concatenate([e[2] for e in self.entries])
        matrix = sp.csr_matrix((v, (r, c)), shape=(self.n_rows, self.n_cols))
        model = mb.Model()
        model.helper.fill_model_from_sparse_data(
            np.concatenate(self.lb),
            np.concatenate(self.ub),
            np.concatenate(self.obj),
            np.concatenate(self.row_lb),
            np.concatenate(self.row_ub),
            matrix,
        )
        return model


def _add_orders(b: _Builder, g: Group, split: float, merged: bool) -> IntA:
    """Columns and rows of these orders; returns the x column ids, (M, L, K), -1 = none."""
    m, n_lines, k = g.unit.shape
    usable_y = np.isfinite(g.fixed)  # (M, K)
    cap_x = np.minimum(g.qty[:, :, None], g.stock)
    usable_x = np.isfinite(g.unit) & (cap_x > 0) & usable_y[:, None, :]
    x = np.full((m, n_lines, k), -1)
    cost_x = g.unit + g.fixed[:, None, :] if merged else g.unit
    x[usable_x] = b.cols(np.zeros(usable_x.sum()), cap_x[usable_x], cost_x[usable_x])
    u = b.cols(np.zeros(m * n_lines), g.qty.ravel(), g.unit_penalty.ravel()).reshape(m, n_lines)
    # Every unit placed: sum_k x + u = q.
    rows = b.rows(g.qty.ravel(), g.qty.ravel()).reshape(m, n_lines)
    b.coef(rows, u, 1.0)
    rr = np.broadcast_to(rows[:, :, None], x.shape)
    b.coef(rr[usable_x], x[usable_x], 1.0)
    if merged:
        return x
    y = np.full((m, k), -1)
    y[usable_y] = b.cols(np.zeros(usable_y.sum()), np.ones(usable_y.sum()), g.fixed[usable_y])
    b.int_cols.append(y[usable_y])
    s = b.cols(np.zeros(m), np.full(m, INF), np.full(m, split))
    sc = g.ship_complete
    # Linking: x <= cap * y (ship-complete: x == q * y, whole lines from one node).
    o_idx, l_idx, k_idx = np.nonzero(usable_x)
    is_sc = sc[o_idx]
    link = b.rows(np.where(is_sc, 0.0, -INF), np.zeros(len(o_idx)))
    b.coef(link, x[usable_x], 1.0)
    b.coef(link, y[o_idx, k_idx], -np.where(is_sc, g.qty[o_idx, l_idx], cap_x[usable_x]))
    # Splits: s >= sum_k y - 1; packages <= max_packages (1 for ship-complete).
    oy, ky = np.nonzero(usable_y)
    srow = b.rows(np.full(m, -1.0), np.full(m, INF))
    b.coef(srow, s, 1.0)
    b.coef(srow[oy], y[oy, ky], -1.0)
    limit = np.where(sc, 1, g.max_packages).astype(float)
    limit[limit == 0] = INF
    prow = b.rows(np.zeros(m), limit)
    b.coef(prow[oy], y[oy, ky], 1.0)
    return x


def solve_lp(
    inst: Instance,
    groups: list[Group],
    solver_name: str = "glop",
    time_limit: float | None = None,
    avail: npt.NDArray[np.int64] | None = None,
    capacity: IntA | None = None,
    integral: bool = False,
) -> LpResult:
    """Solve the candidate LP; prices come from the duals of rules 1 and 2.

    ``avail`` and ``capacity`` default to the batch's; pass what other orders
    left to solve for a part of the batch. With ``integral`` the package and
    unit variables are integer: the exact model over these orders and
    candidates, used to finish the few orders the LP left fractional (its x
    is then a plan; there are no prices).
    """
    avail = inst.avail if avail is None else avail
    capacity = inst.capacity if capacity is None else capacity
    b = _Builder()
    split = inst.weights.split
    n_skus = inst.avail.shape[1]
    x_ids: list[IntA] = []
    stock_key: list[IntA] = []
    x_node: list[IntA] = []
    x_cols: list[IntA] = []
    for g in groups:
        # A one-unit, one-line order opens a package exactly when it takes the unit,
        # so its y is its x: those orders need no y, linking, split or limit rows.
        single = (g.n_lines == 1) & (g.qty[:, 0] == 1)
        x = np.full(g.unit.shape, -1)
        for rows, merged in ((np.flatnonzero(single), True), (np.flatnonzero(~single), False)):
            if len(rows):
                part = g.take(rows)
                x[rows] = _add_orders(b, part, split, merged)
                o_idx, l_idx, k_idx = np.nonzero(x[rows] >= 0)
                stock_key.append(part.cand[o_idx, k_idx] * n_skus + part.skus[o_idx, l_idx])
                x_node.append(part.cand[o_idx, k_idx])
                x_cols.append(x[rows][o_idx, l_idx, k_idx])
        x_ids.append(x)

    # Rules 1 and 2, only where they can bind.
    keys = np.concatenate(stock_key)
    cols = np.concatenate(x_cols)
    nodes = np.concatenate(x_node)
    ub_all = np.concatenate(b.ub)
    uniq, inv = np.unique(keys, return_inverse=True)
    demand = np.bincount(inv, weights=ub_all[cols])
    supply = avail.ravel()[uniq]
    binding = demand > supply
    stock_rows = b.rows(np.full(binding.sum(), -INF), supply[binding].astype(float))
    row_of = np.full(len(uniq), -1)
    row_of[binding] = stock_rows
    sel = row_of[inv] >= 0
    b.coef(row_of[inv][sel], cols[sel], 1.0)
    node_demand = np.bincount(nodes, weights=ub_all[cols], minlength=inst.n_nodes)
    cap_binding = np.flatnonzero(node_demand > capacity)
    cap_rows = b.rows(np.full(len(cap_binding), -INF), capacity[cap_binding].astype(float))
    node_row = np.full(inst.n_nodes, -1)
    node_row[cap_binding] = cap_rows
    sel = node_row[nodes] >= 0
    b.coef(node_row[nodes][sel], cols[sel], 1.0)

    model = b.model()
    if integral:
        for col in np.concatenate([x[x >= 0] for x in x_ids] + b.int_cols).tolist():
            model.helper.set_var_integrality(int(col), True)
    solver = mb.Solver(solver_name)
    if time_limit is not None:
        solver.set_time_limit_in_seconds(time_limit)
    status = solver.solve(model)
    lam = np.zeros(inst.avail.shape)
    mu = np.zeros(inst.n_nodes)
    empty = LpResult(str(status), False, np.nan, lam, mu, [np.zeros(x.shape) for x in x_ids])
    if status not in (mb.SolveStatus.OPTIMAL, mb.SolveStatus.FEASIBLE):
        if integral or solver_name != "pdlp":
            return empty
        # PDLP stopped by the time limit still has its current iterate: its duals are
        # usable prices (the Lagrangian bound is valid for any prices), its x is not.
        try:
            duals = np.asarray(solver.dual_values(model.get_linear_constraints()), float)
        except Exception:  # noqa: BLE001 - no iterate to read
            return empty
        if not np.isfinite(duals).all():
            return empty
        lam.ravel()[uniq[binding]] = np.abs(duals[stock_rows])
        mu[cap_binding] = np.abs(duals[cap_rows])
        return LpResult(str(status), False, np.nan, lam, mu, empty.x)
    values = np.asarray(solver.values(model.get_variables()), float)
    xs = [np.where(x >= 0, values[np.maximum(x, 0)], 0.0) for x in x_ids]
    if integral:
        return LpResult(str(status), True, float(solver.objective_value), lam, mu, xs)
    duals = np.asarray(solver.dual_values(model.get_linear_constraints()), float)
    # Solvers differ in the sign they report for a <= row's dual; its size is the
    # price. Any prices >= 0 give a valid bound, which planner.optimize certifies.
    lam.ravel()[uniq[binding]] = np.abs(duals[stock_rows])
    mu[cap_binding] = np.abs(duals[cap_rows])
    optimal = status == mb.SolveStatus.OPTIMAL
    return LpResult(str(status), optimal, float(solver.objective_value), lam, mu, xs)
