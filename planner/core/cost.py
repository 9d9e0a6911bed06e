"""The cost model: the one place that computes the spec's objective.

Every strategy's plan, and any plan made by another tool, is costed here, so
totals are comparable. It is vectorised (pandas merges and group-bys) because
a plan can hold millions of allocations.

For a package p = (order o, node n), zone z = zone(n.zip, o.ship_zip) and rate
row r = rate_card[o.service, z] (pickup: base = per_lb = transit = 0):

    shipping(p)  = r.base + r.per_lb * weight(p)
    handling(p)  = n.pack_cost + n.pick_cost * units(p)
    late_days(p) = max(0, n.processing_days + r.transit_days - o.due_days)
    split(o)     = max(0, packages(o) - 1)
    unfilled(l)  = unfilled units(l) * (100 + price(l.sku))

Lines of digital SKUs are no part of a plan: they are neither allocated nor unfilled
and cost nothing (``Batch.physical_lines`` is every other line).
"""

from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.typing import ArrayLike

from data.geo import zone_between
from models import Batch, CostBreakdown, Service, Weights

FloatA = npt.NDArray[np.float64]

UNFILLED_BASE_PENALTY = 100.0
ALLOCATION_COLUMNS = ("order_id", "line_no", "node_id", "qty")


def shipping_cost(base: ArrayLike, per_lb: ArrayLike, weight_lb: ArrayLike) -> Any:
    """Carrier charge of a package: the rate row's base plus its per-pound rate."""
    return np.add(base, np.multiply(per_lb, weight_lb))


def handling_cost(pack_cost: ArrayLike, pick_cost: ArrayLike, units: ArrayLike) -> Any:
    """Node charge of a package: one pack plus one pick per unit."""
    return np.add(pack_cost, np.multiply(pick_cost, units))


def weighted_total(
    w: Weights,
    shipping: float,
    handling: float,
    late_days: float = 0.0,
    splits: float = 0.0,
    unfilled: float = 0.0,
) -> float:
    """The objective: each term times its weight."""
    return (
        w.shipping * shipping
        + w.handling * handling
        + w.late * late_days
        + w.split * splits
        + w.unfilled * unfilled
    )


def unit_cost(
    shipping_per_lb: FloatA, weight_lb: FloatA, pick_cost: FloatA, handling_weight: float
) -> FloatA:
    """U: the weighted cost one more unit adds to a package (its weight at the package's
    per-lb rate, already weighted by w.shipping, plus its pick). The optimizer's unit
    costs all come from here; ``package_table`` costs the same terms per package."""
    return shipping_per_lb * weight_lb + handling_weight * pick_cost


Prices = TypeVar("Prices", FloatA, pd.Series)


def unfilled_unit_penalty(price: Prices) -> Prices:
    """The unweighted cost of one unit left unfilled: a base penalty plus its price."""
    return UNFILLED_BASE_PENALTY + price


def line_table(batch: Batch, allocations: pd.DataFrame) -> pd.DataFrame:
    """Each physical order line with its allocated and unfilled units (over-allocation -> 0
    unfilled)."""
    lines = batch.physical_lines[["order_id", "line_no", "sku", "qty"]]
    allocated = (
        allocations.astype({"qty": np.int64})
        .groupby(["order_id", "line_no"], sort=False)["qty"]
        .sum()
        .rename("allocated")
    )
    out = lines.merge(allocated, left_on=["order_id", "line_no"], right_index=True, how="left")
    out["allocated"] = out["allocated"].fillna(0).astype(np.int64)
    out["unfilled"] = (out["qty"] - out["allocated"]).clip(lower=0)
    price = batch.items.set_index("sku")["price"]
    out["unfilled_cost"] = out["unfilled"] * unfilled_unit_penalty(out["sku"].map(price))
    return out


def package_table(batch: Batch, allocations: pd.DataFrame) -> pd.DataFrame:
    """One row per package (order, node) with its shipping, handling and late days."""
    cols = [
        "order_id",
        "node_id",
        "service",
        "zone",
        "units",
        "weight_lb",
        "shipping",
        "handling",
        "late_days",
    ]
    alloc = allocations[list(ALLOCATION_COLUMNS)].merge(
        batch.order_lines[["order_id", "line_no", "sku"]],
        on=["order_id", "line_no"],
        how="left",
        validate="many_to_one",
    )
    if batch.digital_skus:  # a digital line costs nothing, even where a plan names it
        alloc = alloc[~alloc["sku"].isin(batch.digital_skus).to_numpy()].copy()
    if alloc.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    alloc["weight"] = alloc["qty"] * alloc["sku"].map(batch.items.set_index("sku")["weight_lb"])
    pkg = (
        alloc.groupby(["order_id", "node_id"], sort=False)
        .agg(units=("qty", "sum"), weight_lb=("weight", "sum"))
        .reset_index()
    )
    orders = batch.orders.set_index("order_id")
    nodes = batch.nodes.set_index("node_id")
    pkg["service"] = pkg["order_id"].map(orders["service"])
    due = pkg["order_id"].map(orders["due_days"]).to_numpy(np.int64)
    ship_zip = pkg["order_id"].map(orders["ship_zip"]).to_numpy(str)
    node_zip = pkg["node_id"].map(nodes["zip"]).to_numpy(str)
    shipping = (pkg["service"] != Service.PICKUP.value).to_numpy()

    zone = np.zeros(len(pkg), dtype=np.int64)
    if shipping.any():
        # Distances per distinct (node ZIP, ship ZIP) pair: far fewer than packages.
        pairs = pd.DataFrame({"a": node_zip[shipping], "b": ship_zip[shipping]})
        uniq = pairs.drop_duplicates()
        uniq_zone = zone_between(uniq["a"].to_numpy(str), uniq["b"].to_numpy(str))
        lookup = pd.Series(uniq_zone, index=pd.MultiIndex.from_frame(uniq))
        zone[shipping] = lookup.reindex(pd.MultiIndex.from_frame(pairs)).to_numpy(np.int64)
    pkg["zone"] = zone

    rates = batch.rate_card.set_index(["service", "zone"])
    key = pd.MultiIndex.from_arrays([pkg["service"], pkg["zone"]])
    base = rates["base"].reindex(key).to_numpy(np.float64)
    per_lb = rates["per_lb"].reindex(key).to_numpy(np.float64)
    transit = rates["transit_days"].reindex(key).to_numpy(np.float64)
    base, per_lb, transit = (np.where(shipping, x, 0.0) for x in (base, per_lb, transit))
    if np.isnan(base).any():
        missing = pkg.loc[np.isnan(base), ["service", "zone"]].drop_duplicates()
        raise KeyError(f"rate card has no row for {missing.to_records(index=False).tolist()}")

    pkg["shipping"] = shipping_cost(base, per_lb, pkg["weight_lb"].to_numpy(np.float64))
    pkg["handling"] = handling_cost(
        pkg["node_id"].map(nodes["pack_cost"]).to_numpy(np.float64),
        pkg["node_id"].map(nodes["pick_cost"]).to_numpy(np.float64),
        pkg["units"].to_numpy(np.float64),
    )
    processing = pkg["node_id"].map(nodes["processing_days"]).to_numpy(np.float64)
    pkg["late_days"] = np.maximum(0.0, processing + transit - due)
    return pkg[cols]


def evaluate(
    batch: Batch, allocations: pd.DataFrame, weights: Weights | None = None
) -> CostBreakdown:
    """Cost a plan given by its allocations; unfilled units are what allocations leave."""
    w = weights or batch.weights
    pkg = package_table(batch, allocations)
    lines = line_table(batch, allocations)
    packages_per_order = pkg.groupby("order_id", sort=False).size()
    shipping = float(pkg["shipping"].sum())
    handling = float(pkg["handling"].sum())
    late_days = float(pkg["late_days"].sum())
    splits = float((packages_per_order - 1).clip(lower=0).sum())
    unfilled = float(lines["unfilled_cost"].sum())
    total = weighted_total(w, shipping, handling, late_days, splits, unfilled)
    return CostBreakdown(
        weights=w,
        shipping=shipping,
        handling=handling,
        late_days=late_days,
        splits=splits,
        unfilled=unfilled,
        total=total,
        orders=len(batch.orders),
        packages=len(pkg),
        units_ordered=int(lines["qty"].sum()),
        units_allocated=int(lines["allocated"].sum()),
        late_packages=int((pkg["late_days"] > 0).sum()),
    )
