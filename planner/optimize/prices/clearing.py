"""Clearing prices for stock rows the orders over-take: the bound where no LP converges.

At zero prices every order takes its favourite node, and on the 100,000-order
benchmark 11,000 (node, SKU) rows are taken beyond their stock. Column
generation would price them, but on such a batch one round is all that fits
in a minute and its prices bound far below zero prices.

A market-clearing step prices those rows directly. Each order that takes a
row would leave it for its next-best choice at an extra cost (its regret,
per unit); a row over-taken by e units gets its price raised by the regret of
the e-th least attached unit (a little more), which is the least price that
sends e units elsewhere if nothing else moved. Rows left with spare stock
decay towards zero. Orders then move together and rows interact, so this is
a heuristic ascent on L, not a proof: every pass prices every order exactly
and L at those prices is a valid bound whatever they are; the best is kept.
On 100k orders, four passes lift L by $62k after the short SKUs' prices
(``planner.optimize.prices.scarce``), whose columns are left alone (their price is global).

Every pass's choices are also columns for the master: made at prices that
reflect scarcity, they are the alternatives the first LP lacks (100k orders:
its value $1.876M -> $1.869M, in the same time).
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from parallel.executor import Executor
from planner.core.group import Group
from planner.core.instance import Instance
from planner.optimize.budget import Deadline
from planner.optimize.columns import Columns, from_solution
from planner.optimize.prices.parts import PART, price_until
from planner.optimize.pricing.orders import bound_of, takes

FloatA = npt.NDArray[np.float64]
IntA = npt.NDArray[np.int64]
BoolA = npt.NDArray[np.bool_]
STEP_ABOVE_REGRET = 0.01  # $ above the clearing regret, so ties leave too
DECAY = 0.8  # price kept per pass by a row with spare stock


@dataclass
class Cleared:
    """The prices of the best L seen, and what the passes leave for the master."""

    lam: FloatA  # (N, S) stock prices
    mu: FloatA  # (N,) capacity prices
    bound: float  # L at (lam, mu)
    best_pass: int  # the pass that priced at (lam, mu); 0: the starting prices stayed best
    passes: int = 0  # passes run
    columns: Columns = field(default_factory=Columns.empty)  # every pass's choices


def clearing_prices(
    inst: Instance,
    groups: list[Group],
    lam: FloatA,
    bound: float,
    frozen_skus: BoolA,
    deadline: Deadline,
    passes: int,
    executor: Executor | None = None,
    part: int = PART,
) -> Cleared:
    """Up to ``passes`` clearing steps from stock prices ``lam`` (L there: ``bound``),
    leaving the columns of ``frozen_skus`` as they are; stops before a pass that
    would overrun ``deadline``, or during the pass it passes in (that pass is not used).
    Capacity rows are cleared the same way. ``groups`` as ``candidates.build_groups``
    made them (``prices.parts.price_until``)."""
    shape, n_skus, split = inst.avail.shape, inst.avail.shape[1], inst.weights.split
    flat, mu = lam.ravel().copy(), np.zeros(inst.n_nodes)  # stock prices by row n * S + s
    best = Cleared(lam.copy(), mu.copy(), bound, 0)
    frozen_rows = np.broadcast_to(frozen_skus[None, :], shape).ravel()
    chosen: list[Columns] = []
    done, pass_seconds = 0, 0.0
    while done < passes and deadline.fits(pass_seconds):
        started = deadline.budget.now()
        priced, whole = price_until(inst, groups, flat.reshape(shape), mu, deadline, executor, part)
        if not whole:
            break  # the deadline passed during the pass: it is not used
        done += 1
        value = bound_of(inst, priced, flat.reshape(shape), mu)
        if value > best.bound:
            best = Cleared(flat.reshape(shape).copy(), mu.copy(), value, done)
        chosen += [
            from_solution(p.group, p.solution, np.arange(p.group.size), split) for p in priced
        ]
        t = takes(priced)
        row = t.node * n_skus + t.sku
        over = np.bincount(row, weights=t.qty, minlength=flat.size) - inst.avail.ravel()
        over[frozen_rows] = 0.0
        flat[(over < 0) & (flat > 0)] *= DECAY
        rows, raise_by = _clearing_regret(row, t.regret, t.qty, over)
        flat[rows] += raise_by + STEP_ABOVE_REGRET
        node_over = np.bincount(t.node, weights=t.qty, minlength=inst.n_nodes) - inst.capacity
        mu[(node_over < 0) & (mu > 0)] *= DECAY
        nodes, node_raise = _clearing_regret(t.node, t.regret, t.qty, node_over)
        mu[nodes] += node_raise + STEP_ABOVE_REGRET
        pass_seconds = deadline.budget.now() - started
    best.passes, best.columns = done, Columns.concat(chosen)
    return best


def _clearing_regret(
    row: IntA, regret: FloatA, qty: FloatA, over: npt.NDArray[Any]
) -> tuple[IntA, FloatA]:
    """For each row taken beyond its supply by e = over[row] units: the regret of the
    unit at which the least attached takers (lowest regret first) add up to e."""
    order = np.lexsort((regret, row))
    row, regret, qty = row[order], regret[order], qty[order]
    first = np.searchsorted(row, row, side="left")
    total = np.cumsum(qty)
    within = total - np.where(first > 0, total[first - 1], 0.0)  # units so far in the row
    excess = over[row]
    hit = np.flatnonzero((excess > 0) & (within >= excess))
    first_hit = np.ones(len(hit), bool)
    first_hit[1:] = row[hit[1:]] != row[hit[:-1]]
    hit = hit[first_hit]
    return row[hit], regret[hit]
