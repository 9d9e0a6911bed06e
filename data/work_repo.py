"""SQL of what happens at the nodes and after: work items, invoices, returns."""

from decimal import Decimal
from typing import Any, cast

from data.repo_base import CursorRepo, now, where
from models.orders import WorkItemRecord


class WorkRepo(CursorRepo):
    """Work items and their lines, invoices, returns."""

    # -- work items ------------------------------------------------------------------

    def work_item(self, work_item_id: str) -> WorkItemRecord | None:
        row = self.one("SELECT * FROM work_items WHERE work_item_id = ?", [work_item_id])
        return cast(WorkItemRecord | None, row)

    def work_item_lines(self, work_item_id: str) -> list[dict[str, Any]]:
        return self.dicts(
            "SELECT line_no, sku, qty FROM work_item_lines WHERE work_item_id = ? ORDER BY line_no",
            [work_item_id],
        )

    def fulfilled_at(self, order_id: str, node_id: str) -> bool:
        """Whether ``node_id`` handed units of the order to a carrier or the customer."""
        return bool(
            self.scalar(
                "SELECT count(*) FROM work_items WHERE order_id = ? AND node_id = ? "
                "AND status IN ('shipped', 'delivered', 'picked_up')",
                [order_id, node_id],
            )
        )

    def work_statuses(self, order_id: str) -> list[str]:
        return [
            r[0] for r in self.rows("SELECT status FROM work_items WHERE order_id = ?", [order_id])
        ]

    def insert_work_item(
        self, work_item_id: str, order_id: str, node_id: str, kind: str, lines: list[tuple]
    ) -> None:
        self.exec(
            "INSERT INTO work_items (work_item_id, order_id, node_id, kind, status) "
            "VALUES (?, ?, ?, ?, 'released')",
            [work_item_id, order_id, node_id, kind],
        )
        for line_no, sku, qty in lines:
            self.exec(
                "INSERT INTO work_item_lines VALUES (?, ?, ?, ?, ?)",
                [work_item_id, order_id, line_no, sku, qty],
            )

    def update_work_item(self, work_item_id: str, **columns: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in columns)
        self.exec(
            f"UPDATE work_items SET {sets}, updated_at = ? WHERE work_item_id = ?",
            [*columns.values(), now(), work_item_id],
        )

    def work_page(
        self, node_id: str | None, status: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[str]:
        cond, params = where(
            [("node_id = ?", node_id), ("status = ?", status)],
            after,
            "(created_at, work_item_id) > (CAST(? AS TIMESTAMPTZ), ?)",
        )
        rows = self.rows(
            f"SELECT work_item_id FROM work_items WHERE {cond} "
            f"ORDER BY created_at, work_item_id LIMIT {int(limit)}",
            params,
        )
        return [r[0] for r in rows]

    def invoice_for_work_item(self, work_item_id: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM invoices WHERE work_item_id = ?", [work_item_id])

    def invoice_lines(self, invoice_id: str) -> list[dict[str, Any]]:
        return self.dicts(
            "SELECT line_no, sku, qty, unit_price, discount, net, tax FROM invoice_lines "
            "WHERE invoice_id = ? ORDER BY line_no",
            [invoice_id],
        )

    def invoiced(self, order_id: str) -> dict[int, tuple[int, Decimal, Decimal]]:
        """Per line: units, net and tax invoiced so far."""
        rows = self.rows(
            "SELECT line_no, sum(qty), sum(net), sum(tax) FROM invoice_lines "
            "WHERE order_id = ? GROUP BY line_no",
            [order_id],
        )
        return {int(r[0]): (int(r[1]), Decimal(r[2]), Decimal(r[3])) for r in rows}

    def insert_invoice(self, inv: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        self.exec(
            "INSERT INTO invoices (invoice_id, order_id, work_item_id, subtotal, discount, "
            "shipping, tax, total) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                inv["invoice_id"],
                inv["order_id"],
                inv["work_item_id"],
                inv["subtotal"],
                inv["discount"],
                inv["shipping"],
                inv["tax"],
                inv["total"],
            ],
        )
        for ln in lines:
            self.exec(
                "INSERT INTO invoice_lines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    inv["invoice_id"],
                    inv["order_id"],
                    ln["line_no"],
                    ln["sku"],
                    ln["qty"],
                    ln["unit_price"],
                    ln["discount"],
                    ln["net"],
                    ln["tax"],
                ],
            )

    def has_shipment_invoice(self, order_id: str) -> bool:
        """Has a work item of the order been invoiced (and so charged the shipping)?
        A digital delivery's invoice does not count: nothing was shipped."""
        return bool(
            self.scalar(
                "SELECT count(*) FROM invoices WHERE order_id = ? AND work_item_id IN "
                "(SELECT work_item_id FROM work_items WHERE order_id = ?)",
                [order_id, order_id],
            )
        )

    def set_work_line_qty(self, work_item_id: str, line_no: int, qty: int) -> None:
        """A work item line's quantity; 0 drops the line."""
        if qty:
            self.exec(
                "UPDATE work_item_lines SET qty = ? WHERE work_item_id = ? AND line_no = ?",
                [qty, work_item_id, line_no],
            )
        else:
            self.exec(
                "DELETE FROM work_item_lines WHERE work_item_id = ? AND line_no = ?",
                [work_item_id, line_no],
            )

    # -- returns ---------------------------------------------------------------------

    def return_row(self, return_id: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM returns WHERE return_id = ?", [return_id])

    def return_lines(self, return_id: str) -> list[dict[str, Any]]:
        return self.dicts(
            "SELECT line_no, sku, qty, condition, refund FROM return_lines "
            "WHERE return_id = ? ORDER BY line_no",
            [return_id],
        )

    def authorized_qty(self, order_id: str) -> dict[int, int]:
        """Units per line in returns authorised but not yet received."""
        rows = self.rows(
            "SELECT l.line_no, sum(l.qty) FROM return_lines l JOIN returns r USING (return_id) "
            "WHERE r.order_id = ? AND r.status = 'authorized' GROUP BY l.line_no",
            [order_id],
        )
        return {int(a): int(b) for a, b in rows}

    def add_return(
        self, return_id: str, order_id: str, channel: str | None, lines: list[tuple[int, str, int]]
    ) -> None:
        """An authorised return and its (line_no, sku, qty) lines."""
        self.exec(
            "INSERT INTO returns (return_id, order_id, status, channel) "
            "VALUES (?, ?, 'authorized', ?)",
            [return_id, order_id, channel],
        )
        for line_no, sku, qty in lines:
            self.exec(
                "INSERT INTO return_lines (return_id, line_no, sku, qty) VALUES (?, ?, ?, ?)",
                [return_id, line_no, sku, qty],
            )

    def grade_return_line(
        self, return_id: str, line_no: int, condition: str, refund: Decimal
    ) -> None:
        self.exec(
            "UPDATE return_lines SET condition = ?, refund = ? WHERE return_id = ? AND line_no = ?",
            [condition, refund, return_id, line_no],
        )

    def mark_return_received(
        self, return_id: str, node_id: str | None, refund: Decimal, channel: str
    ) -> None:
        self.exec(
            "UPDATE returns SET status = 'received', received_at = ?, node_id = ?, refund = ?, "
            "channel = ? WHERE return_id = ?",
            [now(), node_id, refund, channel, return_id],
        )
