"""Digital lines through the order service: delivered at capture, never touching stock."""

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from data.batch_io import batch_from_frames
from data.lifecycle_db import Database
from data.store import Store
from models.api import ApiKeyIn, Role, RunRequest
from services import admin
from tests.lifecycle_fixtures import KEYS, network_batch, web_order

GIFT = "G"  # a $25 digital gift card


@pytest.fixture()
def client() -> Iterator[TestClient]:
    base = network_batch()
    items = pd.concat(
        [
            base.items,
            pd.DataFrame([{"sku": GIFT, "weight_lb": 0.0, "price": 25.0, "digital": True}]),
        ],
        ignore_index=True,
    )
    tables = {t: base.table(t) for t in ("nodes", "inventory", "orders", "order_lines")}
    batch = batch_from_frames(
        date(2026, 11, 25), None, items=items, rate_card=base.rate_card, **tables
    )
    db = Database(Store(":memory:"))
    db.store.load_batch(batch)
    admin.start(db)
    for role, key in KEYS.items():
        admin.create_key(db, ApiKeyIn(role=role, label=role.value), key=key)
    with TestClient(create_app(Settings(bootstrap_admin=False), db)) as c:
        yield c
    db.close()


def h(role: Role) -> dict[str, str]:
    return {"X-API-Key": KEYS[role]}


def stock_rows(c: TestClient) -> list[dict]:
    r = c.get("/inventory", headers=h(Role.ANALYST), params={"limit": 500})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_digital_line_is_delivered_at_capture_and_never_touches_stock(
    client: TestClient,
) -> None:
    before = stock_rows(client)
    body = web_order(lines=[{"sku": GIFT, "qty": 2}, {"sku": "A", "qty": 1}], ship_complete=True)
    r = client.post("/orders", json=body, headers=h(Role.CHANNEL))
    assert r.status_code == 201, r.text
    order = r.json()
    gift, a = order["lines"]
    assert (gift["open_qty"], gift["shipped_qty"], gift["reservations"]) == (0, 2, [])
    assert a["open_qty"] == 1 and sum(p["qty"] for p in a["reservations"]) == 1
    assert order["status"] == "validated"  # the physical line is still to ship
    # The invoice-to-be counts the gift card like any line: 2 x 25 + 1 x 10.
    assert float(order["totals"]["subtotal"]) == 60.0
    after = stock_rows(client)
    assert [row for row in after if row["sku"] == GIFT] == []
    # Only A's row moved (one unit reserved); nothing was ever written for the gift card.
    assert [x for x in after if x["sku"] != "A"] == [x for x in before if x["sku"] != "A"]
    again = client.get(f"/orders/{order['order_id']}", headers=h(Role.CUSTOMER_SERVICE)).json()
    assert [ln["open_qty"] for ln in again["lines"]] == [0, 1]
    events = client.get(
        f"/orders/{order['order_id']}/events", headers=h(Role.CUSTOMER_SERVICE)
    ).json()["items"]
    delivered = [e for e in events if e["event_type"] == "delivered"]
    assert len(delivered) == 1 and delivered[0]["details"]["line_no"] == 1
    assert len(delivered[0]["details"]["entitlement_code"]) == 19  # XXXX-XXXX-XXXX-XXXX


def test_an_all_digital_order_is_delivered_and_never_sourced(client: TestClient) -> None:
    r = client.post(
        "/orders", json=web_order(lines=[{"sku": GIFT, "qty": 1}]), headers=h(Role.CHANNEL)
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "delivered"
    run = client.post("/sourcing/runs", json={}, headers=h(Role.SCHEDULER))
    assert run.status_code == 201, run.text
    assert run.json()["status"] == "applied"


def test_a_digital_sku_in_the_stock_feed_is_refused_naming_the_row(client: TestClient) -> None:
    csv = "node_id,sku,kind,qty\nDC1,A,receipt,3\nDC1,G,receipt,5\n"
    headers = {**h(Role.ADMIN), "content-type": "text/csv"}
    r = client.post("/inventory/feed", content=csv, headers=headers)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert errors == [{"field": "row 2.sku", "message": "'G' is digital: it has no stock"}]
    assert [x for x in stock_rows(client) if x["sku"] == GIFT] == []


def test_an_order_quoting_a_promise_holds_only_its_physical_lines(client: TestClient) -> None:
    """The promise covers A; the gift card rides along with no stock and no hold."""
    quoted = client.post(
        "/promise",
        json={"lines": [{"sku": "A", "qty": 1}], "ship_zip": "02139"},
        headers=h(Role.CHANNEL),
    )
    assert quoted.status_code == 200, quoted.text
    p = quoted.json()
    held_at = {pkg["node_id"] for pkg in p["options"][0]["packages"]}
    body = web_order(
        lines=[{"sku": GIFT, "qty": 1}, {"sku": "A", "qty": 1}],
        promise={"promise_id": p["promise_id"]},
    )
    r = client.post("/orders", json=body, headers=h(Role.CHANNEL))
    assert r.status_code == 201, r.text
    gift, a = r.json()["lines"]
    assert (gift["open_qty"], gift["shipped_qty"], gift["reservations"]) == (0, 1, [])
    assert {res["node_id"] for res in a["reservations"]} == held_at
    assert sum(res["qty"] for res in a["reservations"]) == 1
    assert [row for row in stock_rows(client) if row["sku"] == GIFT] == []


def promise(c: TestClient, lines: list[dict]) -> dict:
    r = c.post("/promise", json={"lines": lines, "ship_zip": "02139"}, headers=h(Role.CHANNEL))
    assert r.status_code == 200, r.text
    body: dict = r.json()
    return body


def test_a_digital_line_in_a_promise_cart_is_available_now_in_no_package(
    client: TestClient,
) -> None:
    """The cart's options are those of its physical lines; the gift card is listed as
    delivered at capture and the order quoting the promise holds what it held."""
    alone = promise(client, [{"sku": "A", "qty": 1}])
    mixed = promise(client, [{"sku": GIFT, "qty": 1}, {"sku": "A", "qty": 1}])
    assert mixed["digital"] == [{"sku": GIFT, "qty": 1}] and alone["digital"] == []
    assert [(o["service"], o["delivery_date"]) for o in mixed["options"]] == [
        (o["service"], o["delivery_date"]) for o in alone["options"]
    ]
    skus = {ln["sku"] for o in mixed["options"] for p in o["packages"] for ln in p["lines"]}
    assert skus == {"A"} and mixed["held"]
    body = web_order(
        lines=[{"sku": GIFT, "qty": 1}, {"sku": "A", "qty": 1}],
        promise={"promise_id": mixed["promise_id"]},
    )
    r = client.post("/orders", json=body, headers=h(Role.CHANNEL))
    assert r.status_code == 201, r.text
    assert [ln["shipped_qty"] for ln in r.json()["lines"]] == [1, 0]


def test_a_cart_of_digital_lines_only_promises_delivery_at_capture(client: TestClient) -> None:
    only = promise(client, [{"sku": GIFT, "qty": 2}])
    assert (only["options"], only["unavailable"], only["pickup"], only["held"]) == (
        [], [], [], False,
    )  # fmt: skip
    assert only["digital"] == [{"sku": GIFT, "qty": 2}]
    bad = client.post(
        "/promise",
        json={"lines": [{"sku": GIFT, "qty": 1}, {"sku": "NOPE", "qty": 1}], "ship_zip": "02139"},
        headers=h(Role.CHANNEL),
    )
    assert bad.status_code == 422, bad.text  # fields named by cart position, digital or not
    assert bad.json()["errors"] == [{"field": "lines.1.sku", "message": "unknown SKU 'NOPE'"}]


def test_an_all_digital_order_quoting_a_promise_is_422_naming_the_field(
    client: TestClient,
) -> None:
    body = web_order(lines=[{"sku": GIFT, "qty": 1}], promise={"promise_id": "pr-any"})
    r = client.post("/orders", json=body, headers=h(Role.CHANNEL))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "promise"


def invoices(c: TestClient, order_id: str) -> list[tuple[str, str, str, str, str]]:
    """(what it bills: 'dlv' or 'wi', subtotal, shipping, tax, total), oldest first."""
    rows = c.app.state.db.read(  # type: ignore[attr-defined]
        lambda r: r.rows(
            "SELECT work_item_id, subtotal, shipping, tax, total FROM invoices "
            "WHERE order_id = ? ORDER BY created_at",
            [order_id],
        )
    )
    return [(w.split("-")[0], str(a), str(b), str(t), str(x)) for w, a, b, t, x in rows]


def test_a_digital_line_is_invoiced_at_capture_and_refunded_on_return(
    client: TestClient,
) -> None:
    """1 G ($25, digital) + 1 A ($10) to Cambridge MA, ground, tax 6.25 %.

    Quote: 35.00 + shipping 5.99 (under $50) + tax 1.56 (G) + 0.63 (A) + 0.37 (shipping)
    = 43.55. At capture G is billed: 25.00 + 1.56 = 26.56, no shipping (no parcel). The
    parcel with A carries the shipping: 10.00 + 5.99 + 0.63 + 0.37 = 16.99. Returning G
    refunds what its invoice billed, 26.56, at once: nothing comes back to a shelf.
    """
    body = web_order(lines=[{"sku": GIFT, "qty": 1}, {"sku": "A", "qty": 1}])
    order = client.post("/orders", json=body, headers=h(Role.CHANNEL)).json()
    oid = order["order_id"]
    assert order["totals"]["total"] == "43.55"
    assert invoices(client, oid) == [("dlv", "25.00", "0.00", "1.56", "26.56")]
    events = client.get(f"/orders/{oid}/events", headers=h(Role.CUSTOMER_SERVICE)).json()
    (delivered,) = [e for e in events["items"] if e["event_type"] == "delivered"]
    assert delivered["details"]["invoice_id"].startswith("inv-")
    admin = h(Role.ADMIN)
    client.post("/sourcing/runs", json={}, headers=admin)
    (wid,) = client.post("/sourcing/release", json={}, headers=admin).json()["work_items"]
    for step in ("pick", "pack"):
        assert client.post(f"/work-items/{wid}/{step}", headers=admin).status_code == 200
    ship = {"carrier": "UPS", "tracking_number": "1Z999"}
    assert client.post(f"/work-items/{wid}/ship", json=ship, headers=admin).status_code == 200
    billed = invoices(client, oid)
    assert billed[1] == ("wi", "10.00", "5.99", "1.00", "16.99")
    assert sum(float(b[4]) for b in billed) == 43.55  # the quote, to the cent
    before = stock_rows(client)
    rma = client.post(
        f"/orders/{oid}/returns", json={"lines": [{"line_no": 1, "qty": 1}]},
        headers=h(Role.CUSTOMER_SERVICE),
    )  # fmt: skip
    assert rma.status_code == 201, rma.text
    ret = rma.json()
    assert (ret["status"], ret["refund"], ret["channel"]) == ("received", "26.56", "digital")
    assert stock_rows(client) == before  # no shelf, no stock row for G
    again = client.get(f"/orders/{oid}", headers=h(Role.CUSTOMER_SERVICE)).json()
    assert again["lines"][0]["returned_qty"] == 1


def test_an_all_digital_order_is_invoiced_without_shipping(client: TestClient) -> None:
    """1 G, ground: 25.00 + tax 1.56 = 26.56; no parcel, so no shipping charge."""
    body = web_order(lines=[{"sku": GIFT, "qty": 1}])
    order = client.post("/orders", json=body, headers=h(Role.CHANNEL)).json()
    assert (order["totals"]["shipping"], order["totals"]["total"]) == ("0.00", "26.56")
    assert invoices(client, order["order_id"]) == [("dlv", "25.00", "0.00", "1.56", "26.56")]
    view = client.get(f"/orders/{order['order_id']}", headers=h(Role.CUSTOMER_SERVICE)).json()
    assert view["totals"]["total"] == "26.56"


def test_digital_lines_of_a_loaded_batch_are_delivered_by_the_sourcing_run() -> None:
    """tests/test_digital_vendor's batch, loaded from files: O6 = D x1 ($15, digital) +
    V x2 (only at vendor VN1), ship-complete; O7 = D x3 only. Both to 02139 (MA, 6.25 %).

    The run delivers D before planning: O6 line 1 (invoice 15.00 + 0.94 = 15.94) and O7
    whole (45.00 + 2.81 = 47.81, the order delivered); O6's V is planned at VN1. A
    second run delivers nothing again.
    """
    from services import sourcing
    from tests.lifecycle_fixtures import ADMIN
    from tests.test_digital_vendor import vendor_batch

    db = Database(Store(":memory:"))
    db.store.load_batch(vendor_batch())
    admin.start(db)
    try:
        for _ in range(2):
            run = sourcing.run_sourcing(db, RunRequest(strategy="greedy"), ADMIN)
            assert run.status == "applied"

        def read(sql: str) -> list[tuple]:
            return db.read(lambda r: r.rows(sql))

        events = read("SELECT order_id, details FROM order_events ORDER BY order_id, event_id")
        delivered = [(o, json.loads(d)) for o, d in events if '"entitlement_code"' in d]
        assert [(o, d["line_no"], d["sku"], len(d["entitlement_code"])) for o, d in delivered] == [
            ("O6", 1, "D", 19), ("O7", 1, "D", 19),
        ]  # fmt: skip
        assert read(
            "SELECT order_id, subtotal, shipping, tax, total FROM invoices ORDER BY 1"
        ) == [
            ("O6", Decimal("15.00"), Decimal("0.00"), Decimal("0.94"), Decimal("15.94")),
            ("O7", Decimal("45.00"), Decimal("0.00"), Decimal("2.81"), Decimal("47.81")),
        ]
        assert read("SELECT order_id, status FROM orders WHERE order_id IN ('O6', 'O7') "
                    "ORDER BY 1") == [("O6", "sourced"), ("O7", "delivered")]  # fmt: skip
        assert read("SELECT order_id, line_no, node_id, qty FROM reservations "
                    "WHERE order_id = 'O6'") == [("O6", 2, "VN1", 2)]  # fmt: skip
        assert read("SELECT count(*) FROM order_lines WHERE sku = 'D'") == [(0,)]
        assert read("SELECT count(*) FROM inventory WHERE sku = 'D'") == [(0,)]
    finally:
        db.close()


def test_the_console_promise_page_shows_digital_lines_as_delivered_at_capture(
    client: TestClient,
) -> None:
    from tests.test_web_console import client as signed_in
    from tests.test_web_console import csrf_of

    c = signed_in(client.app, KEYS[Role.CUSTOMER_SERVICE])
    token = csrf_of(c, "/console/promise")
    mixed = {"csrf_token": token, "sku_1": GIFT, "qty_1": "1", "sku_2": "A", "qty_2": "1",
             "zip": "02139"}  # fmt: skip
    page = c.post("/console/promise", data=mixed).text
    assert "Digital, delivered at capture (no package): G × 1." in page
    assert 'class="promise-id"' in page and "<tbody><tr>" in page  # A's options
    only = {"csrf_token": token, "sku_1": GIFT, "qty_1": "2", "zip": "02139"}
    page = c.post("/console/promise", data=only).text
    assert "Nothing to ship" in page and "G × 2" in page
    assert "promise-id" not in page and "No service can deliver" not in page
