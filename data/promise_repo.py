"""SQL of delivery promises: the snapshot the in-memory index is built from, and
the promises orders quote. Runs on the cursor (and transaction) it is given."""

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd

from models import Weights


@dataclass(frozen=True)
class NetworkSnapshot:
    """What promising reads from the store, once at start-up (and after bulk loads)."""

    nodes: pd.DataFrame
    items: pd.DataFrame
    stock: pd.DataFrame  # node_id, sku, available (unclipped), reserved
    rate_card: pd.DataFrame
    weights: Weights


class PromiseRepo:
    """Named reads and writes of promising; one cursor, the caller's transaction."""

    def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
        self.cur = cur

    def snapshot(self) -> NetworkSnapshot:
        nodes = self.cur.execute(
            "SELECT node_id, kind, zip, ship_enabled, pickup_enabled, capacity_units, pick_cost, "
            "pack_cost, processing_days, coalesce(cutoff_hour, 14) AS cutoff_hour, "
            "coalesce(closed_weekdays, 'sat,sun') AS closed_weekdays, "
            "coalesce(holiday_calendar, 'US') AS holiday_calendar, "
            "coalesce(closed_dates, '') AS closed_dates, coalesce(open_dates, '') AS open_dates "
            "FROM nodes ORDER BY node_id"
        ).df()
        items = self.cur.execute("SELECT sku, weight_lb, price FROM items ORDER BY sku").df()
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

    def stock_rows(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, int]]:
        """(available, reserved) of some stock rows, as this transaction sees them."""
        if not keys:
            return {}
        frame = pd.DataFrame(keys, columns=["node_id", "sku"])
        self.cur.register("_promise_keys", frame)
        try:
            rows = self.cur.execute(
                "SELECT i.node_id, i.sku, i.on_hand - i.reserved - i.safety_stock, i.reserved "
                "FROM inventory i JOIN _promise_keys k USING (node_id, sku)"
            ).fetchall()
        finally:
            self.cur.unregister("_promise_keys")
        return {(n, s): (int(a), int(r)) for n, s, a, r in rows}

    def record_order_promise(
        self,
        order_id: str,
        promise_id: str,
        service: str,
        promised_date: date,
        promised_at: datetime,
        packages: list[dict[str, Any]],
    ) -> None:
        self.cur.execute(
            "INSERT INTO order_promises (order_id, promise_id, service, promised_date, "
            "promised_at, packages) VALUES (?, ?, ?, ?, ?, ?)",
            [order_id, promise_id, service, promised_date, promised_at, json.dumps(packages)],
        )

    def order_promises(self, order_ids: list[str]) -> pd.DataFrame:
        """Promised orders among ``order_ids``: id, service, promised date, ship ZIP."""
        frame = pd.DataFrame({"order_id": pd.Series(order_ids, dtype=object)})
        self.cur.register("_promise_orders", frame)
        try:
            return self.cur.execute(
                "SELECT p.order_id, p.promise_id, p.service, p.promised_date, p.promised_at, "
                "o.ship_zip FROM order_promises p JOIN orders o USING (order_id) "
                "WHERE p.order_id IN (SELECT order_id FROM _promise_orders)"
            ).df()
        finally:
            self.cur.unregister("_promise_orders")
