"""Tables of the order-lifecycle service (schema migration 2).

Kept apart from the batch schema so each owner edits their own file;
``data.store.schema`` applies these statements as migration 2. Plain SQL
strings, importing nothing, so there is no import cycle.

How it fits the batch tables:

- ``orders``/``order_lines`` stay the planner's contract: ``order_lines.qty``
  is the *open* demand of an order (ordered - cancelled - released), so a
  snapshot export gives the planner exactly what still needs a node.
- ``line_state`` is the lifecycle's truth per line (ordered, cancelled,
  released, shipped, returned units and the unit price at capture).
- ``reservations`` hold stock per (order, line, node); the invariant kept by
  every service is ``inventory.reserved = base + sum(reservations.qty)`` for
  the row, where base is what the loaded batch said (reserved elsewhere).
- No PRIMARY KEY on ``reservations`` and no FOREIGN KEYs (see the batch
  schema's notes): rows are deleted and re-inserted freely in one transaction.
"""

MONEY = "DECIMAL(14, 2)"

LIFECYCLE_DESCRIPTION = "order lifecycle: headers, line state, reservations, work items, returns"

LIFECYCLE_STATEMENTS: tuple[str, ...] = (
    f"""
    CREATE TABLE order_headers (
        order_id TEXT PRIMARY KEY,
        customer_email TEXT,
        customer_name TEXT,
        phone TEXT,
        ship_name TEXT,
        ship_line1 TEXT,
        ship_city TEXT,
        ship_state TEXT,
        promo_code TEXT,
        discount {MONEY} NOT NULL DEFAULT 0,
        hold_from TEXT,
        version BIGINT NOT NULL DEFAULT 1 CHECK (version >= 1),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
    )
    """,
    "CREATE INDEX order_headers_by_email ON order_headers (customer_email)",
    f"""
    CREATE TABLE line_state (
        order_id TEXT NOT NULL,
        line_no BIGINT NOT NULL CHECK (line_no >= 0),
        sku TEXT NOT NULL,
        unit_price {MONEY} NOT NULL CHECK (unit_price >= 0),
        ordered_qty BIGINT NOT NULL CHECK (ordered_qty >= 0),
        cancelled_qty BIGINT NOT NULL DEFAULT 0 CHECK (cancelled_qty >= 0),
        released_qty BIGINT NOT NULL DEFAULT 0 CHECK (released_qty >= 0),
        shipped_qty BIGINT NOT NULL DEFAULT 0 CHECK (shipped_qty >= 0),
        returned_qty BIGINT NOT NULL DEFAULT 0 CHECK (returned_qty >= 0),
        -- Cross-column rules (cancelled + released <= ordered, returned <= shipped <=
        -- released) are kept by the services: DuckDB 1.4 fails internally on an
        -- UPDATE of one column of a multi-column CHECK.
        PRIMARY KEY (order_id, line_no)
    )
    """,
    """
    CREATE TABLE reservations (
        order_id TEXT NOT NULL,
        line_no BIGINT NOT NULL,
        node_id TEXT NOT NULL,
        sku TEXT NOT NULL,
        qty BIGINT NOT NULL CHECK (qty >= 1),
        released BOOLEAN NOT NULL DEFAULT false,
        run_id TEXT
    )
    """,
    "CREATE INDEX reservations_by_order ON reservations (order_id)",
    """
    CREATE TABLE idempotency_keys (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status_code INTEGER NOT NULL,
        response JSON NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
        PRIMARY KEY (scope, key)
    )
    """,
    f"""
    CREATE TABLE promotions (
        code TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('percent', 'amount')),
        value {MONEY} NOT NULL CHECK (value > 0),
        min_spend {MONEY} NOT NULL DEFAULT 0 CHECK (min_spend >= 0),
        starts_on DATE,
        ends_on DATE,
        usage_limit BIGINT CHECK (usage_limit IS NULL OR usage_limit >= 1),
        used_count BIGINT NOT NULL DEFAULT 0 CHECK (used_count >= 0),
        active BOOLEAN NOT NULL DEFAULT true,
        created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
    )
    """,
    """
    CREATE TABLE api_keys (
        key_hash TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        node_id TEXT,
        label TEXT,
        active BOOLEAN NOT NULL DEFAULT true,
        created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
    )
    """,
    """
    CREATE TABLE work_items (
        work_item_id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        node_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('ship', 'pickup')),
        status TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
        carrier TEXT,
        tracking_number TEXT,
        weight_lb DOUBLE,
        reject_reason TEXT
    )
    """,
    "CREATE INDEX work_items_by_node ON work_items (node_id)",
    "CREATE INDEX work_items_by_order ON work_items (order_id)",
    """
    CREATE TABLE work_item_lines (
        work_item_id TEXT NOT NULL,
        order_id TEXT NOT NULL,
        line_no BIGINT NOT NULL,
        sku TEXT NOT NULL,
        qty BIGINT NOT NULL CHECK (qty >= 1),
        PRIMARY KEY (work_item_id, line_no)
    )
    """,
    f"""
    CREATE TABLE invoices (
        invoice_id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        work_item_id TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
        subtotal {MONEY} NOT NULL,
        discount {MONEY} NOT NULL,
        shipping {MONEY} NOT NULL,
        tax {MONEY} NOT NULL,
        total {MONEY} NOT NULL
    )
    """,
    "CREATE INDEX invoices_by_order ON invoices (order_id)",
    f"""
    CREATE TABLE invoice_lines (
        invoice_id TEXT NOT NULL,
        order_id TEXT NOT NULL,
        line_no BIGINT NOT NULL,
        sku TEXT NOT NULL,
        qty BIGINT NOT NULL CHECK (qty >= 1),
        unit_price {MONEY} NOT NULL,
        discount {MONEY} NOT NULL,
        net {MONEY} NOT NULL,
        tax {MONEY} NOT NULL,
        PRIMARY KEY (invoice_id, line_no)
    )
    """,
    f"""
    CREATE TABLE returns (
        return_id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('authorized', 'received')),
        channel TEXT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
        received_at TIMESTAMPTZ,
        node_id TEXT,
        refund {MONEY}
    )
    """,
    f"""
    CREATE TABLE return_lines (
        return_id TEXT NOT NULL,
        line_no BIGINT NOT NULL,
        sku TEXT NOT NULL,
        qty BIGINT NOT NULL CHECK (qty >= 1),
        condition TEXT CHECK (condition IS NULL OR condition IN ('sellable', 'damaged')),
        refund {MONEY},
        PRIMARY KEY (return_id, line_no)
    )
    """,
    """
    CREATE TABLE damaged_stock (
        node_id TEXT NOT NULL,
        sku TEXT NOT NULL,
        qty BIGINT NOT NULL CHECK (qty >= 0),
        PRIMARY KEY (node_id, sku)
    )
    """,
    "CREATE SEQUENCE inventory_ledger_id START 1",
    """
    CREATE TABLE inventory_ledger (
        entry_id BIGINT PRIMARY KEY DEFAULT nextval('inventory_ledger_id'),
        occurred_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
        node_id TEXT NOT NULL,
        sku TEXT NOT NULL,
        kind TEXT NOT NULL,
        on_hand_delta BIGINT NOT NULL DEFAULT 0,
        reserved_delta BIGINT NOT NULL DEFAULT 0,
        in_transit_delta BIGINT NOT NULL DEFAULT 0,
        reference TEXT,
        actor TEXT
    )
    """,
    """
    CREATE TABLE transfers (
        transfer_id TEXT PRIMARY KEY,
        sku TEXT NOT NULL,
        from_node TEXT NOT NULL,
        to_node TEXT NOT NULL,
        qty BIGINT NOT NULL CHECK (qty >= 1),
        status TEXT NOT NULL CHECK (status IN ('in_transit', 'received')),
        created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
        received_at TIMESTAMPTZ
    )
    """,
    """
    CREATE TABLE sourcing_runs (
        run_id TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('running', 'applied', 'failed')),
        started_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
        finished_at TIMESTAMPTZ,
        strategy TEXT NOT NULL,
        time_limit DOUBLE,
        weights JSON NOT NULL,
        plan_id TEXT,
        orders_planned BIGINT,
        kpis JSON,
        error TEXT,
        actor TEXT
    )
    """,
)
