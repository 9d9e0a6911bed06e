"""The plan checker: every broken hard rule of the contract, with where.

It trusts nothing about who made the plan, so it checks structure too
(unknown orders, lines and nodes, quantities that do not add up).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models import Batch, Service


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


def available(batch: Batch) -> pd.Series:
    """avail = max(0, on_hand - reserved - safety_stock), indexed by (node_id, sku)."""
    inv = batch.inventory
    avail = (inv["on_hand"] - inv["reserved"] - inv["safety_stock"]).clip(lower=0)
    return pd.Series(avail.to_numpy(), index=pd.MultiIndex.from_frame(inv[["node_id", "sku"]]))


class _Report:
    """Violations per rule, at most ``limit`` listed per call and the rest counted."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.found: list[Violation] = []

    def add(self, rule: str, frame: pd.DataFrame, fmt: str) -> None:
        for row in frame.head(self.limit).to_dict("records"):
            fields = {str(k): v for k, v in row.items()}
            self.found.append(Violation(rule, fmt.format(**fields)))
        if len(frame) > self.limit:
            self.found.append(Violation(rule, f"... and {len(frame) - self.limit} more"))


def known_rows(batch: Batch, allocations: pd.DataFrame) -> "pd.Series[bool]":
    """Rows naming an order line and a node of the batch: the only ones a cost can use
    (``check_plan`` reports the others)."""
    keys = pd.MultiIndex.from_frame(allocations[["order_id", "line_no"]])
    line_keys = pd.MultiIndex.from_frame(batch.order_lines[["order_id", "line_no"]])
    known = keys.isin(line_keys) & allocations["node_id"].isin(batch.nodes["node_id"]).to_numpy()
    return pd.Series(known, index=allocations.index, dtype=bool)


def check_plan(
    batch: Batch,
    allocations: pd.DataFrame,
    unfilled: pd.DataFrame | None = None,
    limit: int = 50,
) -> list[Violation]:
    """All violations (at most ``limit`` per rule); an empty list means feasible."""
    report = _Report(limit)
    keyed, per_line = _structure(batch, allocations, unfilled, report)
    _stock_and_capacity(batch, keyed, report)
    _nodes_allowed(batch, keyed, report)
    _order_rules(batch, keyed, per_line, report)
    return report.found


def _structure(
    batch: Batch, alloc: pd.DataFrame, unfilled: pd.DataFrame | None, report: _Report
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Allocations that name a real line and node, joined with the line's SKU; and every
    ordered line with its allocated units. Reports what does not add up."""
    add = report.add
    _no_digital_lines(batch, alloc, unfilled, report)
    lines = batch.order_lines[["order_id", "line_no", "sku", "qty"]]
    nodes = batch.nodes.set_index("node_id")
    # ``row``: the data row of the plan file (after its header), to say where a bad id is.
    alloc = alloc.reset_index(drop=True).assign(row=np.arange(1, len(alloc) + 1))
    add("structure", alloc[alloc["qty"] < 1], "order {order_id} line {line_no}: qty {qty} < 1")
    keyed = alloc.merge(
        lines, on=["order_id", "line_no"], how="left", suffixes=("", "_ordered"), indicator=True
    )
    add(
        "structure",
        keyed[keyed["_merge"] == "left_only"],
        "allocations row {row}: order {order_id} line {line_no}: no such order line",
    )
    add(
        "structure",
        alloc[~alloc["node_id"].isin(nodes.index)],
        "allocations row {row}: order {order_id} line {line_no}: unknown node {node_id}",
    )
    if unfilled is not None:
        rows = unfilled.reset_index(drop=True).assign(row=np.arange(1, len(unfilled) + 1))
        named = rows.merge(lines, on=["order_id", "line_no"], how="left", indicator=True)
        add(
            "structure",
            named[named["_merge"] == "left_only"],
            "unfilled row {row}: order {order_id} line {line_no}: no such order line",
        )
    keyed = keyed[keyed["_merge"] == "both"].drop(columns="_merge")
    keyed = keyed[keyed["node_id"].isin(nodes.index) & ~keyed["sku"].isin(batch.digital_skus)]
    lines = batch.physical_lines[["order_id", "line_no", "sku", "qty"]]

    per_line = keyed.groupby(["order_id", "line_no"])["qty"].sum().rename("allocated")
    lq = lines.merge(per_line, left_on=["order_id", "line_no"], right_index=True, how="left")
    lq["allocated"] = lq["allocated"].fillna(0).astype(np.int64)
    add(
        "structure",
        lq[lq["allocated"] > lq["qty"]],
        "order {order_id} line {line_no}: allocated {allocated} > ordered {qty}",
    )
    if unfilled is not None:
        _unfilled_adds_up(lq, unfilled, report)
    return keyed, lq


def digital_rows(batch: Batch, table: pd.DataFrame) -> pd.DataFrame:
    """Rows of a plan table (allocations or unfilled) that name a digital SKU's line,
    with that SKU; the row's position in ``table`` is kept as ``row``."""
    if not batch.digital_skus or table.empty:
        return table.iloc[:0].assign(sku=pd.Series(dtype=object), row=pd.Series(dtype=int))
    lines = batch.order_lines[["order_id", "line_no", "sku"]]
    keyed = table.reset_index(drop=True).rename_axis("row").reset_index()
    keyed = keyed.astype({"line_no": np.int64}).merge(lines, on=["order_id", "line_no"])
    return keyed[keyed["sku"].isin(batch.digital_skus).to_numpy()].sort_values("row")


def _no_digital_lines(
    batch: Batch, alloc: pd.DataFrame, unfilled: pd.DataFrame | None, report: _Report
) -> None:
    """Digital lines are delivered electronically: a plan never allocates nor leaves them."""
    for name, table in (("allocations", alloc), ("unfilled", unfilled)):
        if table is not None:
            report.add(
                "structure",
                digital_rows(batch, table),
                f"order {{order_id}} line {{line_no}}: digital sku {{sku}} has no place in {name}",
            )


def _unfilled_adds_up(lq: pd.DataFrame, unfilled: pd.DataFrame, report: _Report) -> None:
    """allocated + unfilled = ordered, per line."""
    uf = (
        unfilled.astype({"qty": np.int64})
        .groupby(["order_id", "line_no"])["qty"]
        .sum()
        .rename("unfilled")
    )
    lq = lq.merge(uf, left_on=["order_id", "line_no"], right_index=True, how="left")
    lq["unfilled"] = lq["unfilled"].fillna(0).astype(np.int64)
    report.add(
        "structure",
        lq[lq["allocated"] + lq["unfilled"] != lq["qty"]],
        "order {order_id} line {line_no}: allocated {allocated} + "
        "unfilled {unfilled} != ordered {qty}",
    )


def _stock_and_capacity(batch: Batch, keyed: pd.DataFrame, report: _Report) -> None:
    """Rules 1 and 2."""
    nodes = batch.nodes.set_index("node_id")
    # 1. Per (node, sku): allocated <= avail.
    used = keyed.groupby(["node_id", "sku"])["qty"].sum().rename("allocated").reset_index()
    avail = available(batch)
    key = pd.MultiIndex.from_frame(used[["node_id", "sku"]])
    used["avail"] = avail.reindex(key).fillna(0).to_numpy()
    report.add(
        "1-inventory",
        used[used["allocated"] > used["avail"]],
        "node {node_id} sku {sku}: allocated {allocated} > available {avail:.0f}",
    )
    # 2. Per node: allocated <= capacity_units.
    per_node = keyed.groupby("node_id")["qty"].sum().rename("allocated").reset_index()
    per_node["capacity"] = per_node["node_id"].map(nodes["capacity_units"])
    report.add(
        "2-capacity",
        per_node[per_node["allocated"] > per_node["capacity"]],
        "node {node_id}: allocated {allocated} > capacity {capacity}",
    )


def _nodes_allowed(batch: Batch, keyed: pd.DataFrame, report: _Report) -> None:
    """Rule 3: shipping only from ship-enabled nodes; pickups only at their
    pickup-enabled node."""
    orders = batch.orders.set_index("order_id")
    nodes = batch.nodes.set_index("node_id")
    keyed = keyed.assign(
        service=keyed["order_id"].map(orders["service"]),
        pickup_node=keyed["order_id"].map(orders["pickup_node_id"]),
        ship_enabled=keyed["node_id"].map(nodes["ship_enabled"]).astype(bool),
        pickup_enabled=keyed["node_id"].map(nodes["pickup_enabled"]).astype(bool),
    )
    is_pickup = keyed["service"] == Service.PICKUP.value
    report.add(
        "3-ship-enabled",
        keyed[~is_pickup & ~keyed["ship_enabled"]],
        "order {order_id} line {line_no}: node {node_id} may not ship parcels",
    )
    report.add(
        "3-pickup-node",
        keyed[is_pickup & (keyed["node_id"] != keyed["pickup_node"])],
        "order {order_id} line {line_no}: pickup order served by {node_id}, "
        "not its pickup node {pickup_node}",
    )
    report.add(
        "3-pickup-node",
        keyed[is_pickup & ~keyed["pickup_enabled"]],
        "order {order_id} line {line_no}: node {node_id} is not pickup-enabled",
    )


def _order_rules(batch: Batch, keyed: pd.DataFrame, lq: pd.DataFrame, report: _Report) -> None:
    """Rules 4 (ship-complete: the whole order from one node, or nothing) and 5
    (max_packages)."""
    orders = batch.orders.set_index("order_id")
    packages = keyed.groupby("order_id")["node_id"].nunique().rename("packages")
    sc_ids = orders.index[orders["ship_complete"].to_numpy(bool)]
    sc_lines = lq[lq["order_id"].isin(sc_ids)]
    sc = sc_lines.groupby("order_id").agg(allocated=("allocated", "sum"), ordered=("qty", "sum"))
    sc["packages"] = packages.reindex(sc.index).fillna(0).astype(int)
    broken = sc[(sc["allocated"] > 0) & ((sc["packages"] > 1) | (sc["allocated"] < sc["ordered"]))]
    report.add(
        "4-ship-complete",
        broken.reset_index(),
        "order {order_id}: ship-complete but {allocated} of {ordered} units from "
        "{packages} node(s)",
    )
    limits = orders["max_packages"].reindex(packages.index)
    over = packages[limits.notna() & (packages > limits.fillna(0))].rename("packages").reset_index()
    over["max_packages"] = over["order_id"].map(orders["max_packages"])
    report.add("5-max-packages", over, "order {order_id}: {packages} packages > max {max_packages}")
