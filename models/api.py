"""Commands the services accept and views they return (also the API's JSON schemas).

Format rules live here (types, lengths, patterns, e-mail and phone syntax), so
pydantic rejects malformed input before any service runs. Rules that need the
database (SKU exists, ZIP matches the state, promotion applies) are checked
by the services, which name each bad field the same way.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    Strict,
    StringConstraints,
)

from models.commerce import PromotionKind
from models.enums import Channel, Service
from models.weights import Weights

T = TypeVar("T")

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
# Printable text only: control characters (NUL above all) have no place in a name.
Text = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=200, strip_whitespace=True, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
Zip = Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
State = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
PromoCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{2,32}$")]


# Strict types at the API: JSON true is not 1 unit, "5" is not 5, 2.0 is not 2,
# and 0 is not 1970-01-01. Lax coercion suits files and the CLI, not requests.
Int = Annotated[int, Strict()]  # a JSON integer: not a bool, a string or a float
Qty = Annotated[Int, Field(ge=1, le=100_000)]
Flag = Annotated[bool, Strict()]


def _iso_date(value: Any) -> Any:
    if isinstance(value, date) or (
        isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-"
    ):
        return value
    raise ValueError("an ISO date, YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _phone_digits(value: str) -> str:
    digits = sum(c.isdigit() for c in value)
    if not 7 <= digits <= 15:
        raise ValueError("a phone number has 7 to 15 digits")
    return value


Phone = Annotated[
    str,
    StringConstraints(pattern=r"^\+?[0-9][0-9 ().-]{5,24}$"),
    AfterValidator(_phone_digits),
]

STRICT = ConfigDict(extra="forbid")


class Role(StrEnum):
    CHANNEL = "channel"
    CUSTOMER_SERVICE = "customer_service"
    SCHEDULER = "scheduler"
    MERCHANDISER = "merchandiser"
    ANALYST = "analyst"
    NODE = "node"
    ADMIN = "admin"


class Actor(BaseModel):
    """Who acts: the API key's label, role and (for node associates) node.

    ``key_id`` identifies the API key itself (its hash): labels repeat (keys
    seeded from ``DOM_API_KEYS`` are labelled by role), so whatever belongs to
    one caller, such as its Idempotency-Keys, is scoped by the key, not the label.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    role: Role
    node_id: str | None = None
    channel: str | None = None
    key_id: str | None = None

    @property
    def scope(self) -> str:
        """Whose Idempotency-Keys these are: the API key; in-process callers by name."""
        return f"key:{self.key_id}" if self.key_id else self.name


# -- orders ---------------------------------------------------------------------------


class Customer(BaseModel):
    model_config = STRICT

    email: EmailStr
    name: Text | None = None
    phone: Phone | None = None


class Address(BaseModel):
    model_config = STRICT

    name: Text | None = None
    line1: Text
    city: Text
    state: State
    zip: Zip


class LineIn(BaseModel):
    model_config = STRICT

    sku: Id
    qty: Qty


class PromiseQuote(BaseModel):
    """An order quoting a delivery promise (``POST /promise``): its id, the service
    chosen, and what to do if it has expired: promise afresh, or refuse the order."""

    model_config = STRICT

    promise_id: Id
    fallback: Literal["refuse", "repromise"] = "refuse"


class CaptureOrder(BaseModel):
    """A new order from any channel. Pickup orders name a store and need no address."""

    model_config = STRICT

    order_id: Id | None = Field(default=None, description="Default: generated.")
    channel: Channel
    customer: Customer
    ship_to: Address | None = None
    service: Service
    due_days: Annotated[Int, Field(ge=0, le=365)] | None = Field(
        default=None, description="Default by service: ground 5, two_day 2, next_day 1, pickup 1."
    )
    ship_complete: Flag = False
    max_packages: Annotated[Int, Field(ge=1, le=100)] | None = None
    pickup_node_id: Id | None = None
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    promo_code: PromoCode | None = None
    allow_backorder: Flag = Field(
        default=True, description="False: refuse (409) instead of backordering short stock."
    )
    promise: PromiseQuote | None = Field(
        default=None,
        description="A live promise for this cart, address and service: its held units "
        "become the reservation and its date the due date.",
    )


class LineQty(BaseModel):
    model_config = STRICT

    line_no: Annotated[Int, Field(ge=0, le=1_000_000)]
    qty: Annotated[Int, Field(ge=0, le=100_000)]


class ChangeOrder(BaseModel):
    """Customer-service changes to an open order; each part optional."""

    model_config = STRICT

    lines: list[LineQty] | None = Field(
        default=None, max_length=200, description="New quantity per line; 0 removes the line."
    )
    add_lines: list[LineIn] | None = Field(default=None, max_length=200)
    ship_to: Address | None = None
    service: Service | None = None
    due_days: Annotated[Int, Field(ge=0, le=365)] | None = None
    reason: Text | None = None


class CancelOrder(BaseModel):
    model_config = STRICT

    lines: list[LineQty] | None = Field(
        default=None, max_length=200, description="Units to cancel per line; omit for all."
    )
    reason: Text | None = None


class HoldOrder(BaseModel):
    model_config = STRICT

    reason: Text | None = None


class Placement(BaseModel):
    node_id: str
    qty: int
    released: bool


class LineView(BaseModel):
    line_no: int
    sku: str
    unit_price: Decimal
    ordered_qty: int
    cancelled_qty: int
    open_qty: int
    released_qty: int
    shipped_qty: int
    returned_qty: int
    reservations: list[Placement]


class Totals(BaseModel):
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal


class CustomerView(BaseModel):
    email: str | None = None
    name: str | None = None
    phone: str | None = None


class AddressView(BaseModel):
    name: str | None = None
    line1: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None


class OrderView(BaseModel):
    order_id: str
    status: str
    channel: str
    service: str
    due_days: int
    ship_complete: bool
    max_packages: int | None
    pickup_node_id: str | None
    customer: CustomerView
    ship_to: AddressView | None
    promo_code: str | None
    lines: list[LineView]
    totals: Totals
    version: int
    created_at: datetime
    updated_at: datetime


class EventView(BaseModel):
    event_id: int
    at: datetime
    actor: str
    channel: str | None
    event_type: str
    from_status: str | None
    to_status: str | None
    details: dict[str, Any] | None


class Page(BaseModel, Generic[T]):
    """One page of a list; follow ``next_cursor`` (or ``links.next``) for more."""

    items: list[T]
    next_cursor: str | None = None
    links: dict[str, str] = Field(default_factory=dict)


class OrderQuery(BaseModel):
    email: str | None = None
    status: str | None = None
    channel: str | None = None
    created_from: date | None = None
    created_to: date | None = None


# -- inventory ------------------------------------------------------------------------


class StockView(BaseModel):
    node_id: str
    sku: str
    on_hand: int
    reserved: int
    safety_stock: int
    in_transit: int
    available: int
    damaged: int


class Receipt(BaseModel):
    model_config = STRICT

    node_id: Id
    sku: Id
    qty: Qty
    reference: Text | None = None


class Adjustment(BaseModel):
    """Count correction (``delta`` units, or set ``on_hand``) and/or a new safety stock."""

    model_config = STRICT

    node_id: Id
    sku: Id
    delta: Annotated[Int, Field(ge=-1_000_000, le=1_000_000)] | None = None
    on_hand: Annotated[Int, Field(ge=0, le=100_000_000)] | None = None
    safety_stock: Annotated[Int, Field(ge=0, le=100_000_000)] | None = None
    reason: Text | None = None


class TransferIn(BaseModel):
    model_config = STRICT

    sku: Id
    from_node_id: Id
    to_node_id: Id
    qty: Qty


class TransferView(BaseModel):
    transfer_id: str
    sku: str
    from_node_id: str
    to_node_id: str
    qty: int
    status: str
    created_at: datetime
    received_at: datetime | None


class FeedResult(BaseModel):
    rows: int
    receipts: int
    adjustments: int


# -- sourcing and fulfilment ----------------------------------------------------------


class RunRequest(BaseModel):
    model_config = STRICT

    strategy: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")] | None = None
    time_limit: Annotated[float, Strict(), Field(gt=0, le=3600)] | None = None
    weights: Weights | None = None


class RunView(BaseModel):
    run_id: str
    status: str
    strategy: str
    started_at: datetime
    finished_at: datetime | None
    weights: dict[str, float]
    time_limit: float | None
    orders_planned: int | None
    plan_id: str | None
    kpis: dict[str, Any] | None
    error: str | None


class ReleaseRequest(BaseModel):
    model_config = STRICT

    order_ids: list[Id] | None = Field(
        default=None, max_length=100_000, description="Default: every sourced order."
    )


class ReleaseResult(BaseModel):
    orders: int
    work_items: list[str]


class WorkLine(BaseModel):
    line_no: int
    sku: str
    qty: int


class InvoiceLineView(BaseModel):
    line_no: int
    sku: str
    qty: int
    unit_price: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal


class InvoiceView(BaseModel):
    invoice_id: str
    order_id: str
    work_item_id: str
    lines: list[InvoiceLineView]
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal


class WorkItemView(BaseModel):
    work_item_id: str
    order_id: str
    node_id: str
    kind: str
    status: str
    lines: list[WorkLine]
    carrier: str | None
    tracking_number: str | None
    weight_lb: float | None
    reject_reason: str | None
    created_at: datetime
    updated_at: datetime
    invoice: InvoiceView | None = None


class ShipRequest(BaseModel):
    model_config = STRICT

    carrier: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 &._-]{2,40}$")]
    tracking_number: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{4,40}$")]
    weight_lb: Annotated[float, Strict(), Field(gt=0, le=2_000, allow_inf_nan=False)] | None = (
        Field(default=None, description="Default: computed from item weights.")
    )


class RejectRequest(BaseModel):
    """A node cannot fulfil (some of) a work item: short pick or damaged stock."""

    model_config = STRICT

    reason: Literal["short_pick", "damaged", "other"]
    lines: list[LineQty] | None = Field(
        default=None, max_length=200, description="Units rejected per line; omit for all."
    )


# -- returns --------------------------------------------------------------------------


class ReturnRequest(BaseModel):
    model_config = STRICT

    lines: list[LineQty] = Field(min_length=1, max_length=200)
    reason: Text | None = None


class ReturnCondition(BaseModel):
    model_config = STRICT

    line_no: Annotated[Int, Field(ge=0, le=1_000_000)]
    condition: Literal["sellable", "damaged"]


class ReceiveReturn(BaseModel):
    """The parcel arrived at a DC, or the customer brought it to any store (BORIS)."""

    model_config = STRICT

    node_id: Id
    conditions: list[ReturnCondition] | None = Field(
        default=None, max_length=200, description="Per line; default: sellable."
    )


class ReturnLineView(BaseModel):
    line_no: int
    sku: str
    qty: int
    condition: str | None
    refund: Decimal | None


class ReturnView(BaseModel):
    return_id: str
    order_id: str
    status: str
    channel: str | None
    node_id: str | None
    refund: Decimal | None
    lines: list[ReturnLineView]
    created_at: datetime
    received_at: datetime | None


# -- promotions and keys --------------------------------------------------------------


class PromotionIn(BaseModel):
    model_config = STRICT

    code: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9_-]{2,32}$")]
    kind: PromotionKind
    # Money: a JSON number or a decimal string (as the schema says); not a bool.
    value: Annotated[Decimal, Field(gt=0, le=100_000, max_digits=12, decimal_places=2)]
    min_spend: Annotated[Decimal, Field(ge=0, le=1_000_000, max_digits=12, decimal_places=2)] = (
        Decimal("0")
    )
    starts_on: IsoDate | None = None
    ends_on: IsoDate | None = None
    usage_limit: Annotated[Int, Field(ge=1, le=1_000_000_000)] | None = None
    active: Flag = True


class PromotionPatch(BaseModel):
    model_config = STRICT

    active: Flag | None = None
    ends_on: IsoDate | None = None
    usage_limit: Annotated[Int, Field(ge=1, le=1_000_000_000)] | None = None


class PromotionView(BaseModel):
    code: str
    kind: str
    value: Decimal
    min_spend: Decimal
    starts_on: date | None
    ends_on: date | None
    usage_limit: int | None
    used_count: int
    active: bool


class ApiKeyIn(BaseModel):
    model_config = STRICT

    role: Role
    node_id: Id | None = None
    label: Text | None = None


class ApiKeyView(BaseModel):
    key: str | None = Field(default=None, description="Shown once, at creation.")
    role: Role
    node_id: str | None
    label: str | None


class WhoAmI(BaseModel):
    name: str
    role: Role
    node_id: str | None
