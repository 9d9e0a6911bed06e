"""Read-only pages of the store for people at a terminal (``dom orders``, ...).

Named reads over the DuckDB file, newest or smallest key first, one page at a
time: a store holds millions of orders and a terminal shows twenty. They open
the file read-only, so they never change it (and never migrate it).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from data.store.store import Store, StoreError


@dataclass(frozen=True)
class Page:
    """Rows ``offset + 1 .. offset + len(rows)`` of ``total``."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.rows) < self.total


def open_read_only(path: str | Path) -> Store:
    """The store at ``path`` for reading; a missing file is a StoreError, not a new store."""
    if not Path(path).is_file():
        raise StoreError(
            f"no store at {path}: load one with 'dom generate --db FILE' or 'dom serve'"
        )
    return Store(path, read_only=True)


def _page(
    con: duckdb.DuckDBPyConnection,
    select: str,
    count: str,
    params: list[Any],
    limit: int,
    offset: int,
) -> Page:
    row = con.execute(count, params).fetchone()
    total = int(row[0]) if row else 0
    cur = con.execute(f"{select} LIMIT ? OFFSET ?", [*params, limit, offset])
    columns = tuple(d[0] for d in cur.description or ())
    return Page(columns, cur.fetchall(), total, offset, limit)


def orders_page(
    store: Store, *, status: str | None = None, limit: int = 20, offset: int = 0
) -> Page:
    """Orders by id: status, channel, service, lines and units ordered, when created.

    ``order_lines`` holds only open demand (released lines leave it); the lifecycle's
    ``line_state`` keeps every line ordered, so it counts where it has the order."""
    where, params = ("WHERE o.status = ?", [status]) if status else ("", [])
    return _page(
        store.con,
        f"""
        WITH open_lines AS (
            SELECT order_id, count(*) AS n, sum(qty) AS units FROM order_lines GROUP BY ALL
        ), all_lines AS (
            SELECT order_id, count(*) AS n, sum(ordered_qty - cancelled_qty) AS units
            FROM line_state GROUP BY ALL
        )
        SELECT o.order_id AS "order", o.status, o.channel, o.service,
               coalesce(a.n, l.n, 0) AS lines, coalesce(a.units, l.units, 0) AS units,
               strftime(o.created_at, '%Y-%m-%d %H:%M') AS created
        FROM orders o
        LEFT JOIN open_lines l USING (order_id) LEFT JOIN all_lines a USING (order_id)
        {where}
        ORDER BY o.order_id
        """,
        f"SELECT count(*) FROM orders o {where}",
        params,
        limit,
        offset,
    )


def inventory_page(store: Store, sku: str, *, limit: int = 20, offset: int = 0) -> Page:
    """One SKU at every node holding it: on hand, reserved, safety stock, available."""
    return _page(
        store.con,
        """
        SELECT i.node_id AS node, n.kind, i.on_hand AS "on hand", i.reserved,
               i.safety_stock AS safety,
               greatest(0, i.on_hand - i.reserved - i.safety_stock) AS available
        FROM inventory i LEFT JOIN nodes n USING (node_id)
        WHERE i.sku = ? ORDER BY i.node_id
        """,
        "SELECT count(*) FROM inventory WHERE sku = ?",
        [sku],
        limit,
        offset,
    )


def sku_exists(store: Store, sku: str) -> bool:
    return store.con.execute("SELECT count(*) FROM items WHERE sku = ?", [sku]).fetchone() != (0,)


def runs_page(store: Store, *, limit: int = 20, offset: int = 0) -> Page:
    """Sourcing runs, newest first: status, strategy, orders planned, total cost."""
    return _page(
        store.con,
        """
        SELECT run_id AS run, status, strategy,
               strftime(started_at, '%Y-%m-%d %H:%M') AS started,
               orders_planned AS orders,
               TRY_CAST(json_extract(kpis, '$.total') AS DOUBLE) AS "total $"
        FROM sourcing_runs ORDER BY started_at DESC, run_id DESC
        """,
        "SELECT count(*) FROM sourcing_runs",
        [],
        limit,
        offset,
    )


def plans_page(store: Store, *, limit: int = 20, offset: int = 0) -> Page:
    """Saved plans, newest first: strategy, total cost, gap to the bound, planning time."""
    return _page(
        store.con,
        """
        SELECT plan_id AS plan, strategy, total AS "total $", gap,
               wall_seconds AS "wall s"
        FROM plans ORDER BY created_at DESC, plan_id DESC
        """,
        "SELECT count(*) FROM plans",
        [],
        limit,
        offset,
    )
