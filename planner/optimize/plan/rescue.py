"""Serve an order whole from one node by moving other orders out of the way.

A ship-complete order needs every unit at one node. The LP serves such orders
in part (half a column uses half the stock), a plan cannot: on the 100,000-order
benchmark the LP leaves 282 of their units unfilled and the dive's plan 539,
$36k of its distance to the LP. Often a node lacks only a few units that other,
flexible orders hold there and could get elsewhere for a few dollars, while an
unfilled unit costs $100 plus its price. Orders split or sent far because their
favourite node's stock went to others are the same case at a smaller scale.

Orders are tried by how much they cost above what they would with the network to
themselves, largest first (unfilled ship-complete orders lead). For each, and for
each node allowed to serve it whole within its capacity, the missing units per
SKU are taken from the flexible orders holding them at that node, each moved to
its cheapest other node with stock and capacity (or left unfilled if cheaper).
Nodes are tried cheapest first by an estimate (serving cost plus a dollar per
missing unit), at most 20 and only while that estimate is below what the order
costs now, so a node whose moves would save money can be missed; of the nodes
tried, the one where the order plus its moves cost least is taken if that beats
what the order costs now. Every order it touches is re-costed exactly, so the plan
never gets dearer. Local search (``planner.optimize.plan.local_search``) moves one order at a time
into free stock; this moves several.
"""

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from planner.core.instance import Instance
from planner.core.plan import Plan, left_by
from planner.optimize.budget import Deadline
from planner.optimize.columns import plan_order_costs

IntA = npt.NDArray[np.int64]
FloatA = npt.NDArray[np.float64]
Entries = dict[tuple[int, int], int]  # (line, node) -> units of one order
EXCESS = 1e-6  # $ above its free value from which an order is tried


@dataclass
class _State:
    """The plan being rescued: stock left, and the entries of the orders touched so far."""

    inst: Instance
    avail: npt.NDArray[np.int64]
    cap: IntA
    plan: Plan
    by_order: dict[int, Entries] = field(default_factory=dict)
    holders: dict[int, list[int]] = field(default_factory=dict)  # node * S + sku -> orders
    held: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    # (N, S) units flexible orders hold: what moves could free at most
    _costs: dict[int, "_Costs"] = field(default_factory=dict)
    _starts: IntA = field(default_factory=lambda: np.zeros(0, np.int64))
    _perm: IntA = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        order = self.inst.line_order[self.plan.line]
        self._perm = np.argsort(order, kind="stable")
        self._starts = np.searchsorted(order[self._perm], np.arange(self.inst.n_orders + 1))
        n_skus = self.avail.shape[1]
        key = self.plan.node * n_skus + self.inst.line_sku[self.plan.line]
        flexible = ~self.inst.ship_complete[order]
        self.held = np.zeros(self.avail.shape, np.int64)
        np.add.at(
            self.held,
            (self.plan.node[flexible], self.inst.line_sku[self.plan.line[flexible]]),
            self.plan.qty[flexible],
        )
        for k, o in zip(key[flexible].tolist(), order[flexible].tolist(), strict=True):
            self.holders.setdefault(k, []).append(o)

    def entries(self, o: int) -> Entries:
        """The order's allocations (a copy the caller may change)."""
        if o in self.by_order:
            return dict(self.by_order[o])
        idx = self._perm[self._starts[o] : self._starts[o + 1]]
        out: Entries = {}
        for ln, nd, q in zip(
            self.plan.line[idx].tolist(), self.plan.node[idx].tolist(),
            self.plan.qty[idx].tolist(), strict=True,
        ):  # fmt: skip
            out[(ln, nd)] = out.get((ln, nd), 0) + q
        return out

    def costs(self, o: int) -> "_Costs":
        if o not in self._costs:
            self._costs[o] = _Costs.of(self.inst, o)
        return self._costs[o]

    def commit(self, o: int, new: Entries) -> None:
        """Replace the order's allocations; stock and capacity follow."""
        sku = self.inst.line_sku
        flexible = int(not self.inst.ship_complete[o])
        for (ln, nd), q in self.entries(o).items():
            self.avail[nd, sku[ln]] += q
            self.held[nd, sku[ln]] -= q * flexible
            self.cap[nd] += q
        for (ln, nd), q in new.items():
            self.avail[nd, sku[ln]] -= q
            self.held[nd, sku[ln]] += q * flexible
            self.cap[nd] -= q
        self.by_order[o] = {k: q for k, q in new.items() if q > 0}

    def result(self) -> Plan:
        touched = np.zeros(self.inst.n_orders, bool)
        touched[list(self.by_order)] = True
        kept = self.plan.take(~touched[self.inst.line_order[self.plan.line]])
        rows = np.array(
            [(ln, nd, q) for e in self.by_order.values() for (ln, nd), q in e.items()], np.int64
        ).reshape(-1, 3)
        assert (self.avail >= 0).all() and (self.cap >= 0).all(), "a move overdrew stock"
        return kept.extend(Plan(rows[:, 0].copy(), rows[:, 1].copy(), rows[:, 2].copy()))


@dataclass
class _Costs:
    """One order's coefficients against every node: what its allocations cost."""

    fixed: FloatA  # (N,) per package (inf where not allowed)
    unit: FloatA  # (lines, N) per unit
    penalty: FloatA  # (lines,) per unfilled unit
    qty: IntA  # (lines,)
    first: int  # the order's first line
    split: float
    limit: int  # packages allowed

    @staticmethod
    def of(inst: Instance, o: int) -> "_Costs":
        costs = inst.order_costs(np.array([o]))
        lines = inst.lines_of(o)
        limit = int(inst.package_limit[o])
        return _Costs(
            costs.fixed[0], inst.unit_costs(costs, 0, lines), inst.unfilled_unit_cost[lines],
            inst.line_qty[lines], lines.start, inst.weights.split, limit,
        )  # fmt: skip

    def total(self, entries: Entries) -> float:
        """The order's share of the contract's total with these allocations."""
        nodes = {nd for (_, nd) in entries}
        total = sum(float(self.fixed[nd]) for nd in nodes) + self.split * max(0, len(nodes) - 1)
        short = self.qty.astype(np.float64)
        for (ln, nd), q in entries.items():
            total += q * float(self.unit[ln - self.first, nd])
            short[ln - self.first] -= q
        return total + float(short @ self.penalty)


def rescue(
    inst: Instance, plan: Plan, free_value: FloatA, deadline: Deadline, tried_nodes: int = 20
) -> Plan:
    """The plan with orders served whole from one node where moving others out of the
    way pays. Orders are tried by their excess over ``free_value`` (what each would
    cost with the network to itself), largest first: unfilled ship-complete orders
    lead. Stops at ``deadline`` with what it has. Each order's moves are costed exactly at
    its ``tried_nodes`` cheapest nodes by estimate."""
    avail, cap = left_by(inst, plan)
    state = _State(inst, avail, cap, plan)
    excess = plan_order_costs(inst, plan) - free_value
    waiting = np.flatnonzero(excess > EXCESS)
    for o in waiting[np.argsort(-excess[waiting], kind="stable")].tolist():
        if deadline.passed():
            break
        before = state.entries(o)  # (an earlier move may have changed it)
        state.commit(o, {})
        if not _rescue_one(state, o, state.costs(o).total(before), tried_nodes):
            state.commit(o, before)
    return state.result()


def _rescue_one(state: _State, o: int, current: float, tried_nodes: int) -> bool:
    """Serve order ``o`` (released: it holds nothing) whole from one node, moving
    others out of the way, if that costs less than ``current``; True if it did."""
    inst = state.inst
    lines = inst.lines_of(o)
    skus, at = np.unique(inst.line_sku[lines], return_inverse=True)
    need = np.bincount(at, weights=inst.line_qty[lines]).astype(np.int64)
    mine = state.costs(o)
    serve = mine.fixed + mine.qty @ mine.unit  # (N,) the whole order from each node
    short = np.maximum(0, need[None, :] - state.avail[:, skus])  # (N, skus) units missing
    # Nodes with the capacity, and the stock once the flexible orders there moved.
    ok = np.isfinite(serve) & (state.cap >= need.sum())
    ok &= (short <= state.held[:, skus]).all(axis=1)
    # Cheapest first by an estimate (a dollar per unit to move); exact costs follow.
    estimate = np.where(ok, serve + short.sum(axis=1), np.inf)
    best: tuple[float, int, list[_Move]] | None = None
    for n in np.argsort(estimate)[:tried_nodes].tolist():
        if estimate[n] >= current:
            break
        moves = _make_room(state, o, n, skus, short[n])
        if moves is None:
            continue
        gain = current - float(serve[n]) - sum(m.delta for m in moves)
        if gain > 1e-9 and (best is None or gain > best[0]):
            best = (gain, n, moves)
    if best is None:
        return False
    _, n, moves = best
    for move in moves:
        state.commit(move.order, move.entries)
    state.commit(o, {(ln, n): int(inst.line_qty[ln]) for ln in range(lines.start, lines.stop)})
    return True


@dataclass
class _Move:
    order: int
    entries: Entries  # its allocations after the move
    delta: float  # what the move adds to its cost
    freed: int  # units it frees at the node
    added: dict[int, int]  # units of the SKU it now takes at other nodes


def _make_room(state: _State, o: int, n: int, skus: IntA, short: IntA) -> list[_Move] | None:
    """Moves of flexible orders' units off node ``n`` that free ``short`` units of each
    SKU there, cheapest per unit first; None if they cannot. Each order moves at most
    once. Every move is costed against the stock as it was; one whose destination an
    earlier move has since filled is dropped, not re-routed, and the last move may
    free more than is missing (its cost is still exact)."""
    n_skus = state.avail.shape[1]
    taken_avail = np.zeros(state.avail.shape[0], np.int64)  # by node, of the SKU at hand
    taken_cap = np.zeros(len(state.cap), np.int64)
    moves: list[_Move] = []
    for s, missing in zip(skus.tolist(), short.tolist(), strict=True):
        if missing <= 0:
            continue
        taken_avail[:] = 0
        moved = {m.order for m in moves} | {o}
        options = []
        for other in sorted(set(state.holders.get(n * n_skus + s, [])) - moved):
            room = state.avail[:, s] - taken_avail
            move = _move_off(state, other, n, s, missing, room, state.cap - taken_cap)
            if move is not None:
                options.append((move.delta / move.freed, other, move))
        for _, _, move in sorted(options, key=lambda t: (t[0], t[1])):
            if missing <= 0:
                break
            room = state.avail[:, s] - taken_avail
            if not _still_fits(move, room, state.cap - taken_cap):
                continue
            moves.append(move)
            missing -= move.freed
            for nd, q in move.added.items():
                taken_avail[nd] += q
                taken_cap[nd] += q
        if missing > 0:
            return None
    return moves


def _still_fits(move: _Move, room: IntA, cap: IntA) -> bool:
    """The move's new units fit what the moves chosen before it left."""
    return all(q <= room[nd] and q <= cap[nd] for nd, q in move.added.items())


def _move_off(
    state: _State, other: int, n: int, s: int, want: int, room: IntA, cap: IntA
) -> _Move | None:
    """Up to ``want`` units of SKU ``s`` of order ``other`` off node ``n``, line by line,
    each to the cheapest other node with room and capacity, or unfilled if cheaper."""
    inst = state.inst
    costs = state.costs(other)
    before = state.entries(other)
    entries = dict(before)
    added: dict[int, int] = {}
    freed = 0
    for ln in sorted(ln for (ln, nd) in before if nd == n and inst.line_sku[ln] == s):
        k = min(before[(ln, n)], want - freed)
        if k <= 0:
            break
        entries[(ln, n)] -= k
        if not entries[(ln, n)]:
            del entries[(ln, n)]
        open_ = np.zeros(inst.n_nodes, bool)
        open_[[nd for (_, nd) in entries]] = True
        opening = np.where(open_, 0.0, costs.fixed + (costs.split if open_.any() else 0.0))
        add = k * costs.unit[ln - costs.first] + opening
        fits = (room >= k) & (cap >= k) & np.isfinite(costs.fixed)
        fits[n] = False
        if open_.sum() >= costs.limit:
            fits &= open_
        add = np.where(fits, add, np.inf)
        m = int(np.argmin(add))
        if add[m] < k * costs.penalty[ln - costs.first]:
            entries[(ln, m)] = entries.get((ln, m), 0) + k
            added[m] = added.get(m, 0) + k
        freed += k
    if not freed:
        return None
    delta = costs.total(entries) - costs.total(before)
    return _Move(other, entries, delta, freed, added)
