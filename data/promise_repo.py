"""SQL of delivery promises: the snapshot the in-memory index is built from, and
the promises orders quote. Runs on the cursor (and transaction) it is given."""

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from data.repo_base import CursorRepo
from models import Weights


@dataclass(frozen=True)
class NetworkSnapshot:
    """What promising reads from the store, once at start-up (and after bulk loads)."""

    nodes: pd.DataFrame
    items: pd.DataFrame
    stock: pd.DataFrame  # node_id, sku, available (unclipped), reserved
    rate_card: pd.DataFrame
    weights: Weights


class PromiseRepo(CursorRepo):
    """Named reads and writes of promising; one cursor, the caller's transaction."""

    def promise_snapshot(self) -> NetworkSnapshot:
        nodes = self.cur.execute(
            "SELECT node_id, kind, zip, ship_enabled, pickup_enabled, capacity_units, pick_cost, "
            "pack_cost, processing_days, coalesce(cutoff_hour, 14) AS cutoff_hour, "
            "coalesce(closed_weekdays, 'sat,sun') AS closed_weekdays, "
            "coalesce(holiday_calendar, 'US') AS holiday_calendar, "
            "coalesce(closed_dates, '') AS closed_dates, coalesce(open_dates, '') AS open_dates "
            "FROM nodes ORDER BY node_id"
        ).df()
        items = self.cur.execute(
            "SELECT sku, weight_lb, price, digital FROM items ORDER BY sku"
        ).df()
        stock = self.cur.execute(
            "SELECT node_id, sku, on_hand - reserved - safety_stock AS available, reserved "
            "FROM inventory"
        ).df()
        rates = self.cur.execute(
            "SELECT service, zone, base, per_lb, transit_days FROM rate_card"
        ).df()
        row = self.cur.execute("SELECT value FROM meta WHERE key = 'last_batch'").fetchone()
        weights = Weights.model_validate(json.loads(row[0])["weights"]) if row else Weights()
        return NetworkSnapshot(nodes, items, stock, rates, weights)

    def record_order_promise(
        self,
        order_id: str,
        promise_id: str,
        service: str,
        promised_date: date,
        promised_at: datetime,
        packages: list[dict[str, Any]],
    ) -> None:
        self.exec(
            "INSERT INTO order_promises (order_id, promise_id, service, promised_date, "
            "promised_at, packages) VALUES (?, ?, ?, ?, ?, ?)",
            [order_id, promise_id, service, promised_date, promised_at, json.dumps(packages)],
        )

    def order_promises(self, order_ids: list[str]) -> list[tuple[str, str, date, str, datetime]]:
        """Promised orders among ``order_ids``: (id, service, promised date, ship ZIP,
        promised at)."""
        frame = pd.DataFrame({"order_id": pd.Series(sorted(order_ids), dtype=object)})
        with self.frame(frame) as view:
            rows = self.rows(
                "SELECT p.order_id, p.service, p.promised_date, o.ship_zip, p.promised_at "
                "FROM order_promises p JOIN orders o USING (order_id) "
                f"WHERE p.order_id IN (SELECT order_id FROM {view}) ORDER BY p.order_id"
            )
        return [(str(o), str(s), d, str(z), at) for o, s, d, z, at in rows]

    def capture_times(self, order_ids: list[str]) -> dict[str, datetime]:
        """When each order was captured (first come, first served at a node)."""
        frame = pd.DataFrame({"order_id": pd.Series(sorted(order_ids), dtype=object)})
        with self.frame(frame) as view:
            rows = self.rows(
                f"SELECT order_id, created_at FROM orders WHERE order_id IN "
                f"(SELECT order_id FROM {view})"
            )
        return {str(o): at for o, at in rows}
