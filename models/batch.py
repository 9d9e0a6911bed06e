"""A sourcing batch held as typed tables.

Row models validate one record; a batch can hold a million orders, so it is
kept column-wise (pandas) in the canonical column order and dtypes below. Only
``data.batch_io`` builds one from files, after validating every table.
"""

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import pandas as pd
from pydantic import BaseModel

from models.weights import Weights

# Canonical columns per table, in file order. The row models carry the rules.
COLUMNS: dict[str, tuple[str, ...]] = {
    "nodes": (
        "node_id",
        "kind",
        "zip",
        "ship_enabled",
        "pickup_enabled",
        "capacity_units",
        "pick_cost",
        "pack_cost",
        "processing_days",
    ),
    "items": ("sku", "weight_lb", "price"),
    "inventory": ("node_id", "sku", "on_hand", "reserved", "safety_stock"),
    "orders": (
        "order_id",
        "channel",
        "ship_zip",
        "service",
        "due_days",
        "ship_complete",
        "max_packages",
        "pickup_node_id",
    ),
    "order_lines": ("order_id", "line_no", "sku", "qty"),
    "rate_card": ("service", "zone", "base", "per_lb", "transit_days"),
}
TABLES: tuple[str, ...] = tuple(COLUMNS)
# Columns a table may leave out (older batches do): defaults come from the row model.
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "nodes": ("cutoff_hour", "closed_weekdays", "holiday_calendar", "closed_dates", "open_dates"),
    "items": ("digital",),
}
# Optional columns a file carries only when some row says something (old batches stay
# byte-identical); the others are always written.
SPARSE_COLUMNS: frozenset[str] = frozenset({"digital"})


def all_columns(table: str) -> tuple[str, ...]:
    """Canonical columns then optional ones: what files and the store hold."""
    return COLUMNS[table] + OPTIONAL_COLUMNS.get(table, ())


@dataclass(frozen=True)
class Batch:
    """Everything the planner reads. Tables are validated and never mutated."""

    batch_date: date
    nodes: pd.DataFrame
    items: pd.DataFrame
    inventory: pd.DataFrame
    orders: pd.DataFrame
    order_lines: pd.DataFrame
    rate_card: pd.DataFrame
    weights: Weights = field(default_factory=Weights)
    rate_card_file: str = "rate_card.csv"

    def __post_init__(self) -> None:
        # A batch built in code (or from an older file) gets the optional columns' defaults.
        from models.network import Item, Node

        row_models: dict[str, type[BaseModel]] = {"nodes": Node, "items": Item}
        for table, columns in OPTIONAL_COLUMNS.items():
            df = getattr(self, table)
            absent = [c for c in columns if c not in df.columns]
            if absent:
                fields = row_models[table].model_fields
                filled = df.assign(**{c: fields[c].default for c in absent})
                object.__setattr__(self, table, filled)

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    @cached_property
    def digital_skus(self) -> frozenset[str]:
        """SKUs delivered electronically: never allocated, never unfilled, never costed."""
        items = self.items
        if "digital" not in items.columns:
            return frozenset()
        return frozenset(items.loc[items["digital"].to_numpy(bool), "sku"])

    @cached_property
    def physical_lines(self) -> pd.DataFrame:
        """The order lines a plan must account for: every line but digital ones."""
        digital = self.digital_skus
        if not digital:
            return self.order_lines
        lines = self.order_lines
        return lines[~lines["sku"].isin(digital).to_numpy()].reset_index(drop=True)

    def with_weights(self, weights: Weights) -> "Batch":
        """Same batch, other weights: how merchandisers try a what-if."""
        return Batch(
            batch_date=self.batch_date,
            nodes=self.nodes,
            items=self.items,
            inventory=self.inventory,
            orders=self.orders,
            order_lines=self.order_lines,
            rate_card=self.rate_card,
            weights=weights,
            rate_card_file=self.rate_card_file,
        )
