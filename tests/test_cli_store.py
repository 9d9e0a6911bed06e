"""Issue 20, finding 9: ``dom orders``, ``dom inventory SKU``, ``dom runs``, ``dom plans``.

Read-only, paginated tables over the DuckDB file that fit 80 columns.
"""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from data.generator import generate_batch
from data.store import Store
from planner import plan

runner = CliRunner()


@pytest.fixture(scope="module")
def store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "dom.duckdb"
    batch = generate_batch(45, seed=11)
    result = plan(batch, "greedy")
    with Store(path) as store:
        store.load_batch(batch)
        store.save_plan(
            "greedy",
            batch.batch_date,
            batch.weights,
            result.allocations,
            result.unfilled,
            result.summary.model_dump(mode="json"),
            plan_id="plan-greedy-1",
        )
        store.con.execute(
            "INSERT INTO sourcing_runs (run_id, status, strategy, weights, orders_planned, kpis)"
            " VALUES ('run-1', 'applied', 'optimize', '{}', 45, ?)",
            [json.dumps({"total": 1234.5})],
        )
    return path


def invoke(*args: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert "…" not in result.output
    return result.output


def rows(output: str) -> list[list[str]]:
    """The table's body rows, split on whitespace (the header and rule removed)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line.strip()) == {"─"}) + 1
    footer = re.compile(r": [\d,]+-[\d,]+ of [\d,]+")
    return [line.split() for line in lines[start:] if line.strip() and not footer.search(line)]


def test_orders_are_paginated_by_id(store_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = invoke("orders", "--db", str(store_file), "--limit", "20", monkeypatch=monkeypatch)
    ids = [r[0] for r in rows(first)]
    assert ids == [f"O{i:07d}" for i in range(1, 21)]
    assert "orders: 1-20 of 45; next page: --page 2" in first
    last = invoke(
        "orders", "--db", str(store_file), "--limit", "20", "--page", "3", monkeypatch=monkeypatch
    )
    assert [r[0] for r in rows(last)] == [f"O{i:07d}" for i in range(41, 46)]
    assert "orders: 41-45 of 45" in last and "next page" not in last


def test_orders_show_lines_and_units(store_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(store_file, read_only=True) as store:
        lines, units = store.con.execute(
            "SELECT count(*), sum(qty) FROM order_lines WHERE order_id = 'O0000005'"
        ).fetchone()
    out = invoke("orders", "--db", str(store_file), "-n", "5", monkeypatch=monkeypatch)
    row = next(r for r in rows(out) if r[0] == "O0000005")
    assert row[1] == "created" and row[4:6] == [str(lines), str(units)]


def test_inventory_of_a_sku_at_every_node(
    store_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(store_file, read_only=True) as store:
        sku = store.con.execute(
            "SELECT sku FROM inventory GROUP BY sku ORDER BY count(*) DESC, sku LIMIT 1"
        ).fetchone()[0]
        expected = store.con.execute(
            "SELECT node_id, on_hand, reserved, safety_stock FROM inventory WHERE sku = ? "
            "ORDER BY node_id",
            [sku],
        ).fetchall()
    out = invoke("inventory", sku, "--db", str(store_file), monkeypatch=monkeypatch)
    got = [(r[0], int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows(out)]
    assert got == [(n, h, r, s, max(0, h - r - s)) for n, h, r, s in expected]


def test_plans_and_runs(store_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(store_file, read_only=True) as store:
        total = store.con.execute("SELECT total FROM plans").fetchone()[0]
    plans = rows(invoke("plans", "--db", str(store_file), monkeypatch=monkeypatch))
    assert plans[0][:3] == ["plan-greedy-1", "greedy", f"{total:,.2f}"]
    runs = rows(invoke("runs", "--db", str(store_file), monkeypatch=monkeypatch))
    assert runs[0][:3] == ["run-1", "applied", "optimize"] and runs[0][-2:] == ["45", "1,234.50"]


def test_store_commands_do_not_change_the_file(store_file: Path) -> None:
    before = store_file.read_bytes()
    for args in (["orders"], ["runs"], ["plans"], ["inventory", "X"]):
        runner.invoke(app, [*args, "--db", str(store_file)])
    assert store_file.read_bytes() == before


def test_a_missing_store_is_an_error_not_a_new_file(tmp_path: Path) -> None:
    path = tmp_path / "none" / "dom.duckdb"
    result = runner.invoke(app, ["orders", "--db", str(path)])
    assert result.exit_code == 1 and "no store at" in result.output
    assert not path.parent.exists()
