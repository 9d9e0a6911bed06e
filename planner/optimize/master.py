"""The Dantzig-Wolfe master: choose one column per order under stock and capacity.

    min  sum_o c_e[o] + sum_p (c_p - c_e[o(p)]) z_p
    s.t. sum_{p of o} z_p <= 1                 (pi_o)   the rest is the empty column
         sum_p a_p[n, sku] z_p <= avail[n, sku] (-lam)  rule 1
         sum_p units_p[n] z_p <= capacity[n]    (-mu)   rule 2
         0 <= z_p <= 1  (integer in the restricted-master MIP)

c_e[o] is the order left wholly unfilled, so "no column" is always feasible.
A stock or capacity row is written only where the columns could over-ask it
(the sum over orders of each order's largest use exceeds the supply): any
other row is implied by the convexity rows. Orders whose columns touch no
written row are solved on their own (their cheapest column), outside the LP.

Solved with OR-Tools GLOP (dual simplex), or on large batches OR-Tools' PDLP
(first-order, both cores) through its own API, which takes a starting point: the
last round's solution (new columns at 0; 100k at 600 s, late rounds' LPs 2.5-3 s
where the first took 8 s). Duals give the prices lam, mu of the
Lagrangian bound and of column generation. Assembled as one sparse matrix.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from google.protobuf import text_format
from ortools.linear_solver.python import model_builder as mb
from ortools.pdlp import solve_log_pb2, solvers_pb2
from ortools.pdlp.python import pdlp

from planner.optimize.budget import Budget, interruptible
from planner.optimize.columns import Columns

IntA = npt.NDArray[np.int64]
FloatA = npt.NDArray[np.float64]


@dataclass
class MasterResult:
    status: str
    optimal: bool
    value: float  # objective over the orders in scope (the empty column's cost included)
    z: FloatA  # (P,) column values
    lam: FloatA  # (N, S) stock prices >= 0
    mu: FloatA  # (N,) capacity prices >= 0
    ref: FloatA  # (O,) priced value each order already has: a column's reduced cost is
    # its priced cost minus ref[o]
    rows: int  # rows of the LP that was solved
    cols: int
    pi: FloatA | None = None  # (O,) convexity duals (PDLP's warm start for the next LP)


@dataclass(frozen=True)
class SolveOptions:
    """How the master is solved: the LP by GLOP (or PDLP), or the MIP by SCIP."""

    integral: bool = False
    time_limit: float | None = None
    solver_name: str = "glop"
    params: str = ""
    hint: IntA | None = None  # integral only: columns of a known feasible choice to start from
    warm: MasterResult | None = None  # PDLP only: an earlier solution over a prefix of
    # these columns, that PDLP starts from
    budget: Budget | None = None  # its stop() interrupts GLOP and SCIP (PDLP runs to its limit)


@dataclass
class _Substituted:
    """The master with each order's favourite substituted out (see ``solve_master``)."""

    fav: IntA  # (O,) each order's favourite column, -1: the empty one
    fav_rel: FloatA  # (O,) its saving over the empty column (<= 0)
    order_in: npt.NDArray[np.bool_]  # (O,) the order has a column on a written row
    lp_orders: IntA  # those orders
    move_cols: IntA  # columns with a move variable d_p
    to_empty: IntA  # orders with a move to the empty column d_e
    var_order: IntA
    var_cost: FloatA
    by_col: sp.csr_matrix  # (P, rows) usage of every column on the written rows
    matrix: sp.csr_matrix  # (rows, vars)
    row_ub: FloatA
    cells: IntA  # written stock rows (flat node * skus + sku)
    nodes: IntA  # written capacity rows

    @property
    def n_conv(self) -> int:
        return len(self.lp_orders)

    @property
    def n_rows(self) -> int:
        return len(self.row_ub)

    @property
    def n_vars(self) -> int:
        return len(self.var_cost)


def solve_master(
    cols: Columns,
    sku_of_line: IntA,
    empty_cost: FloatA,
    scope: IntA,
    avail: npt.NDArray[np.int64],
    capacity: IntA,
    options: SolveOptions | None = None,
) -> MasterResult:
    """Solve the master over the orders ``scope`` with the columns ``cols`` (all of
    them orders in scope). ``avail``/``capacity`` are what these orders may use.

    Each order's favourite (its cheapest column, or the empty one) is substituted
    out: the LP's variables are moves away from the favourite, all with cost >= 0.
    The all-favourites start is then dual feasible and the dual simplex only has
    to repair the rows the favourites over-ask, not place every order.
    """
    options = options or SolveOptions()
    lam, mu = np.zeros(avail.shape), np.zeros(len(capacity))
    if not cols.size:  # every order in scope left unfilled
        value = float(empty_cost[scope].sum())
        return MasterResult("OPTIMAL", True, value, np.zeros(0), lam, mu, empty_cost.copy(), 0, 0)
    rel = cols.cost - empty_cost[cols.order]  # c' = saving over leaving the order unfilled
    sub = _substitute(cols, sku_of_line, rel, avail, capacity, len(empty_cost))
    z = np.zeros(cols.size)
    z[sub.fav[sub.fav >= 0]] = 1.0
    ref = empty_cost + sub.fav_rel  # priced value each order has now (no prices on its rows)
    constant = float(empty_cost[scope].sum() + sub.fav_rel[scope].sum())
    if not sub.n_conv:
        return MasterResult("OPTIMAL", True, constant, z, lam, mu, ref, 0, 0)
    d, duals, status, optimal = _solve(sub, cols, options)
    if d is None or duals is None:
        return MasterResult(status, False, np.nan, z, lam, mu, ref, sub.n_rows, sub.n_vars)
    z[sub.move_cols] = d[: len(sub.move_cols)]
    moved = np.bincount(sub.var_order, weights=d, minlength=len(empty_cost))
    has_fav = sub.fav >= 0
    z[sub.fav[has_fav]] = np.clip(1.0 - moved[has_fav], 0.0, 1.0)
    value = constant + float(sub.var_cost @ d)
    pi = np.zeros(len(empty_cost))
    if not options.integral:
        _prices_from_duals(sub, duals, lam, mu, pi, ref)
    return MasterResult(status, optimal, value, z, lam, mu, ref, sub.n_rows, sub.n_vars, pi)


def _substitute(
    cols: Columns,
    sku_of_line: IntA,
    rel: FloatA,
    avail: npt.NDArray[np.int64],
    capacity: IntA,
    n_orders: int,
) -> _Substituted:
    """Favourites, the rows that must be written, and the move variables' columns."""
    n_nodes, n_skus = avail.shape
    n_cells = n_nodes * n_skus
    # Usage per (column, cell) and per (column, node).
    cell = cols.ent_node * n_skus + sku_of_line[cols.ent_line]
    col_cell, cell_use = _sum_by(cols.ent_col, cell, cols.ent_qty, n_cells)
    col_node, node_use = _sum_by(cols.ent_col, cols.ent_node, cols.ent_qty, n_nodes)
    cell_rows = _over_asked(cols.order, col_cell, cell_use, avail.ravel(), n_cells)
    node_rows = _over_asked(cols.order, col_node, node_use, capacity, n_nodes)
    # Favourites: the cheapest column when it beats the empty one (-1: the empty one).
    best = _argmin_by(cols.order, rel, n_orders)
    fav = np.full(n_orders, -1)
    has = best >= 0
    fav[has] = np.where(rel[best[has]] < 0, best[has], -1)
    fav_rel = np.where(fav >= 0, rel[np.maximum(fav, 0)], 0.0)
    touches = np.zeros(cols.size, bool)
    touches[col_cell[0][cell_rows[col_cell[1]]]] = True
    touches[col_node[0][node_rows[col_node[1]]]] = True
    order_in = np.zeros(n_orders, bool)
    order_in[cols.order[touches]] = True
    lp_orders = np.flatnonzero(order_in)
    # Variables: d_p for every non-favourite column of an LP order, d_e (to the empty
    # column) for every LP order whose favourite is not already the empty one.
    move_cols = np.flatnonzero(order_in[cols.order] & (fav[cols.order] != np.arange(cols.size)))
    to_empty = lp_orders[fav[lp_orders] >= 0]
    var_order = np.concatenate([cols.order[move_cols], to_empty])
    var_cost = np.concatenate([rel[move_cols] - fav_rel[cols.order[move_cols]], -fav_rel[to_empty]])
    cells, nodes = np.flatnonzero(cell_rows), np.flatnonzero(node_rows)
    n_conv = len(lp_orders)
    row_of_key = np.full(n_cells + n_nodes, -1)
    row_of_key[cells] = n_conv + np.arange(len(cells))
    row_of_key[n_cells + nodes] = n_conv + len(cells) + np.arange(len(nodes))
    n_rows = n_conv + len(cells) + len(nodes)
    # Usage of every column on the written rows, as (column, row, units).
    u_col = np.concatenate([col_cell[0], col_node[0]])
    u_row = row_of_key[np.concatenate([col_cell[1], n_cells + col_node[1]])]
    u_val = np.concatenate([cell_use, node_use]).astype(float)
    keep = u_row >= 0
    by_col = sp.csr_matrix((u_val[keep], (u_col[keep], u_row[keep])), shape=(cols.size, n_rows))
    sub = _Substituted(
        fav, fav_rel, order_in, lp_orders, move_cols, to_empty, var_order, var_cost,
        by_col, sp.csr_matrix((0, 0)), np.zeros(n_rows), cells, nodes,
    )  # fmt: skip
    sub.matrix, sub.row_ub = _rows(sub, avail, capacity)
    return sub


def _rows(
    sub: _Substituted, avail: npt.NDArray[np.int64], capacity: IntA
) -> tuple[sp.csr_matrix, FloatA]:
    """The constraint matrix over the move variables and the rows' upper bounds:
    a_p - a_fav for moves, -a_fav for moves to empty, what the favourites leave."""
    n_rows, n_vars = sub.n_rows, sub.n_vars
    order_row = np.full(len(sub.fav), -1)
    order_row[sub.lp_orders] = np.arange(sub.n_conv)
    fav_of_var = sub.fav[sub.var_order]
    a_move = sub.by_col[sub.move_cols]
    fav_rows = np.where(fav_of_var >= 0, fav_of_var, 0)
    a_fav = sub.by_col[fav_rows].multiply((fav_of_var >= 0)[:, None])
    coef = sp.vstack([a_move, sp.csr_matrix((len(sub.to_empty), n_rows))]) - a_fav
    conv = sp.csr_matrix(
        (np.ones(n_vars), (np.arange(n_vars), order_row[sub.var_order])), shape=(n_vars, n_rows)
    )
    matrix = (coef + conv).T.tocsr()
    matrix.eliminate_zeros()
    fav_use = np.asarray(sub.by_col[sub.fav[sub.fav >= 0]].sum(axis=0)).ravel()
    supply = np.concatenate(
        [np.ones(sub.n_conv), avail.ravel()[sub.cells].astype(float),
         capacity[sub.nodes].astype(float)]
    )  # fmt: skip
    row_ub = supply - fav_use
    row_ub[: sub.n_conv] = 1.0
    return matrix, row_ub


def _solve(
    sub: _Substituted, cols: Columns, options: SolveOptions
) -> tuple[FloatA | None, FloatA | None, str, bool]:
    """Move values, row duals, status, optimal: by PDLP (the LP, on large batches) or
    model_builder."""
    if options.solver_name == "pdlp" and not options.integral:
        start = None
        if options.warm is not None:
            start = _warm_start(options.warm, sub, cols.order)
        return _pdlp(
            sub.var_cost, sub.matrix, sub.row_ub, options.params, options.time_limit, start
        )
    return _mb_solve(sub, cols, options)


def _prices_from_duals(
    sub: _Substituted, duals: FloatA, lam: FloatA, mu: FloatA, pi: FloatA, ref: FloatA
) -> None:
    """Fill the prices (lam, mu >= 0), convexity duals and each order's priced value.

    Reduced cost of a new column q of order o: priced(q) - ref[o], where
    ref[o] = c_fav + (lam, mu) . a_fav + pi_o."""
    n_conv, n_cells = sub.n_conv, len(sub.cells)
    lam.ravel()[sub.cells] = np.maximum(0.0, -duals[n_conv : n_conv + n_cells])
    mu[sub.nodes] = np.maximum(0.0, -duals[n_conv + n_cells :])
    pi[sub.lp_orders] = duals[:n_conv]
    prices = np.zeros(sub.n_rows)
    prices[n_conv:] = -duals[n_conv:]
    fav_list = np.flatnonzero((sub.fav >= 0) & sub.order_in)
    ref[fav_list] += sub.by_col[sub.fav[fav_list]] @ prices
    ref[sub.lp_orders] += np.minimum(0.0, duals[:n_conv])


def _mb_solve(
    sub: _Substituted, cols: Columns, options: SolveOptions
) -> tuple[FloatA | None, FloatA | None, str, bool]:
    """The substituted master through model_builder (GLOP, SCIP): move values and
    row duals (None if no solution was found; duals 0 for a MIP), status, optimal."""
    n_vars, n_rows = sub.n_vars, sub.n_rows
    model = mb.Model()
    fill_model(
        model,
        np.zeros(n_vars),
        np.ones(n_vars),
        sub.var_cost,
        np.full(n_rows, -np.inf),
        sub.row_ub,
        sub.matrix,
    )
    if options.integral:
        for v in range(n_vars):
            model.helper.set_var_integrality(v, True)
        if options.hint is not None:
            _add_hint(model, options.hint, cols, sub)
    solver = mb.Solver(options.solver_name)
    solver.enable_output(False)
    params = options.params
    if options.solver_name == "glop":
        params = "use_dual_simplex: true " + params
    if params:
        solver.set_solver_specific_parameters(params)
    if options.time_limit is not None:
        solver.set_time_limit_in_seconds(max(0.01, options.time_limit))
    with interruptible(options.budget, solver.stop_search):
        status = solver.solve(model)
    if status not in (mb.SolveStatus.OPTIMAL, mb.SolveStatus.FEASIBLE):
        return None, None, str(status), False
    d = np.clip(np.asarray(solver.values(model.get_variables()), float), 0.0, 1.0)
    duals = np.zeros(n_rows)
    if not options.integral:
        duals = np.asarray(solver.dual_values(model.get_linear_constraints()), float)
    if not (np.isfinite(d).all() and np.isfinite(duals).all()):
        return None, None, str(status), False
    return d, duals, str(status), status == mb.SolveStatus.OPTIMAL


def fill_model(
    model: mb.Model,
    lb: FloatA,
    ub: FloatA,
    obj: FloatA,
    row_lb: FloatA,
    row_ub: FloatA,
    matrix: sp.csr_matrix,
) -> None:
    """Variables (bounds, objective) and rows (ranges, CSR matrix) in one call."""
    helper: Any = model.helper  # its stub misdeclares the arrays (ndarray[float64, ...])
    helper.fill_model_from_sparse_data(lb, ub, obj, row_lb, row_ub, matrix)


def _pdlp(
    var_cost: FloatA,
    matrix: sp.csr_matrix,
    row_ub: FloatA,
    params: str,
    time_limit: float | None,
    start: tuple[FloatA, FloatA] | None,
) -> tuple[FloatA | None, FloatA | None, str, bool]:
    """The substituted master by OR-Tools' PDLP, from ``start`` (moves, row duals) when
    given: move values, row duals, status, optimal. A run stopped by its time limit
    still returns its iterate: its duals are prices, and the bound is valid at any."""
    qp = pdlp.QuadraticProgram()
    qp.objective_vector = var_cost
    qp.constraint_matrix = matrix
    qp.constraint_lower_bounds = np.full(len(row_ub), -np.inf)
    qp.constraint_upper_bounds = row_ub
    qp.variable_lower_bounds = np.zeros(len(var_cost))
    qp.variable_upper_bounds = np.ones(len(var_cost))
    settings = text_format.Parse(params, solvers_pb2.PrimalDualHybridGradientParams())
    if time_limit is not None:
        settings.termination_criteria.time_sec_limit = max(0.01, time_limit)
    initial = None
    if start is not None:
        initial = pdlp.PrimalAndDualSolution()
        initial.primal_solution, initial.dual_solution = start
    result = pdlp.primal_dual_hybrid_gradient(qp, settings, initial_solution=initial)
    reason = result.solve_log.termination_reason
    status = solve_log_pb2.TerminationReason.Name(reason)
    d = np.clip(np.asarray(result.primal_solution, float), 0.0, 1.0)
    duals = np.asarray(result.dual_solution, float)
    if len(d) != len(var_cost) or not (np.isfinite(d).all() and np.isfinite(duals).all()):
        return None, None, status, False
    return d, duals, status, reason == solve_log_pb2.TERMINATION_REASON_OPTIMAL


def _warm_start(warm: MasterResult, sub: _Substituted, col_order: IntA) -> tuple[FloatA, FloatA]:
    """PDLP's start from an earlier solution: its column values (new columns at 0),
    its stock and capacity prices, and its convexity duals (orders new to the LP: 0)."""
    known = len(warm.z)
    move_cols = sub.move_cols
    d = np.zeros(sub.n_vars)
    old = move_cols < known
    d[: len(move_cols)][old] = warm.z[move_cols[old]]
    served = np.bincount(col_order[:known], weights=warm.z, minlength=len(warm.ref))
    d[len(move_cols) :] = np.clip(1.0 - served[sub.to_empty], 0.0, 1.0)
    pi = warm.pi[sub.lp_orders] if warm.pi is not None else np.zeros(sub.n_conv)
    return d, np.concatenate([pi, -warm.lam.ravel()[sub.cells], -warm.mu[sub.nodes]])


def _add_hint(model: mb.Model, hint: IntA, cols: Columns, sub: _Substituted) -> None:
    """The hinted columns as values of the move variables (fav -> column, fav -> empty)."""
    chosen = np.zeros(cols.size, bool)
    chosen[hint] = True
    served = np.zeros(len(sub.fav), bool)
    served[cols.order[hint]] = True
    values = np.concatenate([chosen[sub.move_cols], ~served[sub.to_empty]]).astype(float)
    for v, value in enumerate(values.tolist()):
        model.add_hint(model.var_from_index(v), value)


def _sum_by(col: IntA, key: IntA, qty: IntA, n_keys: int) -> tuple[tuple[IntA, IntA], IntA]:
    """Units per distinct (column, key): ((columns, keys), units)."""
    combo = col * n_keys + key
    uniq, inv = np.unique(combo, return_inverse=True)
    use = np.bincount(inv, weights=qty).astype(np.int64)
    return (uniq // n_keys, uniq % n_keys), use


def _over_asked(
    col_order: IntA, pairs: tuple[IntA, IntA], use: IntA, supply: IntA, n_keys: int
) -> npt.NDArray[np.bool_]:
    """Keys whose potential use (each order's largest use, summed) exceeds supply."""
    c_idx, key = pairs
    combo = col_order[c_idx] * n_keys + key
    uniq, inv = np.unique(combo, return_inverse=True)
    most = np.zeros(len(uniq), np.int64)
    np.maximum.at(most, inv, use)
    potential = np.bincount(uniq % n_keys, weights=most, minlength=n_keys)
    return potential > supply


def _argmin_by(group: IntA, value: FloatA, n_groups: int) -> IntA:
    """Per group, the position (into ``value``) of its smallest value; -1 if none."""
    order = np.lexsort((value, group))
    first = np.ones(len(order), bool)
    first[1:] = group[order][1:] != group[order][:-1]
    out = np.full(n_groups, -1)
    out[group[order][first]] = order[first]
    return out
