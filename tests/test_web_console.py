"""The web console without a browser: sign-in, cookies, CSRF, who sees what, hostile input.

Fast checks over the real app (TestClient); the walks a person makes are in
``test_web_browser.py``.
"""

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Route

from api.app import create_app
from api.settings import Settings
from api.web import ROUTERS, charts, usmap
from api.web.session import SESSION_COOKIE
from data.lifecycle_db import Database
from models.api import Actor, CaptureOrder, Role, RunView
from services import console, orders
from tests.lifecycle_fixtures import KEYS, NODE_KEYS, make_db, web_order

CHANNEL = Actor(name="web-shop", role=Role.CHANNEL, channel="web")
SCREENS = ("/console/tower", "/console/orders", "/console/inventory", "/console/node")


@pytest.fixture(scope="module")
def db() -> Iterator[Database]:
    database = make_db()
    yield database
    database.close()


@pytest.fixture(scope="module")
def app(db: Database):  # type: ignore[no-untyped-def]
    settings = Settings(db_path=":memory:", bootstrap_admin=False, web_secret="unit-secret")
    return create_app(settings, db=db)


@pytest.fixture(scope="module")
def order_id(db: Database) -> str:
    body = web_order()
    body["customer"] = {**body["customer"], "phone": "617.555.0199"}
    return orders.capture(db, CaptureOrder.model_validate(body), CHANNEL).order_id


def client(app, key: str | None = None) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app, follow_redirects=False)
    if key is not None:
        r = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
        assert token is not None
        r = c.post("/login", data={"csrf_token": token.group(1), "api_key": key})
        assert r.status_code == 303, r.text
    return c


def csrf_of(c: TestClient, url: str = "/console/orders") -> str:
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', c.get(url, follow_redirects=True).text)
    assert found is not None
    return found.group(1)


def test_sign_in_sets_an_httponly_strict_signed_cookie_without_the_key(app) -> None:  # type: ignore[no-untyped-def]
    c = client(app)
    r = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    r = c.post("/login", data={"csrf_token": token, "api_key": KEYS[Role.CUSTOMER_SERVICE]})
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert KEYS[Role.CUSTOMER_SERVICE] not in cookie
    assert c.get("/").headers["location"] == "/console/orders"


def test_sign_in_refuses_a_bad_key_and_a_missing_token(app) -> None:  # type: ignore[no-untyped-def]
    c = client(app)
    r = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    assert c.post("/login", data={"csrf_token": token, "api_key": "nope"}).status_code == 401
    r = c.post("/login", data={"api_key": KEYS[Role.ADMIN]})
    assert r.status_code == 403 and SESSION_COOKIE not in r.headers.get("set-cookie", "")


def test_a_tampered_or_missing_session_goes_to_sign_in(app) -> None:  # type: ignore[no-untyped-def]
    c = client(app)
    assert c.get("/console/orders").headers["location"] == "/login?next=/console/orders"
    c.cookies.set(SESSION_COOKIE, "eyJrIjoiYWJjIn0.forged.signature")
    assert c.get("/console/tower").status_code == 303
    assert c.get("/console/tower", headers={"HX-Request": "true"}).headers["HX-Redirect"]


# Which screens each role reaches: 200, else 403 (the same rules as the API's roles).
REACH = {
    Role.SCHEDULER: {"/console/tower", "/console/orders"},
    Role.ANALYST: {"/console/tower", "/console/orders", "/console/inventory"},
    Role.CUSTOMER_SERVICE: {"/console/orders"},
    Role.MERCHANDISER: {"/console/inventory"},
    Role.CHANNEL: set(),
    Role.ADMIN: set(SCREENS),
}


@pytest.mark.parametrize("role", list(REACH))
def test_each_role_reaches_only_its_screens(app, role: Role) -> None:  # type: ignore[no-untyped-def]
    c = client(app, KEYS[role])
    got = {url for url in SCREENS if c.get(url).status_code == 200}
    assert got == REACH[role]
    assert all(c.get(url).status_code == 403 for url in set(SCREENS) - got)


def test_a_node_key_reaches_only_its_node_screen(app) -> None:  # type: ignore[no-untyped-def]
    c = client(app, NODE_KEYS["ST2"])
    assert [c.get(u).status_code for u in SCREENS] == [403, 403, 403, 200]
    assert c.get("/console/node?node=DC1").status_code == 403
    assert c.get("/console/node?node=ST2").status_code == 200


def test_a_post_with_a_wrong_or_missing_csrf_token_changes_nothing(
    app, db: Database, order_id: str
) -> None:  # type: ignore[no-untyped-def]
    c = client(app, KEYS[Role.CUSTOMER_SERVICE])
    form = {"line_no": "1", "qty": "7", "version": "1"}
    for extra in ({}, {"csrf_token": "forged"}, {"csrf_token": ""}):
        r = c.post(f"/console/orders/{order_id}/qty", data={**form, **extra})
        assert r.status_code == 403 and "security token" in r.text
    assert orders.get_order(db, order_id).lines[0].ordered_qty == 2


def test_search_by_email_phone_id_and_status(app, db: Database, order_id: str) -> None:  # type: ignore[no-untyped-def]
    found = console.search_orders(db, console.OrderSearch("ANN@example.com"))
    assert order_id in [r["order_id"] for r in found]
    by_phone = console.search_orders(db, console.OrderSearch("+1 617.555.0199"))
    assert [r["order_id"] for r in by_phone] == [order_id]
    assert [r["order_id"] for r in console.search_orders(db, console.OrderSearch(order_id))] == [
        order_id
    ]
    assert console.search_orders(db, console.OrderSearch("", "shipped")) == []
    c = client(app, KEYS[Role.CUSTOMER_SERVICE])
    r = c.get("/console/orders", params={"q": "617-555-0199"})
    assert r.status_code == 303 and r.headers["location"] == f"/console/orders/{order_id}"


def test_phone_digits_text_is_read_as_what_it_is() -> None:
    f = console.OrderSearch
    assert f("a@b.co").filters()["email"] == "a@b.co"
    assert f("(617) 555-0100").filters()["phone_digits"] == "6175550100"
    assert f("ord-1").filters()["order_id"] == "ord-1"
    assert f("12345").filters()["order_id"] == "12345"  # too short for a phone


def test_node_dots_land_in_their_states() -> None:
    by_name = {s.name: s for s in usmap.states()}
    assert len(by_name) == 51  # 50 states and DC
    for state, lat, lon in (
        ("Colorado", 39.74, -104.99),
        ("Massachusetts", 42.36, -71.06),
        ("Alaska", 61.22, -149.90),
        ("Hawaii", 21.31, -157.86),
        ("Florida", 25.76, -80.19),
        ("Washington", 47.61, -122.33),
    ):
        x, y = usmap.project(lat, lon)
        inside = [n for n, s in by_name.items() if usmap.contains(s, x, y)]
        assert inside == [state]


def test_run_costs_are_the_weighted_components_that_sum_to_the_total() -> None:
    run = RunView.model_validate(
        {
            "run_id": "r",
            "status": "applied",
            "strategy": "optimize",
            "started_at": "2026-12-01T10:00:00Z",
            "finished_at": None,
            "weights": {"shipping": 1, "handling": 1, "late": 5, "split": 2, "unfilled": 1},
            "time_limit": 1,
            "orders_planned": 3,
            "plan_id": None,
            "kpis": {
                "total": 153.5,
                "shipping": 100.0,
                "handling": 20.5,
                "late_days": 3,
                "splits": 4,
                "unfilled": 10.0,
            },
            "error": None,
        }
    )
    costs = charts.run_costs(run)
    assert costs == {
        "shipping": 100.0,
        "handling": 20.5,
        "late": 15.0,
        "splits": 8.0,
        "unfilled": 10.0,
    }
    assert sum(costs.values()) == 153.5
    (bar,) = charts.cost_bars([run])
    assert bar.total == 153.5 and bar.segments[0]["h"] == pytest.approx(100 / 153.5 * 210, 0.01)


def test_api_docs_are_served_from_vendored_files(app) -> None:  # type: ignore[no-untyped-def]
    c = client(app)
    for page, asset in (
        ("/docs", "/static/vendor/swagger-ui/swagger-ui-bundle.js"),
        ("/redoc", "/static/vendor/redoc/redoc.standalone.js"),
    ):
        r = c.get(page)
        assert r.status_code == 200 and asset in r.text
        assert "cdn" not in r.text.lower() and "googleapis" not in r.text
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert c.get(asset).status_code == 200


JUNK = [
    "",
    "%",
    "%ZZ",
    "a=%00",
    "q=" + "x" * 5000,
    "q=%00%01&status=%FF",
    "sku=../../etc/passwd",
    "sku=%E2%80%AE",
    "status=shipped&status=nope",
    "show=rejected&show='; drop table orders",
    "node=DC1%00",
    "done=%3Cscript%3E",
    "alerts=%00nope",
    "alerts=WyIiLCAiQyIsIDFd&sku=C",
    "next=//evil.example",
]
BODIES: list[tuple[str, bytes]] = [
    ("application/x-www-form-urlencoded", b""),
    ("application/x-www-form-urlencoded", b"qty=abc&line_no=-1&version=x&csrf_token=TOKEN"),
    (
        "application/x-www-form-urlencoded",
        b"qty=1e309&line_no=9999999999&version=0&csrf_token=TOKEN",
    ),
    ("application/x-www-form-urlencoded", b"qty=%00&reason=%00&zip=ABCDE&state=1&csrf_token=TOKEN"),
    (
        "application/x-www-form-urlencoded",
        b"strategy=nope&time_limit=nan&node_id=X&sku=&delta=--1&condition=x&csrf_token=TOKEN",
    ),
    ("application/x-www-form-urlencoded", b"line_no=1&qty=2&version=1&" + b"a=b&" * 400),
    (
        "application/x-www-form-urlencoded",
        b"sku_1=A&qty_1=1e309&sku_2=%00&qty_2=-5&sku_3=NOPE&qty_3=1&zip=99999&csrf_token=TOKEN",
    ),
    (
        "application/x-www-form-urlencoded",
        b"sku_1=A&qty_1=1&sku_2=A&qty_2=1&zip=00000&csrf_token=TOKEN",
    ),
    ("multipart/form-data; boundary=xx", b"--xx\r\nContent-Disposition: form-data\r\n\r\nbroken"),
    ("multipart/form-data", b"no boundary at all"),
    ("application/json", b'{"csrf_token": "TOKEN"}'),
    ("text/plain", b"\xff\xfe\x00garbage"),
]


def _console_routes() -> list[Route]:
    """Every console route but sign-out (which would end the session the loop uses)."""
    return [
        r
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, Route) and r.path != "/logout"
    ]


def test_no_page_answers_500_to_junk_queries_or_forms(app, order_id: str) -> None:  # type: ignore[no-untyped-def]
    c = client(app, KEYS[Role.ADMIN])
    c.raise_server_exceptions = False
    token = csrf_of(c)
    fills = {
        "order_id": [order_id, "no-such-order", "%00", "a" * 300],
        "work_item_id": ["wi-nope", "%2e%2e"],
        "action": ["pick", "reject", "launch"],
        "return_id": ["rma-nope"],
    }
    seen = 0
    for route in _console_routes():
        params = re.findall(r"{(\w+)}", route.path)
        paths = [route.path]
        for name in params:
            paths = [p.replace("{" + name + "}", v) for p in paths for v in fills[name]]
        for path in paths:
            if "GET" in (route.methods or ()):
                for query in JUNK:
                    r = c.get(f"{path}?{query}")
                    assert r.status_code < 500, (path, query, r.text[:300])
                    seen += 1
            if "POST" in (route.methods or ()):
                for kind, body in BODIES:
                    r = c.post(
                        path,
                        content=body.replace(b"TOKEN", token.encode()),
                        headers={"content-type": kind},
                    )
                    assert r.status_code < 500, (path, body[:80], r.text[:300])
                    seen += 1
    assert len(_console_routes()) == 25 and seen > 300
    assert c.get("/console/tower").status_code == 200  # still signed in: every route was hit


def test_junk_form_values_are_named_in_the_message(app, db: Database) -> None:  # type: ignore[no-untyped-def]
    order_id = orders.capture(db, CaptureOrder.model_validate(web_order()), CHANNEL).order_id
    c = client(app, KEYS[Role.CUSTOMER_SERVICE])
    token = csrf_of(c)
    r = c.post(
        f"/console/orders/{order_id}/qty",
        data={"csrf_token": token, "line_no": "1", "qty": "lots", "version": "1"},
    )
    assert r.status_code == 422 and "qty: a whole number, not &#39;lots&#39;" in r.text
    r = c.post(
        f"/console/orders/{order_id}/address",
        data={
            "csrf_token": token,
            "version": "1",
            "line1": "1 Elm",
            "city": "X",
            "state": "CA",
            "zip": "02139",
        },
    )
    assert r.status_code == 422 and "ZIP 02139 is in MA, not CA" in r.text
    cart = {"csrf_token": token, "sku_1": "A", "qty_1": "2", "sku_2": "B", "qty_2": "lots"}
    r = c.post("/console/promise", data={**cart, "zip": "1234"})
    assert r.status_code == 422
    assert "qty_2: a whole number, not &#39;lots&#39;; zip: five digits" in r.text
    r = c.post("/console/promise", data={**cart, "qty_2": "1", "sku_2": "NOPE", "zip": "02139"})
    assert r.status_code == 422 and "sku_2: unknown SKU &#39;NOPE&#39;" in r.text


def test_pickup_hand_over_then_a_return_received_at_another_node(app, db: Database) -> None:  # type: ignore[no-untyped-def]
    from models.api import RunRequest
    from services import fulfilment, returns, sourcing
    from tests.lifecycle_fixtures import ADMIN

    body = web_order(service="pickup", pickup_node_id="ST1", lines=[{"sku": "B", "qty": 1}])
    del body["ship_to"]
    order_id = orders.capture(db, CaptureOrder.model_validate(body), CHANNEL).order_id
    sourcing.run_sourcing(db, RunRequest(strategy="greedy", time_limit=1), ADMIN)
    sourcing.release(db, [order_id], ADMIN)
    (item,) = [
        w
        for w in fulfilment.list_work_items(db, ADMIN, "ST1", None, 500, None).items
        if w.order_id == order_id
    ]
    store = client(app, NODE_KEYS["ST1"])
    token = csrf_of(store, "/console/node")
    for action, status in (("pick", "picked"), ("ready", "ready_for_pickup")):
        r = store.post(
            f"/console/node/work/{item.work_item_id}/{action}", data={"csrf_token": token}
        )
        assert r.status_code == 303, r.text
        assert fulfilment.get_work_item(db, item.work_item_id, ADMIN).status == status
    page = store.get("/console/node").text
    waiting = page[page.index("Pickups waiting") :]
    assert item.work_item_id in waiting.split("Returns to receive")[0]
    r = store.post(f"/console/node/work/{item.work_item_id}/picked-up", data={"csrf_token": token})
    assert r.status_code == 303
    assert orders.get_order(db, order_id).status == "picked_up"

    agent = client(app, KEYS[Role.CUSTOMER_SERVICE])
    r = agent.post(
        f"/console/orders/{order_id}/return",
        data={"csrf_token": csrf_of(agent), "line_no": "1", "qty": "1"},
    )
    assert r.status_code == 303 and r.headers["location"].endswith("done=return")
    dc = client(app, NODE_KEYS["DC1"])
    page = dc.get("/console/node").text
    (rma,) = re.findall(r"/console/node/returns/([\w-]+)/receive", page)
    r = dc.post(
        f"/console/node/returns/{rma}/receive",
        data={"csrf_token": csrf_of(dc, "/console/node"), "condition": "sellable"},
    )
    assert r.status_code == 303
    received = returns.get_return(db, rma)
    assert (received.status, received.node_id) == ("received", "DC1")
    assert received.refund is not None and received.refund > 0
    order_page = agent.get(f"/console/orders/{order_id}").text
    assert rma in order_page and "received" in order_page


def test_run_now_while_another_run_holds_the_lock_says_so(app, db: Database) -> None:  # type: ignore[no-untyped-def]
    c = client(app, KEYS[Role.SCHEDULER])
    token = csrf_of(c, "/console/tower")
    with db.run_lock:  # a run started through the API is in progress
        r = c.post(
            "/console/tower/run",
            data={"csrf_token": token, "strategy": "greedy", "time_limit": "1"},
        )
        assert r.status_code == 200
        app.state.console_run.thread.join(timeout=10)
    page = c.get("/console/tower/run/progress").text
    assert "The run failed: a sourcing run is already in progress" in page
    r = c.post(
        "/console/tower/run",
        data={"csrf_token": token, "strategy": "simplex", "time_limit": "1"},
    )
    assert r.status_code == 422 and "strategy: one of" in r.text


def test_tower_counts_each_exception_once() -> None:
    from datetime import UTC, datetime, timedelta

    from models.api import RejectRequest, RunRequest
    from services import fulfilment, sourcing
    from tests.lifecycle_fixtures import ADMIN

    fresh = make_db()
    try:

        def capture(lines: list[dict], **extra: object) -> str:
            body = web_order(lines=lines, **extra)
            return orders.capture(fresh, CaptureOrder.model_validate(body), CHANNEL).order_id

        short = capture([{"sku": "C", "qty": 5}])  # one unit of C in the network
        held = capture([{"sku": "A", "qty": 1}], due_days=10)
        orders.hold(fresh, held, "fraud check", ADMIN)
        shipped = capture([{"sku": "A", "qty": 1}], due_days=10)
        rejected = capture([{"sku": "A", "qty": 1}], due_days=10)
        sourcing.run_sourcing(fresh, RunRequest(strategy="greedy", time_limit=1), ADMIN)
        sourcing.release(fresh, [shipped, rejected], ADMIN)
        items = {
            w.order_id: w
            for w in fulfilment.list_work_items(fresh, ADMIN, None, None, 50, None).items
        }
        node = Actor(name="dc", role=Role.NODE, node_id=items[rejected].node_id)
        fulfilment.reject(
            fresh, items[rejected].work_item_id, RejectRequest(reason="damaged"), node
        )
        now = datetime.now(UTC)
        view = console.tower(fresh, now)
        # short is due in 5 days: late only once a week has passed; the others in 10.
        assert view.exceptions == {
            "backordered": 1, "on_hold": 1, "late": 0, "rejected": 1, "awaiting_appointment": 0,
        }  # fmt: skip
        assert orders.get_order(fresh, short).status == "backordered"
        later = console.tower(fresh, now + timedelta(days=7))
        assert later.exceptions["late"] == 1
        assert [
            r["order_id"] for r in console.exception_orders(fresh, "late", now + timedelta(days=7))
        ] == [short]
        assert console.tower(fresh, now + timedelta(days=11)).exceptions["late"] == 4
        assert sum(r["orders"] for r in view.today) == 4
        assert {n.node_id: n.capacity_units > 0 for n in view.nodes} == {
            "DC1": True,
            "ST1": True,
            "ST2": True,
        }
    finally:
        fresh.close()


def test_the_tower_pages_open_stock_alerts_and_links_each_to_its_sku_and_node(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reorder points above what DC1 has of A (50), B (18) and ST1 of A (5) raise three
    node alerts; an order for 3 C (1 in the network) raises the network's. A page holds
    two: network/C and DC1/A, then DC1/B and ST1/A."""
    from services import alerts
    from tests.lifecycle_fixtures import ADMIN

    monkeypatch.setattr(console, "ALERTS_PAGE", 2)
    fresh = make_db()
    try:
        for node, sku, point in (("DC1", "A", 60), ("DC1", "B", 19), ("ST1", "A", 6)):
            alerts.set_reorder_point(fresh, node, sku, point, ADMIN)
        body = web_order(lines=[{"sku": "C", "qty": 3}], allow_backorder=True)
        orders.capture(fresh, CaptureOrder.model_validate(body), CHANNEL)
        settings = Settings(db_path=":memory:", bootstrap_admin=False, web_secret="unit-secret")
        c = client(create_app(settings, db=fresh), KEYS[Role.ANALYST])
        first = c.get("/console/tower").text
        assert re.search(r"<b>4</b><span>stock alerts</span>", first)
        rows = re.findall(r'<tr data-alert="\d+">(.*?)</tr>', first)
        assert len(rows) == 2
        assert "network short" in rows[0] and "whole network" in rows[0]
        assert '<a href="/console/inventory?sku=C">C</a>' in rows[0]
        assert '<a href="/console/inventory?sku=A#node-DC1">DC1</a>' in rows[1]
        assert "<b>50</b>" in rows[1] and ">60<" in rows[1]
        nxt = re.search(r'class="next" href="(/console/tower\?alerts=[^"#]+)#alerts"', first)
        assert nxt is not None
        second = c.get(nxt.group(1).replace("&amp;", "&")).text
        rows = re.findall(r'<tr data-alert="\d+">(.*?)</tr>', second)
        assert ["DC1" in rows[0] and ">B<" in rows[0], "ST1" in rows[1]] == [True, True]
        assert 'class="next"' not in second and "first page" in second
        sku_page = c.get("/console/inventory?sku=A").text
        assert 'id="node-DC1"' in sku_page
        assert len(re.findall(r'<tr data-alert="\d+">', sku_page)) == 2  # DC1/A and ST1/A
        alerts.set_reorder_point(fresh, "DC1", "A", 0, ADMIN)  # cleared: off the panel
        assert re.search(r"<b>3</b><span>stock alerts</span>", c.get("/console/tower").text)
    finally:
        fresh.close()


def test_the_awaiting_appointment_card_counts_what_the_appointments_api_says() -> None:
    """B needs an installation. Two orders of B and one of A: two await an appointment;
    booking one leaves one, the same answer GET /appointments/orders/{id} gives."""
    from tests.test_appointments_api import new_order, setup_pool, working_day

    fresh = make_db()
    try:
        setup_pool(fresh)
        first, second = new_order(fresh), new_order(fresh)
        new_order(fresh, [{"sku": "A", "qty": 1}])
        assert console.tower(fresh).exceptions["awaiting_appointment"] == 2
        settings = Settings(db_path=":memory:", bootstrap_admin=False, web_secret="unit-secret")
        app = create_app(settings, db=fresh)
        api = TestClient(app)
        h = {"X-API-Key": KEYS[Role.CUSTOMER_SERVICE]}
        booking = {"order_id": first, "day": working_day(3).isoformat(), "window": "08:00-12:00"}
        assert api.post("/appointments", json=booking, headers=h).status_code == 201
        awaiting = {
            o: api.get(f"/appointments/orders/{o}", headers=h).json()["awaiting_appointment"]
            for o in (first, second)
        }
        assert awaiting == {first: False, second: True}
        c = client(app, KEYS[Role.SCHEDULER])
        page = c.get("/console/tower?show=awaiting_appointment").text
        assert re.search(r"<b>1</b><span>awaiting appointment</span>", page)
        assert f'href="/console/orders/{second}"' in page and first not in page
        assert "not tracked" not in page
    finally:
        fresh.close()
