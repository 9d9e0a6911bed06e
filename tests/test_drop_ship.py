"""Drop-ship vendors in the order service: purchase orders, vendor keys, rejections.

Network: tests/lifecycle_fixtures' DC1 (New York), ST1, ST2, plus the vendor VN1 in
Cambridge MA (02139) that alone stocks V (3 lb, $80). Its stock arrives, like anyone's,
through the bulk feed.
"""

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from data.batch_io import batch_from_frames
from data.lifecycle_db import Database
from data.store import Store
from models.api import ApiKeyIn, Role
from services import admin
from tests.lifecycle_fixtures import KEYS, network_batch, web_order

VENDOR_KEY = "test-node-vn1"
DC_KEY = "test-node-dc1-drop"


@pytest.fixture()
def client() -> Iterator[TestClient]:
    base = network_batch()
    vendor = {
        "node_id": "VN1", "kind": "vendor", "zip": "02139", "ship_enabled": True,
        "pickup_enabled": False, "capacity_units": 50, "pick_cost": 0.2, "pack_cost": 4.0,
        "processing_days": 3,
    }  # fmt: skip
    nodes = pd.concat([base.nodes, pd.DataFrame([vendor])], ignore_index=True)
    item = {"sku": "V", "weight_lb": 3.0, "price": 80.0, "digital": False}
    items = pd.concat([base.items, pd.DataFrame([item])], ignore_index=True)
    tables = {t: base.table(t) for t in ("inventory", "orders", "order_lines", "rate_card")}
    batch = batch_from_frames(date(2026, 11, 25), None, nodes=nodes, items=items, **tables)
    db = Database(Store(":memory:"))
    db.store.load_batch(batch)
    admin.start(db)
    for role, key in KEYS.items():
        admin.create_key(db, ApiKeyIn(role=role, label=role.value), key=key)
    admin.create_key(db, ApiKeyIn(role=Role.NODE, node_id="VN1", label="VN1"), key=VENDOR_KEY)
    admin.create_key(db, ApiKeyIn(role=Role.NODE, node_id="DC1", label="DC1"), key=DC_KEY)
    with TestClient(create_app(Settings(bootstrap_admin=False), db)) as c:
        feed(c, VENDOR_KEY, "node_id,sku,kind,qty\nVN1,V,receipt,5\n")
        yield c
    db.close()


def feed(c: TestClient, key: str, csv: str) -> dict[str, Any]:
    r = c.post(
        "/inventory/feed", content=csv, headers={"X-API-Key": key, "content-type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    return r.json()


def h(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def released_order(c: TestClient) -> tuple[str, dict[str, Any]]:
    """An order for 2 V, sourced and released: a drop-ship PO at VN1."""
    r = c.post(
        "/orders", json=web_order(lines=[{"sku": "V", "qty": 2}]), headers=h(KEYS[Role.CHANNEL])
    )
    assert r.status_code == 201, r.text
    order_id = r.json()["order_id"]
    run = c.post("/sourcing/runs", json={"strategy": "greedy"}, headers=h(KEYS[Role.SCHEDULER]))
    assert run.status_code == 201 and run.json()["status"] == "applied", run.text
    rel = c.post("/sourcing/release", json={}, headers=h(KEYS[Role.SCHEDULER]))
    assert rel.status_code == 200, rel.text
    (wid,) = rel.json()["work_items"]
    item = c.get(f"/work-items/{wid}", headers=h(VENDOR_KEY)).json()
    return order_id, item


def stock(c: TestClient, node: str, sku: str) -> dict[str, Any]:
    return c.get(f"/inventory/{node}/{sku}", headers=h(KEYS[Role.ANALYST])).json()


def test_a_vendor_acknowledges_and_ships_its_purchase_order(client: TestClient) -> None:
    order_id, item = released_order(client)
    assert (item["node_id"], item["kind"], item["status"]) == ("VN1", "drop_ship", "released")
    wid = item["work_item_id"]
    # Another node's key sees none of it; a drop-ship PO is not picked or packed.
    assert client.post(f"/work-items/{wid}/acknowledge", headers=h(DC_KEY)).status_code == 403
    assert client.post(f"/work-items/{wid}/pick", headers=h(VENDOR_KEY)).status_code == 409
    ack = client.post(f"/work-items/{wid}/acknowledge", headers=h(VENDOR_KEY))
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged", ack.text
    ship = {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"}
    shipped = client.post(f"/work-items/{wid}/ship", json=ship, headers=h(VENDOR_KEY))
    assert shipped.status_code == 200, shipped.text
    body = shipped.json()
    assert (body["status"], body["carrier"], body["tracking_number"]) == (
        "shipped", "UPS", "1Z999AA10123456784",
    )  # fmt: skip
    assert float(body["invoice"]["subtotal"]) == 160.0
    vn1 = stock(client, "VN1", "V")
    assert (vn1["on_hand"], vn1["reserved"]) == (3, 0)
    order = client.get(f"/orders/{order_id}", headers=h(KEYS[Role.CUSTOMER_SERVICE])).json()
    assert order["status"] == "shipped"


def test_a_vendor_rejection_re_sources_the_lines(client: TestClient) -> None:
    order_id, item = released_order(client)
    feed(client, DC_KEY, "node_id,sku,kind,qty\nDC1,V,receipt,4\n")  # stock arrives at DC1
    wid = item["work_item_id"]
    r = client.post(f"/work-items/{wid}/reject", json={"reason": "other"}, headers=h(VENDOR_KEY))
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    events = client.get(
        f"/orders/{order_id}/events", headers=h(KEYS[Role.CUSTOMER_SERVICE])
    ).json()["items"]
    rejected = [e for e in events if e["event_type"] == "work_item_rejected"]
    (new_wid,) = rejected[0]["details"]["resourced_to"]
    new = client.get(f"/work-items/{new_wid}", headers=h(DC_KEY)).json()
    assert (new["node_id"], new["kind"], new["status"]) == ("DC1", "ship", "released")
    assert [(ln["line_no"], ln["qty"]) for ln in new["lines"]] == [(1, 2)]
    assert stock(client, "VN1", "V")["reserved"] == 0
    assert stock(client, "DC1", "V")["reserved"] == 2


def test_a_vendor_works_its_purchase_orders_in_the_console(client: TestClient) -> None:
    """The vendor's key signs in to its node screen: the PO offers Acknowledge and Ship
    (no Pick: a 409 on a PO); acknowledged, it offers Ship; shipped, it leaves the queue."""
    from tests.test_web_console import client as signed_in
    from tests.test_web_console import csrf_of

    order_id, item = released_order(client)
    wid = item["work_item_id"]
    c = signed_in(client.app, VENDOR_KEY)
    token = csrf_of(c, "/console/node")

    def actions() -> list[str]:
        page = c.get("/console/node").text
        return re.findall(rf'action="/console/node/work/{wid}/([a-z-]+)"', page)

    assert actions() == ["acknowledge", "ship", "reject"]
    r = c.post(f"/console/node/work/{wid}/acknowledge", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/console/node?done=acknowledge"
    assert "Purchase order acknowledged." in c.get(r.headers["location"]).text
    assert actions() == ["ship", "reject"]
    ship = {"csrf_token": token, "carrier": "FedEx", "tracking_number": "7712"}
    assert c.post(f"/console/node/work/{wid}/ship", data=ship).status_code == 303
    assert actions() == []
    shipped = client.get(f"/work-items/{wid}", headers=h(VENDOR_KEY)).json()
    assert (shipped["status"], shipped["carrier"], shipped["tracking_number"]) == (
        "shipped", "FedEx", "7712",
    )  # fmt: skip
    assert shipped["invoice"] is not None and order_id == shipped["order_id"]
