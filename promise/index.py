"""The in-memory promise index: live availability as numpy arrays, and promising on it.

Promising answers in well under a millisecond, so it never queries DuckDB per
request. The process that owns the store builds this index from the store at
start-up (``PromiseIndex.build``) and applies every committed stock change to
it (``apply``); soft holds of live promises live only here.

Arrays (S SKUs x N nodes): ``avail[s, n]`` = on hand - reserved - safety stock
(unclipped), ``held[s, n]`` = units held by live promises; free = max(0,
avail - held). Per node: its calendar's ship day for an order placed now
(recomputed each UTC hour and when the node's backlog moves it), capacity
and costs. Per destination ZIP: zone and miles to every node, cached.

The date rules are ``promise.calendar`` (contract: ``promise/README.md``); the
package costs are the planner's (``planner.core.cost``), with the store's weights.
"""

import heapq
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from data.geo import haversine_miles, zip_table, zip_timezone, zone_of_miles
from data.promise_repo import NetworkSnapshot
from models import Weights
from models.lifecycle_errors import Conflict, FieldError, InvalidInput
from planner.core.cost import handling_cost, shipping_cost, weighted_total
from promise.calendar import NodeCalendar, add_carrier_days, backlog_days, carrier_day

SERVICES: tuple[str, ...] = ("ground", "two_day", "next_day")
DEFAULT_TTL_S = 15 * 60
HORIZON_DAYS = 400  # ship days beyond this many days are "not promisable"
MAX_TRANSIT = 30
NEVER = np.iinfo(np.int32).max
DEST_CACHE_MAX = 8192
MAX_PICKUP_STORES = 10

IntArray = npt.NDArray[np.int64]


class PromiseExpired(Conflict):
    """An order quoted a promise that has expired (or was already used)."""


@dataclass(frozen=True, slots=True)
class CartLine:
    sku: str
    qty: int


@dataclass(frozen=True, slots=True)
class Package:
    """One parcel of an option: its node, the cart lines (index, sku, qty) it carries."""

    node_id: str
    node_kind: str
    lines: tuple[tuple[int, str, int], ...]
    units: int
    weight_lb: float
    zone: int
    ship_date: date
    delivery_date: date
    shipping: float
    handling: float
    planner_days: int  # processing + backlog + transit days: the planner's due_days for it


@dataclass(frozen=True, slots=True)
class Option:
    """The earliest date for one service, and the cheapest way found to make it."""

    service: str
    delivery_date: date
    packages: tuple[Package, ...]
    shipping: float
    handling: float
    splits: int
    cost: float  # the planner's weighted objective of these packages
    order_by: datetime  # the cut-off that makes this date


@dataclass(frozen=True, slots=True)
class PickupOption:
    node_id: str
    miles: float
    ready_date: date
    order_by: datetime


@dataclass(frozen=True, slots=True)
class Unavailable:
    service: str
    reason: str


@dataclass(frozen=True)
class Promise:
    promise_id: str
    created_at: datetime
    expires_at: datetime
    ship_zip: str | None
    lines: tuple[CartLine, ...]
    options: tuple[Option, ...]
    unavailable: tuple[Unavailable, ...]
    pickup: tuple[PickupOption, ...]
    held: bool
    digital: tuple[CartLine, ...] = ()  # delivered at capture: no node, no package

    def option(self, service: str) -> Option | None:
        return next((o for o in self.options if o.service == service), None)


@dataclass
class _Hold:
    promise: Promise
    cells: list[tuple[int, int, int]]  # (sku row, node col, qty)
    expires: float
    claimed: bool = False


@dataclass(slots=True)
class _Dest:
    zone: IntArray
    miles: npt.NDArray[np.float64]
    version: int = -1  # the index's dates version the cached deliveries belong to
    deliveries: dict[int, IntArray] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NodeAvailability:
    node_id: str
    kind: str
    miles: float | None
    available: int


@dataclass(frozen=True, slots=True)
class ListingRow:
    sku: str
    deliverable: bool
    ground: date | None
    next_day: date | None


@dataclass
class _Clock:
    """Per UTC hour: each node's start day, cut-off instant, and the carrier day table."""

    hour: int = -1
    base: int = 0  # ordinal of day offset 0
    start: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    cutoff_ts: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    delivery: IntArray = field(default_factory=lambda: np.zeros((0, 0), np.int64))


def _as_now(now: datetime | None) -> datetime:
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now


class PromiseIndex:
    """Availability and node dates in arrays; promises with soft holds."""

    def __init__(self, snap: NetworkSnapshot) -> None:
        nodes = snap.nodes.reset_index(drop=True)
        self.weights: Weights = snap.weights
        self.node_ids: list[str] = [str(x) for x in nodes["node_id"]]
        self.node_pos = {n: i for i, n in enumerate(self.node_ids)}
        self.kind = nodes["kind"].astype(str).to_numpy()
        self.capacity = nodes["capacity_units"].to_numpy(np.int64)
        self.processing = nodes["processing_days"].to_numpy(np.int64)
        self.pick = nodes["pick_cost"].to_numpy(np.float64)
        self.pack = nodes["pack_cost"].to_numpy(np.float64)
        has_capacity = self.capacity > 0
        self.ship_ok = nodes["ship_enabled"].to_numpy(bool) & has_capacity
        self.pickup_ok = nodes["pickup_enabled"].to_numpy(bool) & has_capacity
        table = zip_table()
        idx = table.index_of(nodes["zip"].to_numpy(str))
        if (idx < 0).any():
            raise InvalidInput([FieldError("nodes.zip", "a node's ZIP is not a known US ZIP")])
        self.lat, self.lon = table.lat[idx], table.lon[idx]
        settings = zip(
            nodes["zip"].astype(str).tolist(),
            nodes["cutoff_hour"].astype(int).tolist(),
            *(
                nodes[c].astype(str).tolist()
                for c in ("closed_weekdays", "holiday_calendar", "closed_dates", "open_dates")
            ),
            strict=True,
        )
        self.calendars = [
            NodeCalendar.from_settings(zip_timezone(z) or "America/New_York", h, *rest)
            for z, h, *rest in settings
        ]
        items = snap.items.reset_index(drop=True)
        self.skus: list[str] = [str(s) for s in items["sku"]]
        self.sku_pos = {s: i for i, s in enumerate(self.skus)}
        self.weight = items["weight_lb"].to_numpy(np.float64)
        flags = items["digital"] if "digital" in items else [False] * len(items)
        self.digital = frozenset(s for s, d in zip(self.skus, flags, strict=True) if d)
        shape = (len(self.skus), len(self.node_ids))
        self.avail = np.zeros(shape, np.int32)
        self.held = np.zeros(shape, np.int32)
        self.reserved_node = np.zeros(len(self.node_ids), np.int64)
        st = snap.stock
        if len(st):
            r = st["sku"].map(self.sku_pos).to_numpy()
            c = st["node_id"].map(self.node_pos).to_numpy()
            ok = ~(np.isnan(r.astype(float)) | np.isnan(c.astype(float)))
            r, c = r[ok].astype(np.int64), c[ok].astype(np.int64)
            self.avail[r, c] = st["available"].to_numpy(np.int64)[ok]
            np.add.at(self.reserved_node, c, st["reserved"].to_numpy(np.int64)[ok])
        # Rate card as [service, zone] arrays; -1 transit marks a missing rate row.
        self.base = np.full((len(SERVICES), 9), np.nan)
        self.per_lb = np.full((len(SERVICES), 9), np.nan)
        self.transit = np.full((len(SERVICES), 9), -1, np.int64)
        rc = snap.rate_card
        for service, zone, base, per_lb, transit in zip(
            rc["service"].astype(str).tolist(),
            rc["zone"].astype(int).tolist(),
            rc["base"].astype(float).tolist(),
            rc["per_lb"].astype(float).tolist(),
            rc["transit_days"].astype(int).tolist(),
            strict=True,
        ):
            if service in SERVICES:
                s = SERVICES.index(service)
                self.base[s, zone] = base
                self.per_lb[s, zone] = per_lb
                self.transit[s, zone] = min(transit, MAX_TRANSIT)
        self.backlog = np.zeros(len(self.node_ids), np.int64)
        self.ship_off = np.zeros(len(self.node_ids), np.int64)
        self.lock = threading.RLock()
        self.clock = _Clock()
        self.holds: dict[str, _Hold] = {}
        self._expiry: list[tuple[float, str]] = []
        self._dest: dict[str, _Dest] = {}
        self._dates_version = 0  # bumped whenever a node's ship day may have moved
        self.unknown_changes = 0  # stock changes for SKUs/nodes the index does not know

    # -- keeping in step with the store ------------------------------------------------

    def apply(self, deltas: Mapping[tuple[str, str], Sequence[int]]) -> None:
        """Committed stock changes: per (node, sku), (change in available, in reserved)."""
        with self.lock:
            touched = set()
            for (node_id, sku), (d_avail, d_reserved) in deltas.items():
                r, c = self.sku_pos.get(sku), self.node_pos.get(node_id)
                if r is None or c is None:
                    self.unknown_changes += 1
                    continue
                self.avail[r, c] += d_avail
                if d_reserved:
                    self.reserved_node[c] += d_reserved
                    touched.add(c)
            if self.clock.hour >= 0:
                for c in touched:
                    self._ship_day(c)

    # -- dates -------------------------------------------------------------------------

    def _tick(self, now: datetime) -> None:
        """Recompute start days and the carrier table when the UTC hour changes."""
        hour = int(now.timestamp() // 3600)
        if hour == self.clock.hour:
            return
        base = now.astimezone(UTC).date() - timedelta(days=1)
        starts = [cal.start_day(now) for cal in self.calendars]
        ck = _Clock(hour=hour, base=base.toordinal())
        ck.start = np.array([d.toordinal() for d in starts], np.int64)
        ck.cutoff_ts = np.array(
            [cal.cutoff_at(d).timestamp() for cal, d in zip(self.calendars, starts, strict=True)]
        )
        # delivery[h, t]: the t-th carrier day after ship-day offset h (t = 0: that day).
        span = HORIZON_DAYS + 3 * MAX_TRANSIT
        days = [base + timedelta(days=i) for i in range(span)]
        carrier = np.array([i for i, d in enumerate(days) if carrier_day(d)], np.int64)
        h = np.arange(HORIZON_DAYS)[:, None]
        t = np.arange(MAX_TRANSIT + 1)[None, :]
        pos = np.searchsorted(carrier, h, side="right") + t - 1
        ck.delivery = np.where(t == 0, h, carrier[np.minimum(pos, len(carrier) - 1)])
        self.clock = ck
        for c in range(len(self.node_ids)):
            self._ship_day(c)
        self._dates_version += 1

    def _ship_day(self, c: int) -> None:
        """Node c's carrier pickup day for an order placed now, as a day offset."""
        if self.capacity[c] <= 0:
            self.ship_off[c] = HORIZON_DAYS - 1
            return
        self.backlog[c] = backlog_days(int(self.reserved_node[c]), int(self.capacity[c]))
        start = date.fromordinal(int(self.clock.start[c]))
        ship = self.calendars[c].add_working_days(
            start, int(self.processing[c]) + int(self.backlog[c])
        )
        off = min(ship.toordinal() - self.clock.base, HORIZON_DAYS - 1)
        if off != self.ship_off[c]:
            self.ship_off[c] = off
            self._dates_version += 1

    def _date(self, offset: int) -> date:
        return date.fromordinal(self.clock.base + int(offset))

    def _destination(self, zip_code: str, field_name: str) -> _Dest:
        hit = self._dest.get(zip_code)
        if hit is not None:
            return hit
        table = zip_table()
        i = int(table.index_of([zip_code])[0]) if len(zip_code) == 5 else -1
        if i < 0:
            raise InvalidInput([FieldError(field_name, f"{zip_code!r} is not a known US ZIP")])
        miles = haversine_miles(self.lat, self.lon, table.lat[i], table.lon[i])
        dest = _Dest(zone=zone_of_miles(miles), miles=miles)
        if len(self._dest) >= DEST_CACHE_MAX:
            self._dest.clear()
        self._dest[zip_code] = dest
        return dest

    def _delivery(self, s: int, dest: _Dest) -> IntArray:
        """Delivery day offset per node for service s (NEVER where it cannot ship);
        cached per destination until a node's ship day moves."""
        if dest.version != self._dates_version:
            dest.deliveries.clear()
            dest.version = self._dates_version
        hit = dest.deliveries.get(s)
        if hit is None:
            transit = self.transit[s, dest.zone]
            ok = self.ship_ok & (transit >= 0)
            deliv = self.clock.delivery[self.ship_off, np.maximum(transit, 0)]
            hit = dest.deliveries[s] = np.where(ok, deliv, NEVER)
        return hit

    # -- holds -------------------------------------------------------------------------

    def _expire(self, now_ts: float) -> None:
        """Expired holds stop counting: dropped when the next call looks (no sweeper)."""
        while self._expiry and self._expiry[0][0] <= now_ts:
            _, pid = heapq.heappop(self._expiry)
            hold = self.holds.get(pid)
            if hold is not None and hold.expires <= now_ts:
                self._drop(pid)

    def _drop(self, pid: str) -> None:
        hold = self.holds.pop(pid)
        for r, c, q in hold.cells:
            self.held[r, c] -= q

    def held_units(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Units live promises hold at these (node, sku) rows (expired holds excluded)."""
        with self.lock:
            self._expire(_as_now(None).timestamp())
            out = {}
            for node_id, sku in keys:
                r, c = self.sku_pos.get(sku), self.node_pos.get(node_id)
                if r is not None and c is not None and self.held[r, c] > 0:
                    out[(node_id, sku)] = int(self.held[r, c])
            return out

    def all_held(self) -> dict[tuple[str, str], int]:
        """Every (node, sku) row live promises hold units of, with the units."""
        with self.lock:
            self._expire(_as_now(None).timestamp())
            r, c = np.nonzero(self.held > 0)
            return {
                (self.node_ids[j], self.skus[i]): int(self.held[i, j])
                for i, j in zip(r.tolist(), c.tolist(), strict=True)
            }

    def claim(self, promise_id: str, now: datetime | None = None) -> Promise:
        """Reserve a live promise for one order; PromiseExpired if it is gone or taken."""
        now = _as_now(now)
        with self.lock:
            self._expire(now.timestamp())
            hold = self.holds.get(promise_id)
            if hold is None or hold.claimed:
                raise PromiseExpired(
                    f"promise {promise_id!r} has expired, was already used, or is unknown "
                    "to this service (promises live in the serving process)"
                )
            hold.claimed = True
            return hold.promise

    def unclaim(self, promise_id: str) -> None:
        with self.lock:
            hold = self.holds.get(promise_id)
            if hold is not None:
                hold.claimed = False

    def consume(
        self, promise_id: str, deltas: Mapping[tuple[str, str], Sequence[int]] | None = None
    ) -> None:
        """The order's reservation committed: drop the hold and apply the stock change together."""
        with self.lock:
            if promise_id in self.holds:
                self._drop(promise_id)
            if deltas:
                self.apply(deltas)

    # -- promising ---------------------------------------------------------------------

    def _rows(self, lines: list[CartLine]) -> tuple[IntArray, IntArray]:
        errors = []
        rows = []
        seen: dict[str, int] = {}
        for i, ln in enumerate(lines):
            r = self.sku_pos.get(ln.sku)
            if r is None:
                errors.append(FieldError(f"lines.{i}.sku", f"unknown SKU {ln.sku!r}"))
            elif ln.sku in seen:
                errors.append(FieldError(f"lines.{i}.sku", f"{ln.sku} repeats line {seen[ln.sku]}"))
            seen.setdefault(ln.sku, i)
            rows.append(r or 0)
        if not lines:
            errors.append(FieldError("lines", "the cart is empty"))
        if errors:
            raise InvalidInput(errors, "the cart is not valid")
        return np.array(rows, np.int64), np.array([ln.qty for ln in lines], np.int64)

    def split_digital(self, lines: list[CartLine]) -> tuple[list[CartLine], list[CartLine]]:
        """The cart checked whole (fields named by cart position), then split into its
        physical lines (to promise) and its digital ones (delivered at capture)."""
        self._rows(lines)
        physical = [ln for ln in lines if ln.sku not in self.digital]
        return physical, [ln for ln in lines if ln.sku in self.digital]

    def promise(
        self,
        lines: list[CartLine],
        ship_zip: str | None = None,
        pickup_zip: str | None = None,
        radius_miles: float = 25.0,
        hold: bool = True,
        ttl_s: float = DEFAULT_TTL_S,
        now: datetime | None = None,
    ) -> Promise:
        """Options per service (and pickup stores) for a cart; holds their units if asked."""
        now = _as_now(now)
        rows, qty = self._rows(lines)
        dest = self._destination(ship_zip, "ship_zip") if ship_zip else None
        origin = self._destination(pickup_zip, "pickup.zip") if pickup_zip else None
        if dest is None and origin is None:
            raise InvalidInput([FieldError("ship_zip", "give ship_zip or a pickup location")])
        with self.lock:
            ts = now.timestamp()
            self._expire(ts)
            self._tick(now)
            free = self.avail[rows] - self.held[rows]
            covers = free >= qty[:, None]
            options: list[Option] = []
            missing: list[Unavailable] = []
            if dest is not None:
                for opt in self._options(lines, rows, qty, covers, dest):
                    if isinstance(opt, Unavailable):
                        missing.append(opt)
                    else:
                        options.append(opt)
            pickup = self._pickup(covers, origin, radius_miles) if origin is not None else ()
            pid = f"pr-{uuid.uuid4().hex[:16]}"
            expires = now + timedelta(seconds=ttl_s)
            result = Promise(
                promise_id=pid,
                created_at=now,
                expires_at=expires,
                ship_zip=ship_zip,
                lines=tuple(lines),
                options=tuple(options),
                unavailable=tuple(missing),
                pickup=pickup,
                held=hold and bool(options or pickup),
            )
            if result.held:
                cells: dict[tuple[int, int], int] = {}
                for o in options:
                    for p in o.packages:
                        c = self.node_pos[p.node_id]
                        for i, _, q in p.lines:
                            key = (int(rows[i]), c)
                            cells[key] = max(cells.get(key, 0), q)
                if pickup:
                    c = self.node_pos[pickup[0].node_id]
                    for i in range(len(lines)):
                        key = (int(rows[i]), c)
                        cells[key] = max(cells.get(key, 0), int(qty[i]))
                flat = [(r, c, q) for (r, c), q in cells.items()]
                for r, c, q in flat:
                    self.held[r, c] += q
                self.holds[pid] = _Hold(result, flat, expires.timestamp())
                heapq.heappush(self._expiry, (expires.timestamp(), pid))
            return result

    def _options(
        self,
        lines: list[CartLine],
        rows: IntArray,
        qty: IntArray,
        covers: npt.NDArray[np.bool_],
        dest: _Dest,
    ) -> list[Option | Unavailable]:
        """One option per service, all services' arrays at once ([service, line, node])."""
        deliv = self._deliveries(dest)  # [service, node]
        cov = covers[None, :, :] & (deliv < NEVER)[:, None, :]
        has: npt.NDArray[np.bool_] = np.asarray(cov.any(axis=2))
        day = np.where(cov, deliv[:, None, :], NEVER).min(axis=2).max(axis=1)
        at_day = cov & (deliv <= day[:, None])[:, None, :]
        full = at_day.all(axis=1)
        weight: npt.NDArray[np.float64] = self.weight[rows] * qty
        total_weight, total_units = float(weight.sum()), int(qty.sum())
        w = self.weights
        out: list[Option | Unavailable] = []
        for s, service in enumerate(SERVICES):
            if not has[s].all():
                bad = [lines[i].sku for i in np.flatnonzero(~has[s])]
                out.append(
                    Unavailable(service, f"not enough stock to ship {', '.join(bad)} by {service}")
                )
                continue
            alone = np.flatnonzero(full[s])
            if len(alone):
                z = dest.zone[alone]
                cost = w.shipping * shipping_cost(
                    self.base[s, z], self.per_lb[s, z], total_weight
                ) + w.handling * handling_cost(self.pack[alone], self.pick[alone], total_units)
                plan = [(int(alone[int(np.argmin(cost))]), list(range(len(lines))))]
            else:  # no node makes the date alone: fewest packages, then cheapest
                plan = self._greedy_split(s, at_day[s], dest, weight, qty)[1]
            out.append(self._make_option(s, service, lines, plan, dest, deliv[s], weight, qty))
        return out

    def _deliveries(self, dest: _Dest) -> IntArray:
        """Delivery day offsets [service, node] to ``dest`` (cached like ``_delivery``)."""
        if dest.version != self._dates_version or -1 not in dest.deliveries:
            stacked = np.stack([self._delivery(s, dest) for s in range(len(SERVICES))])
            dest.deliveries[-1] = stacked
        return dest.deliveries[-1]

    def _package_cost(
        self, s: int, c: int, zone: int, weight: float, units: int
    ) -> tuple[float, float]:
        ship = shipping_cost(float(self.base[s, zone]), float(self.per_lb[s, zone]), weight)
        hand = handling_cost(float(self.pack[c]), float(self.pick[c]), units)
        return float(ship), float(hand)

    def _greedy_split(
        self,
        s: int,
        at_day: npt.NDArray[np.bool_],
        dest: _Dest,
        weight: npt.NDArray[np.float64],
        qty: IntArray,
    ) -> tuple[float, list[tuple[int, list[int]]]]:
        """Few packages, then cheapest: take the node covering most open lines, repeat."""
        w = self.weights
        left = list(range(at_day.shape[0]))
        packages: list[tuple[int, list[int]]] = []
        total = 0.0
        while left:
            counts = at_day[left].sum(axis=0)
            most = counts.max()
            cands = np.flatnonzero(counts == most)
            best_c, best_cost, best_lines = -1, np.inf, []
            for c in cands[:64]:
                got = [i for i in left if at_day[i, c]]
                ship, hand = self._package_cost(
                    s, int(c), int(dest.zone[c]), float(weight[got].sum()), int(qty[got].sum())
                )
                cost = weighted_total(w, ship, hand)
                if cost < best_cost:
                    best_c, best_cost, best_lines = int(c), cost, got
            packages.append((best_c, best_lines))
            total += best_cost
            left = [i for i in left if i not in best_lines]
        total += weighted_total(w, 0.0, 0.0, splits=len(packages) - 1)
        return total, packages

    def _make_option(
        self,
        s: int,
        service: str,
        lines: list[CartLine],
        plan: list[tuple[int, list[int]]],
        dest: _Dest,
        deliv: IntArray,
        weight: npt.NDArray[np.float64],
        qty: IntArray,
    ) -> Option:
        packages = []
        for c, idx in plan:
            zone = int(dest.zone[c])
            wt, units = float(weight[idx].sum()), int(qty[idx].sum())
            ship, hand = self._package_cost(s, c, zone, wt, units)
            packages.append(
                Package(
                    node_id=self.node_ids[c],
                    node_kind=str(self.kind[c]),
                    lines=tuple((i, lines[i].sku, lines[i].qty) for i in idx),
                    units=units,
                    weight_lb=round(wt, 3),
                    zone=zone,
                    ship_date=self._date(self.ship_off[c]),
                    delivery_date=self._date(deliv[c]),
                    shipping=round(ship, 2),
                    handling=round(hand, 2),
                    planner_days=int(self.processing[c] + self.backlog[c] + self.transit[s, zone]),
                )
            )
        shipping = sum(p.shipping for p in packages)
        handling = sum(p.handling for p in packages)
        splits = len(packages) - 1
        cost = weighted_total(self.weights, shipping, handling, splits=splits)
        order_by = min(float(self.clock.cutoff_ts[c]) for c, _ in plan)
        return Option(
            service=service,
            delivery_date=max(p.delivery_date for p in packages),
            packages=tuple(packages),
            shipping=round(shipping, 2),
            handling=round(handling, 2),
            splits=splits,
            cost=round(cost, 2),
            order_by=datetime.fromtimestamp(order_by, UTC),
        )

    def _pickup(
        self, covers: npt.NDArray[np.bool_], origin: _Dest, radius: float
    ) -> tuple[PickupOption, ...]:
        ok = self.pickup_ok & covers.all(axis=0) & (origin.miles <= radius)
        found = np.flatnonzero(ok)
        found = found[np.argsort(origin.miles[found], kind="stable")][:MAX_PICKUP_STORES]
        return tuple(
            PickupOption(
                node_id=self.node_ids[c],
                miles=round(float(origin.miles[c]), 1),
                ready_date=self._date(self.ship_off[c]),
                order_by=datetime.fromtimestamp(float(self.clock.cutoff_ts[c]), UTC),
            )
            for c in found
        )

    # -- availability ------------------------------------------------------------------

    def availability(
        self,
        sku: str,
        zip_code: str | None = None,
        radius_miles: float | None = None,
        now: datetime | None = None,
    ) -> tuple[int, list[NodeAvailability]]:
        """(network total, per node with stock: nearest first from ``zip_code``)."""
        r = self.sku_pos.get(sku)
        if r is None:
            raise InvalidInput([FieldError("sku", f"unknown SKU {sku!r}")])
        dest = self._destination(zip_code, "zip") if zip_code else None
        with self.lock:
            self._expire(_as_now(now).timestamp())
            free = np.maximum(self.avail[r] - self.held[r], 0)
        total = int(free.sum())
        mask = free > 0
        if dest is None:
            order = np.flatnonzero(mask)
            return total, [
                NodeAvailability(self.node_ids[c], str(self.kind[c]), None, int(free[c]))
                for c in order
            ]
        if radius_miles is not None:
            mask &= dest.miles <= radius_miles
        order = np.flatnonzero(mask)
        order = order[np.argsort(dest.miles[order], kind="stable")]
        return total, [
            NodeAvailability(
                self.node_ids[c], str(self.kind[c]), round(float(dest.miles[c]), 1), int(free[c])
            )
            for c in order
        ]

    def listing(
        self, skus: list[str], zip_code: str, now: datetime | None = None
    ) -> list[ListingRow]:
        """Per SKU: can one unit arrive at ``zip_code``, and by when (ground, next day)."""
        errors = [
            FieldError(f"skus.{i}", f"unknown SKU {s!r}")
            for i, s in enumerate(skus)
            if s not in self.sku_pos
        ]
        if errors:
            raise InvalidInput(errors[:50], "unknown SKUs")
        now = _as_now(now)
        dest = self._destination(zip_code, "zip")
        rows = np.fromiter((self.sku_pos[s] for s in skus), np.int64, len(skus))
        with self.lock:
            self._expire(now.timestamp())
            self._tick(now)
            has = (self.avail[rows] - self.held[rows]) > 0
            ground = self._delivery(SERVICES.index("ground"), dest)
            nday = self._delivery(SERVICES.index("next_day"), dest)
            g = np.where(has, ground[None, :], NEVER).min(axis=1)
            n = np.where(has, nday[None, :], NEVER).min(axis=1)
            base = self.clock.base
        out = []
        for i, sku in enumerate(skus):
            gd = None if g[i] >= NEVER else date.fromordinal(base + int(g[i]))
            nd = None if n[i] >= NEVER else date.fromordinal(base + int(n[i]))
            out.append(ListingRow(sku, gd is not None, gd, nd))
        return out

    # -- checking plans against promises -------------------------------------------------

    def delivery_date(
        self,
        node_id: str,
        service: str,
        ship_zip: str,
        at: datetime,
        backlog_units: int | None = None,
    ) -> tuple[date | None, dict[str, Any]]:
        """When a package from ``node_id`` for an order placed at ``at`` arrives, with
        ``backlog_units`` ahead of it at the node (default: all reserved there now),
        and the inputs of the date rules (to say why)."""
        c = self.node_pos.get(node_id)
        if c is None or service not in SERVICES:
            return None, {"node_id": node_id, "reason": "unknown node or service"}
        if self.capacity[c] <= 0:
            return None, {"node_id": node_id, "reason": "the node has no capacity"}
        dest = self._destination(ship_zip, "ship_zip")
        s = SERVICES.index(service)
        zone = int(dest.zone[c])
        transit = int(self.transit[s, zone])
        units = int(self.reserved_node[c]) if backlog_units is None else backlog_units
        late = backlog_days(units, int(self.capacity[c]))
        cal = self.calendars[c]
        start = cal.start_day(_as_now(at))
        ship = cal.add_working_days(start, int(self.processing[c]) + late)
        why = {
            "node_id": node_id,
            "zone": zone,
            "transit_days": transit,
            "start_day": start.isoformat(),
            "ship_day": ship.isoformat(),
            "backlog_days": late,
        }
        if transit < 0:
            return None, {**why, "reason": "no rate for this zone"}
        return add_carrier_days(ship, transit), why
