"""Stock alerts over the API: reorder points in, alerts out."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from models.api import STRICT, Int


class ReorderPointIn(BaseModel):
    """Below this many available units at the node, the SKU is alerted."""

    model_config = STRICT

    reorder_point: Annotated[Int, Field(ge=0, le=100_000_000)]


class ReorderPointView(BaseModel):
    node_id: str
    sku: str
    reorder_point: int


class AlertView(BaseModel):
    """One alert: ``below_reorder_point`` at a node, or ``network_short`` (node_id empty:
    the whole network's available units cannot cover the SKU's unheld open demand)."""

    alert_id: int
    kind: str
    node_id: str
    sku: str
    raised_at: datetime
    cleared_at: datetime | None
    available: int
    threshold: int  # the reorder point, or the open demand not covered
