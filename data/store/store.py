"""The embedded DuckDB store: a repository for batches, plans and order events.

One DuckDB file holds everything (``default_db_path()``; ``":memory:"`` for
tests). Bulk data moves set-wise: a batch's DataFrames are registered with
DuckDB and copied with one ``INSERT ... SELECT`` per table, inside one
transaction, so a million orders load in seconds and a failed load leaves the
store exactly as it was.

A ``Store`` wraps one DuckDB connection and is not thread-safe; give each
thread (or request) its own ``Store`` or use ``con.cursor()``.
"""

import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel

from data.shared_sql import insert_events, insert_plan, to_json
from data.store.schema import OPEN_STATUSES, SEQUENCED, ensure_schema, sequence_of
from models import Batch, Weights
from models.batch import COLUMNS, all_columns
from models.errors import DomError

MEMORY = ":memory:"
DB_PATH_ENV = "DOM_DB_PATH"
DEFAULT_DB_PATH = Path("var") / "dom.duckdb"
MAX_IDS_IN_ERROR = 10

# The dtypes ``data.batch_io.read_batch`` produces; exports must match them exactly.
_DTYPES: dict[str, dict[str, str]] = {
    "nodes": {
        "node_id": "object",
        "kind": "object",
        "zip": "object",
        "ship_enabled": "bool",
        "pickup_enabled": "bool",
        "capacity_units": "int64",
        "pick_cost": "float64",
        "pack_cost": "float64",
        "processing_days": "int64",
        "cutoff_hour": "int64",
        "closed_weekdays": "object",
        "holiday_calendar": "object",
        "closed_dates": "object",
        "open_dates": "object",
    },
    "items": {"sku": "object", "weight_lb": "float64", "price": "float64", "digital": "bool"},
    "inventory": {
        "node_id": "object",
        "sku": "object",
        "on_hand": "int64",
        "reserved": "int64",
        "safety_stock": "int64",
    },
    "orders": {
        "order_id": "object",
        "channel": "object",
        "ship_zip": "object",
        "service": "object",
        "due_days": "int64",
        "ship_complete": "bool",
        "max_packages": "Int64",
        "pickup_node_id": "object",
    },
    "order_lines": {"order_id": "object", "line_no": "int64", "sku": "object", "qty": "int64"},
    "rate_card": {
        "service": "object",
        "zone": "int64",
        "base": "float64",
        "per_lb": "float64",
        "transit_days": "int64",
    },
}
_ALLOCATION_DTYPES = {"order_id": "object", "line_no": "int64", "node_id": "object", "qty": "int64"}
_UNFILLED_DTYPES = {"order_id": "object", "line_no": "int64", "qty": "int64"}

# Network tables: a new batch replaces rows with the same key, keeps the others.
_NETWORK_KEYS: dict[str, tuple[str, ...]] = {
    "nodes": ("node_id",),
    "items": ("sku",),
    "rate_card": ("service", "zone"),
    "inventory": ("node_id", "sku"),
}
# Columns written as NULL when the batch holds "" (absent).
_EMPTY_IS_NULL = frozenset({"ship_zip", "pickup_node_id"})


class StoreError(DomError):
    """The store refused an operation; nothing was changed."""


class DuplicateKeyError(StoreError):
    """Rows whose key already exists (or repeats within the input)."""

    def __init__(self, table: str, keys: Sequence[str], ids: Sequence[str], total: int) -> None:
        self.table, self.keys, self.ids, self.total = table, tuple(keys), list(ids), total
        shown = ", ".join(self.ids)
        more = f" and {total - len(self.ids)} more" if total > len(self.ids) else ""
        super().__init__(
            f"{table}: duplicate {' + '.join(keys)} ({total}): {shown}{more}; nothing was loaded"
        )


class NotFoundError(StoreError):
    """The thing asked for is not in the store."""


@dataclass(frozen=True)
class PlanInfo:
    """One saved plan's header, as ``list_plans`` reports it."""

    plan_id: str
    created_at: datetime
    strategy: str
    batch_date: date
    total: float
    lower_bound: float | None
    gap: float | None
    wall_seconds: float | None
    allocations: int
    unfilled: int


@dataclass(frozen=True)
class OrderEvent:
    """One entry of an order's audit trail."""

    event_id: int
    order_id: str
    at: datetime
    actor: str
    channel: str | None
    event_type: str
    from_status: str | None
    to_status: str | None
    details: dict[str, Any] | None


def default_db_path() -> Path:
    """Where the store lives unless told: ``$DOM_DB_PATH``, else ``var/dom.duckdb``."""
    return Path(os.environ.get(DB_PATH_ENV) or DEFAULT_DB_PATH)


def _as_dict(value: Mapping[str, Any] | BaseModel | None) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return dict(value)


def _canonical(df: pd.DataFrame, dtypes: Mapping[str, str]) -> pd.DataFrame:
    """Exactly the given columns and dtypes, RangeIndex: what ``read_batch`` returns.

    Text columns arrive NOT NULL (or coalesced) from SQL; only dtypes DuckDB
    picks differently (e.g. Int64 vs int64 by presence of NULLs) are cast.
    """
    df = df.loc[:, list(dtypes)]
    wrong = {c: t for c, t in dtypes.items() if str(df[c].dtype) != t}
    if wrong:
        df = df.astype(wrong)
    if not isinstance(df.index, pd.RangeIndex) or df.index.start != 0:
        df = df.reset_index(drop=True)
    return df


class Store:
    """Repository over one DuckDB database: batches in, planner snapshots and plans out."""

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False) -> None:
        target = default_db_path() if path is None else path
        self.path: str = str(target)
        if self.path != MEMORY:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the store at {self.path}: {exc}") from exc
        self._depth = 0
        self._views = 0
        try:
            self.schema_version = ensure_schema(self._con, read_only=read_only)
        except BaseException:
            self._con.close()
            raise

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; a file-backed store is durable once closed."""
        if self._con is not None:
            self._con.close()
            self._con = None  # type: ignore[assignment]

    @property
    def closed(self) -> bool:
        return self._con is None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The raw connection, for repositories layered on this schema (e.g. lifecycle)."""
        if self._con is None:
            raise StoreError("the store is closed")
        return self._con

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All-or-nothing block. Nested blocks join the outer one (DuckDB has no savepoints)."""
        con = self.con
        if self._depth:
            self._depth += 1
            try:
                yield con
            finally:
                self._depth -= 1
            return
        con.begin()
        self._depth = 1
        try:
            yield con
        except BaseException:
            con.rollback()
            raise
        else:
            try:
                con.commit()
            except duckdb.Error as exc:
                raise StoreError(f"commit failed, nothing was changed: {exc}") from exc
        finally:
            self._depth = 0

    @contextmanager
    def _registered(self, frame: pd.DataFrame) -> Iterator[str]:
        """Expose a DataFrame to SQL under a fresh name for the duration of the block."""
        self._views += 1
        name = f"_input_{self._views}"
        self.con.register(name, frame)
        try:
            yield name
        finally:
            self.con.unregister(name)

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.con.execute(sql, list(params)).fetchone()
        return row[0] if row else None

    def _next_seq(self, table: str) -> int:
        return int(self._scalar(f"SELECT coalesce(max(seq) + 1, 0) FROM {table}"))

    # -- batches ---------------------------------------------------------------------

    def load_batch(self, batch: Batch, *, source: str | None = None) -> str:
        """Load a whole validated batch in one transaction; returns its batch_id.

        Network rows (nodes, items, rate card, inventory) replace rows with the
        same key; orders must be new: an order id already stored or repeated in
        the batch raises ``DuplicateKeyError`` naming them. Any failure rolls
        back everything.
        """
        frames: dict[str, pd.DataFrame] = {}
        for table, columns in COLUMNS.items():
            df = batch.table(table)
            missing = [c for c in columns if c not in df.columns]
            if missing:
                raise StoreError(f"{table}: batch table lacks column(s) {missing}")
            frames[table] = df
        batch_id = f"batch-{batch.batch_date:%Y%m%d}-{uuid.uuid4().hex[:8]}"
        with self.transaction():
            for table, keys in _NETWORK_KEYS.items():
                self._upsert(table, keys, frames[table])
            self._insert_orders(frames["orders"], batch_id, source)
            self._insert_lines(frames["order_lines"], frames["orders"])
            self._check_references(frames)
            self._record_batch(batch, batch_id, source)
        return batch_id

    def _insert_sql(self, table: str, view: str, extra: Mapping[str, str]) -> str:
        columns = list(all_columns(table))
        exprs = [f"nullif({c}, '')" if c in _EMPTY_IS_NULL else c for c in columns]
        names = ", ".join([*columns, *extra])
        values = ", ".join([*exprs, *extra.values()])
        return f"INSERT INTO {table} ({names}) SELECT {values} FROM {view}"

    def _with_seq(self, table: str, df: pd.DataFrame) -> pd.DataFrame:
        columns: dict[str, Any] = {c: df[c].array for c in all_columns(table)}
        if table in SEQUENCED:
            # Drawn from the table's sequence (the service inserts concurrently),
            # sorted so the rows keep the file's order.
            drawn = self.con.execute(
                f"SELECT nextval('{sequence_of(table)}') AS v FROM range(?)", [len(df)]
            ).fetchnumpy()["v"]
            columns["seq"] = np.sort(np.asarray(drawn, dtype=np.int64))
        else:
            columns["seq"] = np.arange(len(df), dtype=np.int64) + self._next_seq(table)
        return pd.DataFrame(columns, copy=False)

    def _raise_duplicates(self, table: str, keys: Sequence[str], view: str, against: bool) -> None:
        """Raise DuplicateKeyError if ``view`` repeats keys (or hits ``table`` if ``against``)."""
        key_list = ", ".join(keys)
        label = " || '/' || ".join(f"CAST({k} AS TEXT)" for k in keys)
        clash = f"UNION ALL SELECT {key_list} FROM {view} SEMI JOIN {table} USING ({key_list})"
        sql = f"""
            WITH dup AS (
                SELECT {key_list} FROM {view} GROUP BY ALL HAVING count(*) > 1
                {clash if against else ""}
            )
            SELECT id, count(*) OVER () FROM (SELECT DISTINCT {label} AS id FROM dup)
            ORDER BY id LIMIT {MAX_IDS_IN_ERROR}
        """
        rows = self.con.execute(sql).fetchall()
        if rows:
            raise DuplicateKeyError(table, keys, [r[0] for r in rows], int(rows[0][1]))

    def _upsert(self, table: str, keys: Sequence[str], df: pd.DataFrame) -> None:
        frame = self._with_seq(table, df)
        updates = [c for c in (*all_columns(table), "seq") if c not in keys]
        sets = ", ".join(f"{c} = excluded.{c}" for c in updates)
        with self._registered(frame) as view:
            # ON CONFLICT DO UPDATE silently keeps one of two input rows with one key.
            self._raise_duplicates(table, keys, view, against=False)
            sql = self._insert_sql(table, view, {"seq": "seq"})
            sql += f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
            self._execute(table, sql)

    def _insert_orders(self, df: pd.DataFrame, batch_id: str, source: str | None) -> None:
        frame = self._with_seq("orders", df)
        extra = {"batch_id": "$batch_id", "source": "$source", "seq": "seq"}
        with self._registered(frame) as view:
            # Checked first: a failed statement aborts the transaction, leaving no way
            # to ask which ids clashed.
            self._raise_duplicates("orders", ("order_id",), view, against=True)
            sql = self._insert_sql("orders", view, extra)
            self._execute("orders", sql, {"batch_id": batch_id, "source": source})

    def _insert_lines(self, lines: pd.DataFrame, orders: pd.DataFrame) -> None:
        frame = self._with_seq("order_lines", lines)
        with self._registered(frame) as view:
            # Lines may only belong to this batch's orders (all of which are new).
            order_ids = pd.DataFrame({"order_id": orders["order_id"].to_numpy()})
            with self._registered(order_ids) as batch_orders:
                self._raise_dangling(
                    "order_lines",
                    "order_id",
                    view,
                    batch_orders,
                    "order_id",
                    "lines of orders not in this batch",
                )
            # Only new orders' lines get here, so a clash can only be within the batch.
            self._raise_duplicates("order_lines", ("order_id", "line_no"), view, against=False)
            self._execute("order_lines", self._insert_sql("order_lines", view, {"seq": "seq"}))

    def _raise_dangling(
        self,
        table: str,
        column: str,
        view: str,
        target: str,
        target_column: str,
        message: str,
        where: str = "",
    ) -> None:
        sql = f"""
            SELECT id, count(*) OVER () FROM (
                SELECT DISTINCT CAST(v.{column} AS TEXT) AS id FROM {view} v
                WHERE v.{column} IS NOT NULL {where}
                  AND NOT EXISTS (SELECT 1 FROM {target} t WHERE t.{target_column} = v.{column})
            ) ORDER BY id LIMIT {MAX_IDS_IN_ERROR}
        """
        rows = self.con.execute(sql).fetchall()
        if rows:
            total = int(rows[0][1])
            more = f" and {total - len(rows)} more" if total > len(rows) else ""
            raise StoreError(
                f"{table}: {message}, unknown {column} ({total}): "
                f"{', '.join(r[0] for r in rows)}{more}; nothing was loaded"
            )

    def _check_references(self, frames: Mapping[str, pd.DataFrame]) -> None:
        """Set-wise foreign-key checks against the store (which now holds the batch)."""
        checks = (
            ("inventory", "node_id", "nodes", "node_id", "", "stock at"),
            ("inventory", "sku", "items", "sku", "", "stock of"),
            ("order_lines", "sku", "items", "sku", "", "lines of"),
            (
                "orders",
                "pickup_node_id",
                "nodes",
                "node_id",
                "AND v.pickup_node_id <> ''",
                "pickup at",
            ),
        )
        for table, column, target, target_column, where, what in checks:
            frame = frames[table].loc[:, [column]]
            with self._registered(frame) as view:
                self._raise_dangling(
                    table,
                    column,
                    view,
                    target,
                    target_column,
                    f"{what} an unknown {target[:-1]}",
                    where,
                )
        with self._registered(frames["orders"].loc[:, ["order_id", "pickup_node_id"]]) as view:
            bad = self.con.execute(
                f"""SELECT DISTINCT v.order_id FROM {view} v JOIN nodes n
                    ON n.node_id = v.pickup_node_id WHERE NOT n.pickup_enabled
                    ORDER BY 1 LIMIT {MAX_IDS_IN_ERROR}"""
            ).fetchall()
        if bad:
            ids = ", ".join(r[0] for r in bad)
            raise StoreError(f"orders: pickup at a node that is not pickup_enabled: {ids}")

    def _record_batch(self, batch: Batch, batch_id: str, source: str | None) -> None:
        weights = to_json(batch.weights)
        self.con.execute(
            "INSERT INTO batches (batch_id, batch_date, weights, rate_card_file, source, "
            "n_orders, n_lines) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                batch_id,
                batch.batch_date,
                weights,
                batch.rate_card_file,
                source,
                len(batch.orders),
                len(batch.order_lines),
            ],
        )
        last = {
            "batch_id": batch_id,
            "batch_date": batch.batch_date.isoformat(),
            "weights": batch.weights.model_dump(mode="json"),
            "rate_card_file": batch.rate_card_file,
        }
        self.set_meta("last_batch", last)

    def _execute(self, table: str, sql: str, params: Any = None) -> None:
        try:
            self.con.execute(sql, params)
        except duckdb.Error as exc:
            raise StoreError(f"{table}: {exc}") from exc

    def set_meta(self, key: str, value: Any) -> None:
        """Remember a small JSON fact about the store."""
        self.con.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, to_json(value)],
        )

    def get_meta(self, key: str, default: Any = None) -> Any:
        value = self._scalar("SELECT value FROM meta WHERE key = ?", [key])
        return default if value is None else json.loads(value)

    def export_batch(
        self,
        batch_date: date | None = None,
        weights: Weights | None = None,
        *,
        order_ids: Iterable[str] | None = None,
        statuses: Iterable[str] | None = OPEN_STATUSES,
    ) -> Batch:
        """The snapshot the planner reads: network, stock, rates and the chosen orders.

        Orders are those with a status in ``statuses`` (default: open; None: any)
        and, if given, an id in ``order_ids``; rows come in load order. Date and
        weights default to the last loaded batch's, so a plain export reproduces it.
        """
        last = self.get_meta("last_batch")
        if batch_date is None:
            if last is None:
                raise StoreError("no batch has been loaded; pass batch_date to export")
            batch_date = date.fromisoformat(last["batch_date"])
        if weights is None:
            weights = Weights.model_validate(last["weights"]) if last else Weights()
        rate_card_file = last["rate_card_file"] if last else "rate_card.csv"

        conditions, params = [], []
        if statuses is not None:
            wanted = list(dict.fromkeys(statuses))
            conditions.append("list_contains(?, status)")
            params.append(wanted)
        ids_frame = None
        if order_ids is not None:
            ids_frame = pd.DataFrame({"order_id": pd.Series(list(order_ids), dtype=object)})
        with self.transaction(), self._maybe_registered(ids_frame) as ids_view:
            if ids_view is not None:
                conditions.append(f"order_id IN (SELECT order_id FROM {ids_view})")
            where = " AND ".join(conditions) or "true"
            tables = {
                name: self._select(name) for name in ("nodes", "items", "inventory", "rate_card")
            }
            tables["orders"] = self._select("orders", where, params)
            tables["order_lines"] = self._select(
                "order_lines",
                f"order_id IN (SELECT order_id FROM orders WHERE {where})" if conditions else "",
                params,
            )
        return Batch(
            batch_date=batch_date, weights=weights, rate_card_file=rate_card_file, **tables
        )

    @contextmanager
    def _maybe_registered(self, frame: pd.DataFrame | None) -> Iterator[str | None]:
        if frame is None:
            yield None
        else:
            with self._registered(frame) as name:
                yield name

    def _select(self, table: str, where: str = "", params: Sequence[Any] = ()) -> pd.DataFrame:
        columns = [
            f"coalesce({c}, '') AS {c}" if c in _EMPTY_IS_NULL else c for c in all_columns(table)
        ]
        sql = f"SELECT {', '.join(columns)} FROM {table}"
        if where:
            sql += f" WHERE {where}"
        return _canonical(self._fetch_df(sql + " ORDER BY seq", params), _DTYPES[table])

    def _fetch_df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """Query result as pandas via Arrow: about twice as fast as ``.df()`` for text."""
        table = self.con.execute(sql, list(params)).fetch_arrow_table()
        return table.to_pandas(split_blocks=True)

    # -- plans -----------------------------------------------------------------------

    def save_plan(
        self,
        strategy: str,
        batch_date: date,
        weights: Weights | Mapping[str, float],
        allocations: pd.DataFrame,
        unfilled: pd.DataFrame,
        summary: Mapping[str, Any] | BaseModel,
        *,
        plan_id: str | None = None,
    ) -> str:
        """Store a plan (rows and summary) in one transaction; returns its plan_id."""
        summary_dict = _as_dict(summary)
        if "total" not in summary_dict:
            raise StoreError("plans: summary has no 'total'")
        plan_id = plan_id or f"plan-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        for table, (df, dtypes) in (
            ("plan_allocations", (allocations, _ALLOCATION_DTYPES)),
            ("plan_unfilled", (unfilled, _UNFILLED_DTYPES)),
        ):
            missing = [c for c in dtypes if c not in df.columns]
            if missing:
                raise StoreError(f"{table}: plan table lacks column(s) {missing}")
        with self.transaction():
            try:
                insert_plan(
                    self.con,
                    plan_id,
                    strategy,
                    batch_date,
                    weights,
                    summary_dict,
                    allocations,
                    unfilled,
                )
            except duckdb.Error as exc:
                raise StoreError(f"plans: {exc}") from exc
        return plan_id

    def load_plan(self, plan_id: str) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
        """(allocations, unfilled, summary) of a saved plan, rows in saved order."""
        with self.transaction():
            summary = self._scalar("SELECT summary FROM plans WHERE plan_id = ?", [plan_id])
            if summary is None:
                raise NotFoundError(f"plans: no plan {plan_id!r}")
            frames = []
            for table, dtypes in (
                ("plan_allocations", _ALLOCATION_DTYPES),
                ("plan_unfilled", _UNFILLED_DTYPES),
            ):
                df = self._fetch_df(
                    f"SELECT {', '.join(dtypes)} FROM {table} WHERE plan_id = ? ORDER BY seq",
                    [plan_id],
                )
                frames.append(_canonical(df, dtypes))
        return frames[0], frames[1], json.loads(summary)

    def list_plans(self) -> list[PlanInfo]:
        """Every saved plan, oldest first."""
        rows = self.con.execute(
            """
            SELECT p.plan_id, p.created_at, p.strategy, p.batch_date, p.total, p.lower_bound,
                   p.gap, p.wall_seconds,
                   (SELECT count(*) FROM plan_allocations a WHERE a.plan_id = p.plan_id),
                   (SELECT count(*) FROM plan_unfilled u WHERE u.plan_id = p.plan_id)
            FROM plans p ORDER BY p.created_at, p.plan_id
            """
        ).fetchall()
        return [PlanInfo(*row) for row in rows]

    # -- order events ----------------------------------------------------------------

    def append_event(
        self,
        order_id: str,
        event_type: str,
        *,
        actor: str = "system",
        channel: str | None = None,
        from_status: str | None = None,
        to_status: str | None = None,
        details: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> int:
        """Append one event to an order's log; returns its event_id (increasing)."""
        at = at or datetime.now(UTC)
        event = (order_id, at, actor, channel, event_type, from_status, to_status, details)
        try:
            (event_id,) = insert_events(self.con, [event])
        except duckdb.Error as exc:
            raise StoreError(f"order_events: {exc}") from exc
        return event_id

    def events(self, order_id: str) -> list[OrderEvent]:
        """An order's events, oldest first."""
        rows = self.con.execute(
            "SELECT event_id, order_id, occurred_at, actor, channel, event_type, from_status, "
            "to_status, details FROM order_events WHERE order_id = ? ORDER BY event_id",
            [order_id],
        ).fetchall()
        return [
            OrderEvent(e, o, at, who, ch, kind, old, new, None if d is None else json.loads(d))
            for e, o, at, who, ch, kind, old, new, d in rows
        ]

    # -- small queries ---------------------------------------------------------------

    def count(self, table: str) -> int:
        """Rows in one of the store's tables (for reports and tests)."""
        if not table.isidentifier():
            raise StoreError(f"not a table name: {table!r}")
        return int(self._scalar(f"SELECT count(*) FROM {table}"))
