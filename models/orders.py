"""Customer orders as the planner sees them."""

from datetime import datetime
from decimal import Decimal
from typing import Self, TypedDict

from pydantic import BaseModel, model_validator

from models.enums import Service
from models.network import ROW_CONFIG
from models.scalars import Identifier, NonNegInt, PositiveInt, Zip5


class Order(BaseModel):
    """One order header. Pickup orders name their store and have no ship ZIP."""

    model_config = ROW_CONFIG

    order_id: Identifier
    channel: Identifier
    ship_zip: Zip5 | None = None
    service: Service
    due_days: NonNegInt
    ship_complete: bool = False
    max_packages: PositiveInt | None = None
    pickup_node_id: Identifier | None = None

    @model_validator(mode="after")
    def _pickup_rules(self) -> Self:
        if self.service is Service.PICKUP:
            if not self.pickup_node_id:
                raise ValueError("pickup_node_id is required when service is pickup")
        else:
            if self.pickup_node_id:
                raise ValueError("pickup_node_id is only allowed when service is pickup")
            if not self.ship_zip:
                raise ValueError("ship_zip is required for shipping services")
        return self


class OrderLine(BaseModel):
    model_config = ROW_CONFIG

    order_id: Identifier
    line_no: NonNegInt
    sku: Identifier
    qty: PositiveInt


class OrderRecord(TypedDict, total=False):
    """An order as the order service stores it: header, contact and lifecycle columns.

    A typed dict, not a model: the repository hands these to the services many times
    per request and they are read, not validated; mypy checks every key and type.
    """

    order_id: str
    channel: str
    ship_zip: str | None
    service: str
    due_days: int
    ship_complete: bool
    max_packages: int | None
    pickup_node_id: str | None
    status: str
    created_at: datetime
    customer_email: str | None
    customer_name: str | None
    phone: str | None
    ship_name: str | None
    ship_line1: str | None
    ship_city: str | None
    ship_state: str | None
    promo_code: str | None
    hold_from: str | None
    version: int
    updated_at: datetime
    adopted: bool


class LineState(TypedDict):
    """An order line's units through its life (``line_state``), as the services read it."""

    order_id: str
    line_no: int
    sku: str
    unit_price: Decimal
    ordered_qty: int
    cancelled_qty: int
    released_qty: int
    shipped_qty: int
    returned_qty: int


class WorkItemRecord(TypedDict):
    """A node's unit of work (``work_items``): pick, pack, ship or hand over."""

    work_item_id: str
    order_id: str
    node_id: str
    kind: str
    status: str
    created_at: datetime
    updated_at: datetime
    carrier: str | None
    tracking_number: str | None
    weight_lb: float | None
    reject_reason: str | None
