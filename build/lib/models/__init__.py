"""Pure domain models for the sourcing contract (``shared/spec/sourcing-problem.md``).

This package imports nothing else of ours: it is the vocabulary every other
layer speaks. Row models validate single records (API payloads, one file row);
whole tables are validated column-wise in ``data.batch_io`` from the same
field definitions, so the rules live in one place.
"""

from models.batch import COLUMNS, TABLES, Batch
from models.enums import SHIPPING_SERVICES, Channel, NodeKind, Service
from models.network import InventoryPosition, Item, Node, RateCardRow
from models.orders import Order, OrderLine
from models.plan import Allocation, CostBreakdown, PlanSummary, Unfilled
from models.weights import Weights

__all__ = [
    "Batch",
    "COLUMNS",
    "TABLES",
    "Allocation",
    "Channel",
    "CostBreakdown",
    "InventoryPosition",
    "Item",
    "Node",
    "NodeKind",
    "Order",
    "OrderLine",
    "PlanSummary",
    "RateCardRow",
    "SHIPPING_SERVICES",
    "Service",
    "Unfilled",
    "Weights",
]
