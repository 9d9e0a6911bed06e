"""SQL of the order-lifecycle service, on one cursor inside one transaction.

The services decide; this module only reads and writes rows. Every method runs
on the cursor it was given, so the caller's transaction covers all of them.
Stock rows are always updated in (node_id, sku) order.
"""

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from itertools import count
from typing import Any

import duckdb
import pandas as pd

_views = count(1)
NODES_TTL_S = 5.0
_SAME = object()  # marker: leave the column as it is


def _json(value: Any) -> str:
    def default(v: Any) -> Any:
        if isinstance(v, Decimal):
            return str(v)
        if isinstance(v, datetime):
            return v.isoformat()
        if hasattr(v, "isoformat"):
            return v.isoformat()
        raise TypeError(f"not JSON: {type(v)}")

    return json.dumps(value, default=default)


def now() -> datetime:
    return datetime.now(UTC)


class LifecycleRepo:
    """Rows of orders, stock, work items, returns, runs, keys; one transaction."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, cache: dict[str, Any] | None = None) -> None:
        self.cur = cur
        # Process-wide cache of the (rarely changing) node table, shared by repos.
        self.cache = cache if cache is not None else {}

    # -- helpers ---------------------------------------------------------------------

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.cur.execute(sql, list(params)).fetchall()

    def dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        res = self.cur.execute(sql, list(params))
        names = [d[0] for d in res.description or ()]
        return [dict(zip(names, r, strict=True)) for r in res.fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        found = self.dicts(sql, params)
        return found[0] if found else None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.cur.execute(sql, list(params)).fetchone()
        return row[0] if row else None

    def exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a write; returns the rows it changed."""
        row = self.cur.execute(sql, list(params)).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    @contextmanager
    def frame(self, df: pd.DataFrame) -> Iterator[str]:
        """Expose a DataFrame to SQL on this cursor for the block (set-wise writes)."""
        name = f"_lc_{next(_views)}"
        self.cur.register(name, df)
        try:
            yield name
        finally:
            self.cur.unregister(name)

    # -- network ---------------------------------------------------------------------

    def items(self, skus: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = sorted(set(skus))
        if not wanted:
            return {}
        rows = self.dicts(
            "SELECT sku, weight_lb, price FROM items WHERE list_contains(?, sku)", [wanted]
        )
        return {r["sku"]: r for r in rows}

    def node(self, node_id: str) -> dict[str, Any] | None:
        return self.one("SELECT * EXCLUDE (seq) FROM nodes WHERE node_id = ?", [node_id])

    def nodes(self) -> list[dict[str, Any]]:
        """All nodes; cached for NODES_TTL_S (batch loads clear the cache)."""
        hit = self.cache.get("nodes")
        if hit is not None and time.monotonic() - hit[0] < NODES_TTL_S:
            return hit[1]  # type: ignore[no-any-return]
        rows = self.dicts("SELECT * EXCLUDE (seq) FROM nodes ORDER BY node_id")
        self.cache["nodes"] = (time.monotonic(), rows)
        return rows

    def availability(self, nodes: Sequence[str], skus: Sequence[str]) -> dict[tuple[str, str], int]:
        """Units that may still be promised per (node, sku), for these nodes and SKUs."""
        if not nodes or not skus:
            return {}
        rows = self.rows(
            "SELECT node_id, sku, on_hand - reserved - safety_stock FROM inventory "
            "WHERE list_contains(?, sku) AND list_contains(?, node_id)",
            [sorted(set(skus)), sorted(set(nodes))],
        )
        return {(n, s): int(a) for n, s, a in rows}

    def reserve_stock(self, node_id: str, sku: str, qty: int) -> bool:
        """Reserve ``qty`` more units if they are available; False if they are not."""
        changed = self.exec(
            "UPDATE inventory SET reserved = reserved + ? WHERE node_id = ? AND sku = ? "
            "AND on_hand - reserved - safety_stock >= ?",
            [qty, node_id, sku, qty],
        )
        return changed == 1

    def unreserve_stock(self, node_id: str, sku: str, qty: int, consume: bool = False) -> None:
        """Give back ``qty`` reserved units; ``consume`` also takes them off hand (shipped)."""
        on_hand = qty if consume else 0
        self.exec(
            "UPDATE inventory SET reserved = reserved - ?, on_hand = on_hand - ? "
            "WHERE node_id = ? AND sku = ?",
            [qty, on_hand, node_id, sku],
        )

    def stock_row(self, node_id: str, sku: str) -> dict[str, Any] | None:
        return self.one(
            "SELECT node_id, sku, on_hand, reserved, safety_stock, in_transit "
            "FROM inventory WHERE node_id = ? AND sku = ?",
            [node_id, sku],
        )

    def ensure_stock_row(self, node_id: str, sku: str) -> None:
        self.exec(
            "INSERT INTO inventory (node_id, sku, on_hand, reserved, safety_stock, in_transit, "
            "seq) SELECT ?, ?, 0, 0, 0, 0, coalesce(max(seq) + 1, 0) FROM inventory "
            "ON CONFLICT (node_id, sku) DO NOTHING",
            [node_id, sku],
        )

    def change_stock(
        self,
        node_id: str,
        sku: str,
        *,
        on_hand: int = 0,
        reserved: int = 0,
        in_transit: int = 0,
        safety_stock: int | None = None,
        kind: str,
        reference: str | None = None,
        actor: str | None = None,
    ) -> None:
        """Apply deltas to one stock row and write the ledger entry; CHECKs keep it >= 0."""
        self.ensure_stock_row(node_id, sku)
        self.exec(
            "UPDATE inventory SET on_hand = on_hand + ?, reserved = reserved + ?, "
            "in_transit = in_transit + ?, safety_stock = coalesce(?, safety_stock) "
            "WHERE node_id = ? AND sku = ?",
            [on_hand, reserved, in_transit, safety_stock, node_id, sku],
        )
        self.ledger(node_id, sku, kind, on_hand, reserved, in_transit, reference, actor)

    def ledger(
        self,
        node_id: str,
        sku: str,
        kind: str,
        on_hand: int = 0,
        reserved: int = 0,
        in_transit: int = 0,
        reference: str | None = None,
        actor: str | None = None,
    ) -> None:
        self.exec(
            "INSERT INTO inventory_ledger (node_id, sku, kind, on_hand_delta, reserved_delta, "
            "in_transit_delta, reference, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [node_id, sku, kind, on_hand, reserved, in_transit, reference, actor],
        )

    def add_damaged(self, node_id: str, sku: str, qty: int) -> None:
        self.exec(
            "INSERT INTO damaged_stock VALUES (?, ?, ?) "
            "ON CONFLICT (node_id, sku) DO UPDATE SET qty = damaged_stock.qty + excluded.qty",
            [node_id, sku, qty],
        )

    def stock_page(
        self, node_id: str | None, sku: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        conds, params = ["true"], []
        if node_id:
            conds.append("i.node_id = ?")
            params.append(node_id)
        if sku:
            conds.append("i.sku = ?")
            params.append(sku)
        if after:
            conds.append("(i.node_id, i.sku) > (?, ?)")
            params.extend(after)
        return self.dicts(
            f"""SELECT i.node_id, i.sku, i.on_hand, i.reserved, i.safety_stock, i.in_transit,
                   greatest(0, i.on_hand - i.reserved - i.safety_stock) AS available,
                   coalesce(d.qty, 0) AS damaged
                FROM inventory i LEFT JOIN damaged_stock d USING (node_id, sku)
                WHERE {" AND ".join(conds)} ORDER BY i.node_id, i.sku LIMIT {int(limit)}""",
            params,
        )

    # -- orders ----------------------------------------------------------------------

    def order_row(self, order_id: str) -> dict[str, Any] | None:
        return self.one(
            """SELECT o.order_id, o.channel, o.ship_zip, o.service, o.due_days, o.ship_complete,
                      o.max_packages, o.pickup_node_id, o.status, o.created_at,
                      h.customer_email, h.customer_name, h.phone, h.ship_name, h.ship_line1,
                      h.ship_city, h.ship_state, h.promo_code, h.hold_from,
                      coalesce(h.version, 1) AS version,
                      coalesce(h.updated_at, o.created_at) AS updated_at,
                      h.order_id IS NOT NULL AS adopted
               FROM orders o LEFT JOIN order_headers h USING (order_id)
               WHERE o.order_id = ?""",
            [order_id],
        )

    def line_states(self, order_id: str) -> list[dict[str, Any]]:
        return self.dicts(
            "SELECT * FROM line_state WHERE order_id = ? ORDER BY line_no", [order_id]
        )

    def reservations(self, order_id: str, released: bool | None = None) -> list[dict[str, Any]]:
        cond = "" if released is None else f" AND released = {'true' if released else 'false'}"
        return self.dicts(
            "SELECT line_no, node_id, sku, qty, released FROM reservations "
            f"WHERE order_id = ?{cond} ORDER BY line_no, node_id",
            [order_id],
        )

    def insert_order(self, o: dict[str, Any]) -> None:
        self.exec(
            "INSERT INTO orders (order_id, channel, ship_zip, service, due_days, ship_complete, "
            "max_packages, pickup_node_id, status, created_at, source, seq) "
            "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'api', coalesce(max(seq) + 1, 0) FROM orders",
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
                o.get("created_at") or now(),
            ],
        )
        self.exec(
            "INSERT INTO order_headers (order_id, customer_email, customer_name, phone, "
            "ship_name, ship_line1, ship_city, ship_state, promo_code, discount) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            ],
        )

    def insert_lines(self, order_id: str, lines: Sequence[tuple[int, str, int, Decimal]]) -> None:
        """New lines (line_no, sku, qty, unit_price): open demand and lifecycle state."""
        if not lines:
            return
        values = ", ".join(["(?, ?, ?, ?)"] * len(lines))
        flat = [v for no, sku, qty, _ in lines for v in (order_id, no, sku, qty)]
        self.exec(
            "INSERT INTO order_lines (order_id, line_no, sku, qty, seq) "
            f"SELECT v.*, (SELECT coalesce(max(seq) + 1, 0) FROM order_lines) "
            f"FROM (VALUES {values}) v",
            flat,
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
                "SELECT ?, ?, ?, ?, coalesce(max(seq) + 1, 0) FROM order_lines",
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
        self.exec(
            "INSERT INTO order_events (order_id, occurred_at, actor, channel, event_type, "
            "from_status, to_status, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                order_id,
                now(),
                actor,
                channel,
                event_type,
                from_status,
                to_status,
                None if details is None else _json(details),
            ],
        )

    def add_events(self, order_id: str, events: list[tuple[Any, ...]]) -> None:
        """Several events at once: (event_type, actor, channel, from, to, details)."""
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(events))
        at = now()
        flat = [
            v
            for kind, actor, channel, old, new, details in events
            for v in (
                order_id,
                at,
                actor,
                channel,
                kind,
                old,
                new,
                None if details is None else _json(details),
            )
        ]
        self.exec(
            "INSERT INTO order_events (order_id, occurred_at, actor, channel, event_type, "
            f"from_status, to_status, details) VALUES {values}",
            flat,
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
        conds, params = ["true"], []
        if email:
            conds.append("lower(h.customer_email) = lower(?)")
            params.append(email)
        if status:
            conds.append("o.status = ?")
            params.append(status)
        if channel:
            conds.append("o.channel = ?")
            params.append(channel)
        if created_from:
            conds.append("o.created_at >= ?")
            params.append(created_from)
        if created_to:
            conds.append("o.created_at < ? + INTERVAL 1 DAY")
            params.append(created_to)
        if after:
            conds.append("(o.created_at, o.order_id) < (CAST(? AS TIMESTAMPTZ), ?)")
            params.extend(after)
        rows = self.rows(
            f"""SELECT o.order_id FROM orders o LEFT JOIN order_headers h USING (order_id)
                WHERE {" AND ".join(conds)}
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

    # -- work items ------------------------------------------------------------------

    def work_item(self, work_item_id: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM work_items WHERE work_item_id = ?", [work_item_id])

    def work_item_lines(self, work_item_id: str) -> list[dict[str, Any]]:
        return self.dicts(
            "SELECT line_no, sku, qty FROM work_item_lines WHERE work_item_id = ? ORDER BY line_no",
            [work_item_id],
        )

    def work_statuses(self, order_id: str) -> list[str]:
        return [
            r[0] for r in self.rows("SELECT status FROM work_items WHERE order_id = ?", [order_id])
        ]

    def insert_work_item(
        self, work_item_id: str, order_id: str, node_id: str, kind: str, lines: list[tuple]
    ) -> None:
        self.exec(
            "INSERT INTO work_items (work_item_id, order_id, node_id, kind, status) "
            "VALUES (?, ?, ?, ?, 'released')",
            [work_item_id, order_id, node_id, kind],
        )
        for line_no, sku, qty in lines:
            self.exec(
                "INSERT INTO work_item_lines VALUES (?, ?, ?, ?, ?)",
                [work_item_id, order_id, line_no, sku, qty],
            )

    def update_work_item(self, work_item_id: str, **columns: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in columns)
        self.exec(
            f"UPDATE work_items SET {sets}, updated_at = ? WHERE work_item_id = ?",
            [*columns.values(), now(), work_item_id],
        )

    def work_page(
        self, node_id: str | None, status: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[str]:
        conds, params = ["true"], []
        if node_id:
            conds.append("node_id = ?")
            params.append(node_id)
        if status:
            conds.append("status = ?")
            params.append(status)
        if after:
            conds.append("(created_at, work_item_id) > (CAST(? AS TIMESTAMPTZ), ?)")
            params.extend(after)
        rows = self.rows(
            f"SELECT work_item_id FROM work_items WHERE {' AND '.join(conds)} "
            f"ORDER BY created_at, work_item_id LIMIT {int(limit)}",
            params,
        )
        return [r[0] for r in rows]

    def invoice_for_work_item(self, work_item_id: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM invoices WHERE work_item_id = ?", [work_item_id])

    def invoice_lines(self, invoice_id: str) -> list[dict[str, Any]]:
        return self.dicts(
            "SELECT line_no, sku, qty, unit_price, discount, net, tax FROM invoice_lines "
            "WHERE invoice_id = ? ORDER BY line_no",
            [invoice_id],
        )

    def invoiced(self, order_id: str) -> dict[int, tuple[int, Decimal, Decimal]]:
        """Per line: units, net and tax invoiced so far."""
        rows = self.rows(
            "SELECT line_no, sum(qty), sum(net), sum(tax) FROM invoice_lines "
            "WHERE order_id = ? GROUP BY line_no",
            [order_id],
        )
        return {int(r[0]): (int(r[1]), Decimal(r[2]), Decimal(r[3])) for r in rows}

    def insert_invoice(self, inv: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        self.exec(
            "INSERT INTO invoices (invoice_id, order_id, work_item_id, subtotal, discount, "
            "shipping, tax, total) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                inv["invoice_id"],
                inv["order_id"],
                inv["work_item_id"],
                inv["subtotal"],
                inv["discount"],
                inv["shipping"],
                inv["tax"],
                inv["total"],
            ],
        )
        for ln in lines:
            self.exec(
                "INSERT INTO invoice_lines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    inv["invoice_id"],
                    inv["order_id"],
                    ln["line_no"],
                    ln["sku"],
                    ln["qty"],
                    ln["unit_price"],
                    ln["discount"],
                    ln["net"],
                    ln["tax"],
                ],
            )

    def has_invoice(self, order_id: str) -> bool:
        return bool(self.scalar("SELECT count(*) FROM invoices WHERE order_id = ?", [order_id]))

    # -- returns ---------------------------------------------------------------------

    def return_row(self, return_id: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM returns WHERE return_id = ?", [return_id])

    def return_lines(self, return_id: str) -> list[dict[str, Any]]:
        return self.dicts(
            "SELECT line_no, sku, qty, condition, refund FROM return_lines "
            "WHERE return_id = ? ORDER BY line_no",
            [return_id],
        )

    def authorized_qty(self, order_id: str) -> dict[int, int]:
        """Units per line in returns authorised but not yet received."""
        rows = self.rows(
            "SELECT l.line_no, sum(l.qty) FROM return_lines l JOIN returns r USING (return_id) "
            "WHERE r.order_id = ? AND r.status = 'authorized' GROUP BY l.line_no",
            [order_id],
        )
        return {int(a): int(b) for a, b in rows}

    # -- sourcing runs ---------------------------------------------------------------

    def run_row(self, run_id: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM sourcing_runs WHERE run_id = ?", [run_id])

    # -- api keys --------------------------------------------------------------------

    def api_key(self, key_hash: str) -> dict[str, Any] | None:
        return self.one(
            "SELECT role, node_id, label FROM api_keys WHERE key_hash = ? AND active", [key_hash]
        )

    def put_api_key(self, key_hash: str, role: str, node_id: str | None, label: str | None) -> None:
        self.exec(
            "INSERT INTO api_keys (key_hash, role, node_id, label) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key_hash) DO UPDATE SET role = excluded.role, "
            "node_id = excluded.node_id, label = excluded.label, active = true",
            [key_hash, role, node_id, label],
        )
