"""Exchanges: returned units replaced by a linked order, the price difference settled.

Network: tests/lifecycle_fixtures (A $10, B $50, C $5). The order: 2 A and 1 B to
Cambridge MA (tax 6.25 %, ground shipping free from $50), shipped and delivered, then
returned (2 A). Its invoice billed line 1 at net 20.00 and tax 1.25.

Money moves net, in one document issued when the return is received:
- 2 A -> 2 B: difference 2 x (50 - 10) = 80.00, tax 6.25 % = 5.00: invoice 85.00.
  The return refunds nothing (both units exchanged); the replacement is not invoiced.
- 1 A -> 1 C: difference 5 - 10 = -5.00, tax -0.3125 -> -0.31: refund 5.31. The other
  returned A is refunded as any return: half of 20.00 + half of 1.25 -> 10.00 + 0.63.
- 2 A -> 2 A: even, no document, refund 0.00.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from models.api import Role
from tests.lifecycle_fixtures import KEYS, NODE_KEYS, api_client, web_order

CS = {"X-API-Key": KEYS[Role.CUSTOMER_SERVICE]}


@pytest.fixture()
def client() -> Iterator[TestClient]:
    with api_client() as c:
        yield c


def delivered_and_returned(c: TestClient) -> tuple[str, str]:
    """An order shipped and delivered, then 2 A authorised for return: (order, return)."""
    order = c.post("/orders", json=web_order(), headers={"X-API-Key": KEYS[Role.CHANNEL]})
    assert order.status_code == 201, order.text
    oid = order.json()["order_id"]
    sched = {"X-API-Key": KEYS[Role.SCHEDULER]}
    assert c.post("/sourcing/runs", json={}, headers=sched).json()["status"] == "applied"
    for wid in c.post("/sourcing/release", json={}, headers=sched).json()["work_items"]:
        node = c.get(f"/work-items/{wid}", headers=sched).json()["node_id"]
        nk = {"X-API-Key": NODE_KEYS[node]}
        for step in ("pick", "pack"):
            assert c.post(f"/work-items/{wid}/{step}", headers=nk).status_code == 200
        ship = {"carrier": "UPS", "tracking_number": f"1Z{wid[-8:]}"}
        assert c.post(f"/work-items/{wid}/ship", json=ship, headers=nk).status_code == 200
        assert c.post(f"/work-items/{wid}/deliver", headers=nk).status_code == 200
    rma = c.post(f"/orders/{oid}/returns", json={"lines": [{"line_no": 1, "qty": 2}]}, headers=CS)
    assert rma.status_code == 201, rma.text
    return oid, rma.json()["return_id"]


def events(c: TestClient, order_id: str) -> list[dict[str, Any]]:
    return c.get(f"/orders/{order_id}/events", headers=CS).json()["items"]


def settled(c: TestClient, order_id: str) -> dict[str, Any]:
    (event,) = [e for e in events(c, order_id) if e["event_type"] == "exchange_settled"]
    details: dict[str, Any] = event["details"]
    return details


def documents(c: TestClient) -> list[tuple[Any, ...]]:
    """Every settlement document in the store: (kind, difference, tax, amount)."""
    db = c.app.state.db  # type: ignore[attr-defined]
    rows: list[tuple[Any, ...]] = db.read(
        lambda r: r.rows("SELECT kind, difference, tax, amount FROM exchange_settlements")
    )
    return [(k, str(d), str(t), str(a)) for k, d, t, a in rows]


def ship_everything(c: TestClient) -> list[dict[str, Any]]:
    """Source, release and ship what is open; the shipped work items."""
    sched = {"X-API-Key": KEYS[Role.SCHEDULER]}
    assert c.post("/sourcing/runs", json={}, headers=sched).json()["status"] == "applied"
    shipped = []
    for wid in c.post("/sourcing/release", json={}, headers=sched).json()["work_items"]:
        nk = {"X-API-Key": NODE_KEYS[c.get(f"/work-items/{wid}", headers=sched).json()["node_id"]]}
        for step in ("pick", "pack"):
            assert c.post(f"/work-items/{wid}/{step}", headers=nk).status_code == 200
        ship = {"carrier": "UPS", "tracking_number": f"1Z{wid[-8:]}"}
        r = c.post(f"/work-items/{wid}/ship", json=ship, headers=nk)
        assert r.status_code == 200, r.text
        shipped.append(r.json())
    return shipped


def receive(c: TestClient, rid: str) -> dict[str, Any]:
    r = c.post(
        f"/returns/{rid}/receive", json={"node_id": "ST1"}, headers={"X-API-Key": NODE_KEYS["ST1"]}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_an_advance_exchange_for_a_dearer_sku_invoices_the_difference(client: TestClient) -> None:
    oid, rid = delivered_and_returned(client)
    body = {"lines": [{"line_no": 1, "qty": 2, "sku": "B"}], "reserve": "advance"}
    r = client.post(f"/returns/{rid}/exchange", json=body, headers=CS)
    assert r.status_code == 201, r.text
    ex = r.json()
    assert float(ex["price_difference"]) == 2 * (50 - 10)  # invoiced: 80.00
    assert ex["new_order_status"] == "validated"  # reserved now, before the return is in
    new = client.get(f"/orders/{ex['new_order_id']}", headers=CS).json()
    assert [(ln["sku"], ln["ordered_qty"]) for ln in new["lines"]] == [("B", 2)]
    assert sum(p["qty"] for p in new["lines"][0]["reservations"]) == 2
    (created,) = [e for e in events(client, oid) if e["event_type"] == "exchange_created"]
    assert created["details"]["new_order_id"] == ex["new_order_id"]
    assert created["details"]["settle"] == "invoice"
    (link,) = [e for e in events(client, ex["new_order_id"]) if e["event_type"] == "exchange_of"]
    assert link["details"]["original_order_id"] == oid
    (package,) = ship_everything(client)  # the replacement leaves before the return is in
    assert package["order_id"] == ex["new_order_id"] and package["invoice"] is None
    assert documents(client) == []  # nothing settled until the return is received
    assert receive(client, rid)["refund"] == "0.00"  # both A exchanged: no gross refund
    assert documents(client) == [("invoice", "80.00", "5.00", "85.00")]
    for order_id in (oid, ex["new_order_id"]):  # one document, on both timelines
        got = settled(client, order_id)
        assert (got["settle"], got["difference"], got["tax"], got["amount"]) == (
            "invoice", "80.00", "5.00", "85.00",
        )  # fmt: skip
        assert got["settlement_id"] and got["exchange_id"] == ex["exchange_id"]


def test_an_exchange_on_receipt_waits_for_the_return_and_refunds_a_cheaper_sku(
    client: TestClient,
) -> None:
    oid, rid = delivered_and_returned(client)
    body = {"lines": [{"line_no": 1, "qty": 1, "sku": "C"}], "reserve": "on_receipt"}
    ex = client.post(f"/returns/{rid}/exchange", json=body, headers=CS).json()
    assert float(ex["price_difference"]) == 5 - 10  # refunded: -5.00
    assert ex["new_order_status"] == "on_hold"
    new = client.get(f"/orders/{ex['new_order_id']}", headers=CS).json()
    assert new["lines"][0]["reservations"] == []
    assert receive(client, rid)["refund"] == "10.63"  # the A not exchanged, as any return
    new = client.get(f"/orders/{ex['new_order_id']}", headers=CS).json()
    assert new["status"] == "validated"
    assert sum(p["qty"] for p in new["lines"][0]["reservations"]) == 1
    assert documents(client) == [("refund", "-5.00", "-0.31", "5.31")]
    for order_id in (oid, ex["new_order_id"]):
        got = settled(client, order_id)
        assert (got["settle"], got["amount"]) == ("refund", "5.31")
    (package,) = ship_everything(client)
    assert package["order_id"] == ex["new_order_id"] and package["invoice"] is None


def test_an_even_exchange_moves_no_money(client: TestClient) -> None:
    oid, rid = delivered_and_returned(client)
    body = {"lines": [{"line_no": 1, "qty": 2}]}  # the same SKU again (a swap)
    ex = client.post(f"/returns/{rid}/exchange", json=body, headers=CS).json()
    assert ex["price_difference"] == "0.00"
    assert receive(client, rid)["refund"] == "0.00"
    assert documents(client) == []
    for order_id in (oid, ex["new_order_id"]):
        got = settled(client, order_id)
        assert (got["settle"], got["amount"], got["settlement_id"]) == ("none", "0.00", None)
    (package,) = ship_everything(client)
    assert package["invoice"] is None


def test_a_received_return_is_not_exchanged(client: TestClient) -> None:
    _, rid = delivered_and_returned(client)
    receive(client, rid)  # refunded in full already
    r = client.post(f"/returns/{rid}/exchange", json={"lines": [{"line_no": 1, "qty": 1}]},
                    headers=CS)  # fmt: skip
    assert r.status_code == 409, r.text
    assert "was received and refunded" in r.json()["detail"]


def test_an_exchange_for_more_than_was_returned_is_refused(client: TestClient) -> None:
    _, rid = delivered_and_returned(client)
    first = {"lines": [{"line_no": 1, "qty": 1}]}
    assert client.post(f"/returns/{rid}/exchange", json=first, headers=CS).status_code == 201
    more = {"lines": [{"line_no": 1, "qty": 2}]}
    r = client.post(f"/returns/{rid}/exchange", json=more, headers=CS)
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [
        {"field": "lines.0.qty", "message": "line 1 has 1 returned unit(s) left to exchange"}
    ]


def test_a_replacement_cancelled_before_the_return_is_in_voids_the_exchange(
    client: TestClient,
) -> None:
    """2 A -> 2 B, then the replacement is cancelled: the return refunds both A in full
    (20.00 + 1.25 = 21.25) and nothing is settled. A replacement is never cut line by
    line, nor cancelled once its exchange is settled."""
    oid, rid = delivered_and_returned(client)
    body = {"lines": [{"line_no": 1, "qty": 2, "sku": "B"}]}
    ex = client.post(f"/returns/{rid}/exchange", json=body, headers=CS).json()
    new = ex["new_order_id"]
    partial = client.post(f"/orders/{new}/cancel", json={"lines": [{"line_no": 1, "qty": 1}]},
                          headers=CS)  # fmt: skip
    assert partial.status_code == 409, partial.text
    assert "cancel the whole order to void the exchange" in partial.json()["detail"]
    r = client.post(f"/orders/{new}/cancel", json={"reason": "changed mind"}, headers=CS)
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    assert receive(client, rid)["refund"] == "21.25"
    assert documents(client) == []
    assert [e for e in events(client, oid) if e["event_type"] == "exchange_settled"] == []

    _, rid2 = delivered_and_returned(client)
    ex2 = client.post(f"/returns/{rid2}/exchange", json=body, headers=CS).json()
    receive(client, rid2)  # settled: the replacement now ships, and is returned, not cancelled
    r = client.post(f"/orders/{ex2['new_order_id']}/cancel", json={}, headers=CS)
    assert r.status_code == 409 and "return it instead" in r.json()["detail"], r.text


def test_returning_a_replacement_refunds_what_the_exchange_made_it_cost(
    client: TestClient,
) -> None:
    """2 A -> 2 B: the customer paid 21.25 for the two A and 85.00 on settlement, so
    returning the two B refunds 20.00 + 80.00 net and 1.25 + 5.00 tax = 106.25."""
    _, rid = delivered_and_returned(client)
    body = {"lines": [{"line_no": 1, "qty": 2, "sku": "B"}]}
    ex = client.post(f"/returns/{rid}/exchange", json=body, headers=CS).json()
    receive(client, rid)
    (package,) = ship_everything(client)
    node = {"X-API-Key": NODE_KEYS[package["node_id"]]}
    wid = package["work_item_id"]
    assert client.post(f"/work-items/{wid}/deliver", headers=node).status_code == 200
    rma = client.post(f"/orders/{ex['new_order_id']}/returns",
                      json={"lines": [{"line_no": 1, "qty": 2}]}, headers=CS)  # fmt: skip
    assert rma.status_code == 201, rma.text
    assert receive(client, rma.json()["return_id"])["refund"] == "106.25"
