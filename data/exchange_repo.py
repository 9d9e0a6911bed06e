"""Exchanges' SQL: what each returned line was exchanged for, the linked orders, and
the one document that settles each exchange's price difference."""

from decimal import Decimal
from typing import Any

from data.repo_base import CursorRepo


class ExchangeRepo(CursorRepo):
    """Exchanges; mixed into the lifecycle repository."""

    def exchanged_qty(self, return_id: str) -> dict[int, int]:
        """Units of each returned line exchanged (a cancelled replacement voids its
        exchange: those units are refunded, and may be exchanged again)."""
        rows = self.rows(
            "SELECT l.line_no, sum(l.qty) FROM exchange_lines l "
            "JOIN exchanges e USING (exchange_id) JOIN orders o ON o.order_id = e.new_order_id "
            "WHERE l.return_id = ? AND o.status <> 'cancelled' GROUP BY l.line_no",
            [return_id],
        )
        return {int(n): int(q) for n, q in rows}

    def add_exchange(
        self,
        exchange_id: str,
        return_id: str,
        order_id: str,
        new_order_id: str,
        reserve: str,
        price_difference: Decimal,
        lines: list[tuple[int, str, int]],
    ) -> None:
        self.exec(
            "INSERT INTO exchanges (exchange_id, return_id, order_id, new_order_id, reserve, "
            "price_difference) VALUES (?, ?, ?, ?, ?, ?)",
            [exchange_id, return_id, order_id, new_order_id, reserve, price_difference],
        )
        for line_no, sku, qty in lines:
            self.exec(
                "INSERT INTO exchange_lines VALUES (?, ?, ?, ?, ?)",
                [exchange_id, return_id, line_no, sku, qty],
            )

    def exchanges_of_return(self, return_id: str) -> list[dict[str, Any]]:
        """The return's exchanges whose replacement was not cancelled, oldest first."""
        return self.dicts(
            "SELECT e.* FROM exchanges e JOIN orders o ON o.order_id = e.new_order_id "
            "WHERE e.return_id = ? AND o.status <> 'cancelled' "
            "ORDER BY e.created_at, e.exchange_id",
            [return_id],
        )

    def exchange_replacing(self, new_order_id: str) -> dict[str, Any] | None:
        """The exchange whose replacement this order is (it is settled, not invoiced)."""
        return self.one("SELECT * FROM exchanges WHERE new_order_id = ?", [new_order_id])

    def replacement_lines(self, exchange_id: str) -> list[tuple[int, int, Decimal, Decimal]]:
        """Per replacement line, in order (they follow the returned lines' order): the
        returned line_no, the units, the returned unit price and the replacement's."""
        rows = self.rows(
            """SELECT l.line_no, l.qty, o.unit_price, n.unit_price
               FROM (SELECT *, row_number() OVER (ORDER BY line_no) AS new_no
                     FROM exchange_lines WHERE exchange_id = ?) l
               JOIN exchanges e USING (exchange_id)
               JOIN line_state o ON o.order_id = e.order_id AND o.line_no = l.line_no
               JOIN line_state n ON n.order_id = e.new_order_id AND n.line_no = l.new_no
               ORDER BY l.new_no""",
            [exchange_id],
        )
        return [(int(a), int(b), Decimal(c), Decimal(d)) for a, b, c, d in rows]

    def add_settlement(self, row: dict[str, Any]) -> None:
        self.exec(
            "INSERT INTO exchange_settlements (settlement_id, exchange_id, order_id, "
            "new_order_id, kind, difference, tax, amount) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [row[k] for k in ("settlement_id", "exchange_id", "order_id", "new_order_id",
                              "kind", "difference", "tax", "amount")],
        )  # fmt: skip
