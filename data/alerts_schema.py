"""Tables of the stock alerts (schema migration 6): reorder points and alerts.

``stock_alerts`` is the history (one row per alert, raised then cleared);
``open_alerts`` holds at most one open alert per (kind, node, SKU), its primary
key being what makes two concurrent writers unable to raise the same alert twice
(the second conflicts and retries, then sees the first). A network alert has
node_id ''.
"""

ALERTS_DESCRIPTION = "stock alerts: reorder points, open alerts, alert history"

ALERTS_STATEMENTS: tuple[str, ...] = (
    """
    CREATE TABLE reorder_points (
        node_id TEXT NOT NULL,
        sku TEXT NOT NULL,
        reorder_point BIGINT NOT NULL CHECK (reorder_point >= 0),
        PRIMARY KEY (node_id, sku)
    )
    """,
    "CREATE SEQUENCE stock_alert_id START 1",
    """
    CREATE TABLE stock_alerts (
        alert_id BIGINT PRIMARY KEY DEFAULT nextval('stock_alert_id'),
        kind TEXT NOT NULL CHECK (kind IN ('below_reorder_point', 'network_short')),
        node_id TEXT NOT NULL,
        sku TEXT NOT NULL,
        raised_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
        cleared_at TIMESTAMPTZ,
        available BIGINT NOT NULL,
        threshold BIGINT NOT NULL
    )
    """,
    "CREATE INDEX stock_alerts_by_node_sku ON stock_alerts (node_id, sku)",
    """
    CREATE TABLE open_alerts (
        kind TEXT NOT NULL,
        node_id TEXT NOT NULL,
        sku TEXT NOT NULL,
        alert_id BIGINT NOT NULL,
        PRIMARY KEY (kind, node_id, sku)
    )
    """,
)
