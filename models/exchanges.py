"""Exchanges over the API: a return's lines replaced by a linked order."""

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from models.api import STRICT, Id, Int, Qty


class ExchangeLine(BaseModel):
    model_config = STRICT

    line_no: Annotated[Int, Field(ge=0, le=1_000_000)]
    qty: Qty
    sku: Id | None = Field(default=None, description="Replacement SKU; default: the same.")


class ExchangeRequest(BaseModel):
    """Turn returned units into replacements. ``advance``: the replacement is reserved
    now, before the return arrives; ``on_receipt``: when the return is received."""

    model_config = STRICT

    lines: list[ExchangeLine] = Field(min_length=1, max_length=200)
    reserve: Literal["advance", "on_receipt"] = "advance"


class ExchangeView(BaseModel):
    exchange_id: str
    return_id: str
    order_id: str
    new_order_id: str
    reserve: str
    price_difference: Decimal = Field(
        description="Replacement minus returned value: > 0 invoiced, < 0 refunded."
    )
    new_order_status: str
