"""GET /orders/{id} from the read model: the same answer as the store, kept in step
with every commit, and refused exactly as the route refuses."""

import json

from fastapi.testclient import TestClient

from models.api import Role
from tests.lifecycle_fixtures import NODE_KEYS, api_client, role_headers, web_order

CS = role_headers(Role.CUSTOMER_SERVICE)
CHANNEL = role_headers(Role.CHANNEL)


def _capture(c: TestClient, order_id: str) -> dict:
    r = c.post("/orders", json=web_order(order_id=order_id), headers=CHANNEL)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_read_model_answer_is_the_stores_answer_byte_for_byte() -> None:
    with api_client() as c:
        db = c.app.state.db  # type: ignore[attr-defined]
        captured = _capture(c, "rm-1")
        assert db.caches.docs.get("rm-1") is not None  # published at commit
        hit = c.get("/orders/rm-1", headers=CS)
        db.caches.forget()  # the next answer is built from the store
        built = c.get("/orders/rm-1", headers=CS)
        assert hit.status_code == built.status_code == 200
        assert hit.content == built.content
        assert hit.headers["etag"] == built.headers["etag"] == '"1"'
        assert hit.headers["content-type"] == built.headers["content-type"]
        assert json.loads(hit.content) == captured


def test_a_change_is_seen_by_the_next_read() -> None:
    with api_client() as c:
        _capture(c, "rm-2")
        assert c.get("/orders/rm-2", headers=CS).json()["lines"][0]["ordered_qty"] == 2
        r = c.patch(
            "/orders/rm-2",
            json={"lines": [{"line_no": 1, "qty": 5}]},
            headers={**CS, "If-Match": '"1"'},
        )
        assert r.status_code == 200, r.text
        after = c.get("/orders/rm-2", headers=CS)
        assert after.headers["etag"] == '"2"'
        assert after.json()["lines"][0]["ordered_qty"] == 5
        r = c.post("/orders/rm-2/cancel", json={"reason": "test"}, headers=CS)
        assert r.status_code == 200, r.text
        assert c.get("/orders/rm-2", headers=CS).json()["status"] == "cancelled"


def test_a_cached_order_is_refused_as_the_route_refuses() -> None:
    with api_client() as c:
        _capture(c, "rm-3")
        db = c.app.state.db  # type: ignore[attr-defined]
        assert db.caches.docs.get("rm-3") is not None
        assert c.get("/orders/rm-3").status_code == 401
        assert c.get("/orders/rm-3", headers={"X-API-Key": "nobody"}).status_code == 401
        node = c.get("/orders/rm-3", headers={"X-API-Key": NODE_KEYS["DC1"]})
        assert node.status_code == 403
        assert node.headers["content-type"] == "application/problem+json"
        bad = c.get("/orders/rm-3", headers={**CS, "X-Channel": "pigeon"})
        assert bad.status_code == 422
        assert c.get("/orders/rm-3", headers={**CS, "X-Channel": "web"}).status_code == 200
        assert c.get("/orders/rm-3?x=1", headers=CS).status_code == 200
        assert c.get("/orders/no-such-order", headers=CS).status_code == 404


def test_a_change_to_one_order_keeps_the_others_documents() -> None:
    with api_client() as c:
        db = c.app.state.db  # type: ignore[attr-defined]
        _capture(c, "rm-4")
        _capture(c, "rm-5")
        r = c.post("/orders/rm-4/hold", json={"reason": "check"}, headers=CS)
        assert r.status_code == 200, r.text
        held = db.caches.docs.get("rm-4")
        assert held is not None and json.loads(held.body)["status"] == "on_hold"
        assert db.caches.docs.get("rm-5") is not None  # untouched, still cached
        assert c.get("/orders/rm-4", headers=CS).json()["status"] == "on_hold"
