"""Seeded generator of realistic fulfilment networks and order batches on real US geography.

Demos, benchmarks and the optimizer's tuning need batches that look like a
real omnichannel retailer's day, at any size from a thousand to millions of
orders: DCs near big metros spread over the country, stores where people
live, Zipf-shaped SKU demand, deep DC stock and thin store stock, and just
enough supply that ship-from-store, splits and a few unfilled units matter.

Everything is vectorised numpy (no Python loop per order, line or stock row)
and drawn from one ``numpy.random.default_rng(seed)``: the same arguments
always give the same batch. The result is in the canonical columns and dtypes
of ``models.batch.COLUMNS``, so it passes ``data.batch_io`` validation as is.
"""

from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np
import numpy.typing as npt
import pandas as pd

from data.cities import CONTIGUOUS_STATES, Cities, sample_cities, sample_zip_rows, us_cities
from data.geo import haversine_miles, zip_table
from data.rate_card import default_rate_card
from data.vendors import add_vendors, make_digital
from models import Batch, Weights

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]

# Default sizes, interpolated on a log-log scale between these anchors.
SIZE_ORDERS: tuple[int, ...] = (1_500, 10_000, 100_000, 1_000_000)
SIZE_NODES: tuple[int, ...] = (45, 110, 210, 500)
SIZE_SKUS: tuple[int, ...] = (1_500, 5_000, 20_000, 60_000)
MIN_NODES, MIN_SKUS = 5, 20

# Network.
DC_SHARE = 0.09  # of nodes, at least MIN_DCS
MIN_DCS = 3
DC_MIN_CITY_POP = 100_000
METRO_MI = 60.0
DC_METRO_EXPONENT = 2.0
DC_SPACING_MI: tuple[float, ...] = (300.0, 200.0, 120.0, 60.0, 0.0)  # relaxed as needed
STORE_SHIP_SHARE = 0.68  # stores that ship parcels (ship-from-store)

# Assortment and demand.
ZIPF_EXPONENT = 1.05
ZIPF_OFFSET = 4.0  # Zipf-Mandelbrot: no single SKU takes a tenth of all demand
WEIGHT_MEDIAN_LB, WEIGHT_SIGMA, WEIGHT_RANGE = 1.5, 0.95, (0.2, 40.0)
PRICE_MEDIAN, PRICE_SIGMA, PRICE_RANGE = 30.0, 0.9, (4.99, 999.99)
PRICE_WEIGHT_CORR = 0.35

# Orders.
CHANNELS: tuple[str, ...] = ("web", "mobile", "call_center", "store", "marketplace")
CHANNEL_P: tuple[float, ...] = (0.50, 0.25, 0.05, 0.08, 0.12)
SERVICES: tuple[str, ...] = ("ground", "two_day", "next_day", "pickup")
SERVICE_P: tuple[float, ...] = (0.60, 0.20, 0.06, 0.14)
PICKUP = SERVICES.index("pickup")
GROUND_DUE: tuple[int, ...] = (3, 4, 5, 6)
GROUND_DUE_P: tuple[float, ...] = (0.15, 0.35, 0.35, 0.15)
TWO_DAY_DUE, NEXT_DAY_DUE = 2, 1
PICKUP_DUE_P: tuple[float, ...] = (0.35, 0.65)  # ready today / tomorrow
PICKUP_NEAREST_P: tuple[float, ...] = (0.65, 0.25, 0.10)  # nearest, 2nd, 3rd store
PICKUP_REACH_MI = 25.0  # pickup customers live near a store
SHIP_COMPLETE_SHARE = 0.10
MAX_PACKAGES_SHARE = 0.10
MEAN_LINES, MAX_LINES = 1.8, 12
QTY_P: tuple[float, ...] = (0.86, 0.10, 0.04)  # qty 1, 2, 3
EXPENSIVE = 150.0  # nobody orders three $400 jackets
RURAL_SHARE = 0.15
RESAMPLE_ROUNDS = 10
STALE_SHELF_SHARE = 0.10  # pickup lines ordered on an in-stock flag, not live counts

# Supply, relative to expected demand at tightness 1.
SUPPLY_COVER = 1.12  # total target supply / expected demand per SKU
FORECAST_SIGMA = 0.20  # per-SKU forecast error: some SKUs run short
STORE_PICKUP_COVER = 1.2  # store stock vs its expected pickup demand
STORE_SFS_ORDERS = 0.20  # extra store stock for ship-from-store, in orders per store
STORE_ASSORTMENT = (0.04, 0.12)  # share of SKUs (the most popular) a store carries
STORE_ASSORTMENT_MAX = 2_500
STORE_IN_STOCK = 0.8  # a carried SKU with near-zero forecast still has a unit or two
STORE_COUNTED = 0.5  # share of store stock the DC plan counts on (stores sell in aisle too)
DC_CORE_SHARE = 0.10  # the top SKUs every DC carries
DC_STOCK_PROB = 0.90  # other SKUs
DC_CAPACITY_COVER = 1.15  # DC capacity vs its share of parcel units
STORE_SFS_CAPACITY = 0.35  # store ship-from-store capacity, share of parcel units


def _loglog(x: float, xs: tuple[int, ...], ys: tuple[int, ...]) -> float:
    """Piecewise-linear in log-log, extrapolating the end segments."""
    lx, lxs, lys = np.log(x), np.log(xs), np.log(ys)
    i = int(np.clip(np.searchsorted(lxs, lx) - 1, 0, len(xs) - 2))
    slope = (lys[i + 1] - lys[i]) / (lxs[i + 1] - lxs[i])
    return float(np.exp(lys[i] + slope * (lx - lxs[i])))


def default_sizes(orders: int) -> tuple[int, int]:
    """Nodes and SKUs a retailer with this many orders in a batch typically has."""
    orders = max(int(orders), 1)
    nodes = max(MIN_NODES, round(_loglog(orders, SIZE_ORDERS, SIZE_NODES)))
    skus = max(MIN_SKUS, round(_loglog(orders, SIZE_ORDERS, SIZE_SKUS)))
    return nodes, skus


def _ids(prefix: str, n: int, width: int) -> ObjArray:
    """``prefix`` + zero-padded 1-based numbers, as an object array of str."""
    width = max(width, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


@cache
def _zip_strings() -> ObjArray:
    """Every ZIP of ``zip_table()`` as a Python str, to gather without re-creating strings."""
    return zip_table().zips.astype(object)


def _stochastic_round(rng: np.random.Generator, x: FloatArray) -> IntArray:
    """Integer with the same expectation: 2.3 -> 2 or 3 (30%)."""
    return np.floor(x + rng.random(x.shape)).astype(np.int64)


def _choice(rng: np.random.Generator, n: int, p: tuple[float, ...]) -> IntArray:
    """Index draws with probabilities ``p`` (inverse CDF: cheaper than rng.choice)."""
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(p) - 1)


def _city_code(name: str) -> str:
    """Three-letter code for a DC id: Atlanta -> ATL, Salt Lake City -> SLC, Los Angeles -> LAN."""
    words = ["".join(ch for ch in w if ch.isalpha()).upper() for w in name.split()]
    words = [w for w in words if w] or ["X"]
    if len(words) == 1:
        return (words[0] + "XX")[:3]
    if len(words) == 2:
        return (words[0][0] + words[1] + "X")[:3]
    return "".join(w[0] for w in words[:3])


@dataclass(frozen=True)
class _Network:
    """Nodes as arrays, DCs first, then stores."""

    node_id: ObjArray
    is_dc: BoolArray
    zip_row: IntArray
    ship: BoolArray
    pick: FloatArray
    pack: FloatArray
    processing: IntArray
    dc_weight: FloatArray  # share of DC-held stock and capacity, per DC

    @property
    def n_dc(self) -> int:
        return int(self.is_dc.sum())


def _place_dcs(rng: np.random.Generator, cities: Cities, n_dc: int) -> IntArray:
    """Big contiguous-US cities, drawn by population but spread out (spacing relaxed if needed)."""
    cand = np.flatnonzero(
        np.isin(cities.state, list(CONTIGUOUS_STATES)) & (cities.population >= DC_MIN_CITY_POP)
    )
    # A DC serves a metro: weigh each candidate by the people within METRO_MI,
    # squared so the big metros nearly always get one, and sample without
    # replacement (sort by log-weight + Gumbel noise).
    dist = haversine_miles(
        cities.lat[cand][:, None], cities.lon[cand][:, None], cities.lat, cities.lon
    )
    metro = (dist <= METRO_MI) @ cities.population.astype(np.float64)
    keys = DC_METRO_EXPONENT * np.log(metro) + rng.gumbel(size=len(cand))
    order = cand[np.argsort(-keys, kind="stable")]
    chosen: list[int] = []
    for spacing in DC_SPACING_MI:
        for c in order:
            if len(chosen) == n_dc:
                break
            if c in chosen:
                continue
            if chosen:
                d = haversine_miles(
                    cities.lat[c], cities.lon[c], cities.lat[chosen], cities.lon[chosen]
                )
                if d.min() < spacing:
                    continue
            chosen.append(int(c))
    dcs = np.array(chosen, dtype=np.int64)
    if len(dcs) < n_dc:  # a huge network: several DCs per metro
        weights = np.zeros(len(cities))
        weights[cand] = cities.population[cand]
        dcs = np.concatenate([dcs, sample_cities(rng, n_dc - len(dcs), weights=weights)])
    return dcs


def _network(rng: np.random.Generator, n_nodes: int) -> _Network:
    """DCs in big, spread-out metros; stores in cities by population; costs by node kind."""
    cities = us_cities()
    table = zip_table()
    n_dc = min(n_nodes - 1, max(MIN_DCS, round(DC_SHARE * n_nodes)))
    n_store = n_nodes - n_dc
    dc_city = _place_dcs(rng, cities, n_dc)
    store_city = sample_cities(rng, n_store)
    zip_row = np.concatenate(
        [cities.random_zip_rows(rng, dc_city), cities.random_zip_rows(rng, store_city)]
    )

    seen: dict[str, int] = {}
    dc_ids: list[str] = []
    for c in dc_city.tolist():  # one step per DC, not per order
        code = _city_code(str(cities.name[c]))
        seen[code] = seen.get(code, 0) + 1
        dc_ids.append(f"DC-{code}-{seen[code]:02d}")
    node_id = np.concatenate([np.array(dc_ids, dtype=object), _ids("ST-", n_store, 4)])
    is_dc = np.arange(n_nodes) < n_dc

    # A DC holds stock and labour in proportion to the people it is closest to.
    dist = haversine_miles(
        cities.lat[:, None],
        cities.lon[:, None],
        table.lat[zip_row[:n_dc]],
        table.lon[zip_row[:n_dc]],
    )
    served = np.bincount(dist.argmin(axis=1), cities.population.astype(np.float64), n_dc)
    dc_weight = 0.5 / n_dc + 0.5 * served / served.sum()

    ship = is_dc | (rng.random(n_nodes) < STORE_SHIP_SHARE)
    pick = np.where(is_dc, rng.uniform(0.30, 0.45, n_nodes), rng.uniform(0.90, 1.40, n_nodes))
    pack = np.where(is_dc, rng.uniform(1.00, 1.50, n_nodes), rng.uniform(2.00, 3.00, n_nodes))
    processing = np.where(
        is_dc,
        (rng.random(n_nodes) < 0.7).astype(np.int64),  # most DCs ship tomorrow, some same day
        _choice(rng, n_nodes, (0.55, 0.35, 0.10)),
    )
    return _Network(
        node_id=node_id,
        is_dc=is_dc,
        zip_row=zip_row,
        ship=ship,
        pick=pick.round(2),
        pack=pack.round(2),
        processing=processing.astype(np.int64),
        dc_weight=dc_weight,
    )


@dataclass(frozen=True)
class _Items:
    sku: ObjArray
    weight_lb: FloatArray
    price: FloatArray
    popularity: FloatArray  # demand share per SKU, sums to 1
    by_rank: IntArray  # SKU indices, most popular first

    def draw(self, rng: np.random.Generator, n: int) -> IntArray:
        cdf = np.cumsum(self.popularity)
        return np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(cdf) - 1)


def _items(rng: np.random.Generator, n_skus: int) -> _Items:
    """Zipf demand over a shuffled catalogue; lognormal weights and (correlated) prices."""
    rank = rng.permutation(n_skus)
    popularity = (rank + 1.0 + ZIPF_OFFSET) ** -ZIPF_EXPONENT
    popularity /= popularity.sum()
    zw = rng.standard_normal(n_skus)
    weight = np.exp(np.log(WEIGHT_MEDIAN_LB) + WEIGHT_SIGMA * zw).clip(*WEIGHT_RANGE).round(2)
    zp = PRICE_WEIGHT_CORR * zw + np.sqrt(1 - PRICE_WEIGHT_CORR**2) * rng.standard_normal(n_skus)
    price = (np.round(np.exp(np.log(PRICE_MEDIAN) + PRICE_SIGMA * zp)) - 0.01).clip(*PRICE_RANGE)
    return _Items(
        sku=_ids("SKU-", n_skus, 6),
        weight_lb=weight,
        price=price.round(2),
        popularity=np.asarray(popularity, dtype=np.float64),
        by_rank=np.argsort(rank).astype(np.int64),
    )


def _nearest_stores(
    cust_rows: IntArray, store_rows: IntArray, k: int
) -> tuple[IntArray, FloatArray]:
    """For each customer ZIP row, its ``k`` nearest stores and their miles, nearest first."""
    table = zip_table()
    uniq, inverse = np.unique(cust_rows, return_inverse=True)
    near = np.empty((len(uniq), k), dtype=np.int64)
    miles = np.empty((len(uniq), k), dtype=np.float64)
    slat, slon = table.lat[store_rows], table.lon[store_rows]
    chunk = max(1, 4_000_000 // max(len(store_rows), 1))  # bounded memory per block
    for start in range(0, len(uniq), chunk):  # one step per block of ZIPs
        blk = uniq[start : start + chunk]
        d = haversine_miles(table.lat[blk][:, None], table.lon[blk][:, None], slat, slon)
        part = (
            np.argpartition(d, k - 1, axis=1)[:, :k]
            if k < d.shape[1]
            else np.tile(np.arange(d.shape[1]), (len(blk), 1))
        )
        part_d = np.take_along_axis(d, part, axis=1)
        order = np.argsort(part_d, axis=1, kind="stable")
        near[start : start + len(blk)] = np.take_along_axis(part, order, axis=1)
        miles[start : start + len(blk)] = np.take_along_axis(part_d, order, axis=1)
    return near[inverse], miles[inverse]


def _pickup_customers(
    rng: np.random.Generator, n: int, store_rows: IntArray, k: int
) -> tuple[IntArray, IntArray]:
    """ZIP rows of ``n`` pickup customers and the store each picks up from.

    People far from every store rarely choose pickup: a drawn customer is kept
    with probability exp(-miles to the nearest store / PICKUP_REACH_MI), else
    drawn again (a few vectorised rounds over the rejected ones). Each then
    picks one of its ``k`` nearest stores, mostly the nearest, rarely a far one.
    """
    rows = sample_zip_rows(rng, n, RURAL_SHARE)
    near, miles = _nearest_stores(rows, store_rows, k)
    todo = np.arange(n)
    for _ in range(RESAMPLE_ROUNDS):
        todo = todo[rng.random(len(todo)) > np.exp(-miles[todo, 0] / PICKUP_REACH_MI)]
        if not len(todo):
            break
        rows[todo] = sample_zip_rows(rng, len(todo), RURAL_SHARE)
        near[todo], miles[todo] = _nearest_stores(rows[todo], store_rows, k)
    weight = np.asarray(PICKUP_NEAREST_P[:k]) * np.exp(-miles / PICKUP_REACH_MI) + 1e-12
    cum = np.cumsum(weight, axis=1)
    which = (cum < rng.random(n)[:, None] * cum[:, -1:]).sum(axis=1)
    return rows, near[np.arange(n), np.minimum(which, k - 1)]


@dataclass(frozen=True)
class _Orders:
    service: IntArray  # index into SERVICES
    channel: IntArray  # index into CHANNELS
    cust_row: IntArray  # customer ZIP row (pickup customers too)
    store: IntArray  # node index of the pickup store, -1 for parcels
    due: IntArray
    ship_complete: BoolArray
    max_packages: IntArray  # 0 = no limit


def _orders(rng: np.random.Generator, n: int, net: _Network) -> _Orders:
    """Order headers: channel and service mix, customer ZIPs, pickup stores, promises."""
    service = _choice(rng, n, SERVICE_P)
    channel = _choice(rng, n, CHANNEL_P)
    is_pickup = service == PICKUP
    # Marketplace orders cannot be collected in store; those customers came via the web.
    channel[is_pickup & (channel == CHANNELS.index("marketplace"))] = CHANNELS.index("web")
    cust_row = sample_zip_rows(rng, n, RURAL_SHARE)

    stores = np.flatnonzero(~net.is_dc)  # every store offers pickup
    k = min(len(PICKUP_NEAREST_P), len(stores))
    pickup_at = np.flatnonzero(is_pickup)
    cust_row[pickup_at], nearby = _pickup_customers(rng, len(pickup_at), net.zip_row[stores], k)
    store = np.full(n, -1, dtype=np.int64)
    store[pickup_at] = stores[nearby]

    due = np.select(
        [service == 0, service == 1, service == 2],
        [np.take(GROUND_DUE, _choice(rng, n, GROUND_DUE_P)), TWO_DAY_DUE, NEXT_DAY_DUE],
        _choice(rng, n, PICKUP_DUE_P),
    ).astype(np.int64)
    ship_complete = rng.random(n) < SHIP_COMPLETE_SHARE
    limited = rng.random(n) < MAX_PACKAGES_SHARE
    max_packages = np.where(limited, rng.integers(1, 3, n), 0).astype(np.int64)
    return _Orders(service, channel, cust_row, store, due, ship_complete, max_packages)


def _repeats(order_of: IntArray, sku: IntArray) -> BoolArray:
    """Lines whose SKU already appeared earlier in the same order (lines grouped by order).

    Orders are short (at most MAX_LINES lines), so comparing each line with the
    few before it is much cheaper than hashing (order, sku) pairs.
    """
    dup = np.zeros(len(sku), dtype=bool)
    for back in range(1, MAX_LINES):  # one vectorised pass per offset, not per order
        if back >= len(sku):
            break
        dup[back:] |= (order_of[back:] == order_of[:-back]) & (sku[back:] == sku[:-back])
    return dup


@dataclass(frozen=True)
class _Shelf:
    """What each pickup line's store shows in stock, for redrawing pickup SKUs."""

    keys: IntArray  # sorted node * n_skus + sku of store stock rows
    avail: IntArray  # available units per key
    node: IntArray  # pickup node per line, -1 for parcel lines
    strict: BoolArray  # per line: the customer saw live stock (else a stale in-stock flag)


def _redraw(
    rng: np.random.Generator,
    items: _Items,
    order_of: IntArray,
    sku: IntArray,
    qty: IntArray | None = None,
    shelf: _Shelf | None = None,
) -> tuple[IntArray, IntArray]:
    """Redraw SKUs that repeat within their order, and pickup SKUs the store cannot give.

    A pickup line is redrawn when its store shows none of the SKU; for
    ``strict`` lines, units earlier pickups took are not shown, and a quantity
    above what is shown is cut to it. Returns the SKUs and quantities.
    """
    n_skus = len(items.sku)
    sku = sku.copy()
    qty = np.ones(len(sku), np.int64) if qty is None else qty.copy()
    pick = np.flatnonzero(shelf.node >= 0) if shelf is not None else np.empty(0, np.int64)
    for _ in range(RESAMPLE_ROUNDS):  # a few vectorised rounds, each over all lines
        bad = _repeats(order_of, sku)
        if shelf is not None and len(pick):
            want = shelf.node[pick] * n_skus + sku[pick]
            pos = np.minimum(np.searchsorted(shelf.keys, want), max(len(shelf.keys) - 1, 0))
            found = shelf.keys[pos] == want if len(shelf.keys) else np.zeros(len(pick), bool)
            avail = np.where(found, shelf.avail[pos] if len(shelf.keys) else 0, 0)
            units = np.where(items.price[sku[pick]] > EXPENSIVE, 1, qty[pick])
            taken = pd.Series(units).groupby(want).cumsum().to_numpy()
            left = avail - (taken - units)  # what the shelf still showed for this line
            strict = shelf.strict[pick]
            # The web shop caps the quantity at what is shown; nothing shown: another item.
            cap = strict & (taken > avail) & (left >= 1)
            qty[pick[cap]] = left[cap]
            bad[pick[np.where(strict, left < 1, avail < 1)]] = True
        count = int(bad.sum())
        if not count:
            break
        sku[bad] = items.draw(rng, count)
    return sku, qty


def _lines(rng: np.random.Generator, n: int, items: _Items) -> tuple[IntArray, IntArray]:
    """Order index and SKU per line: 1 + geometric lines per order, distinct SKUs."""
    p = 1.0 / MEAN_LINES
    n_lines = np.minimum(rng.geometric(p, n), min(MAX_LINES, len(items.sku)))
    order_of = np.repeat(np.arange(n, dtype=np.int64), n_lines)
    sku, _ = _redraw(rng, items, order_of, items.draw(rng, len(order_of)))
    return order_of, sku


@dataclass(frozen=True)
class _Stock:
    node: IntArray
    sku: IntArray
    avail: IntArray
    reserved: IntArray
    safety: IntArray


def _stock(
    rng: np.random.Generator,
    net: _Network,
    items: _Items,
    orders: _Orders,
    units_per_order: float,
    tightness: float,
) -> _Stock:
    """Deep DC stock for nearly every SKU, thin store stock of popular SKUs.

    Quantities follow a per-SKU forecast (expected demand times a lognormal
    error), not the realised order lines, so some SKUs run short as in life.
    """
    n = len(orders.service)
    n_skus, n_dc = len(items.sku), net.n_dc
    stores = np.flatnonzero(~net.is_dc)
    n_store = len(stores)
    per_order = items.popularity * units_per_order  # expected units of each SKU per order
    forecast = rng.lognormal(-(FORECAST_SIGMA**2) / 2, FORECAST_SIGMA, n_skus)

    # Stores: their pickup demand plus some ship-from-store, top of the assortment only.
    pickups = np.bincount(orders.store[orders.store >= 0], minlength=len(net.node_id))[stores]
    carried = np.clip(
        np.round(n_skus * rng.uniform(*STORE_ASSORTMENT, n_store)),
        min(n_skus, MIN_SKUS),
        min(n_skus, STORE_ASSORTMENT_MAX),
    ).astype(np.int64)
    top = items.by_rank[: int(carried.max())]
    carries = np.arange(len(top))[None, :] < carried[:, None]
    sfs_orders = STORE_SFS_ORDERS * n / n_store * rng.lognormal(0.0, 0.3, n_store)
    want = (STORE_PICKUP_COVER * pickups + sfs_orders)[:, None] * (forecast * per_order)[top]
    q_store = _stochastic_round(rng, tightness * want)
    token = carries & (q_store == 0) & (rng.random(q_store.shape) < STORE_IN_STOCK)
    q_store = np.where(carries, np.where(token, 1, q_store), 0)
    store_total = np.zeros(n_skus)
    store_total[top] = q_store.sum(axis=0)

    # DCs: the rest of the target supply, split by each DC's share.
    target = tightness * SUPPLY_COVER * forecast * per_order * n
    rest = np.maximum(target - STORE_COUNTED * store_total, 0.0)
    noise = rng.uniform(0.85, 1.15, (n_dc, n_skus))
    q_dc = _stochastic_round(rng, rest[None, :] * net.dc_weight[:, None] * noise)
    rank = np.empty(n_skus, dtype=np.int64)
    rank[items.by_rank] = np.arange(n_skus)
    stocked = (rank < DC_CORE_SHARE * n_skus)[None, :] | (
        rng.random((n_dc, n_skus)) < DC_STOCK_PROB
    )
    floor = rng.integers(1, 4, (n_dc, n_skus))  # at least a case of anything carried
    q_dc = np.where(stocked, np.maximum(q_dc, floor), 0)

    dc_node, dc_sku = np.nonzero(q_dc)
    st_i, st_k = np.nonzero(q_store)
    node = np.concatenate([dc_node, stores[st_i]]).astype(np.int64)
    sku = np.concatenate([dc_sku, top[st_k]]).astype(np.int64)
    avail = np.concatenate([q_dc[dc_node, dc_sku], q_store[st_i, st_k]]).astype(np.int64)
    order = np.lexsort((sku, node))
    node, sku, avail = node[order], sku[order], avail[order]

    rows = len(node)
    is_dc = net.is_dc[node]
    reserved = np.where(rng.random(rows) < 0.12, 1 + rng.poisson(0.05 * avail), 0)
    safety = np.where(
        is_dc,
        np.where(rng.random(rows) < 0.30, np.ceil(0.05 * avail), 0),
        (rng.random(rows) < 0.20).astype(np.float64),
    ).astype(np.int64)
    committed = rng.random(rows) < 0.01  # all of it promised elsewhere
    avail = np.where(committed, 0, avail)
    reserved = np.where(committed & (reserved == 0), 1, reserved)
    return _Stock(node, sku, avail, reserved.astype(np.int64), safety)


def generate_batch(
    orders: int,
    *,
    seed: int = 7,
    nodes: int | None = None,
    skus: int | None = None,
    batch_date: date = date(2026, 11, 25),
    tightness: float = 1.0,
    weights: Weights | None = None,
    vendors: int = 0,
    digital_share: float = 0.0,
) -> Batch:
    """A realistic, valid batch of ``orders`` orders; the same arguments give the same batch.

    ``vendors`` drop-ship vendors and a ``digital_share`` of digital SKUs are added
    afterwards on their own random stream (``data.vendors``): the rest of the batch is
    the same as without them.

    ``nodes`` and ``skus`` default to sizes that scale with ``orders``;
    ``tightness`` scales supply against expected demand (1.0: tight, a few
    percent of units cannot be filled; 2.0: ample).
    """
    if orders < 1:
        raise ValueError("orders must be >= 1")
    if tightness <= 0:
        raise ValueError("tightness must be > 0")
    default_nodes, default_skus = default_sizes(orders)
    n_nodes = default_nodes if nodes is None else int(nodes)
    n_skus = default_skus if skus is None else int(skus)
    if n_nodes < 2:
        raise ValueError("nodes must be >= 2 (at least one DC and one store)")
    if n_skus < 1:
        raise ValueError("skus must be >= 1")

    rng = np.random.default_rng(seed)
    net = _network(rng, n_nodes)
    items = _items(rng, n_skus)
    hdr = _orders(rng, orders, net)
    order_of, sku = _lines(rng, orders, items)
    qty = 1 + _choice(rng, len(order_of), QTY_P)
    units_per_order = float(np.where(items.price[sku] > EXPENSIVE, 1, qty).sum()) / orders
    stock = _stock(rng, net, items, hdr, units_per_order, tightness)

    # Customers only choose pickup for what the store shows in stock.
    on_shelf = ~net.is_dc[stock.node] & (stock.avail > 0)
    # Sorted, as stock rows are sorted by (node, sku).
    shelf_keys = stock.node[on_shelf] * n_skus + stock.sku[on_shelf]
    line_store = hdr.store[order_of]
    shelf = _Shelf(
        keys=shelf_keys,
        avail=stock.avail[on_shelf],
        node=line_store,
        strict=rng.random(len(order_of)) >= STALE_SHELF_SHARE,
    )
    sku, qty = _redraw(rng, items, order_of, sku, qty, shelf)
    keep = ~_repeats(order_of, sku)
    order_of, sku, qty, line_store = order_of[keep], sku[keep], qty[keep], line_store[keep]
    qty = np.where(items.price[sku] > EXPENSIVE, 1, qty).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, order_of[1:] != order_of[:-1]])
    line_no = (
        np.arange(len(order_of)) - np.repeat(starts, np.diff(np.r_[starts, len(order_of)])) + 1
    )

    capacity = _capacity(rng, net, line_store, qty)
    batch = _assemble(
        net, items, hdr, order_of, line_no, sku, qty, stock, capacity, batch_date, weights
    )
    return add_vendors(make_digital(batch, digital_share, seed), vendors, seed)


def _capacity(
    rng: np.random.Generator, net: _Network, line_store: IntArray, qty: IntArray
) -> IntArray:
    """Units each node can pick: DCs by their share, stores for their pickups plus some SFS."""
    n_nodes = len(net.node_id)
    parcel_units = float(qty[line_store < 0].sum())
    pickup_units = np.bincount(line_store[line_store >= 0], qty[line_store >= 0], n_nodes)
    dc_cap = np.zeros(n_nodes)
    dc_cap[net.is_dc] = (
        parcel_units * net.dc_weight * rng.lognormal(np.log(DC_CAPACITY_COVER), 0.15, net.n_dc)
    )
    dc_cap = np.ceil(dc_cap / 10.0) * 10.0 + 10.0
    sfs = net.ship & ~net.is_dc
    sfs_cap = np.where(
        sfs,
        STORE_SFS_CAPACITY
        * parcel_units
        / max(int(sfs.sum()), 1)
        * rng.lognormal(0, 0.35, n_nodes),
        0.0,
    )
    store_cap = np.ceil(1.2 * pickup_units + sfs_cap) + 5.0
    return np.where(net.is_dc, dc_cap, store_cap).astype(np.int64)


def _assemble(
    net: _Network,
    items: _Items,
    hdr: _Orders,
    order_of: IntArray,
    line_no: IntArray,
    sku: IntArray,
    qty: IntArray,
    stock: _Stock,
    capacity: IntArray,
    batch_date: date,
    weights: Weights | None,
) -> Batch:
    """Canonical frames (object strings, bool, int64, float64, Int64 max_packages)."""
    zips = _zip_strings()
    n = len(hdr.service)
    nodes = pd.DataFrame(
        {
            "node_id": net.node_id,
            "kind": np.where(net.is_dc, "dc", "store").astype(object),
            "zip": zips[net.zip_row],
            "ship_enabled": net.ship.astype(bool),
            "pickup_enabled": ~net.is_dc,
            "capacity_units": capacity.astype(np.int64),
            "pick_cost": net.pick.astype(np.float64),
            "pack_cost": net.pack.astype(np.float64),
            "processing_days": net.processing.astype(np.int64),
        }
    )
    item_frame = pd.DataFrame(
        {
            "sku": items.sku,
            "weight_lb": items.weight_lb,
            "price": items.price,
            "digital": np.zeros(len(items.sku), dtype=bool),
        }
    )
    inventory = pd.DataFrame(
        {
            "node_id": net.node_id[stock.node],
            "sku": items.sku[stock.sku],
            "on_hand": (stock.avail + stock.reserved + stock.safety).astype(np.int64),
            "reserved": stock.reserved,
            "safety_stock": stock.safety,
        }
    )
    order_ids = _ids("O", n, 7)
    is_pickup = hdr.service == PICKUP
    blank = np.full(n, "", dtype=object)
    orders = pd.DataFrame(
        {
            "order_id": order_ids,
            "channel": np.array(CHANNELS, dtype=object)[hdr.channel],
            "ship_zip": np.where(is_pickup, blank, zips[hdr.cust_row]),
            "service": np.array(SERVICES, dtype=object)[hdr.service],
            "due_days": hdr.due,
            "ship_complete": hdr.ship_complete,
            "max_packages": pd.arrays.IntegerArray(hdr.max_packages, hdr.max_packages == 0),
            "pickup_node_id": np.where(is_pickup, net.node_id[np.maximum(hdr.store, 0)], blank),
        }
    )
    lines = pd.DataFrame(
        {
            "order_id": order_ids[order_of],
            "line_no": line_no.astype(np.int64),
            "sku": items.sku[sku],
            "qty": qty.astype(np.int64),
        }
    )
    return Batch(
        batch_date=batch_date,
        nodes=nodes,
        items=item_frame,
        inventory=inventory,
        orders=orders,
        order_lines=lines,
        rate_card=default_rate_card(),
        weights=weights or Weights(),
    )
