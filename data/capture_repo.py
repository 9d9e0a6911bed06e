"""Set-wise SQL of a group of captures: one statement per table for the whole group.

A capture written row by row took about ten statements (about 5 ms each on a
busy machine). The group writer hands a whole group to
``services.orders.capture_group``, which decides every order in memory and
then writes the group through these methods: the idempotency keys and order
ids looked up at once, one UPDATE of the stock rows, one INSERT per table.
Rows travel as Arrow tables registered with DuckDB (no copy).
"""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from data.alerts_repo import AlertRepo
from data.repo_base import marks, now
from data.shared_sql import AVAILABLE, available, insert_events
from models.batch import COLUMNS
from models.orders import OrderRecord

_ORDER_COLUMNS = (*COLUMNS["orders"], "status", "created_at")
_HEADER_COLUMNS = (
    "order_id",
    "customer_email",
    "customer_name",
    "phone",
    "ship_name",
    "ship_line1",
    "ship_city",
    "ship_state",
    "promo_code",
)


class CaptureRepo(AlertRepo):
    """Reads and writes of many new orders at once; mixed into the lifecycle repository."""

    @property
    def rowids(self) -> dict[tuple[str, str], int]:
        """(node, sku) -> rowid of the stock rows ``stock_of`` returned."""
        found: dict[tuple[str, str], int] = self.__dict__.setdefault("_rowids", {})
        return found

    def idempotent_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        """(scope, key) -> its stored request hash and response, for the keys stored."""
        if not keys:
            return {}
        found = self.rows(
            "SELECT scope, key, request_hash, response FROM idempotency_keys "
            "WHERE (scope, key) IN (SELECT unnest(?::TEXT[]), unnest(?::TEXT[]))",
            [[s for s, _ in keys], [k for _, k in keys]],
        )
        return {(s, k): {"request_hash": h, "response": r} for s, k, h, r in found}

    def existing_orders(self, order_ids: Sequence[str]) -> set[str]:
        if not order_ids:
            return set()
        rows = self.rows(
            "SELECT order_id FROM orders WHERE order_id IN (SELECT unnest(?::TEXT[]))",
            [list(order_ids)],
        )
        return {r[0] for r in rows}

    def stock_of(self, skus: Sequence[str]) -> dict[tuple[str, str], int]:
        """Units that may still be promised per (node, sku), at every node, for these
        SKUs: from the commit cache, the SKUs it lacks read (and kept) in one query."""
        wanted = sorted(set(skus))
        cache = self.caches.stock if self.caches is not None else None
        found = cache.get_many(wanted) if cache is not None else {}
        if missing := [s for s in wanted if s not in found]:
            read = self._stock_rows(f"WHERE sku IN ({marks(missing)})", missing)
            read = {s: read.get(s, {}) for s in missing}
            if cache is not None:
                cache.keep(read, self.generation)
            found = {**found, **read}
        out: dict[tuple[str, str], int] = {}
        rowids = self.rowids
        for sku, nodes in found.items():
            for node_id, (units, rowid) in nodes.items():
                key = (node_id, sku)
                out[key] = units
                rowids[key] = rowid
        return out

    def warm_caches(self) -> None:
        """Read every SKU's stock rows and unheld demand into the (empty) commit caches:
        a group of captures then reads neither (about 2 s, once)."""
        if self.caches is None:
            return
        self.caches.stock.keep(self._stock_rows(), self.generation)
        demand = dict(self.unheld_read(None))
        skus = [r[0] for r in self.rows("SELECT sku FROM items")]
        self.caches.unheld.keep({s: demand.get(s, 0) for s in skus}, self.generation)

    def _stock_rows(
        self, cond: str = "", params: Sequence[Any] = ()
    ) -> dict[str, dict[str, list[int]]]:
        """sku -> node -> [units available, the row's rowid]."""
        cols = self.cur.execute(
            f"SELECT sku, node_id, {AVAILABLE} AS a, rowid AS r FROM inventory {cond}", list(params)
        ).fetchnumpy()
        out: dict[str, dict[str, list[int]]] = {}
        names: dict[str, str] = {}  # one string per node id
        for sku, node_id, units, rowid in zip(
            cols["sku"].tolist(),
            cols["node_id"].tolist(),
            cols["a"].tolist(),
            cols["r"].tolist(),
            strict=True,
        ):
            rows = out.get(sku)
            if rows is None:
                rows = out[sku] = {}
            rows[names.setdefault(node_id, node_id)] = [int(units), int(rowid)]
        return out

    def reserve_rows(self, rows: Sequence[tuple[str, str, int]]) -> bool:
        """Reserve (node, sku, qty) on distinct stock rows, each row re-checked for
        ``qty`` available; False (and the caller must roll back) if any falls short.
        Rows whose rowid ``stock_of`` saw are updated by rowid (one UPDATE per
        quantity; the key is checked too), which spares a scan of every stock row."""
        if not rows:
            return True
        ordered = sorted(rows)
        by_qty: dict[int, list[tuple[str, str, int]]] = {}
        rest = []
        for node_id, sku, qty in ordered:
            rowid = self.rowids.get((node_id, sku))
            if rowid is None:
                rest.append((node_id, sku, qty))
            else:
                by_qty.setdefault(qty, []).append((node_id, sku, rowid))
        changed = 0
        for qty, keyed in sorted(by_qty.items()):
            changed += self.exec(
                f"UPDATE inventory SET reserved = reserved + {int(qty)} "
                f"WHERE rowid IN ({', '.join(str(int(r)) for _, _, r in keyed)}) "
                f"AND {AVAILABLE} >= {int(qty)} "
                "AND list_contains(?::TEXT[], node_id || chr(31) || sku)",
                [[f"{n}\x1f{s}" for n, s, _ in keyed]],
            )
        if rest:
            frame = pa.table(
                {
                    "node_id": [r[0] for r in rest],
                    "sku": [r[1] for r in rest],
                    "qty": pa.array([r[2] for r in rest], pa.int64()),
                }
            )
            with self.frame(frame) as view:
                changed += self.exec(
                    f"UPDATE inventory i SET reserved = i.reserved + f.qty FROM {view} f "
                    f"WHERE i.node_id = f.node_id AND i.sku = f.sku AND {available('i')} >= f.qty"
                )
        if changed != len(ordered):
            if self.caches is not None:
                self.caches.forget()  # the retry reads the rows from the store
            return False
        self.touch(r[1] for r in ordered)
        for node_id, sku, qty in ordered:
            self.stock_changed(node_id, sku, -qty, qty)
        return True

    def insert_captured(
        self,
        orders: Sequence[OrderRecord],
        lines: Sequence[tuple[str, int, str, int, Decimal]],
        holds: Sequence[tuple[str, int, str, str, int]],
        remembered: Sequence[tuple[str, str, str, int, str]],
        created_at: datetime,
    ) -> None:
        """Write new orders whole: header rows, lines (order_id, line_no, sku, qty,
        unit_price), holds (order_id, line_no, node_id, sku, qty) and idempotency keys
        (scope, key, request hash, status, response). Their ids must be new."""
        if not orders:
            return
        cols: dict[str, list[Any]] = {c: [o[c] for o in orders] for c in _ORDER_COLUMNS[:-1]}  # type: ignore[literal-required]
        cols["created_at"] = [created_at] * len(orders)
        self._insert(
            "orders",
            cols,
            "INSERT INTO orders (order_id, channel, ship_zip, service, due_days, ship_complete, "
            "max_packages, pickup_node_id, status, created_at, source, seq) "
            "SELECT order_id, channel, ship_zip, service, due_days, ship_complete, "
            "max_packages, pickup_node_id, status, created_at, 'api', nextval('seq_orders') "
            "FROM {v}",
            {"max_packages": pa.int64(), "due_days": pa.int64()},
        )
        header = {c: [o[c] for o in orders] for c in _HEADER_COLUMNS}  # type: ignore[literal-required]
        header["updated_at"] = cols["created_at"]  # as the capture's answer says
        names = ", ".join([*_HEADER_COLUMNS, "updated_at"])
        self._insert(
            "order_headers",
            header,
            f"INSERT INTO order_headers ({names}) SELECT {names} FROM {{v}}",
        )
        self.touch(ln[2] for ln in lines)
        line_cols: dict[str, list[Any]] = {
            "order_id": [ln[0] for ln in lines],
            "line_no": [ln[1] for ln in lines],
            "sku": [ln[2] for ln in lines],
            "qty": [ln[3] for ln in lines],
            "unit_price": [str(ln[4]) for ln in lines],
        }
        types = {"line_no": pa.int64(), "qty": pa.int64()}
        self._insert(
            "order_lines",
            line_cols,
            "INSERT INTO order_lines (order_id, line_no, sku, qty, seq) "
            "SELECT order_id, line_no, sku, qty, nextval('seq_order_lines') FROM {v}",
            types,
        )
        self._insert(
            "line_state",
            line_cols,
            "INSERT INTO line_state (order_id, line_no, sku, unit_price, ordered_qty) "
            "SELECT order_id, line_no, sku, CAST(unit_price AS DECIMAL(14, 2)), qty FROM {v}",
            types,
        )
        if holds:
            hold_cols = {
                name: [h[i] for h in holds]
                for i, name in enumerate(("order_id", "line_no", "node_id", "sku", "qty"))
            }
            self._insert(
                "reservations",
                hold_cols,
                "INSERT INTO reservations (order_id, line_no, node_id, sku, qty, released) "
                "SELECT order_id, line_no, node_id, sku, qty, false FROM {v}",
                types,
            )
        if remembered:
            keys = {
                name: [r[i] for r in remembered]
                for i, name in enumerate(
                    ("scope", "key", "request_hash", "status_code", "response")
                )
            }
            self._insert(
                "idempotency_keys",
                keys,
                "INSERT INTO idempotency_keys (scope, key, request_hash, status_code, response) "
                "SELECT scope, key, request_hash, status_code, CAST(response AS JSON) FROM {v}",
                {"status_code": pa.int32()},
            )

    def add_events_many(self, events: Sequence[tuple[Any, ...]]) -> None:
        """Events of many orders: (order_id, event_type, actor, channel, from, to, details)."""
        at = now()
        insert_events(
            self.cur,
            [(oid, at, who, ch, kind, old, new, d) for oid, kind, who, ch, old, new, d in events],
        )

    def _insert(
        self,
        table: str,
        columns: dict[str, list[Any]],
        sql: str,
        types: dict[str, pa.DataType] | None = None,
    ) -> None:
        types = types or {}
        frame = pa.table(
            {name: pa.array(values, types.get(name)) for name, values in columns.items()}
        )
        with self.frame(frame) as view:
            self.exec(sql.format(v=view))
