"""Candidate nodes per order, pruned safely, laid out for vectorised solving.

Orders are grouped by their number of lines L so each group is a set of dense
arrays: (M orders, L lines, K candidate nodes). Every allowed node with stock
for one of an order's lines is ranked by its entry cost

    kappa[o,d] = F[o,d] + min over lines l that d can serve of (q U[l,d] - m[l])
    m[l]       = min(unfilled cost of l, min over all nodes n of q U[l,n])

and the K cheapest are kept. Any solution that uses a dropped node d costs at
least kappa[o,d] + sum_l m[l] (prices only raise line costs), so the order's
contribution to the lower bound is min(subproblem over candidates, D[o]) with
D[o] = (K+1)-th kappa + sum_l m[l]: pruning never makes the bound wrong.
For ship-complete orders only nodes that can fill every line whole qualify, and
kappa is simply the whole order's cost at that node.
"""

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from planner.core.cost import unit_cost
from planner.core.group import BLOCK, Group
from planner.core.instance import Instance, OrderCosts

IntA = npt.NDArray[np.int64]
FloatA = npt.NDArray[np.float64]
BoolA = npt.NDArray[np.bool_]


def candidate_count(n_lines: int, n_nodes: int, base: int) -> int:
    """More lines need more nodes to choose among; never more than exist."""
    return int(min(n_nodes, base + 2 * (n_lines - 1)))


def build_groups(inst: Instance, k: int = 12, single: int | None = None) -> list[Group]:
    """Candidate groups for every order, keyed by line count. One-line orders keep
    ``single`` candidates when given (they are cheap to price: no pairs of lines)."""
    counts = np.diff(inst.order_start)
    groups: list[Group] = []
    for n_lines in np.unique(counts):
        orders = np.flatnonzero(counts == n_lines)
        parts = [
            _build_block(
                inst, orders[i : i + BLOCK], int(n_lines), single or k if n_lines == 1 else k
            )
            for i in range(0, len(orders), BLOCK)
        ]
        groups.append(_concat(parts))
    return groups


def _build_block(inst: Instance, orders: IntA, n_lines: int, k: int) -> Group:
    costs = inst.order_costs(orders)
    m = len(orders)
    lines = inst.order_start[orders][:, None] + np.arange(n_lines)[None, :]  # (M, L)
    skus = inst.line_sku[lines]
    qty = inst.line_qty[lines]
    unit_penalty = inst.unfilled_unit_cost[lines]
    stock = inst.avail[:, skus].transpose(1, 2, 0)  # (M, L, N)
    unit = unit_cost(
        costs.per_lb[:, None, :],
        inst.line_weight[lines][:, :, None],
        inst.pick_cost[None, None, :],
        inst.weights.handling,
    )  # (M, L, N)
    allowed = np.isfinite(costs.fixed)  # (M, N)
    sc = inst.ship_complete[orders]

    # A node serves at most its stock; the rest of the line stays unfilled.
    take = np.minimum(qty[:, :, None], stock)
    line_cost = take * unit + (qty[:, :, None] - take) * unit_penalty[:, :, None]  # (M, L, N)
    may_use = (stock > 0) & allowed[:, None, :]  # stock the order may use
    line_cost = np.where(may_use, line_cost, np.inf)
    unit = np.where(may_use, unit, np.inf)
    m_line = np.minimum(unit_penalty * qty, line_cost.min(axis=2))  # (M, L)
    entry = (line_cost - m_line[:, :, None]).min(axis=1)  # (M, N), inf if no line servable
    kappa = np.where(allowed, costs.fixed + entry, np.inf)
    whole = allowed & (stock >= qty[:, :, None]).all(axis=1)
    kappa_sc = np.where(whole, costs.fixed + line_cost.sum(axis=1), np.inf)
    kappa = np.where(sc[:, None], kappa_sc, kappa)

    kk = candidate_count(n_lines, inst.n_nodes, k)
    if kk < inst.n_nodes:
        part = np.argpartition(kappa, kk, axis=1)
        cand = part[:, :kk]
        next_best = np.take_along_axis(kappa, part[:, kk : kk + 1], axis=1)[:, 0]
    else:
        cand = np.broadcast_to(np.arange(inst.n_nodes), (m, inst.n_nodes)).copy()
        next_best = np.full(m, np.inf)
    order_ = np.argsort(np.take_along_axis(kappa, cand, axis=1), axis=1, kind="stable")
    cand = np.take_along_axis(cand, order_, axis=1)
    cand_kappa = np.take_along_axis(kappa, cand, axis=1)
    usable = np.isfinite(cand_kappa)
    fixed = np.where(usable, np.take_along_axis(costs.fixed, cand, axis=1), np.inf)
    unit_c = np.where(
        usable[:, None, :], np.take_along_axis(unit, cand[:, None, :], axis=2), np.inf
    )
    stock_c = np.where(usable[:, None, :], np.take_along_axis(stock, cand[:, None, :], axis=2), 0)
    extra = np.where(sc, 0.0, m_line.sum(axis=1))
    dropped = next_best + extra  # inf when the next node is unusable or absent
    # The per-unit relaxation's charge for a unit at a dropped node: its cheapest one.
    per_unit = per_unit_charge(unit, costs.fixed, qty, np.where(may_use, stock, 0))
    is_cand = np.zeros(kappa.shape, bool)
    np.put_along_axis(is_cand, cand, True, axis=1)
    per_unit = np.where(is_cand[:, None, :], np.inf, per_unit)
    escape_node = per_unit.argmin(axis=2)
    escape_unit = np.take_along_axis(per_unit, escape_node[:, :, None], axis=2)[:, :, 0]
    escape_node = np.where(np.isfinite(escape_unit), escape_node, -1)
    return Group(
        orders=orders,
        lines=lines,
        skus=skus,
        qty=qty,
        unit_penalty=unit_penalty,
        cand=np.where(usable, cand, 0),
        fixed=fixed,
        unit=unit_c,
        stock=stock_c,
        ship_complete=sc,
        max_packages=inst.max_packages[orders],
        dropped_bound=dropped,
        escape_node=escape_node,
        escape_unit=escape_unit,
    )


def per_unit_charge(unit: FloatA, fixed: FloatA, qty: IntA, stock: IntA) -> FloatA:
    """What the per-unit relaxation (``planner.optimize.prices.flow``) charges a unit of line l at
    node n: ``U[l, n] + F[o, n] / C[o, n]``, C the most units a package of the order
    from n can carry (each line's quantity, capped by n's stock of its SKU). Every
    plan pays at least the sum of its units' charges: a package from n carries at most
    C units. (M, L, K) like ``unit``; inf where n can carry nothing."""
    carry = np.minimum(qty[:, :, None], stock).sum(axis=1)  # (M, K)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(carry > 0, fixed / np.maximum(carry, 1), np.inf)
    return unit + share[:, None, :]


def _concat(parts: list[Group]) -> Group:
    if len(parts) == 1:
        return parts[0]
    fields = Group.__dataclass_fields__
    return Group(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in fields})


@dataclass
class _Priced:
    """One block of a group costed against every node at prices lam, mu."""

    fixed: FloatA  # (B, N), inf where not allowed
    unit_true: FloatA  # (B, L, N) U, inf where no stock
    stock: IntA  # (B, L, N)
    floor: FloatA  # (B, N) least any choice that uses the node can cost; inf where unusable
    is_cand: BoolA  # (B, N)


def _usable_units(
    inst: Instance, costs: OrderCosts, lines: IntA, skus: IntA
) -> tuple[FloatA, IntA, BoolA]:
    """U per unit of each line at every node, inf where the order may not use the node's
    stock; the stock; where it may be used. (B, L, N) each. Stock at a node the order
    may not use (a store without ship-from-store) is no alternative: left in, it would
    make every floor as cheap as a pick."""
    stock = inst.avail[:, skus].transpose(1, 2, 0)
    unit = unit_cost(
        costs.per_lb[:, None, :],
        inst.line_weight[lines][:, :, None],
        inst.pick_cost[None, None, :],
        inst.weights.handling,
    )
    may_use = (stock > 0) & np.isfinite(costs.fixed)[:, None, :]
    return np.where(may_use, unit, np.inf), stock, may_use


def _price_block(inst: Instance, g: Group, sl: slice, lam: FloatA, mu: FloatA) -> _Priced:
    orders = g.orders[sl]
    costs = inst.order_costs(orders)
    lines, skus, qty = g.lines[sl], g.skus[sl], g.qty[sl]
    pen = g.unit_penalty[sl]
    unit_true, stock, _ = _usable_units(inst, costs, lines, skus)
    unit = unit_true + lam[:, skus].transpose(1, 2, 0) + mu[None, None, :]
    unit = np.minimum(unit, pen[:, :, None])
    umin = unit.min(axis=2)  # (B, L): a unit of the line never costs less
    m_line = qty * umin
    take = np.minimum(qty[:, :, None], stock)
    carried = take * unit + (qty[:, :, None] - take) * umin[:, :, None]
    carried = np.where(take > 0, carried, np.inf)
    kappa = costs.fixed + (carried - m_line[:, :, None]).min(axis=1)
    whole = (stock >= qty[:, :, None]).all(axis=1)
    kappa_sc = costs.fixed + (qty[:, :, None] * unit).sum(axis=1)
    sc = g.ship_complete[sl]
    kappa = np.where(sc[:, None], np.where(whole, kappa_sc, np.inf), kappa)
    kappa = np.where(np.isfinite(costs.fixed), kappa, np.inf)
    # A choice that uses the node either serves every line there alone (one package,
    # the rest unfilled) or opens a second package too: the floor is the lower case.
    alone = costs.fixed + (take * unit + (qty[:, :, None] - take) * pen[:, :, None]).sum(axis=1)
    second = costs.fixed.min(axis=1) + inst.weights.split  # inf-free: some node is allowed
    two = kappa + m_line.sum(axis=1)[:, None] + second[:, None]
    # One package at most: the order says so, or it has a single unit.
    one_package = ((g.max_packages[sl] == 1) | (qty.sum(axis=1) == 1))[:, None]
    floor = np.where(sc[:, None], kappa, np.where(one_package, alone, np.minimum(alone, two)))
    floor = np.where(np.isfinite(kappa), floor, np.inf)
    is_cand = np.zeros(kappa.shape, bool)
    r_idx, c_idx = np.nonzero(np.isfinite(g.fixed[sl]))  # padding points at node 0: skip it
    is_cand[r_idx, g.cand[sl][r_idx, c_idx]] = True
    return _Priced(costs.fixed, unit_true, stock, floor, is_cand)


def dropped_bound_at(inst: Instance, g: Group, lam: FloatA, mu: FloatA) -> FloatA:
    """D[o] at prices lam, mu: a floor on any choice of order o that uses a dropped node.

    Same argument as at zero prices (module docstring), with every unit cost
    raised by its price, so the bound keeps up with the prices.
    """
    out = np.empty(g.size)
    for start in range(0, g.size, BLOCK):
        sl = slice(start, min(start + BLOCK, g.size))
        pr = _price_block(inst, g, sl, lam, mu)
        out[sl] = np.where(pr.is_cand, np.inf, pr.floor).min(axis=1)
    return out


def widen(
    inst: Instance, g: Group, lam: FloatA, mu: FloatA, value: FloatA, extra: int
) -> list[Group]:
    """Add up to ``extra`` dropped nodes to orders for which one looks attractive.

    Column generation: at the current prices, a dropped node whose floor is
    below the order's priced optimum might be used by a better plan, so it
    becomes a candidate. Returns the orders that stay as they were and, as a
    group of its own (wider arrays), the orders that grew; empty parts left out,
    so only the orders that need more nodes pay for them.
    """
    m, k = g.cand.shape
    width = min(k + extra, inst.n_nodes)
    if width == k:
        return [g]
    cand = np.zeros((m, width), np.int64)
    cand[:, :k] = g.cand
    fixed = np.full((m, width), np.inf)
    fixed[:, :k] = g.fixed
    unit = np.full((m, g.n_lines, width), np.inf)
    unit[:, :, :k] = g.unit
    stock = np.zeros((m, g.n_lines, width), np.int64)
    stock[:, :, :k] = g.stock
    # The old floor no longer describes the dropped set: recompute with dropped_bound_at.
    dropped = np.full(m, -np.inf)
    grew = np.zeros(m, bool)
    for start in range(0, m, BLOCK):
        sl = slice(start, min(start + BLOCK, m))
        pr = _price_block(inst, g, sl, lam, mu)
        kappa = np.where(pr.is_cand, np.inf, pr.floor)
        floor = kappa.min(axis=1)
        attractive = floor < value[sl] - 1e-9
        if not attractive.any():
            continue
        rows = np.flatnonzero(attractive)
        order_ = np.argsort(kappa[rows], axis=1, kind="stable")
        picks = order_[:, : width - k]
        pk = np.take_along_axis(kappa[rows], picks, axis=1)
        ok = np.isfinite(pk)
        r = rows + start
        cand[r, k:] = np.where(ok, picks, 0)
        fixed[r, k:] = np.where(ok, pr.fixed[rows[:, None], picks], np.inf)
        unit[r, :, k:] = np.where(
            ok[:, None, :],
            pr.unit_true[
                rows[:, None, None], np.arange(g.n_lines)[None, :, None], picks[:, None, :]
            ],
            np.inf,
        )
        stock[r, :, k:] = np.where(
            ok[:, None, :],
            pr.stock[rows[:, None, None], np.arange(g.n_lines)[None, :, None], picks[:, None, :]],
            0,
        )
        grew[r] = True
    wide = replace(g, cand=cand, fixed=fixed, unit=unit, stock=stock, dropped_bound=dropped)
    parts = [g.take(np.flatnonzero(~grew)), wide.take(np.flatnonzero(grew))]
    return [p for p in parts if p.size]


def cheaper_nodes(
    inst: Instance, g: Group, lam: FloatA, mu: FloatA, line_price: FloatA, per_line: int
) -> tuple[IntA, IntA, FloatA]:
    """Column generation for the per-unit flow (``planner.optimize.prices.flow``): the (line,
    node) pairs off the flow's arcs whose priced charge ``U + F/C + lam + mu`` falls
    below the line's price (what a unit of it is worth to the flow), at most
    ``per_line`` per line, cheapest first, as (line, node, charge U + F/C). When none
    is left the flow's duals are feasible over every node, not only the candidates."""
    # A dropped node charges at least the line's escape arc (its cheapest at zero
    # prices): orders whose lines are all worth no more than that lack no arc (1M:
    # unchecked, this search took 65 s; with the check, it and a second flow 200-270 s).
    worth_all = np.minimum(line_price[g.lines], g.unit_penalty)
    g = g.take(np.flatnonzero((worth_all > g.escape_unit + 1e-6).any(axis=1)))
    lines_out: list[IntA] = []
    nodes_out: list[IntA] = []
    charge_out: list[FloatA] = []
    for start in range(0, g.size, BLOCK):
        sl = slice(start, min(start + BLOCK, g.size))
        orders, lines, skus, qty = g.orders[sl], g.lines[sl], g.skus[sl], g.qty[sl]
        costs = inst.order_costs(orders)
        unit, stock, may_use = _usable_units(inst, costs, lines, skus)
        charge = per_unit_charge(unit, costs.fixed, qty, np.where(may_use, stock, 0))
        priced = charge + lam[:, skus].transpose(1, 2, 0) + mu[None, None, :]
        # A ship-complete order comes whole from one node: only such nodes serve it.
        whole = (stock >= qty[:, :, None]).all(axis=1)  # (B, N)
        priced = np.where((g.ship_complete[sl][:, None] & ~whole)[:, None, :], np.inf, priced)
        r_idx, c_idx = np.nonzero(np.isfinite(g.fixed[sl]))
        priced[r_idx, :, g.cand[sl][r_idx, c_idx]] = np.inf  # the candidates' arcs exist
        l_idx = np.nonzero(g.escape_node[sl] >= 0)
        priced[l_idx[0], l_idx[1], g.escape_node[sl][l_idx]] = np.inf  # and the escape arc
        worth = np.minimum(line_price[lines], g.unit_penalty[sl]).reshape(-1) - 1e-6
        flat = priced.reshape(-1, priced.shape[2])
        rows = np.flatnonzero((flat < worth[:, None]).any(axis=1))
        if not len(rows):
            continue
        picks = np.argsort(flat[rows], axis=1, kind="stable")[:, :per_line]
        ok = np.take_along_axis(flat[rows], picks, axis=1) < worth[rows][:, None]
        lines_out.append(np.broadcast_to(lines.reshape(-1)[rows][:, None], picks.shape)[ok])
        nodes_out.append(picks[ok])
        flat_charge = charge.reshape(-1, charge.shape[2])[rows]
        charge_out.append(np.take_along_axis(flat_charge, picks, axis=1)[ok])
    empty = np.zeros(0, np.int64)
    return (
        np.concatenate([empty, *lines_out]),
        np.concatenate([empty, *nodes_out]),
        np.concatenate([np.zeros(0), *charge_out]),
    )
