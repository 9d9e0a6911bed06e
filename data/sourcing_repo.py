"""SQL of sourcing runs: their rows, the snapshot they plan, the set-wise apply
of a plan, and the release of sourced orders to the nodes.

Set-wise writes go through registered DataFrames (thousands of rows in one
statement); stock rows are updated in (node_id, sku) order.
"""

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

from data.alerts_repo import AlertRepo
from data.repo_base import now, where
from data.shared_sql import available, insert_events, insert_plan, to_json

StockKey = tuple[str, str]


class SourcingRepo(AlertRepo):
    """Runs, plans and the set-wise writes of a run's apply and of a release."""

    # -- runs ------------------------------------------------------------------------

    def run_row(self, run_id: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM sourcing_runs WHERE run_id = ?", [run_id])

    def run_page(self, after: tuple[str, str] | None, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` runs, newest first, after the (started_at, run_id) cursor."""
        cond, params = where([], after, "(started_at, run_id) < (CAST(? AS TIMESTAMPTZ), ?)")
        return self.dicts(
            f"SELECT * FROM sourcing_runs WHERE {cond} "
            f"ORDER BY started_at DESC, run_id DESC LIMIT {int(limit)}",
            params,
        )

    def start_run(
        self, run_id: str, strategy: str, time_limit: float | None, weights: Any, actor: str
    ) -> None:
        self.exec(
            "INSERT INTO sourcing_runs (run_id, status, strategy, time_limit, weights, actor) "
            "VALUES (?, 'running', ?, ?, ?, ?)",
            [run_id, strategy, time_limit, to_json(weights), actor],
        )

    def fail_run(self, run_id: str, error: str) -> None:
        self.exec(
            "UPDATE sourcing_runs SET status = 'failed', finished_at = ?, error = ? "
            "WHERE run_id = ?",
            [now(), error, run_id],
        )

    def fail_interrupted_runs(self) -> int:
        """Runs left 'running' by a stopped process: mark them failed; how many."""
        return self.exec(
            "UPDATE sourcing_runs SET status = 'failed', finished_at = ?, "
            "error = 'interrupted: the service stopped before the run was applied' "
            "WHERE status = 'running'",
            [now()],
        )

    def finish_run(
        self, run_id: str, plan_id: str, orders_planned: int, kpis: dict[str, Any], weights: Any
    ) -> None:
        self.exec(
            "UPDATE sourcing_runs SET status = 'applied', finished_at = ?, plan_id = ?, "
            "orders_planned = ?, kpis = ?, weights = ? WHERE run_id = ?",
            [now(), plan_id, orders_planned, to_json(kpis), to_json(weights), run_id],
        )

    def save_plan(
        self,
        plan_id: str,
        strategy: str,
        batch_date: date,
        weights: Any,
        summary: dict[str, Any],
        allocations: pd.DataFrame,
        unfilled: pd.DataFrame,
    ) -> None:
        insert_plan(
            self.cur, plan_id, strategy, batch_date, weights, summary, allocations, unfilled
        )

    # -- what a run plans ------------------------------------------------------------

    def order_versions(self, statuses: Sequence[str], with_lines: bool = False) -> dict[str, int]:
        """Version of each order in ``statuses`` (with open lines only, if asked)."""
        lines = (
            " AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.order_id)"
            if with_lines
            else ""
        )
        rows = self.rows(
            "SELECT o.order_id, h.version FROM orders o JOIN order_headers h "
            f"USING (order_id) WHERE list_contains(?, o.status){lines}",
            [sorted(statuses)],
        )
        return {o: int(v) for o, v in rows}

    def held_by_status(self, statuses: Sequence[str]) -> pd.DataFrame:
        """Unreleased holds (order_id, line_no, node_id, sku, qty) of orders in ``statuses``."""
        return self.df(
            "SELECT r.order_id, r.line_no, r.node_id, r.sku, r.qty FROM reservations r "
            "JOIN orders o USING (order_id) WHERE NOT r.released "
            "AND list_contains(?, o.status)",
            [sorted(statuses)],
        )

    def held_per_stock_row(self, order_ids: Iterable[str]) -> dict[StockKey, int]:
        """Units these orders hold (unreleased) per (node_id, sku)."""
        rows = self.rows(
            "SELECT node_id, sku, sum(qty) FROM reservations "
            "WHERE NOT released AND list_contains(?, order_id) GROUP BY ALL",
            [sorted(order_ids)],
        )
        return {(n, s): int(q) for n, s, q in rows}

    def free_stock(self, keys: Iterable[StockKey]) -> dict[StockKey, int]:
        """Units still promisable (never below 0) on these stock rows."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        frame = pd.DataFrame(wanted, columns=["node_id", "sku"])
        with self.frame(frame) as view:
            found = self.rows(
                f"SELECT i.node_id, i.sku, {available('i')} "
                f"FROM inventory i JOIN {view} v USING (node_id, sku)"
            )
        return {(n, s): max(0, int(f)) for n, s, f in found}

    def statuses_of(self, order_ids: Iterable[str]) -> dict[str, str]:
        return dict(
            self.rows(
                "SELECT order_id, status FROM orders WHERE list_contains(?, order_id)",
                [sorted(set(order_ids))],
            )
        )

    def orders_in(self, status: str) -> list[str]:
        return [r[0] for r in self.rows("SELECT order_id FROM orders WHERE status = ?", [status])]

    # -- a run's apply ---------------------------------------------------------------

    def shift_reserved(self, deltas: Sequence[tuple[StockKey, int]]) -> None:
        """reserved += delta per stock row, the rows taken in (node_id, sku) order."""
        if not deltas:
            return
        ordered = sorted(deltas)
        frame = pd.DataFrame(
            {
                "node_id": [k[0] for k, _ in ordered],
                "sku": [k[1] for k, _ in ordered],
                "delta": [d for _, d in ordered],
            }
        )
        self.touch(frame["sku"].tolist())
        with self.frame(frame) as view:
            self.exec(
                f"UPDATE inventory SET reserved = inventory.reserved + d.delta FROM {view} d "
                "WHERE inventory.node_id = d.node_id AND inventory.sku = d.sku"
            )
        for (node_id, sku), delta in ordered:
            self.stock_changed(node_id, sku, -delta, delta)

    def replace_holds(self, order_ids: Sequence[str], holds: pd.DataFrame, run_id: str) -> None:
        """Drop these orders' unreleased holds; write ``holds`` (order_id, line_no,
        node_id, sku, qty) as the run's."""
        keep = pd.DataFrame({"order_id": sorted(order_ids)}, dtype=object)
        with self.frame(keep) as kv:
            self.exec(
                "DELETE FROM reservations WHERE NOT released "
                f"AND order_id IN (SELECT order_id FROM {kv})"
            )
        if not len(holds):
            return
        res = holds[["order_id", "line_no", "node_id", "sku", "qty"]].reset_index(drop=True)
        with self.frame(res) as rv:
            self.exec(
                "INSERT INTO reservations (order_id, line_no, node_id, sku, qty, released, run_id) "
                f"SELECT order_id, line_no, node_id, sku, qty, false, ? FROM {rv}",
                [run_id],
            )

    def move_orders(
        self,
        changes: Sequence[tuple[str, str, str]],
        event_type: dict[str, str],
        actor: str,
        details: dict[str, Any],
    ) -> None:
        """(order_id, from, to) status changes, set-wise: status, version, one event each
        (its type ``event_type[to]``)."""
        if not changes:
            return
        at = now()
        frame = pd.DataFrame(list(changes), columns=["order_id", "from_status", "to_status"])
        with self.frame(frame) as cv:
            self.exec(
                f"UPDATE orders SET status = c.to_status FROM {cv} c "
                "WHERE orders.order_id = c.order_id"
            )
            self.exec(
                f"UPDATE order_headers SET version = version + 1, updated_at = ? FROM {cv} c "
                "WHERE order_headers.order_id = c.order_id",
                [at],
            )
        insert_events(
            self.cur,
            [(o, at, actor, None, event_type[new], old, new, details) for o, old, new in changes],
        )

    # -- release to the nodes --------------------------------------------------------

    def holds_to_release(self, order_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """(order_id, line_no, node_id, sku, qty, service) of the orders' unreleased holds."""
        return self.rows(
            "SELECT r.order_id, r.line_no, r.node_id, r.sku, r.qty, o.service "
            "FROM reservations r JOIN orders o USING (order_id) "
            "WHERE NOT r.released AND list_contains(?, r.order_id) "
            "ORDER BY r.order_id, r.node_id, r.line_no",
            [list(order_ids)],
        )

    def release_orders(
        self,
        order_ids: Sequence[str],
        items: pd.DataFrame,
        lines: pd.DataFrame,
        actor: str,
        at: datetime,
    ) -> None:
        """Write the work items (work_item_id, order_id, node_id, kind) and their lines
        (work_item_id, order_id, line_no, sku, qty); mark the orders released."""
        ids_frame = pd.DataFrame({"order_id": list(order_ids)}, dtype=object)
        with self.frame(items) as wv, self.frame(lines) as lv, self.frame(ids_frame) as iv:
            self.exec(
                "INSERT INTO work_items (work_item_id, order_id, node_id, kind, status, "
                f"created_at, updated_at) SELECT *, 'released', ?, ? FROM {wv}",
                [at, at],
            )
            self.exec(f"INSERT INTO work_item_lines SELECT * FROM {lv}")
            self.exec(
                "UPDATE line_state SET released_qty = released_qty + r.qty FROM "
                f"(SELECT order_id, line_no, sum(qty) AS qty FROM {lv} GROUP BY ALL) r "
                "WHERE line_state.order_id = r.order_id AND line_state.line_no = r.line_no"
            )
            picked = f"WHERE order_id IN (SELECT order_id FROM {iv})"
            self.exec(f"UPDATE reservations SET released = true {picked}")
            self.exec(f"DELETE FROM order_lines {picked}")
            self.exec(f"UPDATE orders SET status = 'released' {picked}")
            self.exec(
                f"UPDATE order_headers SET version = version + 1, updated_at = ? {picked}", [at]
            )
        per_order: dict[str, list[str]] = {}
        for wid, oid in sorted(zip(items["work_item_id"], items["order_id"], strict=True)):
            per_order.setdefault(oid, []).append(wid)
        insert_events(
            self.cur,
            [
                (o, at, actor, None, "released", "sourced", "released", {"work_items": w})
                for o, w in sorted(per_order.items())
            ],
        )
