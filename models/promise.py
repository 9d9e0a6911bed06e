"""Requests and responses of delivery promises and availability (the API's schemas).

Format rules live here (lengths, bounds, patterns) so pydantic names a bad
field before any lookup runs; rules that need the network (the SKU exists,
the ZIP is a real one) are checked by the promise index, naming the field
the same way. The date rules are promise/README.md.
"""

from datetime import date, datetime

from pydantic import BaseModel, Field

from models.api import STRICT, Id, Zip

MAX_CART_LINES = 100
MAX_LINE_QTY = 10_000
MAX_LISTING_SKUS = 500
MAX_RADIUS_MILES = 250.0
MAX_AVAILABILITY_RADIUS_MILES = 3000.0


class PromiseLineIn(BaseModel):
    model_config = STRICT

    sku: Id
    qty: int = Field(ge=1, le=MAX_LINE_QTY, description="Units; at most 10,000 per line.")


class PickupIn(BaseModel):
    model_config = STRICT

    zip: Zip = Field(description="Where the shopper is; stores nearest to it come first.")
    radius_miles: float = Field(default=25.0, gt=0, le=MAX_RADIUS_MILES)


class PromiseRequest(BaseModel):
    """A cart and where it goes: a ship-to ZIP, a pickup location, or both."""

    model_config = STRICT

    lines: list[PromiseLineIn] = Field(min_length=1, max_length=MAX_CART_LINES)
    ship_zip: Zip | None = None
    pickup: PickupIn | None = None
    hold: bool = Field(default=True, description="Hold the promised units while it lives.")
    ttl_seconds: int = Field(default=900, ge=30, le=3600, description="How long it lives.")


class PackageLineView(BaseModel):
    sku: str
    qty: int


class PackageView(BaseModel):
    node_id: str
    node_kind: str
    lines: list[PackageLineView]
    units: int
    weight_lb: float
    zone: int
    ship_date: date
    delivery_date: date
    shipping: float
    handling: float


class OptionView(BaseModel):
    """The earliest date of one service, and the cheapest way found to make it."""

    service: str
    delivery_date: date
    order_by: datetime = Field(description="Order before this instant to get this date.")
    order_within_seconds: int
    packages: list[PackageView]
    package_count: int
    shipping: float
    handling: float
    splits: int
    cost: float = Field(description="The planner's weighted cost of these packages.")


class UnavailableView(BaseModel):
    service: str
    reason: str


class PickupOptionView(BaseModel):
    node_id: str
    miles: float
    ready_date: date
    order_by: datetime


class PromiseView(BaseModel):
    promise_id: str
    created_at: datetime
    expires_at: datetime
    held: bool
    ship_zip: str | None
    options: list[OptionView]
    unavailable: list[UnavailableView]
    pickup: list[PickupOptionView]
    digital: list[PackageLineView] = Field(
        default=[],
        description="Digital lines: delivered at capture, in no package and no option; "
        "the options cover the other lines.",
    )


class NodeStockView(BaseModel):
    node_id: str
    kind: str
    miles: float | None
    available: int


class AvailabilityView(BaseModel):
    sku: str
    network_available: int
    zip: str | None
    radius_miles: float | None
    nodes: list[NodeStockView]


class ListingRequest(BaseModel):
    model_config = STRICT

    zip: Zip
    skus: list[Id] = Field(min_length=1, max_length=MAX_LISTING_SKUS)


class ListingItemView(BaseModel):
    sku: str
    deliverable: bool
    ground: date | None
    next_day: date | None


class ListingView(BaseModel):
    zip: str
    items: list[ListingItemView]
