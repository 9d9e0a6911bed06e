"""Prices for SKUs the network runs short of: a cheap, large lift of the bound.

When the orders want more of a SKU than the whole network holds, every plan
leaves some of it unfilled at (100 + price) a unit, yet at zero prices each
order is priced with the stock to itself and the Lagrangian bound fills it all.
On the 100,000-order benchmark ten such SKUs leave $204k of unfilled cost out
of L(0), and one column-generation round (all that fits in a minute) gives
prices that bound far worse than zero.

A price p_s on SKU s at every node is a valid Lagrangian price vector, and only
the orders holding a short SKU see it, so each step re-prices those orders
alone (every other order keeps its share of L(0)). L is concave in p; along
SKU s its slope is the units the priced orders take minus the network's stock,
so every short SKU's price is found by bisection on [0, unfilled cost of a
unit] (above that no order takes the SKU), all SKUs in the same pass.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from parallel.executor import Executor
from planner.core.cost import unfilled_unit_penalty
from planner.core.group import Group
from planner.core.instance import Instance
from planner.optimize.budget import Deadline
from planner.optimize.prices.parts import PART, price_until
from planner.optimize.pricing.orders import bound_of, takes

FloatA = npt.NDArray[np.float64]
IntA = npt.NDArray[np.int64]


@dataclass
class ScarcePrices:
    """The best prices found and the bound there (prices on stock only, none on capacity)."""

    lam: FloatA  # (N, S): p_s in every row of a short SKU's column, 0 elsewhere
    bound: float  # L at lam
    short: IntA  # the short SKUs (their price is network-wide: others leave it be)
    orders: int  # orders holding one, re-priced each pass
    best_pass: int  # the pass that priced at lam; 0: zero prices stayed best


def short_skus(inst: Instance) -> IntA:
    """SKUs whose ordered units exceed the network's available units (and that some
    node holds: a SKU nobody holds is unfilled at any prices already)."""
    demand = np.bincount(inst.line_sku, weights=inst.line_qty, minlength=len(inst.sku_ids))
    supply = inst.avail.sum(axis=0)
    return np.flatnonzero((demand > supply) & (supply > 0))


def price_short_skus(
    inst: Instance,
    groups: list[Group],
    shares: FloatA,
    deadline: Deadline,
    passes: int = 8,
    executor: Executor | None = None,
    part: int = PART,
) -> ScarcePrices | None:
    """Bisect a price per short SKU to raise L above ``shares.sum()`` (each order's
    share of L at zero prices, from ``pricing.order_shares``); None when no SKU is short.

    Stops after ``passes`` passes, when another pass would overrun ``deadline``, or
    during the pass it passes in (that pass is not used). ``groups`` as
    ``candidates.build_groups`` made them (``prices.parts.price_until``).
    """
    skus = short_skus(inst)
    if not len(skus):
        return None
    short = np.zeros(len(inst.sku_ids), bool)
    short[skus] = True
    position = np.cumsum(short) - 1  # sku -> its index in ``skus``
    holding = [g.take(np.flatnonzero(short[g.skus].any(axis=1))) for g in groups]
    holding = [g for g in holding if g.size]
    orders = np.concatenate([g.orders for g in holding])
    base = float(shares.sum() - shares[orders].sum())
    stock = inst.avail[:, skus].sum(axis=0)
    lo = np.zeros(len(skus))
    # No order takes a unit that costs more than leaving it unfilled.
    hi = inst.weights.unfilled * unfilled_unit_penalty(inst.price[skus])
    no_capacity_price = np.zeros(inst.n_nodes)
    best = ScarcePrices(np.zeros(inst.avail.shape), float(shares.sum()), skus, len(orders), 0)
    pass_seconds = 0.0
    for done in range(1, passes + 1):
        if not deadline.fits(pass_seconds):
            break
        started = deadline.budget.now()
        p = 0.5 * (lo + hi)
        lam = np.zeros(inst.avail.shape)
        lam[:, skus] = p
        # No widening: a uniform price moves every node's floor alike, so it rarely binds.
        priced, whole = price_until(inst, holding, lam, no_capacity_price, deadline, executor, part)
        if not whole:
            break  # the deadline passed during the pass
        bound = base + bound_of(inst, priced, lam, no_capacity_price)
        if bound > best.bound:
            best = ScarcePrices(lam, bound, skus, len(orders), done)
        t = takes(priced)
        of_short = short[t.sku]
        taken = np.bincount(position[t.sku[of_short]], t.qty[of_short], minlength=len(skus))
        lo = np.where(taken > stock, p, lo)  # still over-taken: the price is too low
        hi = np.where(taken <= stock, p, hi)
        pass_seconds = deadline.budget.now() - started
    return best
