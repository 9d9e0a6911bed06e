"""The cursor a repository works on, and the few ways it runs SQL.

Only repositories in ``data/`` call these; services call the repositories'
named methods and never see SQL.
"""

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from data.commit_cache import CommitCaches, OrderDoc
from data.shared_sql import registered


def marks(values: Sequence[Any]) -> str:
    """``?, ?, ?``: one placeholder per value (an IN list DuckDB can use an index for)."""
    return ", ".join("?" * len(values))


def now() -> datetime:
    return datetime.now(UTC)


def where(
    filters: Sequence[tuple[str, Any]], after: Sequence[Any] | None = None, after_sql: str = ""
) -> tuple[str, list[Any]]:
    """A WHERE condition and its parameters: each (condition with one ``?``, value) whose
    value is given, and the keyset cursor's condition (``after_sql``) when there is one."""
    conds, params = ["true"], []
    for sql, value in filters:
        if value:
            conds.append(sql)
            params.append(value)
    if after:
        conds.append(after_sql)
        params.extend(after)
    return " AND ".join(conds), params


class CursorRepo:
    """One cursor inside one transaction, and a process-wide cache."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, cache: dict[str, Any] | None = None) -> None:
        self.cur = cur
        # Process-wide cache of the (rarely changing) node table, shared by repos.
        self.cache = cache if cache is not None else {}
        # What this transaction did to stock rows: (node_id, sku) -> [change in
        # available, change in reserved]. Database.write hands it to the promise
        # index once the transaction has committed.
        self.stock_changes: dict[tuple[str, str], list[int]] = {}
        # The orders this transaction changed, with their new documents, when the
        # writer knows them exactly; None (the default): it may have changed any
        # order, and the read model (``data.commit_cache``) is emptied at commit.
        self.order_docs: dict[str, OrderDoc] | None = None
        # Change of open demand no reservation holds, per SKU (exact writes only);
        # unknown: the touched SKUs' unheld demand is read again (and forgotten at commit).
        self.unheld_changes: dict[str, int] = {}
        self.unheld_unknown: set[str] = set()
        self.refreshed_skus: list[str] = []  # the SKUs whose alerts were re-checked
        # The process's commit caches (``data.commit_cache``), and their generation
        # when this transaction began; the Database sets both.
        self.caches: CommitCaches | None = None
        self.generation = 0

    def stock_changed(self, node_id: str, sku: str, available: int, reserved: int = 0) -> None:
        if available or reserved:
            change = self.stock_changes.setdefault((node_id, sku), [0, 0])
            change[0] += available
            change[1] += reserved

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

    def df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        return self.cur.execute(sql, list(params)).df()

    def frame(self, df: pd.DataFrame) -> AbstractContextManager[str]:
        """Expose a DataFrame to SQL on this cursor for the block (set-wise writes)."""
        return registered(self.cur, df)
