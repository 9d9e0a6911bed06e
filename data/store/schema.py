"""The store's SQL schema, as an ordered list of migrations.

Every table the product keeps lives here, in one place, so the database itself
refuses bad data (primary keys, NOT NULL, CHECK) whoever writes to it. The
schema is versioned: ``schema_version`` records each migration applied, and
``ensure_schema`` applies the missing ones, each in its own transaction, so
opening a store twice (or an old file with new code) is safe.

To extend the schema (order lifecycle, reservations, returns, ...) append a
``Migration`` with the next version number to ``MIGRATIONS``; never edit one
that has shipped.

Deliberate choices:

- No FOREIGN KEYs. DuckDB checks them row by row (they triple the cost of a
  million-order load) and they block the rebuild-the-table migrations DuckDB
  needs for most ALTERs. ``Store`` checks references set-wise instead.
- Absent optional values are NULL here (ship_zip, pickup_node_id,
  max_packages); ``Store`` turns them back into the batch's "" / <NA>.
- Every batch table has a ``seq`` column: the order rows were loaded in, so an
  export gives the planner the rows in the order the batch listed them.
- Timestamps are TIMESTAMPTZ: instants, whatever the server's time zone.
"""

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from data.alerts_schema import ALERTS_DESCRIPTION, ALERTS_STATEMENTS
from data.appointments_schema import APPOINTMENTS_DESCRIPTION, APPOINTMENTS_STATEMENTS
from data.exchanges_schema import (
    EXCHANGES_DESCRIPTION,
    EXCHANGES_STATEMENTS,
    SETTLEMENTS_DESCRIPTION,
    SETTLEMENTS_STATEMENTS,
)
from data.lifecycle_schema import LIFECYCLE_DESCRIPTION, LIFECYCLE_STATEMENTS
from models.errors import DomError

# Statuses whose orders the planner should see. The order-lifecycle service
# owns the status vocabulary and may widen this.
CREATED_STATUS = "created"
OPEN_STATUSES: tuple[str, ...] = (CREATED_STATUS,)

_ID = "TEXT NOT NULL CHECK (length({c}) BETWEEN 1 AND 64)"


def _id(column: str) -> str:
    """Identifier column: non-empty, at most 64 chars (``models.scalars.Identifier``)."""
    return f"{column} " + _ID.format(c=column)


def _nonneg_int(column: str) -> str:
    return f"{column} BIGINT NOT NULL CHECK ({column} >= 0)"


def _nonneg_float(column: str) -> str:
    return f"{column} DOUBLE NOT NULL CHECK ({column} >= 0 AND isfinite({column}))"


_ZIP_OK = "regexp_full_match({c}, '[0-9]{{5}}')"
_SERVICES = "('ground', 'two_day', 'next_day', 'pickup')"


@dataclass(frozen=True)
class Migration:
    """One schema step: applied once, atomically, then recorded in schema_version."""

    version: int
    description: str
    # A statement may depend on the data: a callable gets the connection, returns SQL.
    statements: tuple[str | Callable[[duckdb.DuckDBPyConnection], str], ...]


V1 = Migration(
    version=1,
    description="batch tables, plans, order events",
    statements=(
        # Key/value facts about the store, e.g. the last loaded batch's date and weights.
        """
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value JSON NOT NULL
        )
        """,
        """
        CREATE TABLE batches (
            batch_id TEXT PRIMARY KEY,
            loaded_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
            batch_date DATE NOT NULL,
            weights JSON NOT NULL,
            rate_card_file TEXT NOT NULL,
            source TEXT,
            n_orders BIGINT NOT NULL CHECK (n_orders >= 0),
            n_lines BIGINT NOT NULL CHECK (n_lines >= 0)
        )
        """,
        f"""
        CREATE TABLE nodes (
            {_id("node_id")} PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('dc', 'store')),
            zip TEXT NOT NULL CHECK ({_ZIP_OK.format(c="zip")}),
            ship_enabled BOOLEAN NOT NULL,
            pickup_enabled BOOLEAN NOT NULL,
            {_nonneg_int("capacity_units")},
            {_nonneg_float("pick_cost")},
            {_nonneg_float("pack_cost")},
            {_nonneg_int("processing_days")},
            seq BIGINT NOT NULL
        )
        """,
        f"""
        CREATE TABLE items (
            {_id("sku")} PRIMARY KEY,
            weight_lb DOUBLE NOT NULL CHECK (weight_lb > 0 AND isfinite(weight_lb)),
            {_nonneg_float("price")},
            seq BIGINT NOT NULL
        )
        """,
        f"""
        CREATE TABLE inventory (
            {_id("node_id")},
            {_id("sku")},
            {_nonneg_int("on_hand")},
            reserved BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
            safety_stock BIGINT NOT NULL DEFAULT 0 CHECK (safety_stock >= 0),
            in_transit BIGINT NOT NULL DEFAULT 0 CHECK (in_transit >= 0),
            seq BIGINT NOT NULL,
            PRIMARY KEY (node_id, sku)
        )
        """,
        f"""
        CREATE TABLE rate_card (
            service TEXT NOT NULL CHECK (service IN {_SERVICES}),
            zone BIGINT NOT NULL CHECK (zone BETWEEN 2 AND 8),
            {_nonneg_float("base")},
            {_nonneg_float("per_lb")},
            {_nonneg_int("transit_days")},
            seq BIGINT NOT NULL,
            PRIMARY KEY (service, zone)
        )
        """,
        f"""
        CREATE TABLE orders (
            {_id("order_id")} PRIMARY KEY,
            {_id("channel")},
            ship_zip TEXT CHECK (ship_zip IS NULL OR {_ZIP_OK.format(c="ship_zip")}),
            service TEXT NOT NULL CHECK (service IN {_SERVICES}),
            {_nonneg_int("due_days")},
            ship_complete BOOLEAN NOT NULL DEFAULT false,
            max_packages BIGINT CHECK (max_packages IS NULL OR max_packages >= 1),
            pickup_node_id TEXT CHECK (pickup_node_id IS NULL OR length(pickup_node_id) >= 1),
            status TEXT NOT NULL DEFAULT '{CREATED_STATUS}' CHECK (length(status) >= 1),
            created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
            batch_id TEXT,
            source TEXT,
            seq BIGINT NOT NULL,
            CHECK ((service = 'pickup') = (pickup_node_id IS NOT NULL)),
            CHECK (service = 'pickup' OR ship_zip IS NOT NULL)
        )
        """,
        f"""
        CREATE TABLE order_lines (
            {_id("order_id")},
            {_nonneg_int("line_no")},
            {_id("sku")},
            qty BIGINT NOT NULL CHECK (qty >= 1),
            seq BIGINT NOT NULL,
            PRIMARY KEY (order_id, line_no)
        )
        """,
        """
        CREATE TABLE plans (
            plan_id TEXT PRIMARY KEY,
            created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
            strategy TEXT NOT NULL CHECK (length(strategy) >= 1),
            batch_date DATE NOT NULL,
            weights JSON NOT NULL,
            summary JSON NOT NULL,
            total DOUBLE NOT NULL,
            lower_bound DOUBLE,
            gap DOUBLE,
            wall_seconds DOUBLE CHECK (wall_seconds IS NULL OR wall_seconds >= 0)
        )
        """,
        f"""
        CREATE TABLE plan_allocations (
            plan_id TEXT NOT NULL,
            {_id("order_id")},
            {_nonneg_int("line_no")},
            {_id("node_id")},
            qty BIGINT NOT NULL CHECK (qty >= 1),
            seq BIGINT NOT NULL,
            PRIMARY KEY (plan_id, order_id, line_no, node_id)
        )
        """,
        f"""
        CREATE TABLE plan_unfilled (
            plan_id TEXT NOT NULL,
            {_id("order_id")},
            {_nonneg_int("line_no")},
            qty BIGINT NOT NULL CHECK (qty >= 1),
            seq BIGINT NOT NULL,
            PRIMARY KEY (plan_id, order_id, line_no)
        )
        """,
        "CREATE SEQUENCE order_event_id START 1",
        # Append-only audit trail of everything that happens to an order.
        # (``at`` is reserved in DuckDB's SQL, hence ``occurred_at``.)
        f"""
        CREATE TABLE order_events (
            event_id BIGINT PRIMARY KEY DEFAULT nextval('order_event_id'),
            {_id("order_id")},
            occurred_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
            actor TEXT NOT NULL CHECK (length(actor) >= 1),
            channel TEXT,
            event_type TEXT NOT NULL CHECK (length(event_type) >= 1),
            from_status TEXT,
            to_status TEXT,
            details JSON
        )
        """,
        "CREATE INDEX order_events_by_order ON order_events (order_id)",
    ),
)

# Migration 2 belongs to the order-lifecycle service; its SQL lives in its own module.
V2 = Migration(version=2, description=LIFECYCLE_DESCRIPTION, statements=LIFECYCLE_STATEMENTS)

# Row order (``seq``) of tables written concurrently, from sequences: ``max(seq) + 1``
# inside an INSERT repeats when two transactions run it at once. Each sequence
# starts above the rows already there.
SEQUENCED = ("orders", "order_lines", "inventory")


def sequence_of(table: str) -> str:
    return f"seq_{table}"


def _create_sequence(table: str) -> Callable[[duckdb.DuckDBPyConnection], str]:
    def sql(con: duckdb.DuckDBPyConnection) -> str:
        row = con.execute(f"SELECT coalesce(max(seq) + 1, 0) FROM {table}").fetchone()
        start = int(row[0]) if row else 0
        return f"CREATE SEQUENCE {sequence_of(table)} START {start} MINVALUE 0"

    return sql


V3 = Migration(
    version=3,
    description="sequences for the row order of orders, order lines and stock rows; "
    "indexes for the service's point reads",
    statements=(
        *(_create_sequence(t) for t in SEQUENCED),
        # DuckDB uses an index for equality (and IN lists) on its leading column
        # only: (node_id, sku) and (order_id, line_no) keys do not serve "this
        # SKU's stock" or "this order's lines", which scanned 600k and 180k rows
        # per capture and per order read (100k orders: 0.58 s -> 5 ms, 16 -> 4 ms).
        "CREATE INDEX inventory_by_sku ON inventory (sku)",
        "CREATE INDEX line_state_by_order ON line_state (order_id)",
        "CREATE INDEX order_lines_by_order ON order_lines (order_id)",
    ),
)

# Node calendar columns (promise/README.md), as migration 4 adds them; migration 5's
# rebuild of `nodes` declares them the same way.
_NODE_CALENDAR = (
    "cutoff_hour BIGINT DEFAULT 14",
    "closed_weekdays TEXT DEFAULT 'sat,sun'",
    "holiday_calendar TEXT DEFAULT 'US'",
    "closed_dates TEXT DEFAULT ''",
    "open_dates TEXT DEFAULT ''",
)
_NODE_COLUMNS = (
    "node_id, kind, zip, ship_enabled, pickup_enabled, capacity_units, pick_cost, "
    "pack_cost, processing_days, seq, cutoff_hour, closed_weekdays, holiday_calendar, "
    "closed_dates, open_dates"
)

# Node calendars for delivery promises (promise/README.md); old rows get the defaults.
V4 = Migration(
    version=4,
    description="delivery promises: node calendars, order promises",
    statements=(
        *(f"ALTER TABLE nodes ADD COLUMN {column}" for column in _NODE_CALENDAR),
        # The promise an order was captured with: what "promises kept" checks plans against.
        """
        CREATE TABLE order_promises (
            order_id TEXT PRIMARY KEY,
            promise_id TEXT NOT NULL,
            service TEXT NOT NULL,
            promised_date DATE NOT NULL,
            promised_at TIMESTAMPTZ NOT NULL,
            packages JSON NOT NULL
        )
        """,
    ),
)

# Migration 5: drop-ship vendors and digital goods (contract: node kind `vendor`, item
# column `digital`). DuckDB cannot alter a CHECK, so the tables are rebuilt; `nodes`
# keeps migration 4's calendar columns.
V5 = Migration(
    version=5,
    description="vendor nodes, digital items, drop-ship work items",
    statements=(
        f"""
        CREATE TABLE nodes_v5 (
            {_id("node_id")} PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('dc', 'store', 'vendor')),
            zip TEXT NOT NULL CHECK ({_ZIP_OK.format(c="zip")}),
            ship_enabled BOOLEAN NOT NULL,
            pickup_enabled BOOLEAN NOT NULL,
            {_nonneg_int("capacity_units")},
            {_nonneg_float("pick_cost")},
            {_nonneg_float("pack_cost")},
            {_nonneg_int("processing_days")},
            seq BIGINT NOT NULL,
            {", ".join(_NODE_CALENDAR)},
            CHECK (kind <> 'vendor' OR NOT pickup_enabled)
        )
        """,
        # Named columns: the copy keeps migration 4's calendars, whatever the order.
        f"INSERT INTO nodes_v5 ({_NODE_COLUMNS}) SELECT {_NODE_COLUMNS} FROM nodes",
        "DROP TABLE nodes",
        "ALTER TABLE nodes_v5 RENAME TO nodes",
        f"""
        CREATE TABLE items_v5 (
            {_id("sku")} PRIMARY KEY,
            weight_lb DOUBLE NOT NULL CHECK (weight_lb >= 0 AND isfinite(weight_lb)),
            {_nonneg_float("price")},
            seq BIGINT NOT NULL,
            digital BOOLEAN NOT NULL DEFAULT false,
            CHECK (digital OR weight_lb > 0)
        )
        """,
        "INSERT INTO items_v5 (sku, weight_lb, price, seq) "
        "SELECT sku, weight_lb, price, seq FROM items",
        "DROP TABLE items",
        "ALTER TABLE items_v5 RENAME TO items",
        # Work items at a vendor are drop-ship purchase orders.
        """
        CREATE TABLE work_items_v5 (
            work_item_id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL,
            node_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('ship', 'pickup', 'drop_ship')),
            status TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
            carrier TEXT,
            tracking_number TEXT,
            weight_lb DOUBLE,
            reject_reason TEXT
        )
        """,
        "INSERT INTO work_items_v5 SELECT * FROM work_items",
        "DROP TABLE work_items",
        "ALTER TABLE work_items_v5 RENAME TO work_items",
        "CREATE INDEX work_items_by_node ON work_items (node_id)",
        "CREATE INDEX work_items_by_order ON work_items (order_id)",
    ),
)

# Migration 6 belongs to the stock alerts; its SQL lives in its own module.
V6 = Migration(version=6, description=ALERTS_DESCRIPTION, statements=ALERTS_STATEMENTS)

# Migration 7 belongs to exchanges; its SQL lives in its own module.
V7 = Migration(version=7, description=EXCHANGES_DESCRIPTION, statements=EXCHANGES_STATEMENTS)

# Migration 8 belongs to delivery and service appointments; its SQL lives in its own module.
V8 = Migration(version=8, description=APPOINTMENTS_DESCRIPTION, statements=APPOINTMENTS_STATEMENTS)

# Migration 9: the one net document that settles an exchange (``data.exchanges_schema``).
V9 = Migration(version=9, description=SETTLEMENTS_DESCRIPTION, statements=SETTLEMENTS_STATEMENTS)

MIGRATIONS: tuple[Migration, ...] = (V1, V2, V3, V4, V5, V6, V7, V8, V9)
LATEST_VERSION: int = MIGRATIONS[-1].version


class SchemaError(DomError):
    """The database file's schema cannot be used by this code."""


def _check_migrations() -> None:
    versions = [m.version for m in MIGRATIONS]
    if versions != list(range(1, len(versions) + 1)):
        raise SchemaError(f"migrations must be numbered 1..n without gaps, got {versions}")


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """Highest applied migration; 0 for an empty database."""
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_name = 'schema_version' AND table_schema = current_schema()"
    ).fetchone()
    if not found or found[0] == 0:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def _check_lineage(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """Refuse a file whose applied migrations are not this code's (a branch's
    migration numbered before a merge renumbered it): applying ours on top would
    fail half-way on a table that already exists."""
    if version == 0:
        return
    applied = dict(con.execute("SELECT version, description FROM schema_version").fetchall())
    for migration in MIGRATIONS[:version]:
        found = applied.get(migration.version)
        if found is not None and found != migration.description:
            raise SchemaError(
                f"database migration {migration.version} is {found!r}, but this code's "
                f"migration {migration.version} is {migration.description!r}: the file was "
                "written by another line of migrations; rebuild it, or open it with that code"
            )


def ensure_schema(con: duckdb.DuckDBPyConnection, read_only: bool = False) -> int:
    """Bring the database up to ``LATEST_VERSION``; idempotent. Returns the version."""
    _check_migrations()
    version = current_version(con)
    if version > LATEST_VERSION:
        raise SchemaError(
            f"database schema version {version} is newer than this code knows "
            f"({LATEST_VERSION}); upgrade the product"
        )
    _check_lineage(con, version)
    if version == LATEST_VERSION:
        return version
    if read_only:
        raise SchemaError(
            f"database schema version {version} needs migrating to {LATEST_VERSION}; "
            "open it writable once"
        )
    if version == 0:
        con.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_version (
                version INTEGER PRIMARY KEY,
                description TEXT NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
            )
            """
        )
    for migration in MIGRATIONS:
        if migration.version <= version:
            continue
        con.begin()
        try:
            for statement in migration.statements:
                con.execute(statement if isinstance(statement, str) else statement(con))
            con.execute(
                "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                [migration.version, migration.description],
            )
            con.commit()
        except BaseException:
            con.rollback()
            raise
    return LATEST_VERSION
