"""Stock alerts: reorder points, alerts that fire and clear once each, also under threads.

Network: tests/lifecycle_fixtures (DC1 holds 50 A; 20 B with safety stock 2, so 18
available; 1 C).
"""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from data.lifecycle_db import Database
from models.api import Actor, Adjustment, CaptureOrder, Role
from services import alerts, inventory, orders
from tests.lifecycle_fixtures import ADMIN, KEYS, make_db, web_order


@pytest.fixture()
def db() -> Iterator[Database]:
    database = make_db()
    yield database
    database.close()


@pytest.fixture()
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(bootstrap_admin=False), db)) as c:
        yield c


def h(role: Role, **extra: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[role], **extra}


def adjust(db: Database, sku: str, delta: int) -> None:
    inventory.adjust(db, Adjustment(node_id="DC1", sku=sku, delta=delta), ADMIN)


def listed(c: TestClient, **params: Any) -> list[dict[str, Any]]:
    r = c.get("/alerts", params=params, headers=h(Role.ANALYST))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_an_alert_fires_and_clears_on_crossing_the_reorder_point(
    db: Database, client: TestClient
) -> None:
    r = client.put(
        "/reorder-points/DC1/A", json={"reorder_point": 45}, headers=h(Role.MERCHANDISER)
    )
    assert r.status_code == 200 and r.json()["reorder_point"] == 45, r.text
    assert listed(client) == []  # 50 available
    adjust(db, "A", -6)  # 44 < 45: fires
    adjust(db, "A", -1)  # still below: nothing new
    (fired,) = listed(client, node_id="DC1", sku="A")
    assert (fired["kind"], fired["available"], fired["threshold"]) == (
        "below_reorder_point",
        44,
        45,
    )
    assert fired["cleared_at"] is None
    adjust(db, "A", +2)  # 45: recovered, cleared
    adjust(db, "A", +1)
    adjust(db, "A", -3)  # 43: a new alert
    first, second = listed(client, node_id="DC1", sku="A")
    assert first["alert_id"] == fired["alert_id"] and first["cleared_at"] is not None
    assert second["cleared_at"] is None and second["available"] == 43
    assert [a["alert_id"] for a in listed(client, active=True)] == [second["alert_id"]]


def test_a_network_that_cannot_cover_open_demand_is_alerted(client: TestClient) -> None:
    body = web_order(lines=[{"sku": "C", "qty": 3}], allow_backorder=True)
    r = client.post("/orders", json=body, headers=h(Role.CHANNEL))
    assert r.status_code == 201 and r.json()["status"] == "backordered", r.text
    (short,) = listed(client, sku="C")
    assert (short["kind"], short["node_id"], short["available"], short["threshold"]) == (
        "network_short", "", 1, 3,
    )  # fmt: skip
    feed = "node_id,sku,kind,qty\nDC1,C,receipt,5\n"
    r = client.post(
        "/inventory/feed", content=feed, headers=h(Role.ADMIN, **{"content-type": "text/csv"})
    )
    assert r.status_code == 200, r.text
    (cleared,) = listed(client, sku="C")
    assert cleared["cleared_at"] is not None


def test_a_reorder_point_below_zero_is_refused_naming_the_field(client: TestClient) -> None:
    r = client.put(
        "/reorder-points/DC1/A", json={"reorder_point": -1}, headers=h(Role.MERCHANDISER)
    )
    assert r.status_code == 422, r.text
    assert any("reorder_point" in str(e) for e in r.json()["errors"]), r.json()
    feed = "node_id,sku,kind,qty\nDC1,A,reorder_point,-2\n"
    r = client.post(
        "/inventory/feed", content=feed, headers=h(Role.ADMIN, **{"content-type": "text/csv"})
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [
        {"field": "row 1.qty", "message": "a reorder point is at least 0"}
    ]


def test_reorder_points_come_in_through_the_bulk_feed(db: Database, client: TestClient) -> None:
    feed = "node_id,sku,kind,qty\nDC1,B,reorder_point,19\n"
    r = client.post(
        "/inventory/feed", content=feed, headers=h(Role.ADMIN, **{"content-type": "text/csv"})
    )
    assert r.status_code == 200, r.text
    (alert,) = listed(client, node_id="DC1")  # 18 available < 19, raised by the feed itself
    assert (alert["sku"], alert["available"], alert["threshold"]) == ("B", 18, 19)


def test_alerts_fire_and_clear_once_each_under_concurrent_changes(db: Database) -> None:
    alerts.set_reorder_point(db, "DC1", "B", 10, ADMIN)
    with ThreadPoolExecutor(8) as pool:  # 18 available -> 2, crossing 10 once
        list(pool.map(lambda _: adjust(db, "B", -1), range(16)))
    page = alerts.list_alerts(db, "DC1", "B", None, 50, None).items
    assert len(page) == 1 and page[0].cleared_at is None
    with ThreadPoolExecutor(8) as pool:  # back to 18, crossing 10 once the other way
        list(pool.map(lambda _: adjust(db, "B", +1), range(16)))
    page = alerts.list_alerts(db, "DC1", "B", None, 50, None).items
    assert len(page) == 1 and page[0].cleared_at is not None


def test_a_network_alert_is_raised_once_by_racing_captures(db: Database) -> None:
    actor = Actor(name="race", role=Role.CHANNEL)

    def capture(n: int) -> str:
        body = web_order(lines=[{"sku": "C", "qty": 2}], order_id=f"race-{n}")
        return orders.capture(db, CaptureOrder.model_validate(body), actor).status

    with ThreadPoolExecutor(8) as pool:  # 1 C in the network, 2 wanted by each order
        assert set(pool.map(capture, range(16))) == {"backordered"}
    (short,) = alerts.list_alerts(db, None, "C", None, 50, None).items
    assert (short.kind, short.cleared_at, short.available) == ("network_short", None, 1)
