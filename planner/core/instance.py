"""The batch as integer-indexed numpy arrays: what every strategy computes on.

The objective separates per package. For order o served by node n:

    package cost = F[o, n] + sum over its lines l of qty(l, n) * U[l, n]
    F[o, n] = w.shipping * base(o, n) + w.handling * pack(n) + w.late * late(o, n)
    U[l, n] = w.shipping * per_lb(o, n) * weight(sku) + w.handling * pick(n)

and the plan total is sum F + sum qty*U + w.split * sum max(0, packages(o) - 1)
+ unfilled units * w.unfilled * (100 + price). (``planner.core.cost`` remains the one
place that costs a finished plan; these coefficients are what solvers
optimise, and tests check that both agree.)
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from data.geo import haversine_miles, zip_table, zone_of_miles
from models import Batch, Service, Weights
from planner.core.cost import unfilled_unit_penalty, unit_cost

SERVICE_CODES: dict[str, int] = {"ground": 0, "two_day": 1, "next_day": 2, "pickup": 3}
PICKUP = SERVICE_CODES[Service.PICKUP.value]
INFEASIBLE = np.inf

IntA = npt.NDArray[np.int64]
FloatA = npt.NDArray[np.float64]
BoolA = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class OrderCosts:
    """Cost coefficients of a block of orders against every node."""

    orders: IntA  # order indices, shape (k,)
    fixed: FloatA  # F, shape (k, N); inf where the node may not serve the order
    per_lb: FloatA  # w.shipping * per_lb, shape (k, N)
    late: FloatA  # late days per package, shape (k, N)
    miles: FloatA  # distance node -> destination (0 for pickup), shape (k, N)


@dataclass(frozen=True, eq=False)
class Instance:
    batch: Batch
    weights: Weights
    node_ids: npt.NDArray[np.object_]
    sku_ids: npt.NDArray[np.object_]
    order_ids: npt.NDArray[np.object_]
    # Nodes.
    ship_enabled: BoolA
    pickup_enabled: BoolA
    capacity: IntA
    pick_cost: FloatA
    pack_cost: FloatA
    processing: IntA
    node_lat: FloatA
    node_lon: FloatA
    # Items.
    weight: FloatA
    price: FloatA
    # Available units, dense (N, S).
    avail: npt.NDArray[np.int64]
    # Orders.
    service: IntA
    due: IntA
    ship_complete: BoolA
    max_packages: IntA  # 0 = no limit
    pickup_node: IntA  # -1 unless pickup
    dest_lat: FloatA
    dest_lon: FloatA
    # Lines, sorted by order then line_no; order o owns lines order_start[o]:order_start[o+1].
    line_order: IntA
    line_no: IntA
    line_sku: IntA
    line_qty: IntA
    order_start: IntA
    # Rate card as arrays indexed [service code, zone]; NaN where missing.
    rate_base: FloatA
    rate_per_lb: FloatA
    rate_transit: FloatA

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    @property
    def n_orders(self) -> int:
        return len(self.order_ids)

    @property
    def n_lines(self) -> int:
        return len(self.line_order)

    @cached_property
    def unfilled_unit_cost(self) -> FloatA:
        """Weighted cost of leaving one unit of each line unfilled."""
        return self.weights.unfilled * unfilled_unit_penalty(self.price[self.line_sku])

    @cached_property
    def package_limit(self) -> IntA:
        """Most packages each order may have: 1 if ship-complete, else max_packages, and
        without a limit one per node."""
        limit = np.where(self.max_packages > 0, self.max_packages, self.n_nodes)
        return np.where(self.ship_complete, 1, limit).astype(np.int64)

    @cached_property
    def order_unfilled_cost(self) -> FloatA:
        """Weighted cost of leaving each order wholly unfilled (its empty column)."""
        return np.bincount(
            self.line_order,
            weights=self.line_qty * self.unfilled_unit_cost,
            minlength=self.n_orders,
        ).astype(np.float64, copy=False)

    @cached_property
    def line_weight(self) -> FloatA:
        return self.weight[self.line_sku]

    def lines_of(self, o: int) -> slice:
        return slice(int(self.order_start[o]), int(self.order_start[o + 1]))

    def order_costs(self, orders: IntA) -> OrderCosts:
        """F, per-lb rates, late days and miles for these orders against all nodes."""
        return self.pair_costs(orders[:, None], np.arange(self.n_nodes)[None, :], orders)

    def pair_costs(self, o: IntA, n: IntA, orders: IntA | None = None) -> OrderCosts:
        """The same coefficients for orders ``o`` against nodes ``n`` (broadcast), so a
        plan's (order, node) pairs are costed without a row per node."""
        w = self.weights
        svc = self.service[o]
        is_pickup = svc == PICKUP
        miles = haversine_miles(
            self.dest_lat[o], self.dest_lon[o], self.node_lat[n], self.node_lon[n]
        )
        miles = np.where(is_pickup, 0.0, miles)
        zone = zone_of_miles(miles)
        s = np.where(is_pickup, 0, svc)
        base = np.where(is_pickup, 0.0, self.rate_base[s, zone])
        per_lb = np.where(is_pickup, 0.0, self.rate_per_lb[s, zone])
        transit = np.where(is_pickup, 0.0, self.rate_transit[s, zone])
        late = np.maximum(0.0, self.processing[n] + transit - self.due[o])
        fixed = w.shipping * base + w.handling * self.pack_cost[n] + w.late * late
        allowed = np.where(is_pickup, n == self.pickup_node[o], self.ship_enabled[n])
        fixed = np.where(allowed, fixed, INFEASIBLE)
        return OrderCosts(
            orders=o if orders is None else orders,
            fixed=fixed, per_lb=w.shipping * per_lb, late=late, miles=miles,
        )  # fmt: skip

    def unit_costs(self, costs: OrderCosts, row: int, lines: slice) -> FloatA:
        """U[l, n] for the lines of the order in ``costs`` row ``row``, shape (lines, N)."""
        return unit_cost(
            costs.per_lb[row][None, :],
            self.line_weight[lines, None],
            self.pick_cost[None, :],
            self.weights.handling,
        )


def build_instance(batch: Batch, weights: Weights | None = None) -> Instance:
    """Index a validated batch. Orders keep file order; lines sort by order then line_no.

    Digital lines are left out (they need no node and cost nothing), and so are orders
    with nothing else: no strategy ever sees them."""
    w = weights or batch.weights
    nodes, items, orders = batch.nodes, batch.items, batch.orders
    lines = batch.physical_lines
    if len(lines) < len(batch.order_lines):
        orders = orders[orders["order_id"].isin(set(lines["order_id"])).to_numpy()]
        orders = orders.reset_index(drop=True)
    node_ids = nodes["node_id"].to_numpy(object)
    sku_ids = items["sku"].to_numpy(object)
    order_ids = orders["order_id"].to_numpy(object)
    node_index = pd.Index(node_ids)
    sku_index = pd.Index(sku_ids)
    order_index = pd.Index(order_ids)

    zips = zip_table()
    nlat, nlon = zips.coords(nodes["zip"].to_numpy(str))
    ship_zip = orders["ship_zip"].to_numpy(str)
    has_zip = ship_zip != ""
    dlat = np.full(len(orders), np.nan)
    dlon = np.full(len(orders), np.nan)
    if has_zip.any():
        dlat[has_zip], dlon[has_zip] = zips.coords(ship_zip[has_zip])

    inv = batch.inventory
    avail = np.zeros((len(node_ids), len(sku_ids)), dtype=np.int64)
    qty = (inv["on_hand"] - inv["reserved"] - inv["safety_stock"]).clip(lower=0).to_numpy()
    avail[
        node_index.get_indexer(pd.Index(inv["node_id"])),
        sku_index.get_indexer(pd.Index(inv["sku"])),
    ] = qty

    lo = order_index.get_indexer(pd.Index(lines["order_id"]))
    ln = lines["line_no"].to_numpy(np.int64)
    perm = np.lexsort((ln, lo))
    line_order = lo[perm].astype(np.int64)
    order_start = np.searchsorted(line_order, np.arange(len(order_ids) + 1)).astype(np.int64)

    rates = batch.rate_card
    shape = (len(SERVICE_CODES), 9)
    rate_base, rate_per_lb, rate_transit = (np.full(shape, np.nan) for _ in range(3))
    s_code = rates["service"].map(SERVICE_CODES).to_numpy(np.int64)
    z = rates["zone"].to_numpy(np.int64)
    rate_base[s_code, z] = rates["base"].to_numpy(np.float64)
    rate_per_lb[s_code, z] = rates["per_lb"].to_numpy(np.float64)
    rate_transit[s_code, z] = rates["transit_days"].to_numpy(np.float64)

    pickup_node = np.full(len(orders), -1, dtype=np.int64)
    pk = (orders["pickup_node_id"] != "").to_numpy()
    pickup_node[pk] = node_index.get_indexer(pd.Index(orders.loc[pk, "pickup_node_id"]))
    return Instance(
        batch=batch,
        weights=w,
        node_ids=node_ids,
        sku_ids=sku_ids,
        order_ids=order_ids,
        ship_enabled=nodes["ship_enabled"].to_numpy(bool),
        pickup_enabled=nodes["pickup_enabled"].to_numpy(bool),
        capacity=nodes["capacity_units"].to_numpy(np.int64),
        pick_cost=nodes["pick_cost"].to_numpy(np.float64),
        pack_cost=nodes["pack_cost"].to_numpy(np.float64),
        processing=nodes["processing_days"].to_numpy(np.int64),
        node_lat=nlat,
        node_lon=nlon,
        weight=items["weight_lb"].to_numpy(np.float64),
        price=items["price"].to_numpy(np.float64),
        avail=avail,
        service=np.asarray(orders["service"].map(SERVICE_CODES), dtype=np.int64),
        due=orders["due_days"].to_numpy(np.int64),
        ship_complete=orders["ship_complete"].to_numpy(bool),
        max_packages=orders["max_packages"].fillna(0).to_numpy(np.int64),
        pickup_node=pickup_node,
        dest_lat=dlat,
        dest_lon=dlon,
        line_order=line_order,
        line_no=ln[perm],
        line_sku=sku_index.get_indexer(pd.Index(lines["sku"]))[perm].astype(np.int64),
        line_qty=lines["qty"].to_numpy(np.int64)[perm],
        order_start=order_start,
        rate_base=rate_base,
        rate_per_lb=rate_per_lb,
        rate_transit=rate_transit,
    )
