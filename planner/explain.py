"""Why a plan sources an order the way it does: per line, the node chosen with
its cost, and the next best node with its extra cost and what ruled it out."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.errors import DomError
from planner.cost import package_table
from planner.instance import Instance


class UnknownOrderError(DomError):
    pass


@dataclass(frozen=True)
class LineChoice:
    line_no: int
    sku: str
    qty: int
    sources: str  # "DC1 x2, ST4 x1" or "unfilled"
    cost: float  # the line's units at their nodes plus its unit share of each package's fixed cost
    next_node: str | None
    next_extra: float | None  # next best's cost minus what moving the line away saves
    why_not: str


def explain_order(
    inst: Instance, allocations: pd.DataFrame, order_id: str
) -> tuple[pd.DataFrame, list[LineChoice]]:
    """The order's packages (cost breakdown) and one LineChoice per line."""
    matches = np.flatnonzero(inst.order_ids == order_id)
    if not len(matches):
        raise UnknownOrderError(f"order {order_id!r} is not in this batch")
    o = int(matches[0])
    w = inst.weights
    mine = allocations[allocations["order_id"] == order_id]
    packages = package_table(inst.batch, mine)
    costs = inst.order_costs(np.array([o]))
    sl = inst.lines_of(o)
    unit = inst.unit_costs(costs, 0, sl)  # (L, N)
    fixed = costs.fixed[0]
    node_index = {n: i for i, n in enumerate(inst.node_ids)}

    # What the whole plan leaves at each node.
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
    left = inst.avail - used
    cap_left = inst.capacity - used.sum(axis=1)
    opened = {node_index[n] for n in mine["node_id"]}
    limit = int(inst.package_limit[o])

    choices = []
    for i, line in enumerate(range(sl.start, sl.stop)):
        line_no, s, q = int(inst.line_no[line]), int(inst.line_sku[line]), int(inst.line_qty[line])
        rows = mine[mine["line_no"] == line_no]
        if rows.empty:
            sources = "unfilled"
            chosen_cost = q * float(inst.unfilled_unit_cost[line])
            marginal = chosen_cost
            chosen_nodes: set[int] = set()
        else:
            sources = ", ".join(f"{r.node_id} x{r.qty}" for r in rows.itertuples())
            short = q - int(rows["qty"].sum())
            if short:
                sources += f", {short} unfilled"
            chosen_nodes = {node_index[n] for n in rows["node_id"]}
            chosen_cost = short * float(inst.unfilled_unit_cost[line])
            marginal = chosen_cost
            for r in rows.itertuples():
                n = node_index[r.node_id]
                # The package's fixed cost (base rate, packing, lateness) is shared by its
                # units, so that the lines' costs add up to the packages' costs.
                # What moving the line saves is its marginal cost: the fixed cost only
                # when the line is its package's only one.
                at_node = mine[mine["node_id"] == r.node_id]
                share = r.qty / int(at_node["qty"].sum())
                chosen_cost += r.qty * float(unit[i, n]) + share * float(fixed[n])
                marginal += r.qty * float(unit[i, n]) + (
                    float(fixed[n]) if len(at_node) == 1 else 0.0
                )
        # Next best: serve the whole line from one other node.
        open_cost = np.where(
            [n in opened for n in range(inst.n_nodes)], 0.0, fixed + (w.split if opened else 0.0)
        )
        alt = open_cost + q * unit[i]
        alt[list(chosen_nodes)] = np.inf
        alt[~np.isfinite(fixed)] = np.inf
        alt[inst.avail[:, s] == 0] = np.inf
        if not np.isfinite(alt).any():
            choices.append(
                LineChoice(
                    line_no,
                    str(inst.sku_ids[s]),
                    q,
                    sources,
                    chosen_cost,
                    None,
                    None,
                    "no other node can",
                )
            )
            continue
        n = int(np.argmin(alt))
        reasons = []
        if left[n, s] < q:
            reasons.append(f"stock: {max(0, int(left[n, s]))} left")
        if cap_left[n] < q:
            reasons.append(f"capacity: {max(0, int(cap_left[n]))} left")
        if n not in opened and len(opened) >= limit:
            reasons.append(
                "rule: ship-complete" if inst.ship_complete[o] else f"rule: max_packages {limit}"
            )
        if not reasons:
            reasons.append("dearer overall")
        choices.append(
            LineChoice(
                line_no,
                str(inst.sku_ids[s]),
                q,
                sources,
                chosen_cost,
                str(inst.node_ids[n]),
                float(alt[n]) - marginal,
                "; ".join(reasons),
            )
        )
    return packages, choices
