"""Service-level rules that HTTP walks cannot reach: a sourcing run's apply re-checks
stock and order versions that moved while it was planning."""

from typing import Any

import pytest

import planner
from models.api import Adjustment, CancelOrder, RunRequest
from services import inventory, orders, sourcing
from tests.lifecycle_fixtures import ADMIN, make_db
from tests.test_lifecycle_concurrency import check_invariants


def _during_planning(monkeypatch: pytest.MonkeyPatch, hook: Any) -> None:
    """Run ``hook`` between the run's snapshot and its apply (while it plans)."""
    real = planner.plan

    def plan(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        hook()
        return result

    monkeypatch.setattr(planner, "plan", plan)


def test_batch_orders_are_planned_and_released() -> None:
    db = make_db(orders=True, keys=False)
    run = sourcing.run_sourcing(db, RunRequest(strategy="greedy"), ADMIN)
    assert run.status == "applied" and run.orders_planned == 5
    statuses = {o: orders.get_order(db, o).status for o in ("O1", "O2", "O3", "O4", "O5")}
    assert set(statuses.values()) <= {"sourced", "backordered"}
    released = sourcing.release(db, None, ADMIN)
    assert released.orders == sum(s == "sourced" for s in statuses.values())
    check_invariants(db)


def test_stock_taken_while_planning_is_trimmed_not_promised_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = make_db(orders=True, keys=False)

    def take_everything() -> None:
        for row in inventory.list_stock(db, None, None, 500, None).items:
            inventory.adjust(
                db,
                Adjustment(
                    node_id=row.node_id, sku=row.sku, on_hand=row.reserved + row.safety_stock
                ),
                ADMIN,
            )

    _during_planning(monkeypatch, take_everything)
    run = sourcing.run_sourcing(db, RunRequest(strategy="greedy"), ADMIN)
    assert run.status == "applied"
    assert run.kpis and run.kpis["orders_trimmed"] >= 4
    for o in ("O1", "O2", "O3", "O4", "O5"):
        view = orders.get_order(db, o)
        assert view.status == "backordered"
        assert not any(ln.reservations for ln in view.lines)
    check_invariants(db)


def test_orders_changed_while_planning_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    db = make_db(orders=True, keys=False)
    _during_planning(
        monkeypatch, lambda: orders.cancel(db, "O1", CancelOrder(reason="changed mind"), ADMIN)
    )
    run = sourcing.run_sourcing(db, RunRequest(strategy="greedy"), ADMIN)
    assert run.kpis and run.kpis["orders_skipped_changed"] == 1
    assert run.orders_planned == 4
    assert orders.get_order(db, "O1").status == "cancelled"
    check_invariants(db)


def test_a_failing_plan_marks_the_run_failed_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = make_db(orders=True, keys=False)

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(planner, "plan", boom)
    with pytest.raises(RuntimeError):
        sourcing.run_sourcing(db, RunRequest(strategy="greedy"), ADMIN)
    runs = db.read(lambda r: r.rows("SELECT status, error FROM sourcing_runs"))
    assert runs[0][0] == "failed" and "solver crashed" in runs[0][1]
    assert {orders.get_order(db, o).status for o in ("O1", "O2")} == {"created"}


def test_an_optimize_run_starts_from_the_last_runs_prices_and_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = make_db(orders=True, keys=False)
    real, given = planner.plan, []

    def plan(*args: Any, **kwargs: Any) -> Any:
        given.append(kwargs.get("warm"))
        return real(*args, **kwargs)

    monkeypatch.setattr(planner, "plan", plan)
    first = sourcing.run_sourcing(db, RunRequest(strategy="optimize", time_limit=2), ADMIN)
    second = sourcing.run_sourcing(db, RunRequest(strategy="optimize", time_limit=2), ADMIN)
    assert first.status == second.status == "applied"
    assert given[0] is None and given[1] is not None  # the first run's plan, by ids
    assert set(given[1].order_id) <= {"O1", "O2", "O3", "O4", "O5"}
    check_invariants(db)
