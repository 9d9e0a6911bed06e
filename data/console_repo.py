"""SQL behind the web console's read screens (the JSON API has no such lists).

Summaries a screen shows at a glance: orders per status and channel, the
exception queues, each node's load, order search results as one row per
order, and the ids of an order's packages and returns. Runs on the cursor of
a read transaction, like ``LifecycleRepo``.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from data.repo_base import CursorRepo

# Orders whose promise can still be missed: open, held or at the nodes.
NOT_DONE = (
    "created",
    "validated",
    "sourced",
    "backordered",
    "on_hold",
    "released",
    "picked",
    "packed",
    "ready_for_pickup",
)
OPEN_WORK = ("released", "picked", "packed", "ready_for_pickup")
# Orders with a line whose SKU needs a service visit (installation, assembly) and no
# appointment booked or done: what GET /appointments/orders/{id} calls awaiting.
AWAITING_APPOINTMENT = """o.status NOT IN ('cancelled', 'returned')
    AND EXISTS (SELECT 1 FROM line_state l JOIN item_services s USING (sku)
                WHERE l.order_id = o.order_id AND l.ordered_qty > l.cancelled_qty)
    AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.order_id = o.order_id
                    AND a.status IN ('booked', 'done'))"""
# An order due in N days is promised for the N-th day after its creation day (UTC);
# it is late once that whole day has passed.
PROMISED_DAY = "CAST(o.created_at AS DATE) + CAST(o.due_days AS INTEGER)"
LATE_AFTER = "date_trunc('day', o.created_at) + to_days(CAST(o.due_days AS INTEGER) + 1)"


class ConsoleRepo(CursorRepo):
    """Named queries on the cursor of the caller's transaction."""

    def _column(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return [r[0] for r in self.rows(sql, params)]

    # -- control tower -------------------------------------------------------------

    def orders_by_status_channel(self, since: datetime) -> list[dict[str, Any]]:
        return self.dicts(
            "SELECT status, channel, count(*) AS orders FROM orders WHERE created_at >= ? "
            "GROUP BY ALL ORDER BY status, channel",
            [since],
        )

    def exception_counts(self, now: datetime) -> dict[str, int]:
        row = self.cur.execute(
            f"""SELECT count(*) FILTER (WHERE o.status = 'backordered'),
                       count(*) FILTER (WHERE o.status = 'on_hold'),
                       count(*) FILTER (WHERE o.status IN {NOT_DONE} AND {LATE_AFTER} < ?),
                       count(*) FILTER (WHERE {AWAITING_APPOINTMENT})
                FROM orders o""",
            [now],
        ).fetchone()
        rejected = self.cur.execute(
            "SELECT count(*) FROM work_items WHERE reject_reason IS NOT NULL"
        ).fetchone()
        assert row is not None and rejected is not None
        return {
            "backordered": int(row[0]),
            "on_hold": int(row[1]),
            "late": int(row[2]),
            "rejected": int(rejected[0]),
            "awaiting_appointment": int(row[3]),
        }

    def exception_orders(self, kind: str, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Oldest first: the orders behind one exception count."""
        base = (
            "SELECT o.order_id, o.status, o.channel, o.service, o.created_at, "
            f"{PROMISED_DAY} AS promised_by, h.customer_email "
            "FROM orders o LEFT JOIN order_headers h USING (order_id) "
        )
        if kind == "rejected":
            return self.dicts(
                "SELECT w.order_id, w.node_id, w.reject_reason, w.updated_at, o.status "
                "FROM work_items w JOIN orders o USING (order_id) "
                "WHERE w.reject_reason IS NOT NULL "
                f"ORDER BY w.updated_at DESC LIMIT {int(limit)}"
            )
        where = {
            "backordered": ("o.status = 'backordered'", []),
            "on_hold": ("o.status = 'on_hold'", []),
            "late": (
                f"o.status IN {NOT_DONE} AND {LATE_AFTER} < ?",
                [now],
            ),
            "awaiting_appointment": (AWAITING_APPOINTMENT, []),
        }[kind]
        return self.dicts(
            f"{base} WHERE {where[0]} ORDER BY o.created_at, o.order_id LIMIT {int(limit)}",
            where[1],
        )

    def open_alert_count(self, sku: str | None = None) -> int:
        """Stock alerts raised and not cleared (of one SKU, if given)."""
        found = self.cur.execute(
            "SELECT count(*) FROM stock_alerts WHERE cleared_at IS NULL AND (? IS NULL OR sku = ?)",
            [sku, sku],
        ).fetchone()
        return int(found[0]) if found else 0

    def node_load(self) -> list[dict[str, Any]]:
        """Per node: capacity, units held for orders there, open work items."""
        return self.dicts(
            f"""SELECT n.node_id, n.kind, n.zip, n.capacity_units,
                       coalesce(r.units, 0) AS held_units,
                       coalesce(w.items, 0) AS open_work_items
                FROM nodes n
                LEFT JOIN (SELECT node_id, sum(qty) AS units FROM reservations
                           GROUP BY node_id) r USING (node_id)
                LEFT JOIN (SELECT node_id, count(*) AS items FROM work_items
                           WHERE status IN {OPEN_WORK} GROUP BY node_id) w USING (node_id)
                ORDER BY n.node_id"""
        )

    # -- customer service ----------------------------------------------------------

    def search_orders(
        self,
        *,
        order_id: str | None,
        email: str | None,
        phone_digits: str | None,
        status: str | None,
        limit: int,
        exact_email: bool = True,
    ) -> list[dict[str, Any]]:
        """One row per order, newest first; every filter given must match.

        With an e-mail or phone, the few matching headers are found first and
        joined to their orders (joining the whole tables first costs tens of ms
        at 100k orders); otherwise the newest orders come from one join.
        """
        head, head_params = [], []
        if email:
            # Exact first (the e-mail index answers it), any case only if that finds none.
            head.append("customer_email = ?" if exact_email else "lower(customer_email) = lower(?)")
            head_params.append(email)
        if phone_digits:
            # The last ten digits: '+1 (617) 555-0100' finds '617.555.0100'. The cheap
            # contains() on the last four (written together in every usual format) lets
            # the digit extraction run on a few rows instead of every header.
            head.append(
                "contains(phone, ?) AND right(regexp_replace(phone, '[^0-9]', '', 'g'), 10) = ?"
            )
            head_params.extend([phone_digits[-4:], phone_digits[-10:]])
        conds, params = ["true"], []
        if order_id:
            conds.append("o.order_id = ?")
            params.append(order_id)
        if status:
            conds.append("o.status = ?")
            params.append(status)
        order = "ORDER BY o.created_at DESC, o.order_id DESC"
        if head:
            source = (
                f"(SELECT * FROM order_headers WHERE {' AND '.join(head)}) h "
                f"JOIN orders o USING (order_id) WHERE {' AND '.join(conds)}"
            )
            params = head_params + params
        else:
            # The page's orders first, then their headers (a status may match 100k orders).
            source = (
                f"(SELECT * FROM orders o WHERE {' AND '.join(conds)} {order} "
                f"LIMIT {int(limit)}) o LEFT JOIN order_headers h USING (order_id)"
            )
        return self.dicts(
            f"""SELECT o.order_id, o.status, o.channel, o.service, o.created_at,
                       {PROMISED_DAY} AS promised_by,
                       h.customer_email, h.customer_name, h.phone, h.ship_city, h.ship_state
                FROM {source} {order} LIMIT {int(limit)}""",
            params,
        )

    def order_work_item_ids(self, order_id: str) -> list[str]:
        return self._column(
            "SELECT work_item_id FROM work_items WHERE order_id = ? "
            "ORDER BY created_at, work_item_id",
            [order_id],
        )

    def order_return_ids(self, order_id: str) -> list[str]:
        return self._column(
            "SELECT return_id FROM returns WHERE order_id = ? ORDER BY created_at, return_id",
            [order_id],
        )

    # -- nodes and stock -----------------------------------------------------------

    def returns_awaiting(self, limit: int) -> list[str]:
        return self._column(
            "SELECT return_id FROM returns WHERE status = 'authorized' "
            f"ORDER BY created_at, return_id LIMIT {int(limit)}"
        )

    def ledger(self, sku: str, limit: int) -> list[dict[str, Any]]:
        return self.dicts(
            "SELECT occurred_at, node_id, kind, on_hand_delta, reserved_delta, "
            "in_transit_delta, reference, actor FROM inventory_ledger WHERE sku = ? "
            f"ORDER BY entry_id DESC LIMIT {int(limit)}",
            [sku],
        )

    def busiest_skus(self, limit: int) -> list[str]:
        return self._column(
            "SELECT sku FROM inventory GROUP BY sku "
            f"ORDER BY sum(reserved) DESC, sum(on_hand) DESC, sku LIMIT {int(limit)}"
        )
