"""Exchanges' SQL: what each returned line was exchanged for, and the linked orders."""

from decimal import Decimal
from typing import Any

from data.repo_base import CursorRepo


class ExchangeRepo(CursorRepo):
    """Exchanges; mixed into the lifecycle repository."""

    def exchanged_qty(self, return_id: str) -> dict[int, int]:
        """Units of each returned line already exchanged."""
        rows = self.rows(
            "SELECT line_no, sum(qty) FROM exchange_lines WHERE return_id = ? GROUP BY line_no",
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
        return self.dicts(
            "SELECT * FROM exchanges WHERE return_id = ? ORDER BY created_at, exchange_id",
            [return_id],
        )
