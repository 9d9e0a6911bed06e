"""Every order's priced choice and the Lagrangian bound, with the candidate nodes
widened where pruning binds.

At prices (lam, mu), an order's share of the Lagrangian bound is the better of
its priced optimum over its candidates and the floor D of any choice that uses a
dropped node. When prices rise on the candidates' stock, that floor can undercut
the optimum: on a 10,000-order batch at column-generation prices, 880 orders
bound by their floor cost the bound $68k while every order's candidate deficit
together cost $4k. Such an order gets the nodes whose floor is below its optimum
as candidates (up to a cap, cheapest floors first) and is solved again; what
stays dropped still counts at its floor.
"""

from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import numpy.typing as npt

from parallel.executor import Executor
from planner.core.group import Group
from planner.core.instance import Instance
from planner.optimize.budget import Deadline
from planner.optimize.candidates import dropped_bound_at, widen
from planner.optimize.pricing.exact import relaxed_values, solve_exact
from planner.optimize.pricing.subproblem import GroupSolution, solve_group
from planner.optimize.shards import run, shard, without_floor

FloatA = npt.NDArray[np.float64]
IntA = npt.NDArray[np.int64]


@dataclass
class Priced:
    """A group solved at some prices; ``group.dropped_bound`` holds the floor D there."""

    group: Group
    solution: GroupSolution  # over the candidates only (no floor applied)

    @property
    def bound(self) -> FloatA:
        """Each order's share of L: its optimum, or the floor where a dropped node is cheaper."""
        return np.minimum(self.solution.bound, self.group.dropped_bound)


@dataclass
class Takes:
    """What the orders' priced choices take: one entry per (order, line, source node)."""

    node: IntA
    sku: IntA
    qty: FloatA
    regret: FloatA  # the order's regret (next-best choice minus chosen) per unit it takes


def takes(priced: list[Priced]) -> Takes:
    """Every (node, sku, units) the priced choices take, with each order's regret per unit."""
    nodes, skus, units, regrets = [], [], [], []
    for p in priced:
        g, sol = p.group, p.solution
        per_order = np.maximum(1, sol.qty1.sum(axis=1) + sol.qty2.sum(axis=1))
        per_unit = np.maximum(sol.regret, 0.0) / per_order
        for node, qty in ((sol.node1, sol.qty1), (sol.node2, sol.qty2)):
            r, li = np.nonzero((node >= 0) & (qty > 0))
            nodes.append(node[r, li])
            skus.append(g.skus[r, li])
            units.append(qty[r, li].astype(float))
            regrets.append(per_unit[r])
    return Takes(
        np.concatenate(nodes), np.concatenate(skus), np.concatenate(units),
        np.concatenate(regrets),
    )  # fmt: skip


def bound_of(inst: Instance, priced: list[Priced], lam: FloatA, mu: FloatA) -> float:
    """L at (lam, mu) from every order's priced share (a caller who priced only some
    orders adds the others' shares at prices they do not see)."""
    return sum(float(p.bound.sum()) for p in priced) - supply_charge(inst, lam, mu)


def price_groups(
    inst: Instance,
    groups: list[Group],
    lam: FloatA,
    mu: FloatA,
    widen_by: int = 32,
    executor: Executor | None = None,
) -> list[Priced]:
    """Solve every order at (lam, mu); orders whose floor binds get up to ``widen_by``
    more nodes (those with the lowest floors) and are solved again.

    Capped because pairs cost K^2 per order: at a first LP's wild prices on a
    100k-order batch, widening to every node took 25 s. Nodes left out still
    count at their floor, so the bound stays valid. One call per group on ``executor``
    (this machine's threads by default: numpy releases the GIL), per shard on a cluster.
    """
    shards = shard(groups, executor)
    one = partial(_price_one, inst, lam=lam, mu=mu, widen_by=widen_by)
    answers = run(executor, one, shards)
    return [p for s, a in zip(shards, answers, strict=True) for p in a.priced(s.group)]


def solve_groups(
    groups: list[Group], lam: FloatA, mu: FloatA, split: float, executor: Executor | None = None
) -> list[Priced]:
    """Every order's priced choice over its candidates only (no floors): for columns."""
    shards = shard(groups, executor)
    one = partial(solve_group, lam=lam, mu=mu, split=split)
    sols = run(executor, one, shards)
    return [Priced(s.group, sol) for s, sol in zip(shards, sols, strict=True)]


@dataclass
class Answer:
    """What pricing one group sends back: the choices and floors, not the group (the
    caller has it), except the orders it widened, which are new groups."""

    floor: FloatA  # (M,) each order's floor D at these prices
    solution: GroupSolution
    stay: IntA | None  # orders priced over their own candidates (None: all of them)
    widened: list[Priced]

    def priced(self, g: Group) -> list[Priced]:
        """The priced parts of ``g``, the group this answers for."""
        if self.stay is None:
            return [Priced(replace(g, dropped_bound=self.floor), self.solution)]
        rest = [Priced(replace(g.take(self.stay), dropped_bound=self.floor[self.stay]),
                       self.solution.take(self.stay))] if len(self.stay) else []  # fmt: skip
        return rest + self.widened


def _price_one(inst: Instance, g: Group, lam: FloatA, mu: FloatA, widen_by: int) -> Answer:
    split = inst.weights.split
    sol = solve_group(without_floor(g), lam, mu, split)
    floor = dropped_bound_at(inst, g, lam, mu)
    binding = floor < sol.bound - 1e-9
    if not (widen_by > 0 and binding.any() and g.cand.shape[1] < inst.n_nodes):
        return Answer(floor, sol, None, [])
    widened = []
    rows = np.flatnonzero(binding)
    for part in widen(inst, g.take(rows), lam, mu, sol.bound[rows], widen_by):
        part_sol = solve_group(without_floor(part), lam, mu, split)
        part_floor = dropped_bound_at(inst, part, lam, mu)
        widened.append(Priced(replace(part, dropped_bound=part_floor), part_sol))
    return Answer(floor, sol, np.flatnonzero(~binding), widened)


def order_shares(
    inst: Instance,
    groups: list[Group],
    lam: FloatA,
    mu: FloatA,
    exact_seconds: float,
    exact_up_to: int,
    widen_by: int,
    deadline: Deadline | None = None,
    executor: Executor | None = None,
    priced: list[Priced] | None = None,
) -> FloatA:
    """Each order's share of L(lam, mu), indexed by order: a lower bound on its own
    priced optimum over every node (``priced``: the pass, when the caller made it; orders
    it leaves out count at 0, their least share at any prices >= 0).

    Per order, the exact priced optimum over its candidates (sets of three or
    more nodes by the exact MIP where the floor is too weak; where the MIP cannot
    prove them in time, the best of their LP relaxation and enumerated sets of
    three nodes), capped by the floor of any choice that uses a dropped node
    (``price_groups`` widens the orders where that floor would bind). Kept per order
    so that a caller who changes prices on a few SKUs re-prices only the orders
    holding them.
    """
    split = inst.weights.split
    if priced is None:
        priced = price_groups(inst, groups, lam, mu, widen_by, executor)
    bounds = [p.bound for p in priced]
    loose = [
        np.flatnonzero(
            (p.solution.bound < p.solution.value - 1e-9)
            & (p.group.dropped_bound > p.solution.bound)
        )
        for p in priced
    ]
    parts = [(i, r) for i, r in enumerate(loose) if len(r)]
    to_solve = [(priced[i].group, r) for i, r in parts]
    solved = []
    if 0 < sum(len(r) for _, r in parts) <= exact_up_to:
        budget = deadline.budget if deadline is not None else None
        solved = solve_exact(to_solve, lam, mu, split, inst.line_sku, exact_seconds, budget)
    if not all(ex.proven for ex in solved) or not solved:
        if solved:
            # SCIP could not prove them in time: their LP relaxation still bounds them.
            lp = relaxed_values(to_solve, lam, mu, split)
            for (i, r), value in zip(parts, lp, strict=True):
                bounds[i] = bounds[i].copy()
                better = np.minimum(value, priced[i].group.dropped_bound[r])
                bounds[i][r] = np.maximum(bounds[i][r], better)
        # Then enumerate sets of three nodes, group by group until the deadline (the
        # others keep what they have: still a bound).
        for i, _ in parts:
            if deadline is not None and deadline.passed():
                break
            tight = solve_group(priced[i].group, lam, mu, split, tight_bound=True).bound
            bounds[i] = np.maximum(bounds[i], tight)
    else:
        for (i, r), ex in zip(parts, solved, strict=True):
            bounds[i] = bounds[i].copy()
            best = np.minimum(ex.value, priced[i].solution.value[r])
            bounds[i][r] = np.minimum(best, priced[i].group.dropped_bound[r])
    shares = np.zeros(inst.n_orders)
    for p, b in zip(priced, bounds, strict=True):
        shares[p.group.orders] = b
    return shares


def supply_charge(inst: Instance, lam: FloatA, mu: FloatA) -> float:
    """What prices charge for the whole supply: L subtracts it from the orders' shares."""
    return float((lam * inst.avail).sum()) + float((mu * inst.capacity).sum())


def lagrangian_bound(
    inst: Instance,
    groups: list[Group],
    lam: FloatA,
    mu: FloatA,
    exact_seconds: float,
    exact_up_to: int,
    widen_by: int,
    deadline: Deadline | None = None,
    executor: Executor | None = None,
) -> float:
    """L(lam, mu): a proven lower bound on the optimum for any prices >= 0 (the
    orders' shares, ``order_shares``, minus what the prices charge for the supply)."""
    shares = order_shares(
        inst, groups, lam, mu, exact_seconds, exact_up_to, widen_by, deadline, executor
    )
    return float(shares.sum()) - supply_charge(inst, lam, mu)
