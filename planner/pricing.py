"""Every order's priced choice, with the candidate nodes widened where pruning binds.

At prices (lam, mu), an order's share of the Lagrangian bound is the better of
its priced optimum over its candidates and the floor D of any choice that uses a
dropped node. When prices rise on the candidates' stock, that floor can undercut
the optimum: on a 10,000-order batch at column-generation prices, 880 orders
bound by their floor cost the bound $68k while every order's candidate deficit
together cost $4k. Such an order gets the nodes whose floor is below its optimum
as candidates (up to a cap, cheapest floors first) and is solved again; what
stays dropped still counts at its floor.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from planner.candidates import Group, dropped_bound_at, widen
from planner.instance import Instance
from planner.subproblem import GroupSolution, solve_group

FloatA = npt.NDArray[np.float64]
THREADS = 2  # groups are independent and numpy releases the GIL: both cores price


@dataclass
class Priced:
    """A group solved at some prices; ``group.dropped_bound`` holds the floor D there."""

    group: Group
    solution: GroupSolution  # over the candidates only (no floor applied)

    @property
    def bound(self) -> FloatA:
        """Each order's share of L: its optimum, or the floor where a dropped node is cheaper."""
        return np.minimum(self.solution.bound, self.group.dropped_bound)


def price_groups(
    inst: Instance, groups: list[Group], lam: FloatA, mu: FloatA, widen_by: int = 32
) -> list[Priced]:
    """Solve every order at (lam, mu); orders whose floor binds get up to ``widen_by``
    more nodes (those with the lowest floors) and are solved again.

    Capped because pairs cost K^2 per order: at a first LP's wild prices on a
    100k-order batch, widening to every node took 25 s. Nodes left out still
    count at their floor, so the bound stays valid.
    """
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        parts = pool.map(lambda g: _price_one(inst, g, lam, mu, widen_by), groups)
        return [p for part in parts for p in part]


def solve_groups(groups: list[Group], lam: FloatA, mu: FloatA, split: float) -> list[Priced]:
    """Every order's priced choice over its candidates only (no floors): for columns."""
    free = [replace(g, dropped_bound=np.full(g.size, np.inf)) for g in groups]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        sols = list(pool.map(lambda g: solve_group(g, lam, mu, split), free))
    return [Priced(g, s) for g, s in zip(free, sols, strict=True)]


def _price_one(inst: Instance, g: Group, lam: FloatA, mu: FloatA, widen_by: int) -> list[Priced]:
    split = inst.weights.split
    free = replace(g, dropped_bound=np.full(g.size, np.inf))
    sol = solve_group(free, lam, mu, split)
    floor = dropped_bound_at(inst, g, lam, mu)
    binding = floor < sol.bound - 1e-9
    if not (widen_by > 0 and binding.any() and g.cand.shape[1] < inst.n_nodes):
        return [Priced(replace(g, dropped_bound=floor), sol)]
    out = []
    stay = np.flatnonzero(~binding)
    if len(stay):
        out.append(Priced(replace(g.take(stay), dropped_bound=floor[stay]), sol.take(stay)))
    rows = np.flatnonzero(binding)
    for part in widen(inst, g.take(rows), lam, mu, sol.bound[rows], widen_by):
        part_sol = solve_group(replace(part, dropped_bound=np.full(part.size, np.inf)),
                               lam, mu, split)  # fmt: skip
        part_floor = dropped_bound_at(inst, part, lam, mu)
        out.append(Priced(replace(part, dropped_bound=part_floor), part_sol))
    return out
