"""Tables of exchanges (schema migrations 7 and 9): a return line turned into a replacement.

An exchange links a return of the original order to a new order for the replacement
units; ``exchange_lines`` counts what each returned line has been exchanged for, so no
line is exchanged for more than was returned. ``exchange_settlements`` (migration 9)
holds the one document that settles an exchange's price difference: the returned units
are not refunded and the replacement is not invoiced, so the customer is charged or
refunded the difference (plus its tax) and nothing else.
"""

EXCHANGES_DESCRIPTION = "exchanges: return lines replaced by a linked order"

EXCHANGES_STATEMENTS: tuple[str, ...] = (
    """
    CREATE TABLE exchanges (
        exchange_id TEXT PRIMARY KEY,
        return_id TEXT NOT NULL,
        order_id TEXT NOT NULL,
        new_order_id TEXT NOT NULL,
        reserve TEXT NOT NULL CHECK (reserve IN ('advance', 'on_receipt')),
        price_difference DECIMAL(14, 2) NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
    )
    """,
    "CREATE INDEX exchanges_by_return ON exchanges (return_id)",
    """
    CREATE TABLE exchange_lines (
        exchange_id TEXT NOT NULL,
        return_id TEXT NOT NULL,
        line_no BIGINT NOT NULL,
        replacement_sku TEXT NOT NULL,
        qty BIGINT NOT NULL CHECK (qty >= 1),
        PRIMARY KEY (exchange_id, line_no)
    )
    """,
)

SETTLEMENTS_DESCRIPTION = "exchange settlements: one net document per exchange"

SETTLEMENTS_STATEMENTS: tuple[str, ...] = (
    """
    CREATE TABLE exchange_settlements (
        settlement_id TEXT PRIMARY KEY,
        exchange_id TEXT NOT NULL UNIQUE,
        order_id TEXT NOT NULL,
        new_order_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('invoice', 'refund')),
        difference DECIMAL(14, 2) NOT NULL,
        tax DECIMAL(14, 2) NOT NULL,
        amount DECIMAL(14, 2) NOT NULL CHECK (amount > 0),
        created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
    )
    """,
)
