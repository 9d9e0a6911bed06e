"""Digital lines: fulfilled the moment the order is captured.

A digital SKU (``items.digital``) needs no node and no stock: its line gets an
entitlement code, an invoice and a "delivered" event in the capture's own
transaction, is marked released and shipped, and leaves the open demand at once,
so no sourcing run, reservation or stock row ever sees it. The invoice is the
line's like any other (price, promotion share, tax) but carries no shipping, and
names the delivery (``dlv-...``) where a parcel's names its work item. A
replacement of an exchange is not invoiced: its exchange settles it.
"""

import secrets
from itertools import groupby
from typing import Any

from data.lifecycle_repo import LifecycleRepo
from models.api import Actor
from models.lifecycle import OrderStatus
from services.common import bill, load_order, new_id

ENTITLEMENT_BYTES = 10


def entitlement_code() -> str:
    """A code the customer redeems: 16 base32 characters in groups of four."""
    raw = secrets.token_hex(ENTITLEMENT_BYTES).upper()[:16]
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def deliver_digital(
    repo: LifecycleRepo, order_id: str, lines: list[tuple[int, str, int]], who: Actor, status: str
) -> dict[int, str]:
    """Fulfil these (line_no, sku, qty) lines now; returns each line's entitlement code."""
    codes: dict[int, str] = {}
    events: list[tuple[Any, ...]] = []
    if not lines:
        return codes
    delivery_id = new_id("dlv")
    for line_no, sku, qty in lines:
        repo.set_open_qty(order_id, line_no, sku, 0)
        repo.update_line_state(order_id, line_no, released_qty=qty, shipped_qty=qty)
    invoice_id = None
    if repo.exchange_replacing(order_id) is None:
        units = {line_no: qty for line_no, _, qty in lines}
        invoice_id = bill(repo, load_order(repo, order_id), delivery_id, units, shipping=False)
    for line_no, sku, qty in lines:
        codes[line_no] = entitlement_code()
        details = {"line_no": line_no, "sku": sku, "qty": qty, "entitlement_code": codes[line_no],
                   "delivery_id": delivery_id, "invoice_id": invoice_id}  # fmt: skip
        events.append(("delivered", who.name, who.channel, status, status, details))
    if events:
        repo.add_events(order_id, events)
    return codes


def deliver_loaded(repo: LifecycleRepo, statuses: list[str], who: Actor) -> int:
    """Deliver the digital lines of orders loaded from batch files (capture delivers its
    own), before a sourcing run plans: they are never planned. An order left with
    nothing physical is delivered whole. Returns how many lines were delivered."""
    rows = repo.open_digital_lines(statuses)
    for order_id, group in groupby(rows, key=lambda r: r[0]):
        lines = [(n, sku, q) for _, n, sku, q in group]
        status = load_order(repo, order_id)["status"]
        deliver_digital(repo, order_id, lines, who, status)
        repo.bump_version(order_id)
        if not any(ls["ordered_qty"] > ls["cancelled_qty"] + ls["shipped_qty"]
                   for ls in repo.line_states(order_id)):  # fmt: skip
            # As at capture: nothing to plan or ship, so the order skips to delivered.
            repo.set_status(order_id, OrderStatus.DELIVERED.value)
            repo.add_event(order_id, "delivered", who.name, who.channel, status,
                           OrderStatus.DELIVERED.value, {"digital_only": True})  # fmt: skip
    return len(rows)
