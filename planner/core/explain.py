"""Why a plan sources an order the way it does: per line, the node chosen with
its cost, and the next best node with its extra cost and what ruled it out."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from models.errors import DomError
from planner.core.cost import package_table
from planner.core.instance import Instance

IntA = npt.NDArray[np.int64]


class UnknownOrderError(DomError):
    pass


@dataclass(frozen=True)
class LineChoice:
    line_no: int
    sku: str
    qty: int
    sources: str  # "DC1 x2, ST4 x1" or "unfilled"
    cost: float  # its units at their nodes plus its unit share of each package's fixed cost
    next_node: str | None
    next_extra: float | None  # next best's cost minus what moving the line away saves
    why_not: str


def explain_order(
    inst: Instance, allocations: pd.DataFrame, order_id: str
) -> tuple[pd.DataFrame, list[LineChoice]]:
    """The order's packages (cost breakdown) and one LineChoice per line; a digital
    line is listed as delivered at capture, at no cost (the planner never sees it)."""
    lines = inst.batch.order_lines[inst.batch.order_lines["order_id"] == order_id]
    digital = lines[lines["sku"].isin(inst.batch.digital_skus)]
    delivered = [
        LineChoice(int(n), str(s), int(q), "digital", 0.0, None, None, "delivered at capture")
        for n, s, q in digital[["line_no", "sku", "qty"]].itertuples(index=False)
    ]
    matches = np.flatnonzero(inst.order_ids == order_id)
    if not len(matches):
        if delivered and len(delivered) == len(lines):
            raise UnknownOrderError(
                f"order {order_id!r} has only digital lines: they are delivered at capture "
                "and are in no plan"
            )
        raise UnknownOrderError(f"order {order_id!r} is not in this batch")
    o = int(matches[0])
    mine = allocations[allocations["order_id"] == order_id]
    packages = package_table(inst.batch, mine)
    order = _Order(inst, o, mine, *_left_after(inst, allocations))
    choices = [order.line_choice(i, line) for i, line in enumerate(range(*order.lines))]
    return packages, sorted(choices + delivered, key=lambda c: c.line_no)


def _left_after(inst: Instance, allocations: pd.DataFrame) -> tuple[IntA, IntA]:
    """What the whole plan leaves at each node: stock (N, S) and capacity (N,)."""
    node_index = {n: i for i, n in enumerate(inst.node_ids)}
    used = np.zeros(inst.avail.shape, np.int64)
    line_key = inst.batch.order_lines.set_index(["order_id", "line_no"])["sku"]
    sku_index = {s: i for i, s in enumerate(inst.sku_ids)}
    if len(allocations):
        skus = line_key.reindex(pd.MultiIndex.from_frame(allocations[["order_id", "line_no"]]))
        np.add.at(
            used,
            (allocations["node_id"].map(node_index).to_numpy(), skus.map(sku_index).to_numpy()),
            allocations["qty"].to_numpy(),
        )
    return inst.avail - used, inst.capacity - used.sum(axis=1)


class _Order:
    """One order's costs against every node and what the plan gave it."""

    def __init__(
        self, inst: Instance, o: int, mine: pd.DataFrame, left: IntA, cap_left: IntA
    ) -> None:
        self.inst, self.o, self.mine, self.left, self.cap_left = inst, o, mine, left, cap_left
        costs = inst.order_costs(np.array([o]))
        sl = inst.lines_of(o)
        self.lines = (sl.start, sl.stop)
        self.unit = inst.unit_costs(costs, 0, sl)  # (L, N)
        self.fixed = costs.fixed[0]
        self.node_index = {n: i for i, n in enumerate(inst.node_ids)}
        self.opened = {self.node_index[n] for n in mine["node_id"]}
        self.limit = int(inst.package_limit[o])

    def chosen(self, i: int, line: int, line_no: int, q: int) -> tuple[str, float, float, set[int]]:
        """Where the plan sourced the line, its cost, its marginal cost, and the nodes.

        The cost shares each package's fixed cost (base rate, packing, lateness) by
        units, so that the lines' costs add up to the packages' costs. The marginal
        cost, what moving the line away saves, has the fixed cost only when the line
        is its package's only one."""
        inst, mine = self.inst, self.mine
        rows = mine[mine["line_no"] == line_no]
        if rows.empty:
            unfilled = q * float(inst.unfilled_unit_cost[line])
            return "unfilled", unfilled, unfilled, set()
        sources = ", ".join(f"{r.node_id} x{r.qty}" for r in rows.itertuples())
        short = q - int(rows["qty"].sum())
        if short:
            sources += f", {short} unfilled"
        cost = marginal = short * float(inst.unfilled_unit_cost[line])
        for node_id, qty in zip(rows["node_id"], rows["qty"].to_numpy(np.int64), strict=True):
            n = self.node_index[node_id]
            at_node = mine[mine["node_id"] == node_id]
            units = int(qty) * float(self.unit[i, n])
            cost += units + int(qty) / int(at_node["qty"].sum()) * float(self.fixed[n])
            marginal += units + (float(self.fixed[n]) if len(at_node) == 1 else 0.0)
        return sources, cost, marginal, {self.node_index[n] for n in rows["node_id"]}

    def line_choice(self, i: int, line: int) -> LineChoice:
        inst = self.inst
        line_no, s, q = int(inst.line_no[line]), int(inst.line_sku[line]), int(inst.line_qty[line])
        sources, chosen_cost, marginal, chosen_nodes = self.chosen(i, line, line_no, q)
        sku = str(inst.sku_ids[s])
        # Next best: serve the whole line from one other node.
        opened = [n in self.opened for n in range(inst.n_nodes)]
        split = inst.weights.split if self.opened else 0.0
        alt = np.where(opened, 0.0, self.fixed + split) + q * self.unit[i]
        alt[list(chosen_nodes)] = np.inf
        alt[~np.isfinite(self.fixed)] = np.inf
        alt[inst.avail[:, s] == 0] = np.inf
        if not np.isfinite(alt).any():
            why = "no other node can"
            return LineChoice(line_no, sku, q, sources, chosen_cost, None, None, why)
        n = int(np.argmin(alt))
        extra = float(alt[n]) - marginal
        why = "; ".join(self.why_not(n, s, q))
        return LineChoice(line_no, sku, q, sources, chosen_cost, str(inst.node_ids[n]), extra, why)

    def why_not(self, n: int, s: int, q: int) -> list[str]:
        """Why the plan did not take node ``n`` for ``q`` units of SKU ``s``."""
        reasons = []
        if self.left[n, s] < q:
            reasons.append(f"stock: {max(0, int(self.left[n, s]))} left")
        if self.cap_left[n] < q:
            reasons.append(f"capacity: {max(0, int(self.cap_left[n]))} left")
        if n not in self.opened and len(self.opened) >= self.limit:
            ship_complete = self.inst.ship_complete[self.o]
            reasons.append(
                "rule: ship-complete" if ship_complete else f"rule: max_packages {self.limit}"
            )
        return reasons or ["dearer overall"]
