"""The dom command end to end on files: plan, check, and clear errors."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from data.batch_io import write_batch
from tests.random_batch import random_batch
from tests.tiny import tiny_batch

runner = CliRunner()


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_batch(
        random_batch(80, 8, 40, seed=5, supply=0.8), tmp_path_factory.mktemp("b") / "batch"
    )


@pytest.mark.parametrize("strategy", ["greedy", "nearest", "optimize"])
def test_plan_then_check_agree_on_the_total(batch_dir: Path, tmp_path: Path, strategy) -> None:
    out = tmp_path / "plan"
    result = runner.invoke(
        app,
        ["plan", str(batch_dir), "--out", str(out), "--strategy", strategy, "--time-limit", "20"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["strategy"] == strategy
    assert set(pd.read_csv(out / "allocations.csv").columns) == {
        "order_id",
        "line_no",
        "node_id",
        "qty",
    }
    checked = runner.invoke(app, ["check", str(batch_dir), str(out)])
    assert checked.exit_code == 0, checked.output
    assert "matches" in checked.output and "feasible" in checked.output


def test_weights_override_is_used_and_checked(batch_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan"
    result = runner.invoke(
        app,
        [
            "plan",
            str(batch_dir),
            "--out",
            str(out),
            "-s",
            "greedy",
            "--weight",
            "split=10",
            "--weight",
            "late=0",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cost"]["weights"]["split"] == 10.0
    checked = runner.invoke(app, ["check", str(batch_dir), str(out)])
    assert checked.exit_code == 0 and "matches" in checked.output


def test_check_reports_a_broken_plan(tmp_path: Path) -> None:
    batch = write_batch(tiny_batch(), tmp_path / "tiny")
    plan = tmp_path / "bad"
    plan.mkdir()
    # O4 is a pickup at ST2 but is served from DC1, and DC1 has only 10 of A.
    pd.DataFrame(
        [("O4", 1, "DC1", 2), ("O1", 1, "DC1", 2), ("O2", 1, "DC1", 1)],
        columns=["order_id", "line_no", "node_id", "qty"],
    ).to_csv(plan / "allocations.csv", index=False)
    result = runner.invoke(app, ["check", str(batch), str(plan)])
    assert result.exit_code == 1
    assert "3-pickup-node" in result.output


def test_bad_batch_is_one_red_error_with_exit_code_1(tmp_path: Path) -> None:
    folder = write_batch(tiny_batch(), tmp_path / "tiny")
    (folder / "nodes.csv").write_text("node_id,kind\nX,dc\n")
    result = runner.invoke(app, ["plan", str(folder), "--out", str(tmp_path / "p")])
    assert result.exit_code == 1
    assert "nodes.csv column 'zip': required column is missing" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "p").exists()  # nothing half-written


def test_unknown_strategy_is_refused_before_the_batch_is_read(tmp_path: Path) -> None:
    # The batch does not exist: the strategy is refused while parsing, before any reading.
    result = runner.invoke(
        app, ["plan", str(tmp_path / "no-batch"), "--out", str(tmp_path / "p"), "-s", "magic"]
    )
    assert result.exit_code == 2
    assert "'magic' is not one of 'optimize', 'greedy', 'nearest', 'mip'" in result.output
    assert "no-batch" not in result.output


def test_explain_names_the_next_best_node_and_why(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    batch = write_batch(tiny_batch(), tmp_path / "tiny")
    out = tmp_path / "plan"
    assert runner.invoke(app, ["plan", str(batch), "--out", str(out), "-s", "mip"]).exit_code == 0
    result = runner.invoke(app, ["explain", str(out), "O3"], terminal_width=200)
    assert result.exit_code == 0, result.output
    # O3 takes B from DC1 with A (one package); ST1 would open a second package:
    # 2 (pack) + 1 (pick) + 3 + 0.5 (zone 3 ground, 1 lb) + 2 (split) - 1 (B's share at DC1).
    assert "ST1" in result.output and "+7.50" in result.output
    result = runner.invoke(app, ["explain", str(out), "O4"], terminal_width=200)
    # One source per line in the table: ST2 x1, then the unit left unfilled.
    assert re.search(r"ST2 x1 .*\n\s+1 unfilled", result.output), result.output
    result = runner.invoke(app, ["explain", str(out), "NOPE"])
    assert result.exit_code == 1 and "not in this batch" in result.output


def test_generate_to_a_folder_and_into_the_store(tmp_path: Path) -> None:
    from data.batch_io import read_batch
    from data.store import Store

    folder, db = tmp_path / "gen", tmp_path / "dom.duckdb"
    result = runner.invoke(
        app,
        [
            "generate",
            "-n",
            "300",
            "--out",
            str(folder),
            "--db",
            str(db),
            "--format",
            "parquet",
            "--batch-date",
            "2026-11-25",
        ],
    )
    assert result.exit_code == 0, result.output
    from_files = read_batch(folder)
    with Store(db) as store:
        from_store = store.export_batch()
    assert len(from_files.orders) == 300
    pd.testing.assert_frame_equal(from_store.orders, from_files.orders)
    pd.testing.assert_frame_equal(from_store.order_lines, from_files.order_lines)


def test_the_demo_runs_twice_in_the_same_workdir(tmp_path: Path) -> None:
    # Its own DuckDB file in the workdir, made afresh: a second run loads the same batch
    # again instead of stopping on order ids already taken.
    args = ["demo", "--orders", "40", "--time-limit", "2", "--workdir", str(tmp_path / "demo")]
    for _ in range(2):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert (tmp_path / "demo" / "dom.duckdb").exists()
    assert (
        json.loads((tmp_path / "demo" / "plan-optimize" / "summary.json").read_text())["strategy"]
        == "optimize"
    )
    # Into a file given with --db, the second load of the same batch is refused whole.
    db = ["--db", str(tmp_path / "mine.duckdb")]
    assert runner.invoke(app, args + db).exit_code == 0
    again = runner.invoke(app, args + db)
    assert again.exit_code == 1
    assert "duplicate order_id" in again.output
