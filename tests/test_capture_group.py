"""A group of captures decided in memory and written set-wise: each order all or
nothing and alone in its failure, Idempotency-Keys across the group, and the stock
cache never trusted over the store."""

import threading
import time
from pathlib import Path

import pandas as pd

from data.lifecycle_db import Database
from models.api import Actor, CaptureOrder, OrderView, Role
from models.lifecycle_errors import Conflict, IdempotencyMismatch, OutOfStock
from services import inventory, orders
from services.common import Idempotency
from tests.lifecycle_fixtures import api_client, make_db, role_headers, web_order
from tests.test_group_writer import _hold_the_writer, _queued
from tests.test_lifecycle_concurrency import check_invariants

ACTOR = Actor(name="group", role=Role.CHANNEL)


def _capture_queued(db: Database, bodies: list[tuple[dict, str | None]]) -> list[object]:
    """Capture the bodies (with their Idempotency-Keys) as one group: the writer is held
    until all are queued, in this order. Each answer: an OrderView or the error."""
    release = _hold_the_writer(db)
    answers: list[object] = [None] * len(bodies)

    def run(k: int, body: dict, key: str | None) -> None:
        cmd = CaptureOrder.model_validate(body)
        try:
            answers[k] = orders.capture(db, cmd, ACTOR, Idempotency.of("s", key, cmd, 201))
        except Exception as exc:  # noqa: BLE001 - the caller's answer, asserted below
            answers[k] = exc

    for k, (body, key) in enumerate(bodies):
        threading.Thread(target=run, args=(k, body, key)).start()
        _queued(db, k + 1)
    release.set()
    deadline = time.monotonic() + 30
    while any(a is None for a in answers):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return answers


def test_keys_and_ids_repeated_within_one_group(tmp_path: Path) -> None:
    db = make_db(str(tmp_path / "g.duckdb"), keys=False)
    one = web_order(lines=[{"sku": "A", "qty": 1}])
    other = web_order(lines=[{"sku": "B", "qty": 1}])
    answers = _capture_queued(
        db,
        [
            (one, "k1"),
            (one, "k1"),  # the same request again: the first order back
            (other, "k1"),  # another body with that key: refused
            (web_order(lines=[{"sku": "A", "qty": 1}], order_id="mine"), None),
            (web_order(lines=[{"sku": "B", "qty": 1}], order_id="mine"), None),  # taken
        ],
    )
    first, again, mismatch, mine, taken = answers
    assert isinstance(first, OrderView) and isinstance(again, OrderView)
    assert again.order_id == first.order_id
    assert isinstance(mismatch, IdempotencyMismatch)
    assert isinstance(mine, OrderView) and mine.order_id == "mine"
    assert isinstance(taken, Conflict) and "already exists" in str(taken)
    assert check_invariants(db) == {"validated": 2}
    writer = db.group_writer
    assert writer is not None and writer.fallbacks == 0
    db.close()


def test_a_feed_between_captures_is_in_the_stock_they_decide_on(tmp_path: Path) -> None:
    db = make_db(str(tmp_path / "f.duckdb"), keys=False)
    c1 = web_order(lines=[{"sku": "C", "qty": 1}], allow_backorder=False)
    assert orders.capture(db, CaptureOrder.model_validate(c1), ACTOR).status == "validated"
    db.warm()  # every SKU's stock in the cache, as in a running server
    c4 = web_order(lines=[{"sku": "C", "qty": 4}], allow_backorder=False)
    try:
        orders.capture(db, CaptureOrder.model_validate(c4), ACTOR)
        raise AssertionError("C had no unit left")
    except OutOfStock as exc:
        assert exc.shortfall == [{"line_no": 1, "sku": "C", "qty": 4, "available": 0}]
    feed = pd.DataFrame([["DC1", "C", "receipt", "4"]], columns=inventory.FEED_COLUMNS)
    inventory.apply_feed(db, feed, Actor(name="merch", role=Role.MERCHANDISER))
    view = orders.capture(db, CaptureOrder.model_validate(c4), ACTOR)
    assert [p.qty for p in view.lines[0].reservations] == [4]
    assert check_invariants(db) == {"validated": 2}
    db.close()


def test_a_stale_stock_cache_is_never_trusted_over_the_store(tmp_path: Path) -> None:
    db = make_db(str(tmp_path / "s.duckdb"), keys=False)
    db.warm()
    cached = db.caches.stock.get("C")
    assert cached is not None and cached["DC1"][0] == 1  # one unit, says the cache
    # Behind the service's back (no commit it sees): the last unit of C is gone.
    db.store.con.execute("UPDATE inventory SET on_hand = 0 WHERE sku = 'C'")
    body = web_order(lines=[{"sku": "C", "qty": 1}], allow_backorder=False)
    try:
        orders.capture(db, CaptureOrder.model_validate(body), ACTOR)
        raise AssertionError("a unit that is not there was reserved")
    except OutOfStock:
        pass
    held = db.read(lambda r: r.rows("SELECT on_hand, reserved FROM inventory WHERE sku = 'C'"))
    assert held == [(0, 0)]
    db.close()


def test_out_of_stock_names_each_lines_shortfall_in_the_problem() -> None:
    with api_client() as c:
        body = web_order(
            lines=[{"sku": "A", "qty": 1}, {"sku": "C", "qty": 5}], allow_backorder=False
        )
        r = c.post("/orders", json=body, headers=role_headers(Role.CHANNEL))
        assert r.status_code == 409
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["skus"] == ["C"]
        assert r.json()["shortfall"] == [{"line_no": 2, "sku": "C", "qty": 5, "available": 1}]
