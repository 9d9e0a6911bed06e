"""Captures committed in groups: many orders per commit, each caller its own answer."""

import threading
import time
from pathlib import Path

import pytest

from data.lifecycle_db import Database
from data.lifecycle_repo import LifecycleRepo
from models.api import Actor, CaptureOrder, OrderView, Role
from models.lifecycle_errors import OutOfStock
from services import orders
from tests.lifecycle_fixtures import make_db, web_order
from tests.test_lifecycle_concurrency import check_invariants

ACTOR = Actor(name="group", role=Role.CHANNEL)


def _hold_the_writer(db: Database) -> threading.Event:
    """Occupy the writer with a unit that waits, so the next units queue up as one group."""
    release, running = threading.Event(), threading.Event()

    def hold(_: LifecycleRepo) -> None:
        running.set()
        release.wait(30)

    threading.Thread(target=db.write_grouped, args=(hold,)).start()
    # Wait for the unit itself to run (the writer existing with an empty queue is not
    # enough: the unit may not be queued yet, and would then be taken with the next ones).
    assert running.wait(10)
    return release


def _queued(db: Database, n: int) -> None:
    writer = db.group_writer
    assert writer is not None
    deadline = time.monotonic() + 30  # generous: the machine may be busy
    while writer._queue.qsize() < n:  # noqa: SLF001
        assert time.monotonic() < deadline
        time.sleep(0.01)


def _capture_in_thread(db: Database, body: dict, out: dict[int, object], k: int) -> None:
    def run() -> None:
        try:
            out[k] = orders.capture(db, CaptureOrder.model_validate(body), ACTOR)
        except Exception as exc:  # noqa: BLE001 - the caller's answer, asserted below
            out[k] = exc

    threading.Thread(target=run).start()


def test_queued_captures_commit_as_one_group(tmp_path: Path) -> None:
    db = make_db(str(tmp_path / "group.duckdb"), keys=False)
    release = _hold_the_writer(db)
    answers: dict[int, object] = {}
    for k in range(5):
        body = web_order(lines=[{"sku": "A", "qty": 1}], order_id=f"g-{k}")
        _capture_in_thread(db, body, answers, k)
    _queued(db, 5)
    release.set()
    deadline = time.monotonic() + 30
    while len(answers) < 5:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    writer = db.group_writer
    assert writer is not None
    assert (writer.groups, writer.units, writer.fallbacks) == (2, 6, 0)
    assert sorted(v.order_id for v in answers.values() if isinstance(v, OrderView)) == [
        f"g-{k}" for k in range(5)
    ]
    assert check_invariants(db) == {"validated": 5}
    held = db.read(lambda r: r.scalar("SELECT sum(reserved) FROM inventory WHERE sku = 'A'"))
    assert held == 5
    db.close()


def test_a_failing_unit_fails_alone_and_the_rest_commit(tmp_path: Path) -> None:
    db = make_db(str(tmp_path / "group.duckdb"), keys=False)
    release = _hold_the_writer(db)
    answers: dict[int, object] = {}
    bodies = [
        web_order(lines=[{"sku": "A", "qty": 1}], order_id="ok-1"),
        # C has one unit: five cannot be reserved and backorder is refused.
        web_order(lines=[{"sku": "C", "qty": 5}], allow_backorder=False, order_id="short"),
        web_order(lines=[{"sku": "C", "qty": 1}], order_id="ok-2"),
    ]
    for k, body in enumerate(bodies):
        _capture_in_thread(db, body, answers, k)
        _queued(db, k + 1)  # in this order
    release.set()
    deadline = time.monotonic() + 30
    while len(answers) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    short = answers[1]
    assert isinstance(short, OutOfStock)
    assert short.shortfall == [{"line_no": 1, "sku": "C", "qty": 5, "available": 1}]
    assert [answers[k].status for k in (0, 2)] == ["validated", "validated"]  # type: ignore[union-attr]
    writer = db.group_writer
    # Decided in memory before anything is written: no roll-back, one commit for the three.
    assert writer is not None and (writer.groups, writer.units, writer.fallbacks) == (2, 4, 0)
    assert check_invariants(db) == {"validated": 2}
    db.close()


def test_close_finishes_queued_units_then_stops(tmp_path: Path) -> None:
    db = make_db(str(tmp_path / "group.duckdb"), keys=False)

    def write_row(repo: LifecycleRepo) -> int:
        return repo.exec("UPDATE inventory SET safety_stock = 0 WHERE sku = 'A'")

    assert db.write_grouped(write_row) == 2
    writer = db.group_writer
    db.close()
    assert writer is not None and not writer._thread.is_alive()  # noqa: SLF001
    with pytest.raises(Exception):  # noqa: B017, PT011 - the store is closed
        db.read(lambda r: r.scalar("SELECT 1"))
