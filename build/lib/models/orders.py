"""Customer orders as the planner sees them."""

from typing import Self

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
