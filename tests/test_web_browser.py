"""The web console walked in a real headless Chromium (Debian's ``chromium``, Playwright).

Each walk signs in with a role's API key and uses the pages as a person would.
Every screen is photographed at 1280x800 and at a phone's width (390x844):
into ``$DOM_SCREENSHOT_DIR`` when set (``docs/screenshots`` is made that way),
else into the test's temporary folder. The browser may reach only the test
server: any other request is aborted and fails the test (nothing from a CDN).
"""

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from data.lifecycle_db import Database
from models.api import Actor, CaptureOrder, Role, RunRequest
from services import fulfilment, inventory, orders, sourcing
from services import promise as promising
from tests.lifecycle_fixtures import ADMIN, KEYS, NODE_KEYS, make_db, web_order
from tests.web_server import serve

CHROMIUM = Path(os.environ.get("DOM_CHROMIUM", "/usr/bin/chromium"))
# Flags for this machine's closed network (no background fetches, no QUIC).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} missing (apt-get install chromium; .ci/run does)"
)
sync_api = pytest.importorskip("playwright.sync_api")
CHANNEL = Actor(name="web-shop", role=Role.CHANNEL, channel="web")


@pytest.fixture(scope="module")
def db() -> Iterator[Database]:
    database = make_db()
    yield database
    database.close()


@pytest.fixture(scope="module")
def base_url(db: Database) -> Iterator[str]:
    with serve(db, run_time_limit=2.0) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator["sync_api.Browser"]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("DOM_SCREENSHOT_DIR")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


class Walk:
    """A signed-in browser tab, refusing every request that leaves the test server."""

    def __init__(self, browser: "sync_api.Browser", base_url: str, shots: Path) -> None:
        self.base_url, self.shots = base_url, shots
        self.context = browser.new_context(viewport=DESKTOP, base_url=base_url)
        self.outside: list[str] = []
        self.context.route(re.compile(r"^(?!" + re.escape(base_url) + ").*"), self._refuse)
        self.page = self.context.new_page()

    def _refuse(self, route: "sync_api.Route") -> None:
        self.outside.append(route.request.url)
        route.abort()

    def sign_in(self, key: str) -> "Walk":
        self.page.goto("/login")
        self.page.fill("input[name=api_key]", key)
        self.page.click("button:has-text('Sign in')")
        self.page.wait_for_load_state()
        return self

    def snap(self, name: str, full_page: bool = True) -> None:
        """The current page at desktop and phone width (full length unless told)."""
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            self.page.set_viewport_size(size)
            self.page.screenshot(path=self.shots / f"{name}-{label}.png", full_page=full_page)
        self.page.set_viewport_size(DESKTOP)

    def csrf(self) -> str:
        header = self.page.get_attribute("body", "hx-headers") or ""
        found = re.search(r'"X-CSRF-Token": "([^"]+)"', header)
        assert found, "the page carries no CSRF token"
        return found.group(1)

    def close(self) -> None:
        self.context.close()
        assert not self.outside, f"the page tried to leave the server: {self.outside[:3]}"


@pytest.fixture
def walk(browser: "sync_api.Browser", base_url: str, shots: Path) -> Iterator[Walk]:
    w = Walk(browser, base_url, shots)
    yield w
    w.close()


def _capture(db: Database, email: str, lines: list[dict]) -> str:
    body = web_order(lines=lines)
    body["customer"] = {**body["customer"], "email": email}
    view = orders.capture(db, CaptureOrder.model_validate(body), CHANNEL)
    return view.order_id


def test_sign_in_page_and_api_docs_work_offline(walk: Walk) -> None:
    walk.page.goto("/login")
    assert walk.page.title() == "Sign in · DOM"
    walk.snap("login")
    walk.page.goto("/docs")
    walk.page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "DOM order service" in walk.page.inner_text(".swagger-ui .info .title")
    walk.snap("docs-swagger", full_page=False)
    walk.page.goto("/redoc")
    walk.page.wait_for_selector("h1", timeout=15000)
    assert "DOM order service" in walk.page.inner_text("h1")
    walk.snap("docs-redoc", full_page=False)


def test_customer_service_changes_a_quantity_and_sees_the_timeline(
    walk: Walk, db: Database
) -> None:
    first = _capture(db, "cs.walk@example.com", [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}])
    _capture(db, "cs.walk@example.com", [{"sku": "B", "qty": 1}])
    walk.sign_in(KEYS[Role.CUSTOMER_SERVICE])
    assert walk.page.url.endswith("/console/orders")
    walk.page.fill("input[name=q]", "CS.Walk@example.com")
    walk.page.click("button:has-text('Search')")
    rows = walk.page.locator("table.results tbody tr")
    assert rows.count() == 2
    walk.snap("cs-search")
    walk.page.click(f"a:has-text('{first}')")
    assert walk.page.locator("h1").inner_text().startswith(f"Order {first}")
    timeline = walk.page.locator("#timeline li")
    before = timeline.count()
    form = walk.page.locator("form[data-line='1']")
    form.locator("input[name=qty]").fill("3")
    form.locator("button").click()
    walk.page.wait_for_load_state()
    assert walk.page.locator(".notice").inner_text() == "Quantity changed."
    assert timeline.count() == before + 1
    newest = timeline.first.inner_text()
    assert "changed" in newest.splitlines()[0]
    assert "line 1 qty: 2 → 3" in newest and "via call center" in newest
    ordered = walk.page.locator("table.lines tbody tr").first.locator("td").nth(3).inner_text()
    assert ordered == "3"
    assert orders.get_order(db, first).lines[0].ordered_qty == 3
    walk.snap("cs-order")


def test_customer_service_takes_a_delivery_promise_for_a_cart(walk: Walk, db: Database) -> None:
    walk.sign_in(KEYS[Role.CUSTOMER_SERVICE])
    walk.page.click("nav a:has-text('Delivery promise')")
    assert walk.page.locator("h1").inner_text() == "Delivery promise for a new order"
    walk.page.fill("input[name=sku_1]", "A")
    walk.page.fill("input[name=qty_1]", "2")
    walk.page.fill("input[name=sku_2]", "B")
    walk.page.fill("input[name=zip]", "02139")
    walk.page.click("button:has-text('Get delivery options')")
    walk.page.wait_for_load_state()
    promise_id = walk.page.locator(".promise-id").inner_text()
    shown = walk.page.locator("table.options tbody tr").first.locator(".delivery-date")
    # The id on the page is a live hold in the service; its first option's date is shown.
    held = promising.index_of(db).claim(promise_id)
    promising.index_of(db).unclaim(promise_id)
    assert [ln.sku for ln in held.lines] == ["A", "B"] and held.ship_zip == "02139"
    assert shown.inner_text() == held.options[0].delivery_date.isoformat()
    assert walk.page.locator("table.options tbody tr").count() == len(held.options) >= 1
    walk.snap("cs-promise")


def test_a_stale_page_is_told_the_order_moved_on(walk: Walk, db: Database) -> None:
    order_id = _capture(db, "stale@example.com", [{"sku": "A", "qty": 1}])
    walk.sign_in(KEYS[Role.CUSTOMER_SERVICE])
    walk.page.goto(f"/console/orders/{order_id}")
    orders.hold(db, order_id, "someone else", ADMIN)  # the order moves on meanwhile
    orders.unhold(db, order_id, ADMIN)
    form = walk.page.locator("form[data-line='1']")
    form.locator("input[name=qty]").fill("4")
    response = None
    with walk.page.expect_response(lambda r: r.request.method == "POST") as info:
        form.locator("button").click()
    response = info.value
    assert response.status == 412
    assert "is at version 3" in walk.page.locator(".error").inner_text()
    assert orders.get_order(db, order_id).lines[0].ordered_qty == 1


def test_a_form_posted_without_its_csrf_token_is_refused(walk: Walk, db: Database) -> None:
    order_id = _capture(db, "csrf@example.com", [{"sku": "A", "qty": 1}])
    walk.sign_in(KEYS[Role.CUSTOMER_SERVICE])
    walk.page.goto(f"/console/orders/{order_id}")
    form = walk.page.locator("form[data-line='1']")
    form.locator("input[name=csrf_token]").evaluate("el => el.remove()")
    form.locator("input[name=qty]").fill("5")
    with walk.page.expect_response(lambda r: r.request.method == "POST") as info:
        form.locator("button").click()
    assert info.value.status == 403
    assert "security token is missing" in walk.page.inner_text("main")
    assert orders.get_order(db, order_id).lines[0].ordered_qty == 1


def _released(db: Database, email: str, count: int) -> list[str]:
    """``count`` one-unit orders of A, sourced (greedy: DC1) and released to the node."""
    ids = [_capture(db, email, [{"sku": "A", "qty": 1}]) for _ in range(count)]
    sourcing.run_sourcing(db, RunRequest(strategy="greedy", time_limit=1), ADMIN)
    sourcing.release(db, ids, ADMIN)
    return ids


def test_store_associate_picks_packs_ships_and_rejects_one_which_is_resourced(
    walk: Walk, db: Database
) -> None:
    shipped_order, rejected_order = _released(db, "node.walk@example.com", 2)
    items = {
        w.order_id: w
        for w in fulfilment.list_work_items(db, ADMIN, None, "released", 500, None).items
    }
    to_ship, to_reject = items[shipped_order], items[rejected_order]
    node = to_ship.node_id
    assert node == to_reject.node_id == "DC1"
    walk.sign_in(NODE_KEYS[node])
    assert walk.page.url.endswith("/console/node")
    walk.snap("node-queue")
    for action in ("Pick", "Pack"):
        walk.page.locator(f"#wi-{to_ship.work_item_id} button:has-text('{action}')").click()
        walk.page.wait_for_load_state()
    ship = walk.page.locator(f"#wi-{to_ship.work_item_id}")
    ship.locator("input[name=tracking_number]").fill("1Z999AA10123456784")
    ship.locator("button:has-text('Ship')").click()
    walk.page.wait_for_load_state()
    assert walk.page.locator(".notice").inner_text() == "Shipped and invoiced."
    assert walk.page.locator(f"#wi-{to_ship.work_item_id}").count() == 0
    done = fulfilment.get_work_item(db, to_ship.work_item_id, ADMIN)
    assert (done.status, done.carrier, done.tracking_number) == (
        "shipped",
        "UPS",
        "1Z999AA10123456784",
    )
    assert done.invoice is not None
    reject = walk.page.locator(f"#wi-{to_reject.work_item_id}")
    reject.locator("select[name=reason]").select_option("short_pick")
    reject.locator("button:has-text('Reject')").click()
    walk.page.wait_for_load_state()
    assert walk.page.locator(".notice").inner_text().startswith("Rejected")
    assert walk.page.locator(f"#wi-{to_reject.work_item_id}").count() == 0
    assert fulfilment.get_work_item(db, to_reject.work_item_id, ADMIN).status == "rejected"
    again = [
        w
        for w in fulfilment.list_work_items(db, ADMIN, None, "released", 500, None).items
        if w.order_id == rejected_order
    ]
    assert [w.node_id for w in again] == ["ST1"]  # re-sourced at once to the other node
    walk.snap("node-after")


def test_a_node_key_cannot_see_or_touch_another_nodes_queue(walk: Walk, db: Database) -> None:
    (order_id,) = _released(db, "other.node@example.com", 1)
    item = next(
        w
        for w in fulfilment.list_work_items(db, ADMIN, "DC1", "released", 500, None).items
        if w.order_id == order_id
    )
    walk.sign_in(NODE_KEYS["ST1"])
    assert walk.page.locator(f"#wi-{item.work_item_id}").count() == 0
    response = walk.page.goto("/console/node?node=DC1")
    assert response is not None and response.status == 403
    assert "sees only ST1's work" in walk.page.inner_text("main")
    walk.page.goto("/console/node")
    posted = walk.page.request.post(
        f"/console/node/work/{item.work_item_id}/pick", form={"csrf_token": walk.csrf()}
    )
    assert posted.status == 403
    assert fulfilment.get_work_item(db, item.work_item_id, ADMIN).status == "released"


def test_scheduler_runs_sourcing_and_sees_the_kpis(walk: Walk, db: Database) -> None:
    _capture(db, "tower.walk@example.com", [{"sku": "B", "qty": 2}])
    walk.sign_in(KEYS[Role.SCHEDULER])
    assert walk.page.url.endswith("/console/tower")
    walk.page.select_option("select[name=strategy]", "optimize")
    walk.page.fill("input[name=time_limit]", "3")
    # The tiny batch plans in milliseconds: hold the run inside its apply for a
    # moment so the live view is seen running (the crash test's hook).
    db.on_apply = lambda run_id: time.sleep(2.5)
    try:
        walk.page.click("button:has-text('Run sourcing now')")
        walk.page.wait_for_selector("#run-progress .progress[data-state=running]", timeout=10000)
        assert "Sourcing run in progress" in walk.page.inner_text("#run-progress")
        walk.page.locator("#runs").screenshot(path=walk.shots / "tower-run-progress.png")
    finally:
        db.on_apply = None
    done = walk.page.wait_for_selector(
        "#run-progress .progress.done", timeout=60000
    )  # polled every second by htmx
    assert done is not None
    text = walk.page.inner_text("#run-progress")
    latest = sourcing.list_runs(db, 1, None).items[0]
    assert latest.status == "applied" and latest.strategy == "optimize"
    assert f"Run applied ({latest.run_id})" in text
    assert f"{latest.orders_planned} orders planned" in text and "fill rate" in text
    walk.page.goto("/console/tower")
    first_row = walk.page.locator("#runs table tbody tr").first.inner_text()
    assert "applied" in first_row and "optimize" in first_row
    assert walk.page.locator(".chart rect").count() >= 1
    assert walk.page.locator(".map circle").count() == 3  # DC1, ST1, ST2
    walk.page.goto("/console/tower?show=rejected#exceptions")
    walk.snap("tower")


def test_analyst_reads_but_cannot_reach_the_actions(walk: Walk, db: Database) -> None:
    order_id = _capture(db, "analyst@example.com", [{"sku": "A", "qty": 1}])
    walk.sign_in(KEYS[Role.ANALYST])
    assert walk.page.url.endswith("/console/tower")
    assert walk.page.locator("button:has-text('Run sourcing now')").count() == 0
    walk.page.goto(f"/console/orders/{order_id}")
    assert walk.page.locator("main form").count() == 0
    walk.page.goto("/console/inventory?sku=A")
    assert walk.page.locator("main form[method=post]").count() == 0
    assert walk.page.locator("table tbody tr").first.inner_text().startswith("DC1")
    walk.snap("inventory")
    token = walk.csrf()
    for url, form in (
        ("/console/tower/run", {"strategy": "greedy", "time_limit": "1"}),
        (f"/console/orders/{order_id}/qty", {"line_no": "1", "qty": "2", "version": "1"}),
        ("/console/inventory/receipts", {"node_id": "DC1", "sku": "A", "qty": "1"}),
    ):
        posted = walk.page.request.post(url, form={**form, "csrf_token": token})
        assert posted.status == 403, url
    assert orders.get_order(db, order_id).lines[0].ordered_qty == 1


def test_merchandiser_records_a_receipt_and_an_adjustment(walk: Walk, db: Database) -> None:
    walk.sign_in(KEYS[Role.MERCHANDISER])
    walk.page.goto("/console/inventory?sku=C")
    row = walk.page.locator("table tbody tr").first
    before = int(row.locator("td").nth(1).inner_text())
    receipt = walk.page.locator("form[action='/console/inventory/receipts']")
    receipt.locator("select[name=node_id]").select_option("DC1")
    receipt.locator("input[name=qty]").fill("4")
    receipt.locator("button").click()
    walk.page.wait_for_load_state()
    assert walk.page.locator(".notice").inner_text() == "Receipt recorded."
    adjust = walk.page.locator("form[action='/console/inventory/adjustments']")
    adjust.locator("select[name=node_id]").select_option("DC1")
    adjust.locator("input[name=delta]").fill("-1")
    adjust.locator("input[name=reason]").fill("cycle count")
    adjust.locator("button").click()
    walk.page.wait_for_load_state()
    assert walk.page.locator(".notice").inner_text() == "Adjustment recorded."
    on_hand = int(walk.page.locator("table tbody tr").first.locator("td").nth(1).inner_text())
    assert on_hand == before + 4 - 1
    assert "cycle count" in walk.page.inner_text("main")
    walk.snap("inventory-merchandiser")


def test_analyst_sees_stock_alerts_on_the_tower_and_follows_one_to_the_node(
    walk: Walk, db: Database
) -> None:
    from services import alerts

    alerts.set_reorder_point(db, "ST2", "B", 1000, ADMIN)  # ST2 never holds that many B
    available = inventory.stock(db, "ST2", "B").available
    walk.sign_in(KEYS[Role.ANALYST])
    assert walk.page.url.endswith("/console/tower")
    card = walk.page.locator("a.kpi", has_text="stock alerts")
    assert int(card.locator("b").inner_text()) >= 1
    card.click()
    row = walk.page.locator("#alerts tr", has_text="ST2")
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells[:5] == ["below reorder point", "ST2", "B", str(available), "1000"]
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        walk.page.set_viewport_size(size)
        walk.page.locator("#alerts").screenshot(path=walk.shots / f"tower-alerts-{label}.png")
    walk.page.set_viewport_size(DESKTOP)
    row.locator("a", has_text="ST2").click()
    walk.page.wait_for_load_state()
    assert walk.page.url.endswith("/console/inventory?sku=B#node-ST2")
    node_row = walk.page.locator("tr#node-ST2")
    assert node_row.is_visible() and node_row.locator("td").nth(5).inner_text() == str(available)
    assert walk.page.locator("#alerts tr", has_text="ST2").count() == 1
    walk.snap("inventory-alerts")
    alerts.set_reorder_point(db, "ST2", "B", 0, ADMIN)  # cleared: gone from the panel
    walk.page.goto("/console/tower#alerts")
    assert walk.page.locator("#alerts tr", has_text="ST2").count() == 0
