"""SQL of the network and its stock: nodes, items, stock rows, the ledger, transfers.

Stock rows are always updated in (node_id, sku) order by the callers; every
reservation re-checks availability in its own UPDATE.
"""

import time
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from data import stock_feed
from data.alerts_repo import AlertRepo
from data.repo_base import marks, now, where
from data.shared_sql import AVAILABLE, available

NODES_TTL_S = 5.0


class StockRepo(AlertRepo):
    """Nodes, items, stock rows and their ledger, damaged stock, transfers."""

    # -- network ---------------------------------------------------------------------

    def items(self, skus: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = sorted(set(skus))
        if not wanted:
            return {}
        rows = self.dicts(
            f"SELECT sku, weight_lb, price, digital FROM items WHERE sku IN ({marks(wanted)})",
            wanted,
        )
        return {r["sku"]: r for r in rows}

    def node(self, node_id: str) -> dict[str, Any] | None:
        return self.one("SELECT * EXCLUDE (seq) FROM nodes WHERE node_id = ?", [node_id])

    def nodes(self) -> list[dict[str, Any]]:
        """All nodes; cached for NODES_TTL_S (batch loads clear the cache)."""
        hit = self.cache.get("nodes")
        if hit is not None and time.monotonic() - hit[0] < NODES_TTL_S:
            return hit[1]
        rows = self.dicts("SELECT * EXCLUDE (seq) FROM nodes ORDER BY node_id")
        self.cache["nodes"] = (time.monotonic(), rows)
        return rows

    def availability(self, nodes: Sequence[str], skus: Sequence[str]) -> dict[tuple[str, str], int]:
        """Units that may still be promised per (node, sku), for these nodes and SKUs."""
        if not nodes or not skus:
            return {}
        wanted = sorted(set(skus))
        # An IN list on sku uses its index (migration 3); the nodes are filtered here.
        rows = self.rows(
            f"SELECT node_id, sku, {AVAILABLE} FROM inventory WHERE sku IN ({marks(wanted)})",
            wanted,
        )
        keep = set(nodes)
        return {(n, s): int(a) for n, s, a in rows if n in keep}

    def reserve_stock(self, node_id: str, sku: str, qty: int) -> bool:
        """Reserve ``qty`` more units if they are available; False if they are not."""
        self.touch([sku])
        changed = self.exec(
            "UPDATE inventory SET reserved = reserved + ? WHERE node_id = ? AND sku = ? "
            f"AND {AVAILABLE} >= ?",
            [qty, node_id, sku, qty],
        )
        if changed == 1:
            self.stock_changed(node_id, sku, -qty, qty)
        return changed == 1

    def unreserve_stock(self, node_id: str, sku: str, qty: int, consume: bool = False) -> None:
        """Give back ``qty`` reserved units; ``consume`` also takes them off hand (shipped)."""
        on_hand = qty if consume else 0
        self.touch([sku])
        self.exec(
            "UPDATE inventory SET reserved = reserved - ?, on_hand = on_hand - ? "
            "WHERE node_id = ? AND sku = ?",
            [qty, on_hand, node_id, sku],
        )
        self.stock_changed(node_id, sku, qty - on_hand, -qty)

    def stock_row(self, node_id: str, sku: str) -> dict[str, Any] | None:
        return self.one(
            "SELECT node_id, sku, on_hand, reserved, safety_stock, in_transit "
            "FROM inventory WHERE node_id = ? AND sku = ?",
            [node_id, sku],
        )

    def ensure_stock_row(self, node_id: str, sku: str) -> None:
        self.exec(
            "INSERT INTO inventory (node_id, sku, on_hand, reserved, safety_stock, in_transit, "
            "seq) VALUES (?, ?, 0, 0, 0, 0, nextval('seq_inventory')) "
            "ON CONFLICT (node_id, sku) DO NOTHING",
            [node_id, sku],
        )

    def feed_errors(
        self, df: pd.DataFrame, only_node: str | None
    ) -> tuple[int, list[stock_feed.FeedProblem]]:
        """Every bad row of a bulk feed (how many, the first hundred); writes nothing."""
        return stock_feed.feed_errors(self.cur, df, only_node)

    def apply_feed(self, df: pd.DataFrame, actor: str) -> stock_feed.FeedOutcome:
        """Apply a checked feed set-wise: rows per kind, or the rows short of reserved.
        The SKUs it changed are touched once, so their alerts are re-checked at commit,
        and each stock row's change is noted (``stock_changes``)."""
        outcome = stock_feed.apply_feed(self.cur, df, actor)
        return self._fed(outcome)

    def apply_increases(self, df: pd.DataFrame, actor: str) -> stock_feed.FeedOutcome:
        """Apply checked feed rows that only add units (``stock_feed.apply_increases``)."""
        return self._fed(stock_feed.apply_increases(self.cur, df, actor))

    def _fed(self, outcome: stock_feed.FeedOutcome) -> stock_feed.FeedOutcome:
        self.touch(outcome.touched)
        for node_id, sku, on_hand in outcome.changes:  # the promise index follows them
            self.stock_changed(node_id, sku, on_hand)
        return outcome

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
        self.touch([sku])
        safety_delta = 0
        if safety_stock is not None:
            old = self.scalar(
                "SELECT safety_stock FROM inventory WHERE node_id = ? AND sku = ?", [node_id, sku]
            )
            safety_delta = safety_stock - int(old or 0)
        self.stock_changed(node_id, sku, on_hand - reserved - safety_delta, reserved)
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
        cond, params = where(
            [("i.node_id = ?", node_id), ("i.sku = ?", sku)], after, "(i.node_id, i.sku) > (?, ?)"
        )
        return self.dicts(
            f"""SELECT i.node_id, i.sku, i.on_hand, i.reserved, i.safety_stock, i.in_transit,
                   greatest(0, {available("i")}) AS available,
                   coalesce(d.qty, 0) AS damaged
                FROM inventory i LEFT JOIN damaged_stock d USING (node_id, sku)
                WHERE {cond} ORDER BY i.node_id, i.sku LIMIT {int(limit)}""",
            params,
        )

    # -- transfers -------------------------------------------------------------------

    def take_available(self, node_id: str, sku: str, qty: int) -> bool:
        """on_hand -= qty if that many units are available; False if not."""
        self.touch([sku])
        taken = bool(
            self.exec(
                "UPDATE inventory SET on_hand = on_hand - ? WHERE node_id = ? AND sku = ? "
                f"AND {AVAILABLE} >= ?",
                [qty, node_id, sku, qty],
            )
        )
        if taken:
            self.stock_changed(node_id, sku, -qty)
        return taken

    def add_transfer(
        self, transfer_id: str, sku: str, from_node: str, to_node: str, qty: int
    ) -> None:
        self.exec(
            "INSERT INTO transfers (transfer_id, sku, from_node, to_node, qty, status) "
            "VALUES (?, ?, ?, ?, ?, 'in_transit')",
            [transfer_id, sku, from_node, to_node, qty],
        )

    def transfer(self, transfer_id: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM transfers WHERE transfer_id = ?", [transfer_id])

    def mark_transfer_received(self, transfer_id: str) -> None:
        self.exec(
            "UPDATE transfers SET status = 'received', received_at = ? WHERE transfer_id = ?",
            [now(), transfer_id],
        )
