"""Stock and capacity prices from a min-cost flow: the per-unit relaxation of sourcing.

Charge every unit of order o that node n serves ``U[l, n] + F[o, n] / C[o, n]``
(``candidates.per_unit_charge``; C: the most units a package of o from n can carry,
each line's quantity capped by n's stock of its SKU). A package from n carries at
most C units, so any plan costs at least the sum of its units' charges (splits,
ship-complete and package limits only add). Capping by stock matters: a node that
holds one line of a two-line order ships that line in a package of its own (100k
benchmark: L $1.754M with the order's units Q in place of C, $1.769M with C).
Without packages the problem is a transportation problem, a min-cost flow that
OR-Tools solves exactly:

    line l (supply qty) --U + F/C, cap min(qty, stock)--> row (n, sku)
    row (n, sku) --0, cap avail--> node n --0, cap capacity--> sink
    line l --unfilled cost--> sink

The arcs go to the order's candidate nodes and to the line's cheapest dropped node
(``Group.escape_node``). Their optimal duals price every (node, sku) row and
every node's capacity where the flow saturates them. The Lagrangian bound of the
real problem is valid at any prices (``planner.optimize.pricing.orders``), and at these it is far
above zero prices: the flow sees every unit's alternatives at once, where column
generation's first LPs lack the columns (10,000-order benchmark: L $179.3k after
0.9 s, short SKUs' and clearing prices $168.4k, the third LP round $183.6k).
On a network of 500 nodes (1M orders, 16-40 candidates each) the flow prices
candidates above nodes it does not see, where the orders go (L $10.17M against the
flow's $16.53M); ``with_cheaper_arcs`` adds the arcs its prices say it lacks and
solves it again (L $16.59M; short SKUs' and clearing prices $15.56M).

The duals come from the residual graph of the optimal flow: D(v), the cheapest
residual path from v to the sink, is a dual-feasible potential (Bellman-Ford, in
integer cents so that zero-cost cycles settle exactly); a row's price is
D(row) - D(node), a node's D(node), both at least zero. These are the highest optimal
potentials: a saturated row is priced at what one more unit would save. Minus the
cheapest residual path from the sink to v gives the lowest (``_low_potentials``: mu and
lam + mu as low as any optimal dual has them; a lam alone may be higher). Every point
between is optimal too, and L along that segment differs (10k benchmark, seed 7:
$179.3k at the highest, $181.3k at the lowest; 1,500: best halfway, +0.2 %; 100k:
halfway loses, three quarters up gains 0.02 %).
"""

import time
from dataclasses import dataclass, replace
from functools import reduce

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

from parallel.executor import Executor, TaskFailed
from planner.core.group import Group
from planner.core.instance import Instance
from planner.core.plan import Plan
from planner.optimize.candidates import cheaper_nodes, per_unit_charge
from planner.optimize.workers import LOCAL

FloatA = npt.NDArray[np.float64]
IntA = npt.NDArray[np.int64]
BoolA = npt.NDArray[np.bool_]
CENTS = 100.0  # the flow's costs are integers: cents
MAX_PASSES = 10_000  # Bellman-Ford passes; the benchmark batches settle in 11-38
NEVER = np.int64(1) << 60  # "no residual path" in cents
SPLIT_FROM = 1_000_000  # arcs; larger flows are solved in parts side by side
# arcs from which a cluster's flow has one part per worker (and one here), not two: the
# flow's time grows faster than its arcs, so smaller parts pay where the flow is large
# (1M orders, 2 workers: 188 s in three parts, 422 s in two) but not where starting the
# parts costs more than it saves (100k orders, 3.6M arcs: 12-16 s in three, 9 s in two)
SPLIT_WIDE_FROM = 10_000_000
CHILD_PATIENCE = 3.0  # the other parts may take this many times as long as ours


@dataclass
class FlowPrices:
    """Prices (lam, mu) from the flow's duals, and the flow it solved."""

    lam: FloatA  # (N, S) $ per unit of stock
    mu: FloatA  # (N,) $ per unit of node capacity
    value: float  # the flow's optimum over its arcs, $ (not itself a bound)
    units: Plan  # what the flow allocates (packages ignored: may break rules 4 and 5)
    arcs: int
    passes: int  # Bellman-Ford passes the potentials took
    line_price: FloatA  # (lines,) $ a unit of each line is worth to the flow: D(line)
    low_lam: FloatA  # the duals from the lowest optimal potentials (lam, mu: the highest)
    low_mu: FloatA
    graph: "_Arcs | None" = None  # the arcs it was solved over (not sent back by a child)


def between(
    high: tuple[FloatA, FloatA], low: tuple[FloatA, FloatA], t: float
) -> tuple[FloatA, FloatA]:
    """The prices t of the way from ``low`` (0) to ``high`` (1): between a flow's lowest
    and highest optimal duals, an optimal dual too."""
    return t * high[0] + (1 - t) * low[0], t * high[1] + (1 - t) * low[1]


@dataclass
class _Arcs:
    """Line -> (node, sku) arcs over each order's candidate nodes."""

    line: IntA
    row: IntA  # node * S + sku
    cost: IntA  # cents
    cap: IntA

    def take(self, mask: npt.NDArray[np.bool_]) -> "_Arcs":
        return _Arcs(self.line[mask], self.row[mask], self.cost[mask], self.cap[mask])

    def extend(self, other: "_Arcs") -> "_Arcs":
        return _Arcs(*(np.concatenate([getattr(self, f), getattr(other, f)])
                       for f in ("line", "row", "cost", "cap")))  # fmt: skip


def _candidate_arcs(inst: Instance, groups: list[Group]) -> _Arcs:
    n_skus = inst.avail.shape[1]
    parts: list[tuple[IntA, IntA, IntA, IntA]] = []
    for g in groups:
        per_unit = per_unit_charge(g.unit, g.fixed, g.qty, g.stock)  # (M, L, K)
        cap = np.minimum(g.stock, g.qty[:, :, None])
        # A unit dearer than leaving it unfilled never flows: no arc.
        ok = np.isfinite(per_unit) & (cap > 0) & (per_unit < g.unit_penalty[:, :, None])
        line = np.broadcast_to(g.lines[:, :, None], ok.shape)[ok]
        row = (g.cand[:, None, :] * n_skus + g.skus[:, :, None])[ok]
        parts.append((line, row, np.round(per_unit[ok] * CENTS).astype(np.int64), cap[ok]))
        # One more arc per line, to its cheapest dropped node: without it, candidates'
        # stock could be priced above an alternative the bound's orders do see.
        e_node = g.escape_node
        e_cap = np.where(e_node >= 0, inst.avail[np.maximum(e_node, 0), g.skus], 0)
        e_cap = np.minimum(e_cap, g.qty)
        ok = (e_cap > 0) & (g.escape_unit < g.unit_penalty)
        parts.append((
            g.lines[ok], e_node[ok] * n_skus + g.skus[ok],
            np.round(g.escape_unit[ok] * CENTS).astype(np.int64), e_cap[ok],
        ))  # fmt: skip
    empty = np.zeros(0, np.int64)
    line, row, cost, cap = (np.concatenate([empty] + [p[i] for p in parts]) for i in range(4))
    return _Arcs(line, row, cost, cap.astype(np.int64))


def flow_prices(
    inst: Instance, groups: list[Group], executor: Executor | None = None
) -> FlowPrices:
    """Solve the per-unit flow over the groups' candidate nodes and each line's
    cheapest dropped node; price by its duals (a large flow's second half on
    ``executor``: this machine's forked child by default)."""
    return _flow(inst, _candidate_arcs(inst, groups), executor)


def with_cheaper_arcs(
    inst: Instance,
    groups: list[Group],
    fp: FlowPrices,
    per_line: int,
    executor: Executor | None = None,
) -> FlowPrices | None:
    """The flow again, with the arcs its prices say it lacks: to dropped nodes whose
    priced charge undercuts what a unit of the line is worth to it
    (``candidates.cheaper_nodes``, ``per_line`` per line); None when there are none.

    The flow sees only the candidates, so its duals may price them above nodes it does
    not see, where the orders go (1M orders on 500 nodes: the flow $16.53M, L at its
    prices $10.17M; with one round of these arcs, 436,428 more, L $16.59M; a second
    round added $4k in a first version of this search)."""
    n_skus = inst.avail.shape[1]
    found = [cheaper_nodes(inst, g, fp.lam, fp.mu, fp.line_price, per_line) for g in groups]
    line = np.concatenate([f[0] for f in found])
    node = np.concatenate([f[1] for f in found])
    charge = np.concatenate([f[2] for f in found])
    assert fp.graph is not None  # every flow_prices answer carries its arcs
    # Arcs an earlier call added are in the graph already (saturated, they may still
    # undercut the line's price).
    old = fp.graph.line * inst.n_nodes + fp.graph.row // n_skus
    new = ~np.isin(line * inst.n_nodes + node, old)
    line, node, charge = line[new], node[new], charge[new]
    if not len(line):
        return None
    sku = inst.line_sku[line]
    cap = np.minimum(inst.avail[node, sku], inst.line_qty[line]).astype(np.int64)
    more = _Arcs(line, node * n_skus + sku, np.round(charge * CENTS).astype(np.int64), cap)
    return _flow(inst, fp.graph.extend(more), executor)


def _flow(inst: Instance, arcs: _Arcs, executor: Executor | None) -> FlowPrices:
    """The flow over these arcs and its duals.

    A large flow is solved in parts side by side: the SKUs split into parts of as many
    arcs each (a line's arcs all carry its SKU) and each node's capacity split in
    proportion to what each part could ask of it; the first part is solved here, the
    others on ``executor`` (the flow holds the GIL: locally one forked process, so two
    halves; on a cluster one part per worker above ``SPLIT_WIDE_FROM`` arcs). The parts'
    duals are prices like any other (the bound is valid at any); 100k orders: 10 s in
    halves instead of 18 s."""
    no_arcs = np.ones(inst.n_lines, bool)
    no_arcs[arcs.line] = False
    unserved = float((inst.unfilled_unit_cost * inst.line_qty)[no_arcs].sum())
    if len(arcs.line) < SPLIT_FROM:
        one = _solve(inst, arcs, inst.capacity)
        return replace(one, value=one.value + unserved, graph=arcs)
    on = executor or LOCAL.isolated
    wide = on is not LOCAL.isolated and len(arcs.line) >= SPLIT_WIDE_FROM
    n = max(2, on.workers + 1) if wide else 2
    (a, cap_a), *others = _parts(inst, arcs, n)
    pending = [(on.submit(_solve, inst, b, cap_b), b, cap_b) for b, cap_b in others]
    started = time.perf_counter()
    parts = [_solve(inst, a, cap_a)]
    # The parts are about as large: a worker far slower than this process is stuck.
    waited = CHILD_PATIENCE * (time.perf_counter() - started) + 10.0
    deadline = time.perf_counter() + waited
    for handle, b, cap_b in pending:
        try:
            parts.append(handle.result(timeout=max(0.0, deadline - time.perf_counter())))
        except TaskFailed:  # it failed or is stuck: its part is solved here
            parts.append(_solve(inst, b, cap_b))
    return FlowPrices(
        reduce(np.add, [p.lam for p in parts]),  # disjoint rows
        np.maximum.reduce([p.mu for p in parts]),
        sum(p.value for p in parts) + unserved,
        reduce(Plan.extend, [p.units for p in parts]),
        sum(p.arcs for p in parts),
        max(p.passes for p in parts),
        np.minimum.reduce([p.line_price for p in parts]),  # disjoint lines
        reduce(np.add, [p.low_lam for p in parts]),
        np.maximum.reduce([p.low_mu for p in parts]),
        arcs,
    )


def _halves(inst: Instance, arcs: _Arcs) -> list[tuple[_Arcs, IntA]]:
    """The arcs of two halves of the SKUs and each half's share of every node's capacity."""
    return _parts(inst, arcs, 2)


def _parts(inst: Instance, arcs: _Arcs, n: int) -> list[tuple[_Arcs, IntA]]:
    """The arcs of ``n`` parts of the SKUs (as many arcs each) and each part's share of
    every node's capacity (in proportion to the units its arcs could bring there)."""
    n_skus = inst.avail.shape[1]
    sku = arcs.row % n_skus
    per_sku = np.bincount(sku, minlength=n_skus)
    part_of_sku = np.clip((n * np.cumsum(per_sku) - 1) // max(1, per_sku.sum()), 0, n - 1)
    part = part_of_sku[sku]
    node = arcs.row // n_skus
    ask = np.bincount(node, weights=arcs.cap, minlength=inst.n_nodes)
    out, given = [], np.zeros(inst.n_nodes, np.int64)
    for k in range(n):
        mine = part == k
        if k == n - 1:  # the last part gets what the others left: no unit lost to rounding
            out.append((arcs.take(mine), inst.capacity - given))
            break
        ask_k = np.bincount(node[mine], weights=arcs.cap[mine], minlength=inst.n_nodes)
        share = np.divide(ask_k, ask, out=np.full(inst.n_nodes, 1.0 / n), where=ask > 0)
        cap_k = np.floor(inst.capacity * share).astype(np.int64)
        out.append((arcs.take(mine), cap_k))
        given += cap_k
    return out


def _solve(inst: Instance, arcs: _Arcs, capacity: IntA) -> FlowPrices:
    """The flow over these arcs, from the lines they leave, with these node capacities
    (its value leaves out lines without arcs)."""
    n_nodes, n_skus = inst.avail.shape
    n_lines = inst.n_lines
    rows, row_of_arc = np.unique(arcs.row, return_inverse=True)
    row_node = rows // n_skus
    n_rows = len(rows)
    first_row, first_node = n_lines, n_lines + n_rows
    sink = first_node + n_nodes
    unfilled = np.round(inst.unfilled_unit_cost * CENTS).astype(np.int64)
    lines = np.unique(arcs.line)
    row_cap = inst.avail.ravel()[rows]
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        np.concatenate([arcs.line, first_row + np.arange(n_rows), first_node + np.arange(n_nodes),
                        lines]),
        np.concatenate([first_row + row_of_arc, first_node + row_node, np.full(n_nodes, sink),
                        np.full(len(lines), sink)]),
        # The unfilled arc never fills up: every line keeps a residual path to the sink.
        np.concatenate([arcs.cap, row_cap, capacity, inst.line_qty[lines] + 1]),
        np.concatenate([arcs.cost, np.zeros(n_rows + n_nodes, np.int64), unfilled[lines]]),
    )  # fmt: skip
    supply = np.zeros(sink + 1, np.int64)
    supply[lines] = inst.line_qty[lines]
    supply[sink] = -int(inst.line_qty[lines].sum())
    solver.set_nodes_supplies(np.arange(sink + 1), supply)
    status = solver.solve()
    if status != solver.OPTIMAL:  # cannot happen: the unfilled arcs make it feasible
        raise RuntimeError(f"per-unit flow: {status}")
    n_arcs = len(arcs.line)
    flow = solver.flows(np.arange(n_arcs + n_rows + n_nodes + len(lines)))
    first_unfilled = n_arcs + n_rows + n_nodes
    arc_flow, row_flow = flow[:n_arcs], flow[n_arcs : n_arcs + n_rows]
    node_flow, unfilled_flow = flow[n_arcs + n_rows : first_unfilled], flow[first_unfilled:]
    left_unfilled = np.zeros(n_lines, bool)
    left_unfilled[lines] = unfilled_flow > 0
    res = _Residual(
        arcs, row_of_arc, row_node, unfilled, arc_flow, row_flow < row_cap, row_flow > 0,
        node_flow < capacity, node_flow > 0, left_unfilled,
    )  # fmt: skip
    d_line, d_row, d_node, passes = _potentials(res)
    low_row, low_node = _low_potentials(res)
    lam, low_lam = np.zeros(inst.avail.shape), np.zeros(inst.avail.shape)
    lam.ravel()[rows] = np.maximum(0, d_row - d_node[row_node]) / CENTS
    mu = np.maximum(0, d_node) / CENTS
    low_lam.ravel()[rows] = np.maximum(0, low_row - low_node[row_node]) / CENTS
    low_mu = np.maximum(0, low_node) / CENTS
    used = flow[:n_arcs] > 0
    units = Plan(arcs.line[used], arcs.row[used] // n_skus, flow[:n_arcs][used].astype(np.int64))
    line_price = inst.unfilled_unit_cost.copy()
    line_price[lines] = d_line[lines] / CENTS
    return FlowPrices(
        lam, mu, solver.optimal_cost() / CENTS, units, n_arcs, passes, line_price, low_lam, low_mu
    )


@dataclass
class _Residual:
    """The optimal flow as its residual graph sees it: arcs, costs, and which of them
    have room or carry flow (the two potential searches read these)."""

    arcs: _Arcs
    row_of_arc: IntA
    row_node: IntA
    unfilled: IntA  # cents a unit of each line costs unfilled
    arc_flow: IntA
    row_open: BoolA  # the row has stock left
    row_used: BoolA  # the row carries flow
    node_open: BoolA  # the node has capacity left
    node_used: BoolA  # the node carries flow
    left_unfilled: BoolA  # the line leaves units unfilled


def _potentials(res: _Residual) -> tuple[IntA, IntA, IntA, int]:
    """D(line), D(row), D(node): cheapest residual paths to the sink, by Bellman-Ford passes.

    Residual arcs: line -> row where the arc has room (cost c), row -> line where it
    carries flow (-c), row -> node where the row has room, node -> row where it
    carries flow (0), node -> sink where the node has room, line -> sink (unfilled).
    """
    arcs, row_of_arc, row_node, unfilled = res.arcs, res.row_of_arc, res.row_node, res.unfilled
    arc_flow, row_open, row_used = res.arc_flow, res.row_open, res.row_used
    node_open = res.node_open
    n_nodes = len(node_open)
    fwd, f_start = _runs(np.flatnonzero(arc_flow < arcs.cap), arcs.line)
    f_line, f_row, f_cost = arcs.line[fwd], row_of_arc[fwd], arcs.cost[fwd]
    bwd, b_start = _runs(np.flatnonzero(arc_flow > 0), row_of_arc)
    b_row, b_line, b_cost = row_of_arc[bwd], arcs.line[bwd], arcs.cost[bwd]
    to_sink = np.where(node_open, 0, NEVER)
    d_line = unfilled.copy()
    d_row = np.full(len(row_node), NEVER)
    d_node = to_sink.copy()
    passes = 0
    while passes < MAX_PASSES:
        passes += 1
        via_row = np.full(n_nodes, NEVER)
        np.minimum.at(via_row, row_node[row_used], d_row[row_used])
        new_node = np.minimum(to_sink, via_row)
        new_row = np.where(row_open, new_node[row_node], NEVER)
        if len(bwd):
            back = np.minimum.reduceat(d_line[b_line] - b_cost, b_start)
            new_row[b_row[b_start]] = np.minimum(new_row[b_row[b_start]], back)
        new_line = unfilled.copy()
        if len(fwd):
            ahead = np.minimum.reduceat(f_cost + new_row[f_row], f_start)
            new_line[f_line[f_start]] = np.minimum(new_line[f_line[f_start]], ahead)
        settled = _same((new_line, new_row, new_node), (d_line, d_row, d_node))
        d_line, d_row, d_node = new_line, new_row, new_node
        if settled:
            break
    # A node without a residual path to the sink has no capacity (none, or none in this
    # half of a split flow): priced above any unit's worth, so no order goes there.
    d_node = np.where(d_node >= NEVER // 2, unfilled.max(initial=0), d_node)
    d_row = np.where(d_row >= NEVER // 2, d_node[row_node], d_row)
    return d_line, d_row, d_node, passes


def _low_potentials(res: _Residual) -> tuple[IntA, IntA]:
    """The lowest optimal potentials of rows and nodes: minus R(v), the cheapest residual
    path from the sink to v (Bellman-Ford passes, as ``_potentials`` but the other way).

    Residual arcs into v: sink -> node where the node carries flow, open row -> node,
    node -> row where the row carries flow (0), line -> row where the arc has room (c),
    sink -> line where the line is left unfilled (-unfilled), row -> line where the arc
    carries flow (-c). Every line is reached (it carries flow or is left unfilled);
    a node without flow or a row without flow and out of reach gets no price.
    """
    arcs, row_of_arc, row_node, unfilled = res.arcs, res.row_of_arc, res.row_node, res.unfilled
    arc_flow, row_open, row_used = res.arc_flow, res.row_open, res.row_used
    node_used = res.node_used
    n_nodes = len(node_used)
    room, r_start = _runs(np.flatnonzero(arc_flow < arcs.cap), row_of_arc)
    r_row, r_line, r_cost = row_of_arc[room], arcs.line[room], arcs.cost[room]
    carry, c_start = _runs(np.flatnonzero(arc_flow > 0), arcs.line)
    c_line, c_row, c_cost = arcs.line[carry], row_of_arc[carry], arcs.cost[carry]
    from_sink = np.where(node_used, 0, NEVER)
    to_line = np.where(res.left_unfilled, -unfilled, NEVER)
    reach_node, reach_row, reach_line = from_sink.copy(), np.full(len(row_node), NEVER), to_line
    for _ in range(MAX_PASSES):
        via_row = np.full(n_nodes, NEVER)
        np.minimum.at(via_row, row_node[row_open], reach_row[row_open])
        new_node = np.minimum(from_sink, via_row)
        new_row = np.where(row_used, new_node[row_node], NEVER)
        if len(room):
            ahead = np.minimum.reduceat(reach_line[r_line] + r_cost, r_start)
            new_row[r_row[r_start]] = np.minimum(new_row[r_row[r_start]], ahead)
        new_line = to_line.copy()
        if len(carry):
            back = np.minimum.reduceat(new_row[c_row] - c_cost, c_start)
            new_line[c_line[c_start]] = np.minimum(new_line[c_line[c_start]], back)
        settled = _same((new_line, new_row, new_node), (reach_line, reach_row, reach_node))
        reach_node, reach_row, reach_line = new_node, new_row, new_line
        if settled:
            break
    low_node = np.where(reach_node >= NEVER // 2, 0, -reach_node)
    low_row = np.where(reach_row >= NEVER // 2, low_node[row_node], -reach_row)
    return low_row, low_node


def _runs(arcs: IntA, key: IntA) -> tuple[IntA, IntA]:
    """These arcs sorted (stably) by their key, and where each key's run starts: what
    ``np.minimum.reduceat`` takes."""
    arcs = arcs[np.argsort(key[arcs], kind="stable")]
    k = key[arcs]
    return arcs, np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if len(arcs) else arcs


def _same(new: tuple[IntA, ...], old: tuple[IntA, ...]) -> bool:
    """Whether a Bellman-Ford pass changed nothing."""
    return all(np.array_equal(a, b) for a, b in zip(new, old, strict=True))
