"""The world a seed fixes, and each scenario's view of it.

One seed draws the network, the catalogue, the starting stock and every order
of every day, with each order's arrival time and the chance draws that decide
its fate in any scenario (whether it becomes a pickup, which service it takes,
whether a line comes back, when and where). A scenario changes the rules, never
the draws: so every scenario sees exactly the same orders, and a difference in
the KPIs is the scenario's, not the dice's.
"""

import hashlib
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from data.generator import default_sizes, generate_batch
from data.geo import haversine_miles, zip_table
from models import Batch
from models.batch import OPTIONAL_COLUMNS
from models.network import Node
from scenarios.spec import NewNode, Resolved, Spec, SpecError

# Orders arrive more in the afternoon and evening than at night (share per hour, 0..23).
ARRIVAL_PROFILE = np.array(
    [1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 7, 6, 6, 6, 6, 7, 8, 8, 7, 5, 3], dtype=np.float64
)
GROUND_DUE = 4  # days, when a scenario's service mix turns another service into ground
PICKUP_DUE = 1  # a converted pickup is ready tomorrow


@dataclass(frozen=True)
class World:
    """Everything one seed fixes. Frames are plain data and never mutated."""

    seed: int
    days: int
    nodes: pd.DataFrame  # contract columns; capacity_units is per day
    items: pd.DataFrame
    inventory: pd.DataFrame  # node_id, sku, on_hand, safety_stock: the starting stock
    rate_card: pd.DataFrame
    orders: pd.DataFrame  # contract columns + day, hour, cust_zip, u_pickup, u_service, u_boris
    order_lines: pd.DataFrame  # contract columns + u_return, return_lag, restockable

    def digest(self) -> str:
        """Fingerprint of the order history (who ordered what, when, from where)."""
        h = hashlib.sha256()
        cols = ["order_id", "day", "hour", "cust_zip"]
        h.update(pd.util.hash_pandas_object(self.orders[cols], index=False).to_numpy().tobytes())
        lines = self.order_lines[["order_id", "line_no", "sku", "qty"]]
        h.update(pd.util.hash_pandas_object(lines, index=False).to_numpy().tobytes())
        return h.hexdigest()[:16]


def build_world(spec: Spec, seed: int) -> World:
    """The network and ``days`` x ``orders_per_day`` orders, all from one seed."""
    if spec.history is not None:
        return _replayed(spec, seed)
    n_nodes, n_skus = default_sizes(spec.orders_per_day)
    batch = generate_batch(
        spec.days * spec.orders_per_day,
        seed=seed,
        nodes=spec.nodes or n_nodes,
        skus=spec.skus or n_skus,
    )
    rng = np.random.default_rng([seed, 23])
    days = spec.days
    nodes = batch.nodes.copy()
    # The generator sizes capacity and stock for the whole history: make them per day,
    # and the stock ``cover_days`` worth.
    nodes["capacity_units"] = np.ceil(nodes["capacity_units"] / days).astype(np.int64)
    share = spec.supply.cover_days / days
    inv = batch.inventory[["node_id", "sku", "on_hand", "safety_stock"]].copy()
    inv["on_hand"] = np.round(inv["on_hand"] * share).astype(np.int64)
    inv["safety_stock"] = np.minimum(
        np.round(inv["safety_stock"] * share).astype(np.int64), inv["on_hand"]
    )
    inv = inv[inv["on_hand"] > 0].reset_index(drop=True)

    orders = batch.orders.copy()
    n = len(orders)
    orders["day"] = np.arange(n, dtype=np.int64) * days // n
    hour = rng.choice(24, size=n, p=ARRIVAL_PROFILE / ARRIVAL_PROFILE.sum()) + rng.random(n)
    orders["hour"] = np.round(hour, 3)

    return _finish(spec, seed, batch, nodes, inv, orders, rng)


def _finish(
    spec: Spec,
    seed: int,
    batch: Batch,
    nodes: pd.DataFrame,
    inv: pd.DataFrame,
    orders: pd.DataFrame,
    rng: np.random.Generator,
) -> World:
    """The per-order and per-line draws every scenario shares, and the world itself."""
    n = len(orders)
    zips = nodes.set_index("node_id")["zip"]
    pickup = orders["service"] == "pickup"
    orders["cust_zip"] = np.where(pickup, orders["pickup_node_id"].map(zips), orders["ship_zip"])
    orders["u_pickup"] = rng.random(n)
    orders["u_service"] = rng.random(n)
    orders["u_boris"] = rng.random(n)
    orders = orders.sort_values(["day", "hour"], kind="stable").reset_index(drop=True)
    lines = batch.order_lines[batch.order_lines["order_id"].isin(orders["order_id"])].copy()
    lines = lines.reset_index(drop=True)
    m = len(lines)
    lines["u_return"] = rng.random(m)
    lo, hi = spec.returns.lag_days
    lines["return_lag"] = rng.integers(lo, max(lo, hi) + 1, m)
    lines["restockable"] = rng.random(m) < spec.returns.restock_share
    return World(
        seed=seed,
        days=spec.days,
        nodes=nodes,
        items=batch.items,
        inventory=inv,
        rate_card=batch.rate_card,
        orders=orders,
        order_lines=lines,
    )


def _replayed(spec: Spec, seed: int) -> World:
    """A history read from a batch folder: its orders on the days and hours they were placed."""
    from data.batch_io import read_batch
    from data.order_history import read_order_times

    assert spec.history is not None
    folder = spec.history.batch
    batch = read_batch(folder)
    when = read_order_times(folder)
    start = pd.Timestamp(spec.history.start or when.min().date())
    orders = batch.orders.copy()
    at = pd.to_datetime(orders["order_id"].map(when))
    orders["day"] = (at.dt.normalize() - start).dt.days.astype(np.int64)
    orders["hour"] = (at - at.dt.normalize()).dt.total_seconds().to_numpy() / 3600.0
    orders = orders[(orders["day"] >= 0) & (orders["day"] < spec.days)].copy()
    if orders.empty:
        raise SpecError(
            f"history: no order of {folder} was placed in the {spec.days} days from {start.date()}"
        )
    inv = batch.inventory[["node_id", "sku", "on_hand", "safety_stock"]].copy()
    inv["on_hand"] = (inv["on_hand"] - batch.inventory["reserved"]).clip(lower=0)
    inv = inv[inv["on_hand"] > 0].reset_index(drop=True)
    rng = np.random.default_rng([seed, 23])
    return _finish(spec, seed, batch, batch.nodes.copy(), inv, orders, rng)


def nearest(from_zips: np.ndarray, to_zips: np.ndarray) -> np.ndarray:
    """Index into ``to_zips`` of the nearest one to each of ``from_zips`` (by ZIP centroid)."""
    table = zip_table()
    uniq, inverse = np.unique(np.asarray(from_zips, dtype="<U5"), return_inverse=True)
    lat1, lon1 = table.coords(uniq)
    lat2, lon2 = table.coords(np.asarray(to_zips, dtype="<U5"))
    out = np.empty(len(uniq), dtype=np.int64)
    step = max(1, 2_000_000 // max(len(to_zips), 1))
    for s in range(0, len(uniq), step):  # bounded memory per block of ZIPs
        d = haversine_miles(lat1[s : s + step, None], lon1[s : s + step, None], lat2, lon2)
        out[s : s + step] = d.argmin(axis=1)
    return out[inverse]


def check_nodes(world: World, sc: Resolved) -> None:
    """Refuse node names the network does not have (before any scenario runs)."""
    nodes = world.nodes
    known = set(nodes["node_id"])
    stores = set(nodes.loc[nodes["kind"] == "store", "node_id"])

    def missing(key: str, ids: list[str], among: set[str], what: str) -> None:
        bad = [i for i in ids if i not in among]
        if bad:
            raise SpecError(f"scenario {sc.name}: {key}: no {what} {', '.join(map(repr, bad))}")

    missing("close_nodes", sc.close_nodes, known, "node")
    if isinstance(sc.ship_from_store, list):
        missing("ship_from_store", sc.ship_from_store, stores, "store")
    for new in sc.add_nodes:
        if new.node_id in known:
            raise SpecError(f"scenario {sc.name}: add_nodes: node {new.node_id!r} exists already")
        if not zip_table().known([new.zip])[0]:
            raise SpecError(f"scenario {sc.name}: add_nodes: unknown ZIP {new.zip}")
        if new.stock_like is not None:
            missing("add_nodes.stock_like", [new.stock_like], known, "node")


def for_scenario(world: World, sc: Resolved) -> World:
    """The world under a scenario's rules: nodes closed/added, SFS, capacity, stock, mix."""
    check_nodes(world, sc)
    nodes = world.nodes.copy()
    inv = world.inventory.copy()
    nodes = nodes[~nodes["node_id"].isin(sc.close_nodes)]
    inv = inv[~inv["node_id"].isin(sc.close_nodes)]
    for new in sc.add_nodes:
        nodes, inv = _add_node(world, nodes, inv, new, sc.name)
    nodes = nodes.reset_index(drop=True)

    store = nodes["kind"] == "store"
    sfs = sc.ship_from_store
    if sfs is False:
        nodes.loc[store, "ship_enabled"] = False
    elif isinstance(sfs, list):
        nodes.loc[store, "ship_enabled"] = nodes.loc[store, "node_id"].isin(sfs)
    caps = np.ceil(nodes.loc[store, "capacity_units"] * sc.store_capacity)
    nodes.loc[store, "capacity_units"] = caps.astype(np.int64)
    if sc.inventory_depth != 1.0:
        inv["on_hand"] = np.round(inv["on_hand"] * sc.inventory_depth).astype(np.int64)
        inv["safety_stock"] = np.minimum(inv["safety_stock"], inv["on_hand"])
    orders = _reassign(world, nodes, inv, sc)
    return replace(world, nodes=nodes, inventory=inv.reset_index(drop=True), orders=orders)


def _add_node(
    world: World, nodes: pd.DataFrame, inv: pd.DataFrame, new: NewNode, name: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    row = {
        "node_id": new.node_id,
        "kind": new.kind,
        "zip": new.zip,
        "ship_enabled": True,
        "pickup_enabled": new.kind == "store",
        "capacity_units": new.capacity_units,
        "pick_cost": new.pick_cost,
        "pack_cost": new.pack_cost,
        "processing_days": new.processing_days,
    }
    # Optional node columns (calendar settings) take the row model's defaults.
    row.update({c: Node.model_fields[c].default for c in OPTIONAL_COLUMNS["nodes"]})
    nodes = pd.concat([nodes, pd.DataFrame([row]).astype(nodes.dtypes.to_dict())])
    if new.stock_like is not None:
        src = world.inventory[world.inventory["node_id"] == new.stock_like].copy()
        src["node_id"] = new.node_id
        src["on_hand"] = np.round(src["on_hand"] * new.stock_share).astype(np.int64)
        src["safety_stock"] = np.minimum(src["safety_stock"], src["on_hand"])
        inv = pd.concat([inv, src[src["on_hand"] > 0]])
    return nodes, inv


def _reassign(world: World, nodes: pd.DataFrame, inv: pd.DataFrame, sc: Resolved) -> pd.DataFrame:
    """Pickup stores that closed, the BOPIS share and the service mix, from the fixed draws."""
    orders = world.orders.copy()
    stores = nodes[nodes["pickup_enabled"].astype(bool)].reset_index(drop=True)
    pickup = (orders["service"] == "pickup").to_numpy()
    if not len(stores):
        pickup_store = np.full(len(orders), "", dtype=object)
    else:
        pickup_store = stores["node_id"].to_numpy(object)[
            nearest(orders["cust_zip"].to_numpy(str), stores["zip"].to_numpy(str))
        ]
    gone = pickup & ~orders["pickup_node_id"].isin(set(stores["node_id"])).to_numpy()
    orders.loc[gone, "pickup_node_id"] = pickup_store[gone]

    if sc.bopis_share is not None:
        target = int(round(sc.bopis_share * len(orders)))
        have = int(pickup.sum())
        if target > have and len(stores):
            # Customers choose pickup only for what their nearest store carries.
            carried = set(zip(inv["node_id"], inv["sku"], strict=True))
            lines = world.order_lines[["order_id", "sku"]]
            store_of = pd.Series(pickup_store, index=orders["order_id"])
            ok_line = [
                (s, k) in carried
                for s, k in zip(lines["order_id"].map(store_of), lines["sku"], strict=True)
            ]
            ok = pd.Series(ok_line).groupby(lines["order_id"].to_numpy()).all()
            eligible = ~pickup & orders["order_id"].map(ok).fillna(False).to_numpy(bool)
            rank = np.where(eligible, orders["u_pickup"].to_numpy(), np.inf)
            turn = np.argsort(rank, kind="stable")[: min(target - have, int(eligible.sum()))]
            orders.loc[turn, "service"] = "pickup"
            orders.loc[turn, "pickup_node_id"] = pickup_store[turn]
            orders.loc[turn, "ship_zip"] = ""
            orders.loc[turn, "due_days"] = PICKUP_DUE
        elif target < have:
            rank = np.where(pickup, orders["u_pickup"].to_numpy(), np.inf)
            turn = np.argsort(rank, kind="stable")[: have - target]
            orders.loc[turn, "service"] = "ground"
            orders.loc[turn, "ship_zip"] = orders.loc[turn, "cust_zip"]
            orders.loc[turn, "pickup_node_id"] = ""
            orders.loc[turn, "due_days"] = GROUND_DUE

    if sc.service_mix is not None:
        parcel = (orders["service"] != "pickup").to_numpy()
        names = list(sc.service_mix)
        cdf = np.cumsum([sc.service_mix[k] for k in names])
        pick = np.minimum(np.searchsorted(cdf, orders["u_service"].to_numpy(), side="right"), 2)
        new = np.array(names, dtype=object)[np.minimum(pick, len(names) - 1)]
        was = orders["service"].to_numpy(object)
        due = orders["due_days"].to_numpy(np.int64).copy()
        due = np.where(new == "next_day", 1, np.where(new == "two_day", 2, due))
        due = np.where((new == "ground") & (was != "ground"), GROUND_DUE, due)
        orders.loc[parcel, "service"] = new[parcel]
        orders.loc[parcel, "due_days"] = due[parcel]
    return orders
