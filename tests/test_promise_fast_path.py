"""POST /promise's fast path (api/promise_fast.py): it answers the well-formed request
of an authorised caller itself and hands everything else, body intact, to the route.

Network: tests/lifecycle_fixtures.py (DC1 New York, ST1 Cambridge MA, ST2 SF).
"""

import asyncio
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from api.promise_fast import PromiseFastPath
from data.lifecycle_db import Database
from models.api import Role
from models.promise import PromiseView
from services import admin
from tests.lifecycle_fixtures import KEYS, api_client, make_db
from tests.lifecycle_fixtures import role_headers as h

CART = {"lines": [{"sku": "A", "qty": 1}], "ship_zip": "02139"}


@pytest.fixture()
def db() -> Iterator[Database]:
    found = make_db()
    yield found
    found.close()


def call(
    db: Database, body: bytes, headers: dict[str, str], path: str = "/promise"
) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Run one request through the middleware: (messages sent, bodies the route got)."""
    seen: list[bytes] = []
    sent: list[dict[str, Any]] = []

    async def route(scope: Any, receive: Any, send: Any) -> None:
        got = b""
        while True:
            message = await receive()
            got += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.append(got)

    chunks = [body[:5], body[5:]]  # the body arrives in two pieces

    async def receive() -> dict[str, Any]:
        part = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": part, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "app": SimpleNamespace(state=SimpleNamespace(db=db)),
    }
    asyncio.run(PromiseFastPath(route)(scope, receive, send))
    return sent, seen


def headers(role: Role, content_type: str = "application/json") -> dict[str, str]:
    return {**h(role), "Content-Type": content_type}


def test_an_authorised_well_formed_cart_is_answered_without_the_route(db: Database) -> None:
    sent, seen = call(db, json.dumps(CART).encode(), headers(Role.CHANNEL))
    assert seen == []
    start, body = sent
    assert start["status"] == 200
    assert dict(start["headers"])[b"content-length"] == str(len(body["body"])).encode()
    view = PromiseView.model_validate_json(body["body"])
    assert view.held and view.options[0].packages[0].node_id == "ST1"


@pytest.mark.parametrize(
    ("body", "hdrs"),
    [
        (json.dumps({**CART, "lines": [{"sku": "NOPE", "qty": 1}]}), headers(Role.CHANNEL)),
        (json.dumps({**CART, "lines": []}), headers(Role.CHANNEL)),
        ('{"lines": [', headers(Role.CHANNEL)),
        (json.dumps(CART), headers(Role.ANALYST)),  # may not promise
        (json.dumps(CART), {"X-API-Key": "nobody", "Content-Type": "application/json"}),
        (json.dumps(CART), {"Content-Type": "application/json"}),
        (json.dumps(CART), headers(Role.CHANNEL, "text/plain")),
    ],
)
def test_anything_else_goes_to_the_route_with_its_body(
    db: Database, body: str, hdrs: dict[str, str]
) -> None:
    sent, seen = call(db, body.encode(), hdrs)
    assert seen == [body.encode()] and sent == []


def test_other_paths_are_not_touched(db: Database) -> None:
    sent, seen = call(db, json.dumps(CART).encode(), headers(Role.CHANNEL), "/promises")
    assert seen == [json.dumps(CART).encode()] and sent == []


def test_errors_of_the_fast_path_are_the_routes_problems() -> None:
    with api_client() as c:
        r = c.post(
            "/promise", json={**CART, "lines": [{"sku": "NOPE", "qty": 1}]}, headers=h(Role.CHANNEL)
        )
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["field"] == "lines.0.sku"
        assert c.post("/promise", json=CART, headers=h(Role.ANALYST)).status_code == 403


def test_a_role_changed_by_the_admin_is_seen_by_the_next_promise_at_once() -> None:
    # One key cache (the repository's): the promise route once kept its own for 5 s.
    with api_client() as c:
        assert c.post("/promise", json=CART, headers=h(Role.CHANNEL)).status_code == 200
        admin.seed_keys(c.app.state.db, {KEYS[Role.CHANNEL]: "analyst"})  # type: ignore[attr-defined]
        r = c.post("/promise", json=CART, headers=h(Role.CHANNEL))
        assert r.status_code == 403 and "analyst" in r.json()["detail"]
