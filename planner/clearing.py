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
(``planner.scarce``), whose columns are left alone (their price is global).

Every pass's choices are also columns for the master: made at prices that
reflect scarcity, they are the alternatives the first LP lacks (100k orders:
its value $1.876M -> $1.869M, in the same time).
"""

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planner.candidates import Group
from planner.columns import Columns, from_solution
from planner.instance import Instance
from planner.pricing import Priced, price_groups, supply_charge

FloatA = npt.NDArray[np.float64]
IntA = npt.NDArray[np.int64]
BoolA = npt.NDArray[np.bool_]
STEP_ABOVE_REGRET = 0.01  # $ above the clearing regret, so ties leave too
DECAY = 0.8  # price kept per pass by a row with spare stock


@dataclass
class Cleared:
    lam: FloatA  # (N, S)
    mu: FloatA  # (N,)
    bound: float
    passes: int  # passes run
    best_pass: int  # 0 when the prices it started from stayed best
    columns: Columns  # every order's priced choice in every pass: alternatives for the master


def clearing_prices(
    inst: Instance,
    groups: list[Group],
    lam: FloatA,
    bound: float,
    frozen_skus: BoolA,
    deadline: float,
    passes: int,
) -> Cleared:
    """Up to ``passes`` clearing steps from stock prices ``lam`` (L there: ``bound``),
    leaving the columns of ``frozen_skus`` as they are; stops before a pass that
    would overrun ``deadline``. Capacity rows are cleared the same way."""
    n_skus = inst.avail.shape[1]
    lam, mu = lam.copy(), np.zeros(inst.n_nodes)
    best = Cleared(lam.copy(), mu.copy(), bound, 0, 0, Columns.empty())
    columns = Columns.empty()
    frozen_rows = np.broadcast_to(frozen_skus[None, :], inst.avail.shape).ravel()
    pass_seconds = 0.0
    for done in range(1, passes + 1):
        started = time.perf_counter()
        if started + pass_seconds > deadline:
            break
        best.passes = done
        priced = price_groups(inst, groups, lam, mu, widen_by=0)
        value = sum(float(p.bound.sum()) for p in priced) - supply_charge(inst, lam, mu)
        if value > best.bound:
            best = Cleared(lam.copy(), mu.copy(), value, done, done, columns)
        for p in priced:
            columns = columns.extend(
                from_solution(p.group, p.solution, np.arange(p.group.size), inst.weights.split)
            )
        node, sku, qty, regret = _takes(priced)
        row = node * n_skus + sku
        over = np.bincount(row, weights=qty, minlength=lam.size) - inst.avail.ravel()
        over[frozen_rows] = 0.0
        flat = lam.ravel()  # a view: updates land in lam
        flat[(over < 0) & (flat > 0)] *= DECAY
        rows, raise_by = _clearing_regret(row, regret, qty, over)
        flat[rows] += raise_by + STEP_ABOVE_REGRET
        node_over = np.bincount(node, weights=qty, minlength=inst.n_nodes) - inst.capacity
        mu[(node_over < 0) & (mu > 0)] *= DECAY
        nodes, node_raise = _clearing_regret(node, regret, qty, node_over)
        mu[nodes] += node_raise + STEP_ABOVE_REGRET
        pass_seconds = time.perf_counter() - started
    best.columns = columns
    return best


def _takes(priced: list[Priced]) -> tuple[IntA, IntA, FloatA, FloatA]:
    """Every (node, sku, units) the orders' priced choices take, with the order's
    regret per unit taken (what leaving for its next-best choice costs it)."""
    nodes, skus, units, regrets = [], [], [], []
    for p in priced:
        g, sol = p.group, p.solution
        taken = np.maximum(1, sol.qty1.sum(axis=1) + sol.qty2.sum(axis=1))
        per_unit = np.maximum(sol.regret, 0.0) / taken
        for node, qty in ((sol.node1, sol.qty1), (sol.node2, sol.qty2)):
            r, li = np.nonzero((node >= 0) & (qty > 0))
            nodes.append(node[r, li])
            skus.append(g.skus[r, li])
            units.append(qty[r, li].astype(float))
            regrets.append(per_unit[r])
    return (
        np.concatenate(nodes), np.concatenate(skus), np.concatenate(units),
        np.concatenate(regrets),
    )  # fmt: skip


def _clearing_regret(row: IntA, regret: FloatA, qty: FloatA, over: FloatA) -> tuple[IntA, FloatA]:
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
