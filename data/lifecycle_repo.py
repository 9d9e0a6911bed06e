"""SQL of the order-lifecycle service, on one cursor inside one transaction.

The services decide; this module only reads and writes rows. Every method runs
on the cursor it was given, so the caller's transaction covers all of them.
Stock rows are always updated in (node_id, sku) order.
"""

import time
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

import duckdb

from data.capture_repo import CaptureRepo
from data.exchange_repo import ExchangeRepo
from data.promise_repo import PromiseRepo
from data.repo_base import now, where
from data.shared_sql import insert_events
from data.sourcing_repo import SourcingRepo
from data.stock_repo import StockRepo
from data.work_repo import WorkRepo
from models.lifecycle_errors import Conflict
from models.orders import LineState, OrderRecord

_SAME = object()  # marker: leave the column as it is
# An order's record (OrderRecord): orders o joined with order_headers h.
_ORDER_RECORD = """o.order_id, o.channel, o.ship_zip, o.service, o.due_days, o.ship_complete,
    o.max_packages, o.pickup_node_id, o.status, o.created_at,
    h.customer_email, h.customer_name, h.phone, h.ship_name, h.ship_line1,
    h.ship_city, h.ship_state, h.promo_code, h.hold_from,
    coalesce(h.version, 1) AS version,
    coalesce(h.updated_at, o.created_at) AS updated_at,
    h.order_id IS NOT NULL AS adopted"""
KEYS_TTL_S = 5.0  # a deactivated key may still work this long in a running server
MAX_CACHED_KEYS = 10_000


class LifecycleRepo(StockRepo, WorkRepo, SourcingRepo, ExchangeRepo, PromiseRepo, CaptureRepo):
    """The order service's repository, on one cursor inside one transaction: orders,
    idempotency keys, promotions and API keys here; stock, work and runs in the mixins."""

    # -- orders ----------------------------------------------------------------------

    def order_row(self, order_id: str) -> OrderRecord | None:
        row = self.one(
            f"""SELECT {_ORDER_RECORD} FROM orders o
               LEFT JOIN (SELECT * FROM order_headers WHERE order_id = ?) h USING (order_id)
               WHERE o.order_id = ?""",
            [order_id, order_id],
        )
        return cast(OrderRecord | None, row)

    def newest_orders_whole(
        self, limit: int
    ) -> tuple[list[OrderRecord], dict[str, list[LineState]], dict[str, list[dict[str, Any]]],
               dict[str, list[dict[str, Any]]]]:  # fmt: skip
        """The newest ``limit`` adopted orders with their line states, open lines and
        reservations by order id (four set-wise reads: the read model's warm-up)."""
        newest = (
            "SELECT order_id FROM order_headers h JOIN orders o USING (order_id) "
            f"ORDER BY o.created_at DESC, o.order_id DESC LIMIT {int(limit)}"
        )
        orders = self.dicts(
            f"""SELECT {_ORDER_RECORD} FROM orders o JOIN order_headers h USING (order_id)
                WHERE o.order_id IN ({newest})"""
        )
        parts: list[dict[str, list[dict[str, Any]]]] = []
        for sql in (
            "SELECT * FROM line_state WHERE order_id IN ({n}) ORDER BY order_id, line_no",
            "SELECT order_id, line_no, sku, qty FROM order_lines WHERE order_id IN ({n}) "
            "ORDER BY order_id, line_no",
            "SELECT order_id, line_no, node_id, sku, qty, released FROM reservations "
            "WHERE order_id IN ({n}) ORDER BY order_id, line_no, node_id",
        ):
            by_order: dict[str, list[dict[str, Any]]] = {}
            for row in self.dicts(sql.format(n=newest)):
                by_order.setdefault(row["order_id"], []).append(row)
            parts.append(by_order)
        states = cast(dict[str, list[LineState]], parts[0])
        return cast(list[OrderRecord], orders), states, parts[1], parts[2]

    def line_states(self, order_id: str) -> list[LineState]:
        rows = self.dicts(
            "SELECT * FROM line_state WHERE order_id = ? ORDER BY line_no", [order_id]
        )
        return cast(list[LineState], rows)

    def reservations(self, order_id: str, released: bool | None = None) -> list[dict[str, Any]]:
        cond = "" if released is None else f" AND released = {'true' if released else 'false'}"
        return self.dicts(
            "SELECT line_no, node_id, sku, qty, released FROM reservations "
            f"WHERE order_id = ?{cond} ORDER BY line_no, node_id",
            [order_id],
        )

    def insert_order(self, o: OrderRecord) -> None:
        """Write a new order's header rows; Conflict if its id is taken."""
        try:
            self._insert_order(o)
        except duckdb.ConstraintException:
            raise Conflict(f"order {o['order_id']!r} already exists") from None

    def _insert_order(self, o: OrderRecord) -> None:
        created_at = o.get("created_at") or now()
        self.exec(
            "INSERT INTO orders (order_id, channel, ship_zip, service, due_days, ship_complete, "
            "max_packages, pickup_node_id, status, created_at, source, seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'api', nextval('seq_orders'))",
            [
                o["order_id"],
                o["channel"],
                o["ship_zip"],
                o["service"],
                o["due_days"],
                o["ship_complete"],
                o["max_packages"],
                o["pickup_node_id"],
                o["status"],
                created_at,
            ],
        )
        self.exec(
            "INSERT INTO order_headers (order_id, customer_email, customer_name, phone, "
            "ship_name, ship_line1, ship_city, ship_state, promo_code, discount, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                o["order_id"],
                o["customer_email"],
                o["customer_name"],
                o["phone"],
                o["ship_name"],
                o["ship_line1"],
                o["ship_city"],
                o["ship_state"],
                o["promo_code"],
                o.get("discount", 0),
                created_at,  # as the capture's answer says
            ],
        )

    def insert_lines(self, order_id: str, lines: Sequence[tuple[int, str, int, Decimal]]) -> None:
        """New lines (line_no, sku, qty, unit_price): open demand and lifecycle state."""
        if not lines:
            return
        self.touch(sku for _, sku, _, _ in lines)
        values = ", ".join(["(?, ?, ?, ?, nextval('seq_order_lines'))"] * len(lines))
        flat: list[Any] = [v for no, sku, qty, _ in lines for v in (order_id, no, sku, qty)]
        self.exec(
            f"INSERT INTO order_lines (order_id, line_no, sku, qty, seq) VALUES {values}", flat
        )
        values = ", ".join(["(?, ?, ?, CAST(? AS DECIMAL(14, 2)), ?)"] * len(lines))
        flat = [v for no, sku, qty, price in lines for v in (order_id, no, sku, price, qty)]
        self.exec(
            "INSERT INTO line_state (order_id, line_no, sku, unit_price, ordered_qty) "
            f"VALUES {values}",
            flat,
        )

    def set_open_qty(self, order_id: str, line_no: int, sku: str, qty: int) -> None:
        """Open (unreleased, uncancelled) demand of a line; 0 removes it from planning."""
        self.touch([sku])
        if qty <= 0:
            self.exec(
                "DELETE FROM order_lines WHERE order_id = ? AND line_no = ?", [order_id, line_no]
            )
            return
        changed = self.exec(
            "UPDATE order_lines SET qty = ? WHERE order_id = ? AND line_no = ?",
            [qty, order_id, line_no],
        )
        if not changed:
            self.exec(
                "INSERT INTO order_lines (order_id, line_no, sku, qty, seq) "
                "VALUES (?, ?, ?, ?, nextval('seq_order_lines'))",
                [order_id, line_no, sku, qty],
            )

    def open_lines(self, order_id: str) -> list[dict[str, Any]]:
        return self.dicts(
            "SELECT line_no, sku, qty FROM order_lines WHERE order_id = ? ORDER BY line_no",
            [order_id],
        )

    def update_line_state(self, order_id: str, line_no: int, **deltas: int) -> None:
        sets = ", ".join(f"{k} = {k} + ?" for k in deltas)
        self.exec(
            f"UPDATE line_state SET {sets} WHERE order_id = ? AND line_no = ?",
            [*deltas.values(), order_id, line_no],
        )

    def set_status(self, order_id: str, status: str) -> None:
        self.exec("UPDATE orders SET status = ? WHERE order_id = ?", [status, order_id])

    def bump_version(self, order_id: str, **header: Any) -> None:
        """Every change of an order (or its reservations) bumps its version (the ETag)."""
        sets = "".join(f", {k} = ?" for k in header)
        self.exec(
            f"UPDATE order_headers SET version = version + 1, updated_at = ?{sets} "
            "WHERE order_id = ?",
            [now(), *header.values(), order_id],
        )

    def update_order(self, order_id: str, **columns: Any) -> None:
        """Update order columns. The batch schema's multi-column CHECKs name service,
        ship_zip and pickup_node_id: DuckDB 1.4 fails *internally* (and invalidates
        the database) unless an UPDATE sets all three, so they are always set."""
        if columns:
            for c in ("service", "ship_zip", "pickup_node_id"):
                columns.setdefault(c, _SAME)
            sets = ", ".join(f"{k} = {k}" if v is _SAME else f"{k} = ?" for k, v in columns.items())
            columns = {k: v for k, v in columns.items() if v is not _SAME}
            self.exec(f"UPDATE orders SET {sets} WHERE order_id = ?", [*columns.values(), order_id])

    def add_reservations(
        self, order_id: str, holds: Iterable[tuple[int, str, str, int]], released: bool = False
    ) -> None:
        """Record holds (line_no, node_id, sku, qty); the stock rows are updated separately."""
        rows = list(holds)
        if not rows:
            return
        values = ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(rows))
        flat = [v for no, node, sku, qty in rows for v in (order_id, no, node, sku, qty, released)]
        self.exec(
            "INSERT INTO reservations (order_id, line_no, node_id, sku, qty, released) "
            f"VALUES {values}",
            flat,
        )

    def drop_reservations(self, order_id: str, released: bool = False) -> list[dict[str, Any]]:
        """Delete an order's (unreleased) reservation rows; returns what they held."""
        held = self.reservations(order_id, released=released)
        self.exec(
            "DELETE FROM reservations WHERE order_id = ? AND released = ?", [order_id, released]
        )
        return held

    def take_released(self, order_id: str, line_no: int, node_id: str, qty: int) -> None:
        """Remove ``qty`` released units of a line at a node (shipped or rejected)."""
        rows = self.rows(
            "SELECT rowid, qty FROM reservations WHERE order_id = ? AND line_no = ? "
            "AND node_id = ? AND released ORDER BY qty",
            [order_id, line_no, node_id],
        )
        left = qty
        for rowid, have in rows:
            if left <= 0:
                break
            take = min(left, int(have))
            if take == have:
                self.exec("DELETE FROM reservations WHERE rowid = ?", [rowid])
            else:
                self.exec("UPDATE reservations SET qty = qty - ? WHERE rowid = ?", [take, rowid])
            left -= take

    def add_event(
        self,
        order_id: str,
        event_type: str,
        actor: str,
        channel: str | None,
        from_status: str | None,
        to_status: str | None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.add_events(order_id, [(event_type, actor, channel, from_status, to_status, details)])

    def add_events(self, order_id: str, events: list[tuple[Any, ...]]) -> None:
        """Several events at once: (event_type, actor, channel, from, to, details)."""
        at = now()
        insert_events(
            self.cur,
            [(order_id, at, who, ch, kind, old, new, d) for kind, who, ch, old, new, d in events],
        )

    def events(self, order_id: str, after: int, limit: int) -> list[dict[str, Any]]:
        return self.dicts(
            "SELECT event_id, occurred_at AS at, actor, channel, event_type, from_status, "
            "to_status, details FROM order_events WHERE order_id = ? AND event_id > ? "
            f"ORDER BY event_id LIMIT {int(limit)}",
            [order_id, after],
        )

    def order_page(
        self,
        *,
        email: str | None,
        status: str | None,
        channel: str | None,
        created_from: Any,
        created_to: Any,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[str]:
        """Order ids, newest first, keyset-paginated on (created_at, order_id)."""
        cond, params = where(
            [
                ("lower(h.customer_email) = lower(?)", email),
                ("o.status = ?", status),
                ("o.channel = ?", channel),
                ("o.created_at >= ?", created_from),
                ("o.created_at < ? + INTERVAL 1 DAY", created_to),
            ],
            after,
            "(o.created_at, o.order_id) < (CAST(? AS TIMESTAMPTZ), ?)",
        )
        rows = self.rows(
            f"""SELECT o.order_id FROM orders o LEFT JOIN order_headers h USING (order_id)
                WHERE {cond}
                ORDER BY o.created_at DESC, o.order_id DESC LIMIT {int(limit)}""",
            params,
        )
        return [r[0] for r in rows]

    def adopt_orders(self) -> int:
        """Give orders loaded from batch files their lifecycle rows (header, line state)."""
        added = self.exec(
            "INSERT INTO order_headers (order_id) SELECT o.order_id FROM orders o "
            "ANTI JOIN order_headers h USING (order_id)"
        )
        self.exec(
            """INSERT INTO line_state (order_id, line_no, sku, unit_price, ordered_qty)
               SELECT l.order_id, l.line_no, l.sku, CAST(i.price AS DECIMAL(14, 2)), l.qty
               FROM order_lines l JOIN items i USING (sku)
               ANTI JOIN line_state s ON s.order_id = l.order_id AND s.line_no = l.line_no"""
        )
        return added

    def open_digital_lines(self, statuses: Sequence[str]) -> list[tuple[str, int, str, int]]:
        """Open lines of digital SKUs of orders in these statuses: (order, line, sku, qty).
        Only orders loaded from batch files have any: capture delivers its own."""
        rows = self.rows(
            "SELECT l.order_id, l.line_no, l.sku, l.qty FROM order_lines l "
            "JOIN items i USING (sku) JOIN orders o USING (order_id) "
            f"WHERE i.digital AND l.qty > 0 AND o.status IN ({', '.join('?' * len(statuses))}) "
            "ORDER BY l.order_id, l.line_no",
            list(statuses),
        )
        return [(str(o), int(n), str(s), int(q)) for o, n, s, q in rows]

    # -- idempotency -----------------------------------------------------------------

    def idempotent(self, scope: str, key: str) -> dict[str, Any] | None:
        return self.one(
            "SELECT request_hash, status_code, response FROM idempotency_keys "
            "WHERE scope = ? AND key = ?",
            [scope, key],
        )

    def remember(self, scope: str, key: str, request_hash: str, status: int, body: str) -> None:
        self.exec(
            "INSERT INTO idempotency_keys (scope, key, request_hash, status_code, response) "
            "VALUES (?, ?, ?, ?, ?)",
            [scope, key, request_hash, status, body],
        )

    # -- promotions ------------------------------------------------------------------

    def promotion(self, code: str) -> dict[str, Any] | None:
        return self.one(
            "SELECT * EXCLUDE (created_at) FROM promotions WHERE code = ?", [code.upper()]
        )

    def promotions(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        return self.dicts(
            "SELECT * EXCLUDE (created_at) FROM promotions WHERE code > ? "
            f"ORDER BY code LIMIT {int(limit)}",
            [after or ""],
        )

    def use_promotion(self, code: str) -> bool:
        """Count one use; False if the usage limit is reached (checked in the same UPDATE)."""
        return (
            self.exec(
                "UPDATE promotions SET used_count = used_count + 1 WHERE code = ? "
                "AND (usage_limit IS NULL OR used_count < usage_limit)",
                [code],
            )
            == 1
        )

    def add_promotion(self, p: dict[str, Any]) -> None:
        """A new promotion (code, kind, value, min_spend, starts_on, ends_on,
        usage_limit, active)."""
        cols = ("code", "kind", "value", "min_spend", "starts_on", "ends_on", "usage_limit")
        self.exec(
            f"INSERT INTO promotions ({', '.join(cols)}, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [*(p[c] for c in cols), p["active"]],
        )

    def update_promotion(self, code: str, changes: dict[str, Any]) -> None:
        """Set the given columns (names from PromotionPatch's fields) of a promotion."""
        if changes:
            sets = ", ".join(f"{k} = ?" for k in changes)
            self.exec(f"UPDATE promotions SET {sets} WHERE code = ?", [*changes.values(), code])

    # -- api keys --------------------------------------------------------------------

    def api_key(self, key_hash: str) -> dict[str, Any] | None:
        """The active key's role, node and label; known keys are cached for KEYS_TTL_S
        (every request authenticates: one statement fewer per request)."""
        hit = known_api_key(self.cache, key_hash)
        if hit is not None:
            return hit
        row = self.one(
            "SELECT role, node_id, label FROM api_keys WHERE key_hash = ? AND active", [key_hash]
        )
        if row is not None:
            _key_cache(self.cache)[key_hash] = (time.monotonic(), row)
        return row

    def count_api_keys(self) -> int:
        return int(self.scalar("SELECT count(*) FROM api_keys"))

    def put_api_key(self, key_hash: str, role: str, node_id: str | None, label: str | None) -> None:
        _key_cache(self.cache).pop(key_hash, None)
        self.exec(
            "INSERT INTO api_keys (key_hash, role, node_id, label) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key_hash) DO UPDATE SET role = excluded.role, "
            "node_id = excluded.node_id, label = excluded.label, active = true",
            [key_hash, role, node_id, label],
        )


def _key_cache(cache: dict[str, Any]) -> dict[str, tuple[float, dict[str, Any]]]:
    keys: dict[str, tuple[float, dict[str, Any]]] = cache.setdefault("api_keys", {})
    if len(keys) > MAX_CACHED_KEYS:  # a flood of made-up keys must not grow it for ever
        keys.clear()
    return keys


def known_api_key(cache: Mapping[str, Any], key_hash: str) -> dict[str, Any] | None:
    """The process's one API-key cache, read without a cursor: a key looked up within
    KEYS_TTL_S (``put_api_key`` drops a changed key at once). None: ask the store."""
    hit = cache.get("api_keys", {}).get(key_hash)
    if hit is not None and time.monotonic() - hit[0] < KEYS_TTL_S:
        return cast(dict[str, Any], hit[1])
    return None
