"""The fulfilment network: nodes, items, stock positions and the carrier rate card."""

from pydantic import BaseModel, ConfigDict, Field

from models.enums import NodeKind, Service
from models.scalars import (
    DateList,
    HolidayCode,
    Identifier,
    NonNegFloat,
    NonNegInt,
    Weekdays,
    Zip5,
)

ROW_CONFIG = ConfigDict(frozen=True, extra="ignore")


class Node(BaseModel):
    """A DC, store or drop-ship vendor that can ship parcels (and, unless a vendor,
    hand over pickups)."""

    model_config = ROW_CONFIG

    node_id: Identifier
    kind: NodeKind
    zip: Zip5
    ship_enabled: bool
    pickup_enabled: bool
    capacity_units: NonNegInt
    pick_cost: NonNegFloat
    pack_cost: NonNegFloat
    processing_days: NonNegInt
    # Calendar (optional; promise/README.md): local cut-off hour, closed weekdays,
    # holiday calendar of the ``holidays`` package, and per-node date overrides.
    cutoff_hour: int = Field(default=14, ge=0, le=24)
    closed_weekdays: Weekdays = "sat,sun"
    holiday_calendar: HolidayCode = "US"
    closed_dates: DateList = ""
    open_dates: DateList = ""


class Item(BaseModel):
    """A SKU. A digital one is delivered electronically: no node, no stock, and it may
    weigh 0 (the batch reader insists on a weight > 0 for physical items)."""

    model_config = ROW_CONFIG

    sku: Identifier
    weight_lb: NonNegFloat
    price: NonNegFloat
    digital: bool = False


class InventoryPosition(BaseModel):
    """Stock of one SKU at one node; only ``available`` may be promised."""

    model_config = ROW_CONFIG

    node_id: Identifier
    sku: Identifier
    on_hand: NonNegInt
    reserved: NonNegInt = 0
    safety_stock: NonNegInt = 0

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.reserved - self.safety_stock)


class RateCardRow(BaseModel):
    model_config = ROW_CONFIG

    service: Service
    zone: int = Field(ge=2, le=8)
    base: NonNegFloat
    per_lb: NonNegFloat
    transit_days: NonNegInt
