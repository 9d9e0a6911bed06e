"""Many threads race to order the last units: never promised twice, nothing lost."""

import random
import threading
from pathlib import Path

from data.lifecycle_db import Database
from models.api import Actor, CaptureOrder, Role
from models.lifecycle_errors import OutOfStock
from services import orders
from tests.lifecycle_fixtures import make_db, web_order

THREADS = 24
ORDERS_PER_THREAD = 4
SCARCE = [
    ("DC1", "A", 6, 0, 1),
    ("ST1", "A", 3, 0, 0),
    ("DC1", "B", 4, 0, 2),
    ("ST1", "B", 2, 0, 0),
    ("ST2", "B", 1, 0, 0),
    ("DC1", "C", 1, 0, 0),
]


def check_invariants(db: Database) -> dict[str, int]:
    """Stock rows agree with reservations and are never over-promised; returns counts."""

    def work(repo):  # type: ignore[no-untyped-def]
        rows = repo.rows(
            """SELECT i.node_id, i.sku, i.on_hand, i.reserved, i.safety_stock,
                      coalesce(r.qty, 0)
               FROM inventory i LEFT JOIN (SELECT node_id, sku, sum(qty) AS qty
                   FROM reservations GROUP BY ALL) r USING (node_id, sku)"""
        )
        for node, sku, on_hand, reserved, safety, held in rows:
            assert on_hand >= 0 and reserved >= 0, (node, sku)
            assert reserved == held, f"{node}/{sku}: reserved {reserved} != holds {held}"
            assert reserved <= on_hand - safety or reserved == 0, (node, sku, on_hand, reserved)
        # Every open order is fully reserved, or backordered holding less than it needs.
        per_order = repo.rows(
            """SELECT o.order_id, o.status, sum(l.qty),
                      (SELECT coalesce(sum(qty), 0) FROM reservations r
                       WHERE r.order_id = o.order_id)
               FROM orders o JOIN order_lines l USING (order_id) GROUP BY ALL"""
        )
        counts: dict[str, int] = {}
        for order_id, status, units, held in per_order:
            counts[status] = counts.get(status, 0) + 1
            if status in ("validated", "sourced"):
                assert held == units, order_id
            else:
                assert status == "backordered" and held < units, (order_id, status, held)
        return counts

    return db.read(work)


def test_threads_race_for_the_last_units(tmp_path: Path) -> None:
    db = make_db(str(tmp_path / "race.duckdb"), stock=SCARCE, keys=False)
    actor = Actor(name="race", role=Role.CHANNEL)
    outcomes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def client(n: int) -> None:
        rng = random.Random(n)
        start.wait()
        for k in range(ORDERS_PER_THREAD):
            lines = [{"sku": rng.choice("AB"), "qty": rng.randint(1, 2)}]
            if rng.random() < 0.5:
                lines.append({"sku": "C", "qty": 1})
            body = web_order(lines=lines, allow_backorder=bool(k % 2), order_id=f"race-{n}-{k}")
            try:
                view = orders.capture(db, CaptureOrder.model_validate(body), actor)
                result = view.status
            except OutOfStock:
                result = "refused"
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                with lock:
                    errors.append(exc)
                return
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert len(outcomes) == THREADS * ORDERS_PER_THREAD
    counts = check_invariants(db)
    # Nothing lost: every accepted order is stored, every refused one is not.
    assert counts.get("validated", 0) == outcomes.count("validated")
    assert counts.get("backordered", 0) == outcomes.count("backordered")
    assert outcomes.count("refused") + sum(counts.values()) == THREADS * ORDERS_PER_THREAD
    # The scarce SKU C (one unit) was promised exactly once.
    held_c = db.read(lambda r: r.scalar("SELECT reserved FROM inventory WHERE sku = 'C'"))
    assert held_c == 1
    db.close()


def test_captures_race_a_sourcing_run(tmp_path: Path) -> None:
    """A run applies whole while captures keep coming; stock stays consistent."""
    from models.api import RunRequest
    from services import sourcing

    db = make_db(str(tmp_path / "run.duckdb"), keys=False, orders=True)
    actor = Actor(name="race", role=Role.CHANNEL)
    stop = threading.Event()
    captured: list[str] = []
    errors: list[BaseException] = []

    def client(n: int) -> None:
        k = 0
        while not stop.is_set() and k < 40:
            body = web_order(lines=[{"sku": "AB"[k % 2], "qty": 1}], order_id=f"run-{n}-{k}")
            try:
                captured.append(orders.capture(db, CaptureOrder.model_validate(body), actor).status)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
                return
            k += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    runs = [sourcing.run_sourcing(db, RunRequest(strategy="greedy"), actor) for _ in range(3)]
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors[:3]
    assert all(r.status == "applied" for r in runs)
    counts = check_invariants(db)
    assert sum(counts.values()) == 5 + len(captured)
    db.close()
