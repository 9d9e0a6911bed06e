"""Money rules: promotions, order quotes, invoices and refunds.

All amounts are ``Decimal`` rounded to cents (half up), so an invoice and the
refund computed from it agree to the cent whatever order the lines come in.
Pure functions of their inputs: the services read rows and call these.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.enums import Service

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value: Decimal | float | int | str) -> Decimal:
    """Round to cents, half up (what a till does)."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


class PromotionKind(StrEnum):
    PERCENT = "percent"
    AMOUNT = "amount"


class Promotion(BaseModel):
    """A promotion code: percent or amount off, above a minimum spend, in a date window."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(pattern=r"^[A-Z0-9_-]{2,32}$")
    kind: PromotionKind
    value: Decimal = Field(gt=0, le=100_000, max_digits=12, decimal_places=2)
    min_spend: Decimal = Field(default=ZERO, ge=0, le=1_000_000, max_digits=12, decimal_places=2)
    starts_on: date | None = None
    ends_on: date | None = None
    usage_limit: int | None = Field(default=None, ge=1, le=1_000_000_000)
    used_count: int = Field(default=0, ge=0)
    active: bool = True

    @model_validator(mode="after")
    def _sane(self) -> "Promotion":
        if self.kind is PromotionKind.PERCENT and self.value > 100:
            raise ValueError("a percent promotion's value is at most 100")
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


def promotion_problem(promo: Promotion, subtotal: Decimal, today: date) -> str | None:
    """Why this code does not apply to a basket, or None if it does."""
    if not promo.active:
        return f"promotion {promo.code} is not active"
    if promo.starts_on and today < promo.starts_on:
        return f"promotion {promo.code} starts on {promo.starts_on.isoformat()}"
    if promo.ends_on and today > promo.ends_on:
        return f"promotion {promo.code} ended on {promo.ends_on.isoformat()}"
    if promo.usage_limit is not None and promo.used_count >= promo.usage_limit:
        return f"promotion {promo.code} has been used up ({promo.usage_limit} uses)"
    if subtotal < promo.min_spend:
        return f"promotion {promo.code} needs a minimum spend of {promo.min_spend}"
    return None


def promotion_discount(promo: Promotion | None, subtotal: Decimal) -> Decimal:
    """Discount on the merchandise subtotal; never more than the subtotal."""
    if promo is None or subtotal < promo.min_spend:
        return ZERO
    if promo.kind is PromotionKind.PERCENT:
        off = money(subtotal * promo.value / 100)
    else:
        off = money(promo.value)
    return min(off, money(subtotal))


# Flat parcel charges per service; ground is free from FREE_GROUND_FROM of merchandise.
SHIPPING_CHARGE: dict[Service, Decimal] = {
    Service.GROUND: Decimal("5.99"),
    Service.TWO_DAY: Decimal("12.99"),
    Service.NEXT_DAY: Decimal("24.99"),
    Service.PICKUP: ZERO,
}
FREE_GROUND_FROM = Decimal("50.00")

# Combined sales-tax rates for a few states (percent); others use DEFAULT_TAX_RATE.
TAX_RATES: dict[str, Decimal] = {
    "CA": Decimal("7.25"),
    "NY": Decimal("8.875"),
    "TX": Decimal("6.25"),
    "FL": Decimal("6.00"),
    "IL": Decimal("6.25"),
    "MA": Decimal("6.25"),
    "WA": Decimal("6.50"),
    "PA": Decimal("6.00"),
    "NJ": Decimal("6.625"),
    "OR": ZERO,
    "DE": ZERO,
    "MT": ZERO,
    "NH": ZERO,
    "AK": ZERO,
}
DEFAULT_TAX_RATE = Decimal("5.00")


def tax_rate(state: str | None) -> Decimal:
    return TAX_RATES.get((state or "").upper(), DEFAULT_TAX_RATE)


@dataclass(frozen=True)
class PriceLine:
    """One order line as priced: what the customer pays for it, before tax."""

    line_no: int
    sku: str
    qty: int
    unit_price: Decimal
    gross: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Quote:
    """An order's price: lines, promotion, shipping charge and one tax line."""

    lines: tuple[PriceLine, ...]
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    shipping_tax: Decimal
    tax: Decimal
    total: Decimal
    tax_rate: Decimal


def _spread(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split ``amount`` in cents proportionally to ``weights`` (largest remainder)."""
    total = sum(weights, ZERO)
    if amount == ZERO or total == ZERO:
        return [ZERO for _ in weights]
    cents = int(amount / CENT)
    raw = [cents * w / total for w in weights]
    base = [int(r) for r in raw]
    left = cents - sum(base)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - base[i]), i))
    for i in order[:left]:
        base[i] += 1
    return [Decimal(b) * CENT for b in base]


def quote(
    lines: list[tuple[int, str, int, Decimal]],
    service: Service,
    state: str | None,
    promo: Promotion | None = None,
    ships: bool = True,
) -> Quote:
    """Price lines ``(line_no, sku, qty, unit_price)``: discount spread over lines, then tax.
    ``ships=False`` (only digital lines): no parcel, so no shipping charge."""
    gross = [money(price * qty) for _, _, qty, price in lines]
    subtotal = sum(gross, ZERO)
    discount = promotion_discount(promo, subtotal)
    shares = _spread(discount, gross)
    rate = tax_rate(state)
    priced = []
    for (line_no, sku, qty, price), g, d in zip(lines, gross, shares, strict=True):
        net = g - d
        priced.append(
            PriceLine(line_no, sku, qty, money(price), g, d, net, money(net * rate / 100))
        )
    merchandise = subtotal - discount
    shipping = SHIPPING_CHARGE[service]
    if service is Service.GROUND and merchandise >= FREE_GROUND_FROM:
        shipping = ZERO
    if not lines or not ships:
        shipping = ZERO
    shipping_tax = money(shipping * rate / 100)
    tax = sum((p.tax for p in priced), ZERO) + shipping_tax
    return Quote(
        lines=tuple(priced),
        subtotal=subtotal,
        discount=discount,
        shipping=shipping,
        shipping_tax=shipping_tax,
        tax=tax,
        total=merchandise + shipping + tax,
        tax_rate=rate,
    )


@dataclass(frozen=True)
class InvoiceLine:
    line_no: int
    sku: str
    qty: int
    unit_price: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Invoice:
    """What one shipment (or pickup) bills: its lines, plus shipping on the first one."""

    lines: tuple[InvoiceLine, ...]
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal


def invoice_for(q: Quote, shipped: dict[int, int], include_shipping: bool) -> Invoice:
    """Invoice the shipped quantity per line_no, pro rata of the order's quote."""
    lines = []
    for p in q.lines:
        n = shipped.get(p.line_no, 0)
        if n <= 0:
            continue
        share = Decimal(n) / Decimal(p.qty)
        disc = money(p.discount * share)
        net = money(p.unit_price * n) - disc
        lines.append(
            InvoiceLine(p.line_no, p.sku, n, p.unit_price, disc, net, money(net * q.tax_rate / 100))
        )
    subtotal = sum((money(ln.unit_price * ln.qty) for ln in lines), ZERO)
    discount = sum((ln.discount for ln in lines), ZERO)
    shipping = q.shipping if include_shipping else ZERO
    tax = sum((ln.tax for ln in lines), ZERO) + (q.shipping_tax if include_shipping else ZERO)
    return Invoice(
        tuple(lines), subtotal, discount, shipping, tax, subtotal - discount + shipping + tax
    )


def refund_amount(
    invoiced_qty: int, invoiced_net: Decimal, invoiced_tax: Decimal, qty: int
) -> Decimal:
    """Refund for ``qty`` returned units of an invoice line: their share of net and tax.

    Shipping is not refunded. Returning the whole line refunds exactly what was billed.
    """
    if qty <= 0 or invoiced_qty <= 0:
        return ZERO
    if qty >= invoiced_qty:
        return invoiced_net + invoiced_tax
    share = Decimal(qty) / Decimal(invoiced_qty)
    return money(invoiced_net * share) + money(invoiced_tax * share)


@dataclass(frozen=True)
class Settlement:
    """One net document for an exchange: the price difference and its tax, signed.

    ``kind`` is ``invoice`` when the customer pays (dearer replacement), ``refund``
    when they are paid back, ``None`` when the prices are equal (no document).
    """

    difference: Decimal
    tax: Decimal
    total: Decimal

    @property
    def kind(self) -> str | None:
        return "invoice" if self.total > 0 else "refund" if self.total < 0 else None


def exchange_settlement(difference: Decimal, rate: Decimal) -> Settlement:
    """Settle a price difference (replacement minus returned, pre-tax) at a tax rate
    in percent. The promotion of the original order stays with the customer: only
    list prices differ, so an even exchange moves no money."""
    diff = money(difference)
    tax = money(diff * rate / 100)
    return Settlement(diff, tax, diff + tax)
