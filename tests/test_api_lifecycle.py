"""The order service through its HTTP API (FastAPI TestClient): every path of an order."""

import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from models.api import Role
from tests.lifecycle_fixtures import KEYS, NODE_KEYS, api_client, web_order

PROBLEM = "application/problem+json"


@pytest.fixture()
def client() -> Iterator[TestClient]:
    with api_client() as c:
        yield c


def h(role: Role | str, **extra: str) -> dict[str, str]:
    key = NODE_KEYS[role] if isinstance(role, str) and role in NODE_KEYS else KEYS[Role(role)]
    return {"X-API-Key": key, **extra}


def is_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    for field in ("type", "title", "status", "detail", "instance", "errors"):
        assert field in body
    return body


def capture(c: TestClient, **overrides: Any) -> dict[str, Any]:
    r = c.post("/orders", json=web_order(**overrides), headers=h(Role.CHANNEL))
    assert r.status_code == 201, r.text
    return r.json()


def stock(c: TestClient, node: str, sku: str) -> dict[str, Any]:
    r = c.get(f"/inventory/{node}/{sku}", headers=h(Role.ANALYST))
    assert r.status_code == 200, r.text
    return r.json()


def run_and_release(c: TestClient) -> list[str]:
    run = c.post("/sourcing/runs", json={}, headers=h(Role.SCHEDULER))
    assert run.status_code == 201 and run.json()["status"] == "applied", run.text
    got = c.get(f"/sourcing/runs/{run.json()['run_id']}", headers=h(Role.ANALYST))
    assert got.status_code == 200 and got.json()["kpis"]["orders_planned"] >= 1
    rel = c.post("/sourcing/release", json={}, headers=h(Role.SCHEDULER))
    assert rel.status_code == 200, rel.text
    return rel.json()["work_items"]


def node_key(c: TestClient, work_item_id: str) -> dict[str, str]:
    item = c.get(f"/work-items/{work_item_id}", headers=h(Role.SCHEDULER)).json()
    return h(item["node_id"])


def test_capture_idempotency_and_validation(client: TestClient) -> None:
    c = client
    headers = h(Role.CHANNEL, **{"Idempotency-Key": "order-1"})
    first = c.post("/orders", json=web_order(), headers=headers)
    assert first.status_code == 201 and first.headers["ETag"] == '"1"'
    again = c.post("/orders", json=web_order(), headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    other = c.post("/orders", json=web_order(service="two_day"), headers=headers)
    assert is_problem(other, 409)["type"].endswith("idempotency-key-reused")
    listed = c.get("/orders", headers=h(Role.ANALYST)).json()["items"]
    assert len(listed) == 1  # the retry created nothing

    bad = web_order(
        customer={"email": "not-an-email", "phone": "12"},
        lines=[{"sku": "A", "qty": 0}],
    )
    fields = {
        e["field"]
        for e in is_problem(c.post("/orders", json=bad, headers=h("channel")), 422)["errors"]
    }
    assert {"customer.email", "customer.phone", "lines.0.qty"} <= fields
    bad = web_order(
        ship_to={"line1": "1 Main", "city": "X", "state": "CA", "zip": "02139"},
        lines=[{"sku": "NOPE", "qty": 1}],
        promo_code="NOCODE",
    )
    errors = is_problem(c.post("/orders", json=bad, headers=h("channel")), 422)["errors"]
    assert {e["field"] for e in errors} == {"lines.0.sku", "ship_to.state", "promo_code"}
    fake_zip = web_order(ship_to={"line1": "1", "city": "X", "state": "MA", "zip": "00000"})
    errors = is_problem(c.post("/orders", json=fake_zip, headers=h("channel")), 422)["errors"]
    assert errors[0]["field"] == "ship_to.zip"
    pickup_wrong = web_order(service="pickup", ship_to=None, pickup_node_id="DC1")
    errors = is_problem(c.post("/orders", json=pickup_wrong, headers=h("channel")), 422)["errors"]
    assert errors[0]["field"] == "pickup_node_id"
    raw = c.post(
        "/orders",
        content=b"{not json",
        headers={**h("channel"), "content-type": "application/json"},
    )
    is_problem(raw, 400)
    is_problem(c.post("/orders", json=web_order()), 401)
    is_problem(c.post("/orders", json=web_order(), headers={"X-API-Key": "wrong"}), 401)
    is_problem(c.post("/orders", json=web_order(), headers=h(Role.ANALYST)), 403)
    is_problem(c.post("/sourcing/runs", json={}, headers=h(Role.CHANNEL)), 403)
    is_problem(c.get("/orders/does-not-exist", headers=h(Role.ANALYST)), 404)
    out = web_order(lines=[{"sku": "C", "qty": 5}], allow_backorder=False)
    assert is_problem(c.post("/orders", json=out, headers=h("channel")), 409)["skus"] == ["C"]
    back = c.post("/orders", json=web_order(lines=[{"sku": "C", "qty": 5}]), headers=h("channel"))
    assert back.status_code == 201 and back.json()["status"] == "backordered"


def test_web_order_changed_by_customer_service_and_returned_in_store(client: TestClient) -> None:
    c = client
    order = capture(c, lines=[{"sku": "A", "qty": 2}])
    oid = order["order_id"]
    assert order["status"] == "validated" and order["channel"] == "web"
    got = c.get(f"/orders/{oid}", headers=h(Role.CUSTOMER_SERVICE))
    etag = got.headers["ETag"]
    change = {
        "lines": [{"line_no": 1, "qty": 3}],
        "add_lines": [{"sku": "B", "qty": 1}],
        "ship_to": {"line1": "5 Elm St", "city": "Boston", "state": "MA", "zip": "02108"},
        "reason": "customer called",
    }
    cs = h(Role.CUSTOMER_SERVICE)
    is_problem(c.patch(f"/orders/{oid}", json=change, headers=cs), 428)
    is_problem(c.patch(f"/orders/{oid}", json=change, headers={**cs, "If-Match": '"42"'}), 412)
    changed = c.patch(f"/orders/{oid}", json=change, headers={**cs, "If-Match": etag})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert changed.headers["ETag"] != etag and body["version"] > order["version"]
    assert [(ln["sku"], ln["ordered_qty"]) for ln in body["lines"]] == [("A", 3), ("B", 1)]
    assert body["ship_to"]["zip"] == "02108"
    assert sum(p["qty"] for ln in body["lines"] for p in ln["reservations"]) == 4
    # A stale ETag cannot overwrite the change.
    is_problem(c.patch(f"/orders/{oid}", json=change, headers={**cs, "If-Match": etag}), 412)

    work = run_and_release(c)
    assert len(work) >= 1
    late = c.patch(
        f"/orders/{oid}",
        json={"service": "next_day"},
        headers={**cs, "If-Match": c.get(f"/orders/{oid}", headers=cs).headers["ETag"]},
    )
    assert is_problem(late, 409)["current_state"] == "released"
    for wid in work:
        nk = node_key(c, wid)
        wrong = h("ST2") if nk != h("ST2") else h("ST1")
        is_problem(c.post(f"/work-items/{wid}/pick", headers=wrong), 403)
        assert c.post(f"/work-items/{wid}/pick", headers=nk).json()["status"] == "picked"
        is_problem(c.post(f"/work-items/{wid}/pick", headers=nk), 409)
        assert c.post(f"/work-items/{wid}/pack", headers=nk).status_code == 200
        shipped = c.post(
            f"/work-items/{wid}/ship",
            json={"carrier": "UPS", "tracking_number": f"1Z{wid[-8:]}"},
            headers=nk,
        )
        assert shipped.status_code == 200, shipped.text
        inv = shipped.json()["invoice"]
        assert inv and inv["lines"] and shipped.json()["weight_lb"] > 0
        c.post(f"/work-items/{wid}/deliver", headers=nk)
    view = c.get(f"/orders/{oid}", headers=cs).json()
    assert view["status"] == "delivered"
    before = stock(c, "ST1", "A")["on_hand"]
    all_back = {"lines": [{"line_no": 1, "qty": 3}, {"line_no": 2, "qty": 1}]}
    rma = c.post(f"/orders/{oid}/returns", json=all_back, headers={**cs, "Idempotency-Key": "r1"})
    assert rma.status_code == 201, rma.text
    retry = c.post(f"/orders/{oid}/returns", json=all_back, headers={**cs, "Idempotency-Key": "r1"})
    assert retry.json() == rma.json()
    too_many = c.post(
        f"/orders/{oid}/returns", json={"lines": [{"line_no": 1, "qty": 1}]}, headers=cs
    )
    assert is_problem(too_many, 422)["errors"][0]["field"] == "lines.0.qty"
    received = c.post(
        f"/returns/{rma.json()['return_id']}/receive",
        json={"node_id": "ST1", "conditions": [{"line_no": 2, "condition": "damaged"}]},
        headers=h("ST1"),
    )
    assert received.status_code == 200, received.text
    ret = received.json()
    assert ret["channel"] == "store" and ret["status"] == "received"
    # Refund = everything invoiced for the lines (net after promotion, plus tax), not shipping.
    invoices = [
        c.get(f"/work-items/{w}", headers=h(Role.SCHEDULER)).json()["invoice"] for w in work
    ]
    billed = sum(Decimal(ln["net"]) + Decimal(ln["tax"]) for inv in invoices for ln in inv["lines"])
    assert Decimal(ret["refund"]) == billed
    assert stock(c, "ST1", "A")["on_hand"] == before + 3
    assert stock(c, "ST1", "B")["damaged"] == 1
    final = c.get(f"/orders/{oid}", headers=cs).json()
    assert final["status"] == "returned"
    events = c.get(f"/orders/{oid}/events", headers=cs).json()["items"]
    kinds = [e["event_type"] for e in events]
    for kind in ("created", "validated", "changed", "sourced", "released", "shipped", "returned"):
        assert kind in kinds
    changed_event = next(e for e in events if e["event_type"] == "changed")
    assert changed_event["channel"] == "call_center" and changed_event["details"]["reason"]
    assert events[0]["channel"] == "web"


def test_pickup_order(client: TestClient) -> None:
    c = client
    order = capture(
        c, service="pickup", ship_to=None, pickup_node_id="ST2", lines=[{"sku": "B", "qty": 2}]
    )
    assert order["lines"][0]["reservations"] == [{"node_id": "ST2", "qty": 2, "released": False}]
    (wid,) = run_and_release(c)
    st2 = h("ST2")
    is_problem(
        c.post(
            f"/work-items/{wid}/ship",
            json={"carrier": "UPS", "tracking_number": "1Z99"},
            headers=st2,
        ),
        409,
    )
    for step in ("pick", "ready-for-pickup"):
        assert c.post(f"/work-items/{wid}/{step}", headers=st2).status_code == 200
    assert (
        c.get(f"/orders/{order['order_id']}", headers=h("analyst")).json()["status"]
        == "ready_for_pickup"
    )
    done = c.post(f"/work-items/{wid}/picked-up", headers=st2).json()
    assert done["status"] == "picked_up" and done["invoice"]["shipping"] == "0.00"
    assert (
        c.get(f"/orders/{order['order_id']}", headers=h("analyst")).json()["status"] == "picked_up"
    )
    assert stock(c, "ST2", "B") | {} and stock(c, "ST2", "B")["on_hand"] == 2


def test_reject_resources_elsewhere_or_backorders(client: TestClient) -> None:
    c = client
    order = capture(c, lines=[{"sku": "A", "qty": 2}])
    (wid,) = run_and_release(c)
    item = c.get(f"/work-items/{wid}", headers=h("scheduler")).json()
    node = item["node_id"]
    before = stock(c, node, "A")
    rejected = c.post(f"/work-items/{wid}/reject", json={"reason": "short_pick"}, headers=h(node))
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    after = stock(c, node, "A")
    assert after["on_hand"] == before["on_hand"] - 2 and after["reserved"] == before["reserved"] - 2
    view = c.get(f"/orders/{order['order_id']}", headers=h("analyst")).json()
    holds = view["lines"][0]["reservations"]
    assert holds and all(p["node_id"] != node and p["released"] for p in holds)
    assert view["status"] == "released"
    items = c.get("/work-items", params={"status": "released"}, headers=h("scheduler")).json()
    assert any(w["order_id"] == order["order_id"] for w in items["items"])

    # The only B left for a ship-complete order sits at DC1; rejecting it backorders.
    c.post(
        "/inventory/adjustments",
        json={"node_id": "ST1", "sku": "B", "on_hand": 0},
        headers=h("merchandiser"),
    )
    other = capture(c, lines=[{"sku": "B", "qty": 1}], ship_complete=True)
    (wid2,) = [
        w
        for w in run_and_release(c)
        if c.get(f"/work-items/{w}", headers=h("scheduler")).json()["order_id"] == other["order_id"]
    ]
    item = c.get(f"/work-items/{wid2}", headers=h("scheduler")).json()
    c.post(
        "/inventory/adjustments",
        json={"node_id": "DC1", "sku": "B", "safety_stock": 100},
        headers=h("merchandiser"),
    )
    r = c.post(f"/work-items/{wid2}/reject", json={"reason": "damaged"}, headers=h(item["node_id"]))
    assert r.status_code == 200, r.text
    view = c.get(f"/orders/{other['order_id']}", headers=h("analyst")).json()
    assert view["status"] == "backordered" and view["lines"][0]["open_qty"] == 1
    assert stock(c, item["node_id"], "B")["damaged"] == 1
    # Stock arrives; the next run sources it again.
    c.post(
        "/inventory/adjustments",
        json={"node_id": "DC1", "sku": "B", "safety_stock": 0},
        headers=h("merchandiser"),
    )
    c.post("/sourcing/runs", json={}, headers=h("scheduler"))
    assert c.get(f"/orders/{other['order_id']}", headers=h("analyst")).json()["status"] == "sourced"


def test_cancel_hold_and_illegal_transitions(client: TestClient) -> None:
    c = client
    cs = h(Role.CUSTOMER_SERVICE)
    order = capture(c, lines=[{"sku": "A", "qty": 4}, {"sku": "B", "qty": 1}])
    oid = order["order_id"]
    reserved = sum(stock(c, n, "A")["reserved"] for n in ("DC1", "ST1"))
    assert reserved == 4
    part = c.post(f"/orders/{oid}/cancel", json={"lines": [{"line_no": 1, "qty": 3}]}, headers=cs)
    assert part.status_code == 200 and part.json()["lines"][0]["cancelled_qty"] == 3
    assert sum(stock(c, n, "A")["reserved"] for n in ("DC1", "ST1")) == 1
    held = c.post(f"/orders/{oid}/hold", json={"reason": "fraud check"}, headers=cs)
    assert held.json()["status"] == "on_hold"
    run = c.post("/sourcing/runs", json={}, headers=h("scheduler")).json()
    assert run["orders_planned"] == 0  # held orders are not planned
    assert (
        is_problem(c.post(f"/orders/{oid}/hold", json={}, headers=cs), 409)["current_state"]
        == "on_hold"
    )
    assert c.post(f"/orders/{oid}/release-hold", headers=cs).json()["status"] == "validated"
    whole = c.post(f"/orders/{oid}/cancel", json={"reason": "changed mind"}, headers=cs)
    assert whole.json()["status"] == "cancelled"
    assert sum(stock(c, n, sku)["reserved"] for n in ("DC1", "ST1") for sku in "AB") == 0
    again = c.post(f"/orders/{oid}/cancel", json={}, headers=cs)
    body = is_problem(again, 409)
    assert body["current_state"] == "cancelled" and "cancelled" in body["detail"]
    is_problem(
        c.post(f"/orders/{oid}/returns", json={"lines": [{"line_no": 1, "qty": 1}]}, headers=cs),
        409,
    )


def test_inventory_moves_and_feed(client: TestClient) -> None:
    c = client
    m = h(Role.MERCHANDISER)
    assert (
        c.post(
            "/inventory/receipts", json={"node_id": "ST1", "sku": "C", "qty": 7}, headers=m
        ).json()["on_hand"]
        == 7
    )
    capture(
        c,
        lines=[{"sku": "A", "qty": 5}],
        ship_to={"line1": "1", "city": "Cambridge", "state": "MA", "zip": "02139"},
    )
    st1 = stock(c, "ST1", "A")
    assert st1["reserved"] == 5 and st1["available"] == 0
    low = c.post(
        "/inventory/adjustments", json={"node_id": "ST1", "sku": "A", "delta": -1}, headers=m
    )
    is_problem(low, 409)
    tr = c.post(
        "/inventory/transfers",
        json={"sku": "A", "from_node_id": "DC1", "to_node_id": "ST1", "qty": 4},
        headers=m,
    )
    assert tr.status_code == 201, tr.text
    assert stock(c, "ST1", "A")["in_transit"] == 4
    is_problem(
        c.post(
            "/inventory/transfers",
            json={"sku": "A", "from_node_id": "DC1", "to_node_id": "ST1", "qty": 999},
            headers=m,
        ),
        409,
    )
    # The same transfer retried with its Idempotency-Key moves the stock once.
    once = {"sku": "B", "from_node_id": "DC1", "to_node_id": "ST2", "qty": 1}
    km = {**m, "Idempotency-Key": "tr-1"}
    first = c.post("/inventory/transfers", json=once, headers=km)
    again = c.post("/inventory/transfers", json=once, headers=km)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert stock(c, "ST2", "B")["in_transit"] == 1
    is_problem(c.post("/inventory/transfers", json={**once, "qty": 2}, headers=km), 409)
    c.post(f"/inventory/transfers/{tr.json()['transfer_id']}/receive", headers=m)
    assert stock(c, "ST1", "A")["on_hand"] == 9 and stock(c, "ST1", "A")["in_transit"] == 0
    # A node associate moves only their own node's stock.
    is_problem(
        c.post(
            "/inventory/receipts", json={"node_id": "DC1", "sku": "A", "qty": 1}, headers=h("ST1")
        ),
        403,
    )

    feed = "node_id,sku,kind,qty\nDC1,A,receipt,10\nST2,B,count,9\nDC1,B,adjustment,-1\n"
    r = c.post("/inventory/feed", content=feed, headers={**m, "content-type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.json() == {"rows": 3, "receipts": 1, "adjustments": 2}
    assert stock(c, "ST2", "B")["on_hand"] == 9
    bad = "node_id,sku,kind,qty\nDC1,A,receipt,10\nXX,A,receipt,1\nDC1,A,oops,x\n"
    before = stock(c, "DC1", "A")["on_hand"]
    errors = is_problem(
        c.post("/inventory/feed", content=bad, headers={**m, "content-type": "text/csv"}), 422
    )["errors"]
    assert {e["field"] for e in errors} == {"row 3.qty"} or len(errors) >= 1
    unknown = "node_id,sku,kind,qty\nDC1,A,receipt,10\nXX,A,receipt,1\n"
    errors = is_problem(
        c.post("/inventory/feed", content=unknown, headers={**m, "content-type": "text/csv"}), 422
    )["errors"]
    assert errors == [{"field": "row 2.node_id", "message": "unknown node_id 'XX'"}]
    assert stock(c, "DC1", "A")["on_hand"] == before  # nothing half-applied
    buf = io.BytesIO()
    pd.DataFrame({"node_id": ["DC1"], "sku": ["C"], "kind": ["receipt"], "qty": [3]}).to_parquet(
        buf
    )
    r = c.post(
        "/inventory/feed",
        content=buf.getvalue(),
        headers={**m, "content-type": "application/vnd.apache.parquet"},
    )
    assert r.status_code == 200 and stock(c, "DC1", "C")["on_hand"] == 4
    page = c.get("/inventory", params={"limit": 2}, headers=h("analyst")).json()
    assert len(page["items"]) == 2 and "next" in page["links"]


def test_promotions(client: TestClient) -> None:
    c = client
    promo = {
        "code": "TENOFF",
        "kind": "percent",
        "value": "10",
        "min_spend": "20",
        "usage_limit": 1,
    }
    is_problem(c.post("/promotions", json=promo, headers=h("channel")), 403)
    assert c.post("/promotions", json=promo, headers=h("merchandiser")).status_code == 201
    is_problem(c.post("/promotions", json=promo, headers=h("merchandiser")), 409)
    order = capture(c, promo_code="TENOFF")
    assert order["totals"]["discount"] == "7.00"  # 10% of 70.00
    used = c.post("/orders", json=web_order(promo_code="TENOFF"), headers=h("channel"))
    assert is_problem(used, 422)["errors"][0]["field"] == "promo_code"
    c.post(
        "/promotions",
        json={"code": "OLD", "kind": "amount", "value": "5", "ends_on": "2020-01-01"},
        headers=h("merchandiser"),
    )
    assert (
        "ended"
        in is_problem(
            c.post("/orders", json=web_order(promo_code="OLD"), headers=h("channel")), 422
        )["errors"][0]["message"]
    )
    small = {"code": "BIG", "kind": "amount", "value": "5", "min_spend": "500"}
    c.post("/promotions", json=small, headers=h("merchandiser"))
    assert (
        "minimum"
        in is_problem(
            c.post("/orders", json=web_order(promo_code="BIG"), headers=h("channel")), 422
        )["errors"][0]["message"]
    )
    off = c.patch("/promotions/BIG", json={"active": False}, headers=h("merchandiser"))
    assert off.json()["active"] is False


def test_search_and_pagination(client: TestClient) -> None:
    c = client
    ids = {capture(c, customer={"email": f"p{i % 2}@example.com"})["order_id"] for i in range(5)}
    seen: list[str] = []
    url, params = "/orders", {"limit": 2}
    while True:
        page = c.get(url, params=params, headers=h("analyst")).json()
        seen += [o["order_id"] for o in page["items"]]
        if "next" not in page["links"]:
            break
        params = {"limit": 2, "cursor": page["next_cursor"]}
    assert set(seen) == ids and len(seen) == 5
    mine = c.get(
        "/orders", params={"email": "P0@example.com"}, headers=h("customer_service")
    ).json()
    assert len(mine["items"]) == 3
    assert (
        len(
            c.get(
                "/orders", params={"status": "validated", "channel": "web"}, headers=h("analyst")
            ).json()["items"]
        )
        == 5
    )
    is_problem(c.get("/orders", params={"cursor": "garbage"}, headers=h("analyst")), 422)
    is_problem(c.get("/orders", params={"status": "nope"}, headers=h("analyst")), 422)


def test_rerun_replans_sourced_orders(client: TestClient) -> None:
    c = client
    first = capture(c, lines=[{"sku": "A", "qty": 1}])
    r1 = c.post("/sourcing/runs", json={"strategy": "greedy"}, headers=h("scheduler")).json()
    assert r1["orders_planned"] == 1
    capture(c, lines=[{"sku": "B", "qty": 1}])
    r2 = c.post("/sourcing/runs", json={"weights": {"split": 10}}, headers=h("scheduler")).json()
    assert r2["orders_planned"] == 2 and r2["weights"]["split"] == 10
    assert c.get(f"/orders/{first['order_id']}", headers=h("analyst")).json()["status"] == "sourced"
    listed = c.get("/sourcing/runs", params={"limit": 1}, headers=h("analyst")).json()
    assert listed["items"][0]["run_id"] == r2["run_id"] and "next" in listed["links"]
    bad = c.post("/sourcing/runs", json={"strategy": "nope"}, headers=h("scheduler"))
    assert is_problem(bad, 422)["errors"][0]["field"] == "strategy"
    is_problem(c.get("/sourcing/runs/nope", headers=h("analyst")), 404)
