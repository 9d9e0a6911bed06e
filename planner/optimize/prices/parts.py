"""A pricing pass over every order, cut into parts so that it answers the clock.

``pricing.orders.price_groups`` prices whole groups, and a group is every order with the
same line count: on 1M orders the one-line group alone is ~550k orders, and one pass is
~50 s of numpy on two cores (minutes on a loaded machine) that no deadline can end. Here
a pass prices parts of at most ``PART`` orders, as many at a time as the executor has
workers, and looks at its deadline between them: a pass the deadline overtakes stops
there (the start's passes, ``optimize.start``, ``prices.scarce``, ``prices.clearing``).
Parts also keep both cores busy to the end of a pass (whole groups leave one core idle
while the other prices the one-line group). Every order is priced alone, so cutting
changes which call prices an order, never its answer.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from parallel.executor import Executor
from planner.core.group import Group
from planner.core.instance import Instance
from planner.optimize.budget import Deadline
from planner.optimize.candidates import dropped_bound_at
from planner.optimize.pricing.orders import Priced, without_floor
from planner.optimize.pricing.subproblem import solve_group
from planner.optimize.workers import LOCAL

FloatA = npt.NDArray[np.float64]
T = TypeVar("T")
PART = 50_000  # orders per part: ~2-3 s of pricing at 1M orders on 500 nodes


@dataclass(frozen=True)
class Piece:
    """Rows ``start:stop`` of ``group`` (the whole group when it is small enough)."""

    group: Group
    start: int
    stop: int

    def take(self) -> Group:
        if self.start == 0 and self.stop == self.group.size:
            return self.group
        return self.group.take(np.arange(self.start, self.stop))


def pieces(groups: list[Group], part: int = PART) -> list[Piece]:
    """Every group cut into pieces of at most ``part`` orders (small groups stay whole)."""
    return [
        Piece(g, start, min(start + part, g.size))
        for g in groups
        for start in range(0, g.size, part)
    ]


def batches(
    groups: list[Group], executor: Executor | None, part: int = PART
) -> Iterator[list[Group]]:
    """The groups as lists of parts, one list per round of the executor's workers
    (a part is cut only when it is about to be priced: no second copy of the groups)."""
    cut = pieces(groups, part)
    width = max(1, (executor or LOCAL.shared).workers)
    for i in range(0, len(cut), width):
        yield [p.take() for p in cut[i : i + width]]


def until(
    groups: list[Group],
    step: Callable[[list[Group]], list[T]],
    deadline: Deadline,
    executor: Executor | None,
    part: int = PART,
) -> tuple[list[T], bool]:
    """``step`` on the groups' parts, a round of the executor's workers at a time, until
    ``deadline`` passes: what the rounds gave, and whether every part was done."""
    out: list[T] = []
    for batch in batches(groups, executor, part):
        if deadline.passed():
            return out, False
        out.extend(step(batch))
    return out, True


def price_until(
    inst: Instance,
    groups: list[Group],
    lam: FloatA,
    mu: FloatA,
    deadline: Deadline,
    executor: Executor | None = None,
    part: int = PART,
) -> tuple[list[Priced], bool]:
    """Every order of ``groups`` priced at (lam, mu), without widening, part by part until
    ``deadline``: the parts priced, and whether that was all of them.

    ``groups`` are as ``candidates.build_groups`` made them: their ``dropped_bound`` is the
    floor of a dropped node at zero prices, which prices >= 0 only raise. Where it is
    already above an order's priced optimum the floor cannot bind, and the floor at
    (lam, mu) over every node (most of a pass's work: 25 of 29 s at 300k orders) is
    computed only for the other orders."""
    one = partial(_price_part, inst, lam=lam, mu=mu)
    ex = executor or LOCAL.shared
    return until(groups, lambda batch: ex.map(one, batch), deadline, executor, part)


def _price_part(inst: Instance, g: Group, lam: FloatA, mu: FloatA) -> Priced:
    sol = solve_group(without_floor(g), lam, mu, inst.weights.split)
    floor = g.dropped_bound.copy()
    need = np.flatnonzero(~(floor > sol.bound))
    if len(need):
        floor[need] = dropped_bound_at(inst, g.take(need), lam, mu)
    return Priced(replace(g, dropped_bound=floor), sol)
