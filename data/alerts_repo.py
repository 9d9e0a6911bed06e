"""Stock alerts' SQL: reorder points, and raising or clearing alerts set-wise.

Every stock write in a transaction notes its SKU (``touch``); before the
transaction commits, ``refresh_alerts`` compares those SKUs' stock with their
thresholds and raises or clears alerts in the same transaction, so an alert
and the stock change that caused it commit together or not at all.
"""

from collections.abc import Iterable
from typing import Any

import duckdb

from data.repo_base import CursorRepo, now, where
from data.shared_sql import AVAILABLE
from models.lifecycle_errors import WriteConflict

BELOW = "below_reorder_point"
SHORT = "network_short"
NETWORK = ""  # node_id of a network-wide alert


def _open_demand(sku_filter: str) -> str:
    """CTEs open_demand and held: open demand and the units reservations hold of it,
    per SKU, for the SKUs ``sku_filter`` keeps (each use one ``?``, or ``true``)."""
    return f"""open_demand AS (
        SELECT l.sku, sum(l.qty) AS qty FROM order_lines l
        JOIN orders o USING (order_id)
        WHERE o.status IN ('created', 'validated', 'sourced', 'backordered')
          AND {sku_filter.format(col="l.sku")}
        GROUP BY l.sku),
    held AS (
        SELECT r.sku, sum(r.qty) AS qty FROM reservations r
        JOIN orders o USING (order_id)
        WHERE NOT r.released AND {sku_filter.format(col="r.sku")}
          AND o.status IN ('created', 'validated', 'sourced', 'backordered')
        GROUP BY r.sku)"""


_SKUS = "{col} IN (SELECT unnest(?::TEXT[]))"


class AlertRepo(CursorRepo):
    """Reorder points and alerts; mixed into the lifecycle repository."""

    def touch(self, skus: Iterable[str]) -> None:
        """Note SKUs whose stock or demand this transaction changed."""
        touched: set[str] = self.__dict__.setdefault("touched_skus", set())
        touched.update(skus)

    def set_reorder_point(self, node_id: str, sku: str, reorder_point: int) -> None:
        self.exec(
            "INSERT INTO reorder_points VALUES (?, ?, ?) ON CONFLICT (node_id, sku) "
            "DO UPDATE SET reorder_point = excluded.reorder_point",
            [node_id, sku, reorder_point],
        )
        self.touch([sku])

    def refresh_alerts(self) -> tuple[int, int]:
        """Raise and clear alerts for the SKUs touched; returns (raised, cleared)."""
        skus = sorted(self.__dict__.pop("touched_skus", set()))
        self.refreshed_skus = skus
        if not skus:
            return 0, 0
        wanted = {(BELOW, n, s): (a, t) for n, s, a, t in self._below(skus)}
        wanted.update({(SHORT, NETWORK, s): (a, t) for s, a, t in self._short(skus)})
        open_now = {
            (k, n, s): i
            for k, n, s, i in self.rows(
                "SELECT kind, node_id, sku, alert_id FROM open_alerts "
                "WHERE sku IN (SELECT unnest(?::TEXT[]))",
                [skus],
            )
        }
        raised = 0
        for key in sorted(wanted.keys() - open_now.keys()):
            available, threshold = wanted[key]
            alert_id = self.scalar(
                "INSERT INTO stock_alerts (kind, node_id, sku, raised_at, available, threshold) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING alert_id",
                [*key, now(), available, threshold],
            )
            try:
                self.exec("INSERT INTO open_alerts VALUES (?, ?, ?, ?)", [*key, alert_id])
            except duckdb.ConstraintException as exc:
                # Another writer raised the same alert first: retry, and see it raised.
                raise WriteConflict(f"alert {key} raised concurrently") from exc
            raised += 1
        gone = sorted(open_now.keys() - wanted.keys())
        for key in gone:
            self.exec(
                "UPDATE stock_alerts SET cleared_at = ? WHERE alert_id = ?", [now(), open_now[key]]
            )
            self.exec("DELETE FROM open_alerts WHERE kind = ? AND node_id = ? AND sku = ?", key)
        return raised, len(gone)

    def _below(self, skus: list[str]) -> list[tuple[str, str, int, int]]:
        """(node, sku, available, reorder point) where available is below the point."""
        rows = self.rows(
            f"""SELECT r.node_id, r.sku, coalesce(greatest(0, {AVAILABLE}), 0), r.reorder_point
                FROM reorder_points r LEFT JOIN inventory USING (node_id, sku)
                WHERE r.sku IN (SELECT unnest(?::TEXT[]))""",
            [skus],
        )
        return [(n, s, int(a), int(t)) for n, s, a, t in rows if a < t]

    def _short(self, skus: list[str]) -> list[tuple[str, int, int]]:
        """(sku, network available, open demand nothing holds) where the network cannot
        cover that demand. A write that says exactly what it changed (a group of
        captures) takes both from the commit caches plus its own changes."""
        caches = self.caches
        if self.order_docs is None or caches is None or self.unheld_unknown:
            return self._short_read(skus)
        stock = caches.stock.get_many(skus)
        if len(stock) < len(skus):
            return self._short_read(skus)
        unheld = caches.unheld.get_many(skus)
        if missing := [s for s in skus if s not in unheld]:
            # Read with this transaction's own lines and holds: those are taken off.
            read = dict.fromkeys(missing, 0) | dict(self.unheld_read(missing))
            committed = {s: q - self.unheld_changes.get(s, 0) for s, q in read.items()}
            caches.unheld.keep(committed, self.generation)
            unheld.update(committed)
        mine: dict[str, dict[str, int]] = {}  # this transaction's changes, by SKU
        for (node_id, sku), change in self.stock_changes.items():
            mine.setdefault(sku, {})[node_id] = change[0]
        short = []
        for sku in skus:
            demand = unheld[sku] + self.unheld_changes.get(sku, 0)
            if demand <= 0:
                continue
            own, rows = mine.get(sku, {}), stock[sku]
            net = sum(max(0, d) for n, d in own.items() if n not in rows)  # new stock rows
            for n, a in rows.items():
                net += max(0, a[0] + own.get(n, 0))
                if net >= demand:
                    break  # covered: no need to add up the rest
            else:
                short.append((sku, net, demand))
        return short

    def unheld_read(self, skus: list[str] | None) -> list[tuple[str, int]]:
        """(sku, open demand nothing holds) for these SKUs (None: all) with open demand."""
        rows = self.rows(
            f"""WITH {_open_demand("true" if skus is None else _SKUS)}
                SELECT d.sku, d.qty - coalesce(h.qty, 0)
                FROM open_demand d LEFT JOIN held h USING (sku)""",
            [] if skus is None else [skus, skus],
        )
        return [(s, int(d)) for s, d in rows]

    def _short_read(self, skus: list[str]) -> list[tuple[str, int, int]]:
        rows = self.rows(
            f"""WITH {_open_demand(_SKUS)},
                avail AS (
                    SELECT sku, sum(greatest(0, {AVAILABLE})) AS qty FROM inventory
                    WHERE sku IN (SELECT unnest(?::TEXT[])) GROUP BY sku)
                SELECT d.sku, coalesce(a.qty, 0), d.qty - coalesce(h.qty, 0)
                FROM open_demand d LEFT JOIN held h USING (sku) LEFT JOIN avail a USING (sku)""",
            [skus, skus, skus],
        )
        return [(s, int(a), int(d)) for s, a, d in rows if d > a]

    def alert_page(
        self,
        node_id: str | None,
        sku: str | None,
        active: bool | None,
        after: tuple[str, str, int] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Alerts ordered by node, SKU, then id (network alerts first: node_id '')."""
        cond, params = where(
            [("node_id = ?", node_id), ("sku = ?", sku)],
            after,
            "(node_id, sku, alert_id) > (?, ?, ?)",
        )
        if active is not None:
            cond += " AND cleared_at IS NULL" if active else " AND cleared_at IS NOT NULL"
        return self.dicts(
            f"SELECT * FROM stock_alerts WHERE {cond} "
            f"ORDER BY node_id, sku, alert_id LIMIT {int(limit)}",
            params,
        )
