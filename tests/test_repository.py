"""The repository's named methods against a real DuckDB store, with exact values.

These are the writes the services used to spell out in SQL: the availability
rule, the one writer of order events, the one writer of plans, run rows and the
set-wise moves of a sourcing run; and the retry signal the services raise.
"""

import json
from datetime import date
from typing import Any

import pandas as pd
import pytest

from data.lifecycle_db import Database
from data.lifecycle_repo import LifecycleRepo
from data.repo_base import where
from data.shared_sql import available
from models.api import RunRequest
from models.lifecycle_errors import Busy, WriteConflict
from services import sourcing
from tests.lifecycle_fixtures import ADMIN, make_db


@pytest.fixture
def db() -> Database:
    return make_db(keys=False, orders=True)


def test_availability_is_on_hand_minus_reserved_minus_safety_stock(db: Database) -> None:
    # DC1/B: 20 on hand, 0 reserved, 2 safety stock.
    def work(r: LifecycleRepo) -> tuple[Any, ...]:
        before = r.availability(["DC1"], ["B"])[("DC1", "B")]
        r.shift_reserved([(("DC1", "B"), 5)])
        after = r.availability(["DC1"], ["B"])[("DC1", "B")]
        r.shift_reserved([(("DC1", "B"), 20)])
        over = r.availability(["DC1"], ["B"])[("DC1", "B")]
        free = r.free_stock([("DC1", "B"), ("DC1", "A")])
        return before, after, over, free

    before, after, over, free = db.write(work)
    assert (before, after, over) == (18, 13, -7)
    assert free == {("DC1", "B"): 0, ("DC1", "A"): 50}  # free stock never below 0
    assert available("i") == "(i.on_hand - i.reserved - i.safety_stock)"


def test_take_available_refuses_more_than_is_available(db: Database) -> None:
    def work(r: LifecycleRepo) -> tuple[bool, bool, dict[str, Any] | None]:
        return (
            r.take_available("DC1", "C", 2),
            r.take_available("DC1", "C", 1),
            r.stock_row("DC1", "C"),
        )

    too_many, one, row = db.write(work)
    assert (too_many, one) == (False, True)
    assert row is not None and (row["on_hand"], row["reserved"]) == (0, 0)


@pytest.mark.parametrize("n", [3, 200])  # a VALUES list, and a registered frame
def test_events_are_written_in_order_with_their_details(db: Database, n: int) -> None:
    events = [("note", "ann", "web", None, "validated", {"i": i}) for i in range(n)]
    db.write(lambda r: r.add_events("O1", events))
    stored = db.read(lambda r: r.events("O1", 0, 1000))
    assert len(stored) == n
    assert [json.loads(e["details"])["i"] for e in stored] == list(range(n))
    assert {(e["event_type"], e["actor"], e["channel"], e["to_status"]) for e in stored} == {
        ("note", "ann", "web", "validated")
    }
    assert [e["event_id"] for e in stored] == sorted(e["event_id"] for e in stored)


def test_store_and_repository_share_the_event_writer(db: Database) -> None:
    first = db.store.append_event("O2", "imported", details={"file": "orders.csv"})
    db.write(lambda r: r.add_event("O2", "noted", "bob", None, None, None, {"why": "test"}))
    events = db.store.events("O2")
    assert [(e.event_id > first - 1, e.event_type, e.details) for e in events] == [
        (True, "imported", {"file": "orders.csv"}),
        (True, "noted", {"why": "test"}),
    ]


def test_a_plan_saved_by_the_repository_loads_from_the_store(db: Database) -> None:
    alloc = pd.DataFrame(
        [("O1", 1, "DC1", 2), ("O1", 2, "ST1", 1)],
        columns=["order_id", "line_no", "node_id", "qty"],
    )
    unfilled = pd.DataFrame([("O2", 1, 3)], columns=["order_id", "line_no", "qty"])
    summary = {"total": 12.5, "lower_bound": 12.0, "gap": 0.04, "wall_seconds": 0.1}
    db.write(
        lambda r: r.save_plan(
            "plan-x", "greedy", date(2026, 11, 25), {"unfilled": 1.0}, summary, alloc, unfilled
        )
    )
    got_alloc, got_unfilled, got_summary = db.store.load_plan("plan-x")
    assert got_alloc.values.tolist() == [["O1", 1, "DC1", 2], ["O1", 2, "ST1", 1]]
    assert got_unfilled.values.tolist() == [["O2", 1, 3]]
    assert got_summary == summary


def test_run_rows_from_start_to_interrupted(db: Database) -> None:
    db.write(lambda r: r.start_run("run-1", "greedy", 5.0, {"unfilled": 1.0}, "ann"))
    row = db.read(lambda r: r.run_row("run-1"))
    assert row is not None and (row["status"], row["strategy"], row["time_limit"]) == (
        "running",
        "greedy",
        5.0,
    )
    assert db.write(lambda r: r.fail_interrupted_runs()) == 1
    assert db.write(lambda r: r.fail_interrupted_runs()) == 0
    row = db.read(lambda r: r.run_row("run-1"))
    assert row is not None and row["status"] == "failed"
    assert row["error"] == "interrupted: the service stopped before the run was applied"
    assert [r["run_id"] for r in db.read(lambda r: r.run_page(None, 10))] == ["run-1"]


def test_move_orders_sets_status_version_and_one_event_each(db: Database) -> None:
    db.write(lambda r: r.adopt_orders())
    start = db.read(lambda r: r.statuses_of(["O1", "O2"]))
    before = db.read(lambda r: r.order_versions(sorted(set(start.values()))))
    changes = [("O1", start["O1"], "sourced"), ("O2", start["O2"], "backordered")]
    kinds = {"sourced": "sourced", "backordered": "backordered"}
    db.write(lambda r: r.move_orders(changes, kinds, "scheduler", {"run_id": "run-9"}))
    assert db.read(lambda r: r.statuses_of(["O1", "O2"])) == {"O1": "sourced", "O2": "backordered"}
    after = db.read(lambda r: r.order_versions(["sourced", "backordered"]))
    assert after == {"O1": before["O1"] + 1, "O2": before["O2"] + 1}
    last = db.read(lambda r: r.events("O2", 0, 100))[-1]
    assert (last["event_type"], last["from_status"], last["to_status"], last["actor"]) == (
        "backordered",
        start["O2"],
        "backordered",
        "scheduler",
    )
    assert json.loads(last["details"]) == {"run_id": "run-9"}


def test_write_conflict_is_retried_then_busy(db: Database) -> None:
    calls = []

    def flaky(r: LifecycleRepo) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise WriteConflict("stock moved")
        return "done"

    assert db.write(flaky) == "done"
    assert len(calls) == 3 and db.conflicts == 2

    def always(r: LifecycleRepo) -> None:
        raise WriteConflict("stock moved")

    with pytest.raises(Busy, match="nothing was changed"):
        db.write(always, attempts=3)


def test_on_apply_hook_runs_inside_the_apply(db: Database) -> None:
    seen: list[tuple[str, str]] = []

    def hook(run_id: str) -> None:
        # Inside the apply's transaction: this cursor does not see the run as applied yet.
        row = db.read(lambda r: r.run_row(run_id))
        assert row is not None
        seen.append((run_id, row["status"]))

    db.on_apply = hook
    run = sourcing.run_sourcing(db, RunRequest(strategy="greedy"), ADMIN)
    assert seen == [(run.run_id, "running")]
    assert run.status == "applied"


def test_replace_holds_swaps_an_orders_unreleased_holds(db: Database) -> None:
    db.write(lambda r: r.adopt_orders())
    db.write(lambda r: r.add_reservations("O1", [(1, "DC1", "A", 2), (2, "DC1", "B", 1)], False))
    assert db.read(lambda r: r.held_per_stock_row(["O1"])) == {("DC1", "A"): 2, ("DC1", "B"): 1}
    new = pd.DataFrame(
        [("O1", 1, "ST1", "A", 3)], columns=["order_id", "line_no", "node_id", "sku", "qty"]
    )
    db.write(lambda r: r.replace_holds(["O1"], new, "run-7"))
    assert db.read(lambda r: r.held_per_stock_row(["O1"])) == {("ST1", "A"): 3}
    held = db.read(lambda r: r.reservations("O1"))
    assert [(h["line_no"], h["node_id"], h["qty"], h["released"]) for h in held] == [
        (1, "ST1", 3, False)
    ]


def test_transfer_rows(db: Database) -> None:
    db.write(lambda r: r.add_transfer("tr-1", "A", "DC1", "ST1", 4))
    row = db.read(lambda r: r.transfer("tr-1"))
    assert row is not None
    assert (row["sku"], row["from_node"], row["to_node"], row["qty"], row["status"]) == (
        "A",
        "DC1",
        "ST1",
        4,
        "in_transit",
    )
    assert row["received_at"] is None
    db.write(lambda r: r.mark_transfer_received("tr-1"))
    row = db.read(lambda r: r.transfer("tr-1"))
    assert row is not None and row["status"] == "received" and row["received_at"] is not None
    assert db.read(lambda r: r.transfer("tr-2")) is None


def test_promotion_rows(db: Database) -> None:
    promo = {
        "code": "TEN",
        "kind": "percent",
        "value": 10,
        "min_spend": 0,
        "starts_on": None,
        "ends_on": None,
        "usage_limit": 2,
        "active": True,
    }
    db.write(lambda r: r.add_promotion(promo))
    db.write(lambda r: r.update_promotion("TEN", {"usage_limit": 5, "active": False}))
    db.write(lambda r: r.update_promotion("TEN", {}))  # nothing to change: a no-op
    row = db.read(lambda r: r.promotion("ten"))
    assert row is not None
    assert (row["kind"], int(row["value"]), row["usage_limit"], row["active"]) == (
        "percent",
        10,
        5,
        False,
    )


def test_api_keys_are_counted(db: Database) -> None:
    assert db.read(lambda r: r.count_api_keys()) == 0
    db.write(lambda r: r.put_api_key("h1", "admin", None, "first"))
    assert db.read(lambda r: r.count_api_keys()) == 1


def test_where_keeps_the_given_filters_and_the_cursor() -> None:
    cond, params = where(
        [("a = ?", "x"), ("b = ?", None), ("c >= ?", 0)], ("t", "id"), "(t, i) < (?, ?)"
    )
    assert cond == "true AND a = ? AND (t, i) < (?, ?)"
    assert params == ["x", "t", "id"]
    assert where([], None, "unused") == ("true", [])
