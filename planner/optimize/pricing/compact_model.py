"""The compact model of some orders (y packages, x units, u unfilled, s splits) as
sparse arrays for OR-Tools: used by ``planner.optimize.pricing.exact`` to solve orders'
priced choices exactly. Assembled with numpy and handed to the model builder
as one CSR matrix."""

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from ortools.linear_solver.python import model_builder as mb

from planner.core.group import Group
from planner.optimize.master import fill_model

FloatA = npt.NDArray[np.float64]
IntA = npt.NDArray[np.int64]
INF = np.inf


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
        self.n_orders = 0
        self.owner: list[IntA] = []  # the order (0..n_orders-1) each column belongs to

    def cols(self, lb: npt.ArrayLike, ub: npt.ArrayLike, obj: FloatA, owner: IntA) -> IntA:
        ids = np.arange(self.n_cols, self.n_cols + len(obj))
        self.n_cols += len(obj)
        self.owner.append(np.asarray(owner, np.int64))
        self.lb.append(np.asarray(lb, float))
        self.ub.append(np.asarray(ub, float))
        self.obj.append(np.asarray(obj, float))
        return ids

    def rows(self, lo: npt.ArrayLike, hi: npt.ArrayLike) -> IntA:
        lower = np.asarray(lo, float)
        ids = np.arange(self.n_rows, self.n_rows + len(lower))
        self.n_rows += len(lower)
        self.row_lb.append(lower)
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
        fill_model(
            model,
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
    first = b.n_orders
    b.n_orders += m
    x = np.full((m, n_lines, k), -1)
    cost_x = g.unit + g.fixed[:, None, :] if merged else g.unit
    x_owner = first + np.nonzero(usable_x)[0]
    x[usable_x] = b.cols(np.zeros(usable_x.sum()), cap_x[usable_x], cost_x[usable_x], x_owner)
    u_owner = first + np.repeat(np.arange(m), n_lines)
    u = b.cols(np.zeros(m * n_lines), g.qty.ravel(), g.unit_penalty.ravel(), u_owner)
    u = u.reshape(m, n_lines)
    # Every unit placed: sum_k x + u = q.
    rows = b.rows(g.qty.ravel(), g.qty.ravel()).reshape(m, n_lines)
    b.coef(rows, u, 1.0)
    rr = np.broadcast_to(rows[:, :, None], x.shape)
    b.coef(rr[usable_x], x[usable_x], 1.0)
    if merged:
        return x
    y = np.full((m, k), -1)
    y_owner = first + np.nonzero(usable_y)[0]
    y[usable_y] = b.cols(
        np.zeros(usable_y.sum()), np.ones(usable_y.sum()), g.fixed[usable_y], y_owner
    )
    b.int_cols.append(y[usable_y])
    s = b.cols(np.zeros(m), np.full(m, INF), np.full(m, split), first + np.arange(m))
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
