"""The day loop: orders arrive, sourcing runs on what is open, nodes ship, stock moves.

A day, for one scenario:

1. receipts: replenishment and returns due today land on the shelf;
2. every node's daily capacity resets (stores by the scenario's factor);
3. at each scheduled hour, the orders that have arrived and are still open
   (today's and the backlog) are planned on the nodes open at that hour,
   their stock and the capacity left; the plan ships: stock and capacity go
   down, open quantities go down, some shipped lines will come back;
4. at the end of the day, backlog older than ``max_backlog_days`` is
   cancelled (lost demand), and stock is reviewed: DCs order up to their
   target from vendors, stores from their nearest DC.

The state handed from one day to the next (:class:`State`) is plain data, and
``run_day`` is a function of it: tests drive it without a database. Plans come
from ``planner.plan`` and their cost from its one cost model, never recomputed.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from data.geo import haversine_miles, zip_table, zone_of_miles
from models import Batch, CostBreakdown
from models.batch import COLUMNS
from scenarios.spec import Resolved, Spec
from scenarios.world import World, nearest

PlanFn = Callable[[Batch, str, float, object], tuple[pd.DataFrame, CostBreakdown, float]]
RUN_FIELDS = (
    "shipping",
    "handling",
    "late_days",
    "splits",
    "unfilled",
    "total",
    "packages",
    "late_packages",
    "units_ordered",
    "units_allocated",
)


def planner_fn(batch: Batch, strategy: str, time_limit: float, weights: object) -> tuple:
    """The real planner: allocations, their cost (the planner's own evaluate) and wall time."""
    from planner import plan

    result = plan(batch, strategy, time_limit, weights)  # type: ignore[arg-type]
    return result.allocations, result.summary.cost, result.summary.wall_seconds


@dataclass
class State:
    """What one day hands to the next: stock, open demand and what is on its way."""

    day: int
    stock: pd.Series  # on_hand by (node_id, sku)
    open_qty: np.ndarray  # open units per line of the scenario's order_lines
    packages_used: np.ndarray  # packages shipped so far per order
    cancelled: np.ndarray  # per line: dropped after max_backlog_days
    pipeline: pd.DataFrame  # arrive_day, node_id, sku, qty, source ('vendor'|'transfer'|'return')


@dataclass
class DayLog:
    """Raw records of one day; ``scenarios.kpis`` turns them into KPIs."""

    runs: list[dict] = field(default_factory=list)
    packages: list[pd.DataFrame] = field(default_factory=list)
    allocations: list[pd.DataFrame] = field(default_factory=list)
    returns: pd.DataFrame | None = None
    end: dict = field(default_factory=dict)


PIPELINE_COLUMNS = ["arrive_day", "node_id", "sku", "qty", "source"]


def initial_state(world: World) -> State:
    stock = world.inventory.set_index(["node_id", "sku"])["on_hand"].astype(np.int64)
    return State(
        day=0,
        stock=stock,
        open_qty=world.order_lines["qty"].to_numpy(np.int64).copy(),
        packages_used=np.zeros(len(world.orders), dtype=np.int64),
        cancelled=np.zeros(len(world.order_lines), dtype=bool),
        pipeline=pd.DataFrame(
            {
                "arrive_day": pd.Series(dtype=np.int64),
                "node_id": pd.Series(dtype=object),
                "sku": pd.Series(dtype=object),
                "qty": pd.Series(dtype=np.int64),
                "source": pd.Series(dtype=object),
            }
        ),
    )


@dataclass(frozen=True)
class Context:
    """Per-scenario lookups computed once (indices, targets, return destinations)."""

    world: World
    sc: Resolved
    spec: Spec
    line_order: np.ndarray  # order row of each line
    line_key: pd.MultiIndex  # (order_id, line_no) of each line
    target: pd.Series  # order-up-to stock by (node_id, sku)
    safety: pd.Series
    nearest_dc: pd.Series  # store node_id -> its nearest DC
    return_node: np.ndarray  # per line: where a return of it would go
    kind: pd.Series  # node_id -> kind


def make_context(world: World, sc: Resolved, spec: Spec) -> Context:
    orders, lines, nodes = world.orders, world.order_lines, world.nodes
    pos = pd.Index(orders["order_id"]).get_indexer(lines["order_id"])
    inv = world.inventory.set_index(["node_id", "sku"])
    dcs = nodes[nodes["kind"] == "dc"].reset_index(drop=True)
    stores = nodes[nodes["pickup_enabled"].astype(bool)].reset_index(drop=True)
    cust = orders["cust_zip"].to_numpy(str)
    to_dc = dcs["node_id"].to_numpy(object)[nearest(cust, dcs["zip"].to_numpy(str))]
    if len(stores):
        to_store = stores["node_id"].to_numpy(object)[nearest(cust, stores["zip"].to_numpy(str))]
    else:
        to_store = to_dc
    # BORIS: the customer brings it to the store near them; otherwise it is mailed to a DC.
    boris = orders["u_boris"].to_numpy() < sc.boris_share
    order_return = np.where(boris, to_store, to_dc)
    store_ids = nodes.loc[nodes["kind"] == "store", ["node_id", "zip"]]
    near = dcs["node_id"].to_numpy(object)[
        nearest(store_ids["zip"].to_numpy(str), dcs["zip"].to_numpy(str))
    ]
    return Context(
        world=world,
        sc=sc,
        spec=spec,
        line_order=pos,
        line_key=pd.MultiIndex.from_frame(lines[["order_id", "line_no"]]),
        target=inv["on_hand"].astype(np.int64),
        safety=inv["safety_stock"].astype(np.int64),
        nearest_dc=pd.Series(near, index=store_ids["node_id"].to_numpy(object)),
        return_node=order_return[pos],
        kind=nodes.set_index("node_id")["kind"],
    )


def _open_nodes(ctx: Context, hour: float) -> pd.DataFrame:
    sch = ctx.spec.schedule
    nodes = ctx.world.nodes
    lo = np.where(nodes["kind"] == "dc", sch.dc_hours[0], sch.store_hours[0])
    hi = np.where(nodes["kind"] == "dc", sch.dc_hours[1], sch.store_hours[1])
    return nodes[(lo <= hour) & (hour < hi)]


def _batch(
    ctx: Context, state: State, day: int, hour: float, cap_left: pd.Series
) -> tuple[Batch, np.ndarray] | None:
    """The batch of one sourcing run, and the line rows it holds (None: nothing open)."""
    w = ctx.world
    orders = w.orders
    arrived = (orders["day"].to_numpy() < day) | (
        (orders["day"].to_numpy() == day) & (orders["hour"].to_numpy() < hour)
    )
    nodes = _open_nodes(ctx, hour)
    open_ids = set(nodes["node_id"])
    pickup_ok = (orders["pickup_node_id"] == "") | orders["pickup_node_id"].isin(open_ids)
    ready = arrived & pickup_ok.to_numpy()
    rows = np.flatnonzero((state.open_qty > 0) & ~state.cancelled & ready[ctx.line_order])
    if not len(rows) or not len(nodes):
        return None
    lines = w.order_lines.iloc[rows][list(COLUMNS["order_lines"])].copy()
    lines["qty"] = state.open_qty[rows]
    order_rows = np.unique(ctx.line_order[rows])
    o = orders.iloc[order_rows]
    hdr = o[list(COLUMNS["orders"])].copy()
    hdr["due_days"] = (o["day"] + o["due_days"] - day).astype(np.int64)  # < 0: overdue
    used = state.packages_used[order_rows]
    mp = hdr["max_packages"]
    left = np.maximum(1, mp.fillna(0).to_numpy(np.int64) - used)
    hdr["max_packages"] = pd.arrays.IntegerArray(left, mp.isna().to_numpy())
    nodes = nodes.copy()
    nodes["capacity_units"] = nodes["node_id"].map(cap_left).fillna(0).astype(np.int64)
    stock = state.stock[state.stock > 0]
    inv = stock.rename("on_hand").reset_index()
    inv = inv[inv["node_id"].isin(open_ids)]
    inv["reserved"] = 0
    key = pd.MultiIndex.from_frame(inv[["node_id", "sku"]])
    inv["safety_stock"] = ctx.safety.reindex(key).fillna(0).astype(np.int64).to_numpy()
    batch = Batch(
        batch_date=pd.Timestamp("2026-11-25").date() + pd.Timedelta(days=day),
        nodes=nodes.reset_index(drop=True),
        items=w.items,
        inventory=inv.reset_index(drop=True),
        orders=hdr.reset_index(drop=True),
        order_lines=lines.reset_index(drop=True),
        rate_card=w.rate_card,
        weights=ctx.sc.weights,
    )
    return batch, rows


def _packages(ctx: Context, batch: Batch, alloc: pd.DataFrame) -> pd.DataFrame:
    """One row per package shipped or handed over, with its miles and zone (parcels)."""
    pkg = (
        alloc.groupby(["order_id", "node_id"], sort=False)["qty"]
        .sum()
        .rename("units")
        .reset_index()
    )
    svc = batch.orders.set_index("order_id")
    pkg["service"] = pkg["order_id"].map(svc["service"])
    pkg["kind"] = pkg["node_id"].map(ctx.kind)
    parcel = (pkg["service"] != "pickup").to_numpy()
    miles = np.zeros(len(pkg))
    if parcel.any():
        table = zip_table()
        nz = pkg.loc[parcel, "node_id"].map(ctx.world.nodes.set_index("node_id")["zip"])
        lat1, lon1 = table.coords(nz.to_numpy(str))
        lat2, lon2 = table.coords(pkg.loc[parcel, "order_id"].map(svc["ship_zip"]).to_numpy(str))
        miles[parcel] = haversine_miles(lat1, lon1, lat2, lon2)
    pkg["ship_zip"] = pkg["order_id"].map(svc["ship_zip"])
    pkg["parcel"] = parcel
    pkg["miles"] = miles
    pkg["zone"] = np.where(parcel, zone_of_miles(miles), 0)
    return pkg


def run_day(ctx: Context, state: State, plan_fn: PlanFn = planner_fn) -> tuple[State, DayLog]:
    """One simulated day; returns the next day's state and the day's raw records."""
    spec, sc, w = ctx.spec, ctx.sc, ctx.world
    day = state.day
    log = DayLog()
    stock = state.stock.copy()
    open_qty = state.open_qty.copy()
    used = state.packages_used.copy()
    cancelled = state.cancelled.copy()

    # 1. Receipts.
    pipe = state.pipeline
    due = pipe[pipe["arrive_day"] <= day]
    pipe = pipe[pipe["arrive_day"] > day].reset_index(drop=True)
    if len(due):
        got = due.groupby(["node_id", "sku"])["qty"].sum().astype(np.int64)
        stock = stock.add(got, fill_value=0).astype(np.int64)
    back = due[due["source"] == "return"]
    log.returns = (
        back.groupby("node_id")["qty"].sum().rename("units").reset_index()
        if len(back)
        else pd.DataFrame({"node_id": pd.Series(dtype=object), "units": pd.Series(dtype=int)})
    )

    # 2. Capacity for the day.
    cap_left = w.nodes.set_index("node_id")["capacity_units"].astype(np.int64).copy()

    # 3. Sourcing runs.
    new_pipe: list[pd.DataFrame] = [pipe]
    for hour in spec.schedule.run_hours:
        made = _batch(ctx, _with(state, stock, open_qty, used, cancelled), day, hour, cap_left)
        if made is None:
            continue
        batch, rows = made
        alloc, cost, wall = plan_fn(batch, sc.strategy, spec.schedule.time_limit, sc.weights)
        rec = {"day": day, "hour": hour, "orders": len(batch.orders), "wall_seconds": wall}
        rec.update({f: float(getattr(cost, f)) for f in RUN_FIELDS})
        log.runs.append(rec)
        if not len(alloc):
            continue
        alloc = alloc[["order_id", "line_no", "node_id", "qty"]].copy()
        alloc["qty"] = alloc["qty"].astype(np.int64)
        line_rows = ctx.line_key.get_indexer(
            pd.MultiIndex.from_frame(alloc[["order_id", "line_no"]])
        )
        alloc["sku"] = w.order_lines["sku"].to_numpy(object)[line_rows]
        take = alloc.groupby(["node_id", "sku"])["qty"].sum()
        stock = stock.sub(take, fill_value=0).astype(np.int64)
        cap_left = cap_left.sub(alloc.groupby("node_id")["qty"].sum(), fill_value=0)
        np.subtract.at(open_qty, line_rows, alloc["qty"].to_numpy(np.int64))
        pkg = _packages(ctx, batch, alloc)
        order_rows = pd.Index(w.orders["order_id"]).get_indexer(pkg["order_id"])
        np.add.at(used, order_rows, 1)
        pkg.insert(0, "hour", hour)
        pkg.insert(0, "day", day)
        log.packages.append(pkg)
        a = alloc.assign(day=day, hour=hour)
        log.allocations.append(a[["day", "hour", "order_id", "line_no", "node_id", "sku", "qty"]])
        # Lines that will come back: the same draws in every scenario.
        lines = w.order_lines
        comes_back = lines["u_return"].to_numpy()[line_rows] < spec.returns.rate
        keep = comes_back & lines["restockable"].to_numpy()[line_rows]
        if keep.any():
            r = alloc[keep]
            new_pipe.append(
                pd.DataFrame(
                    {
                        "arrive_day": day + lines["return_lag"].to_numpy()[line_rows[keep]],
                        "node_id": ctx.return_node[line_rows[keep]],
                        "sku": r["sku"].to_numpy(object),
                        "qty": r["qty"].to_numpy(np.int64),
                        "source": "return",
                    }
                )
            )
    assert (stock >= 0).all(), "a plan took more stock than there was"

    # 4a. Backlog: cancel what waited too long.
    order_day = w.orders["day"].to_numpy()[ctx.line_order]
    arrived = order_day <= day
    too_old = arrived & (order_day <= day - spec.max_backlog_days) & (open_qty > 0) & ~cancelled
    cancelled |= too_old
    dropped = w.order_lines.loc[too_old, ["order_id", "line_no", "sku"]].assign(
        qty=open_qty[too_old]
    )
    backlog = arrived & (open_qty > 0) & ~cancelled
    log.end = {
        "day": day,
        "backlog_units": int(open_qty[backlog].sum()),
        "backlog_orders": int(len(np.unique(ctx.line_order[backlog]))),
        "dropped_units": int(dropped["qty"].sum()),
        "dropped_lines": dropped,
        "arrived_orders": int((w.orders["day"] == day).sum()),
        "arrived_units": int(w.order_lines["qty"].to_numpy()[order_day == day].sum()),
    }

    # 4b. Replenishment: order up to target.
    moving = pd.concat(new_pipe)
    on_order = moving[moving["source"] != "return"].groupby(["node_id", "sku"])["qty"].sum()
    position = stock.add(on_order, fill_value=0).reindex(ctx.target.index, fill_value=0)
    need = (ctx.target - position.astype(np.int64)).clip(lower=0).astype(np.int64)
    need = need[need > 0]
    kinds = need.index.get_level_values(0).map(ctx.kind.to_dict())
    sup = spec.supply
    vendor_units = transfer_units = 0
    if day % sup.dc_review_days == 0:
        dc_need = need[kinds == "dc"]
        vendor_units = int(dc_need.sum())
        if vendor_units:
            new_pipe.append(_arrivals(dc_need, day + max(sup.dc_lead_days, 1), "vendor"))
    if day % sup.store_review_days == 0:
        st_need = need[kinds == "store"].rename("need").reset_index()
        if len(st_need):
            st_need["dc"] = st_need["node_id"].map(ctx.nearest_dc)
            key = pd.MultiIndex.from_frame(st_need[["dc", "sku"]])
            dc_free = (
                stock.reindex(key, fill_value=0) - ctx.safety.reindex(key, fill_value=0)
            ).clip(lower=0)
            st_need["free"] = dc_free.to_numpy()
            # Stores sharing a DC share its free stock in turn (node order).
            st_need["before"] = st_need.groupby(["dc", "sku"])["need"].cumsum() - st_need["need"]
            st_need["qty"] = np.minimum(
                st_need["need"], (st_need["free"] - st_need["before"]).clip(lower=0)
            ).astype(np.int64)
            moved = st_need[st_need["qty"] > 0]
            if len(moved):
                out = moved.groupby(["dc", "sku"])["qty"].sum()
                out.index.names = ["node_id", "sku"]
                stock = stock.sub(out, fill_value=0).astype(np.int64)
                transfer_units = int(moved["qty"].sum())
                new_pipe.append(
                    _arrivals(
                        moved.set_index(["node_id", "sku"])["qty"],
                        day + max(sup.store_lead_days, 1),
                        "transfer",
                    )
                )
    log.end["vendor_units"] = vendor_units
    log.end["transfer_units"] = transfer_units
    log.end["stock_units"] = int(stock.sum())
    pipeline = pd.concat([p for p in new_pipe if len(p)] or [pipe], ignore_index=True)
    nxt = State(day + 1, stock, open_qty, used, cancelled, pipeline)
    return nxt, log


def _arrivals(qty: pd.Series, day: int, source: str) -> pd.DataFrame:
    out = qty.rename("qty").reset_index()
    out["arrive_day"] = day
    out["source"] = source
    out["qty"] = out["qty"].astype(np.int64)
    return out[PIPELINE_COLUMNS]


def _with(
    state: State, stock: pd.Series, open_qty: np.ndarray, used: np.ndarray, cancelled: np.ndarray
) -> State:
    return replace(state, stock=stock, open_qty=open_qty, packages_used=used, cancelled=cancelled)


@dataclass(frozen=True)
class ScenarioRun:
    """Everything one scenario under one seed produced, as plain frames."""

    scenario: str
    seed: int
    orders_digest: str
    orders: int  # in the history
    units: int
    runs: pd.DataFrame  # one row per sourcing run: the planner's cost breakdown
    packages: (
        pd.DataFrame
    )  # day, hour, order_id, node_id, units, service, kind, parcel, miles, zone
    allocations: pd.DataFrame  # day, hour, order_id, line_no, node_id, sku, qty
    days: pd.DataFrame  # one row per day: backlog, dropped, lost cost, receipts
    returns: pd.DataFrame  # day, node_id, kind, units restocked
    nodes: pd.DataFrame  # the scenario's network


def lost_cost(world: World, dropped: pd.DataFrame) -> float:
    """Penalty of cancelled demand, from the planner's cost model (a plan that fills none)."""
    if not len(dropped):
        return 0.0
    from planner import evaluate

    orders = world.orders[world.orders["order_id"].isin(dropped["order_id"])]
    batch = Batch(
        batch_date=pd.Timestamp("2026-11-25").date(),
        nodes=world.nodes,
        items=world.items,
        inventory=world.inventory.assign(reserved=0)[list(COLUMNS["inventory"])],
        orders=orders[list(COLUMNS["orders"])].reset_index(drop=True),
        order_lines=dropped[["order_id", "line_no", "sku", "qty"]].reset_index(drop=True),
        rate_card=world.rate_card,
    )
    empty = pd.DataFrame({"order_id": [], "line_no": [], "node_id": [], "qty": []})
    return float(evaluate(batch, empty.astype({"qty": np.int64, "line_no": np.int64})).unfilled)


def simulate(
    world: World,
    sc: Resolved,
    spec: Spec,
    on_day: Callable[[int], None] | None = None,
    plan_fn: PlanFn = planner_fn,
) -> ScenarioRun:
    """Run every day of the horizon for one scenario; ``on_day(d)`` after each day."""
    from scenarios.world import for_scenario

    sw = for_scenario(world, sc)
    digest = sw.digest()  # of the orders this scenario saw, after its changes
    ctx = make_context(sw, sc, spec)
    state = initial_state(sw)
    logs: list[DayLog] = []
    for _ in range(spec.days):
        state, log = run_day(ctx, state, plan_fn)
        log.end["lost_cost"] = lost_cost(sw, log.end.pop("dropped_lines"))
        logs.append(log)
        if on_day is not None:
            on_day(state.day)
    returns = [log.returns.assign(day=i) for i, log in enumerate(logs) if log.returns is not None]
    ret = pd.concat(returns, ignore_index=True)
    ret["kind"] = ret["node_id"].map(ctx.kind)
    return ScenarioRun(
        scenario=sc.name,
        seed=world.seed,
        orders_digest=digest,
        orders=len(world.orders),
        units=int(world.order_lines["qty"].sum()),
        runs=pd.DataFrame([r for log in logs for r in log.runs]),
        packages=_concat([p for log in logs for p in log.packages]),
        allocations=_concat([a for log in logs for a in log.allocations]),
        days=pd.DataFrame([log.end for log in logs]),
        returns=ret[["day", "node_id", "kind", "units"]],
        nodes=sw.nodes,
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
