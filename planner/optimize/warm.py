"""What one sourcing run leaves for the next: its prices and its plan, by ids.

A run every few minutes sees mostly the same orders, nodes and SKUs as the last
one. Its prices bound the new batch at once (the Lagrangian bound is valid at any
prices, so stale ones cost nothing but a pricing pass) and make columns that know
the scarcity; its plan, where it still applies, is a feasible start near the
optimum. Kept by ids, not indices: orders come and go, and a node or SKU may be
added, so each new run maps what it can and prices or plans the rest itself.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from planner.core.instance import Instance
from planner.core.plan import Plan, left_by
from planner.optimize.columns import columns_from_plan, keeping_rules

FloatA = npt.NDArray[np.float64]
IntA = npt.NDArray[np.int64]
ObjA = npt.NDArray[np.object_]


@dataclass(frozen=True)
class Warm:
    """Prices (stock per node and SKU, capacity per node) and a plan's allocations."""

    node_ids: ObjA
    sku_ids: ObjA
    lam: FloatA  # (nodes, SKUs), by node_ids and sku_ids
    mu: FloatA  # (nodes,)
    order_id: ObjA  # the plan: one entry per (order, line, node)
    line_no: IntA
    node_id: ObjA
    qty: IntA


def warm_from(inst: Instance, plan: Plan, lam: FloatA, mu: FloatA) -> Warm:
    """What a run on ``inst`` ending with ``plan`` at prices (lam, mu) leaves (the prices
    are kept, not copied: at 1M orders lam alone is 240 MB)."""
    keep = plan.qty > 0
    line, node = plan.line[keep], plan.node[keep]
    return Warm(
        inst.node_ids, inst.sku_ids, lam, mu,
        inst.order_ids[inst.line_order[line]], inst.line_no[line].copy(), inst.node_ids[node],
        plan.qty[keep].copy(),
    )  # fmt: skip


def prices_in(warm: Warm, inst: Instance) -> tuple[FloatA, FloatA]:
    """The warm prices on this instance's nodes and SKUs (0 for ones it did not have)."""
    node_at = _positions(warm.node_ids, inst.node_ids)
    sku_at = _positions(warm.sku_ids, inst.sku_ids)
    lam, mu = np.zeros(inst.avail.shape), np.zeros(inst.n_nodes)
    nodes, skus = node_at >= 0, sku_at >= 0
    lam[np.ix_(nodes, skus)] = warm.lam[np.ix_(node_at[nodes], sku_at[skus])]
    mu[nodes] = warm.mu[node_at[nodes]]
    return lam, mu


def plan_in(warm: Warm, inst: Instance) -> Plan:
    """The warm plan's allocations that still apply to this instance, feasible: an
    order keeps its allocations only if every one maps to a line and node here, none
    exceeds its line, its column keeps the order rules and is allowed (rules 3-5),
    and the stock and capacity it takes are still there. The orders dropped are the
    caller's to plan."""
    here = inst.order_ids[inst.line_order]
    lines = pd.DataFrame({"order_id": here, "line_no": inst.line_no, "line": np.arange(len(here))})
    node_here = _positions(inst.node_ids, warm.node_id)
    old = pd.DataFrame(
        {"order_id": warm.order_id, "line_no": warm.line_no, "node": node_here, "qty": warm.qty}
    )
    old = old.merge(lines, on=["order_id", "line_no"], how="left")
    known = old["order_id"].isin(set(inst.order_ids))
    mapped = old["line"].notna().to_numpy() & (old["node"].to_numpy() >= 0)
    line = old["line"].fillna(-1).to_numpy(np.int64)
    node, qty = old["node"].to_numpy(np.int64), old["qty"].to_numpy(np.int64)
    bad_orders = set(old["order_id"][known.to_numpy() & ~mapped])
    ok = mapped & ~old["order_id"].isin(bad_orders).to_numpy()
    plan = Plan(line[ok], node[ok], qty[ok])
    got = np.bincount(plan.line, weights=plan.qty, minlength=inst.n_lines)
    plan = _drop_orders(inst, plan, inst.line_order[np.flatnonzero(got > inst.line_qty)])
    cols = columns_from_plan(inst, plan)
    kept = keeping_rules(inst, cols.take(np.flatnonzero(np.isfinite(cols.cost))))
    served = np.zeros(inst.n_orders, bool)
    served[kept.order] = True
    plan = _drop_orders(inst, plan, np.flatnonzero(~served))
    # Stock or capacity that is no longer there: every order on such a row gives way
    # (dropping only frees stock, so one pass leaves a feasible plan).
    avail, cap = left_by(inst, plan)
    over = (avail[plan.node, inst.line_sku[plan.line]] < 0) | (cap[plan.node] < 0)
    return _drop_orders(inst, plan, inst.line_order[plan.line[over]])


def _drop_orders(inst: Instance, plan: Plan, orders: IntA) -> Plan:
    if not len(orders):
        return plan
    drop = np.zeros(inst.n_orders, bool)
    drop[orders] = True
    return plan.take(~drop[inst.line_order[plan.line]])


def _positions(known: ObjA, wanted: ObjA) -> IntA:
    """Where each of ``wanted`` sits in ``known`` (-1 where it is not there)."""
    index = pd.Index(known)
    return np.asarray(index.get_indexer(pd.Index(wanted)), np.int64)
