"""Every ``dom`` command on every kind of broken input: an error message, never a traceback.

Each input is something a user can type by mistake: a path that does not exist,
an empty folder, a file where a folder goes, a folder of junk, a store file that
is not a DuckDB database. The command must end with exit code 1 (or 2 for a
usage error), say ``error``, and raise nothing but SystemExit.
"""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from data.batch_io import write_batch
from tests.tiny import tiny_batch

runner = CliRunner()

BROKEN = ("missing", "empty-dir", "a-file", "junk-dir", "junk-store")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A good batch, plan and store, and one of each broken input."""
    root = tmp_path_factory.mktemp("sweep")
    batch = write_batch(tiny_batch(), root / "batch")
    plan = root / "plan"
    assert (
        runner.invoke(app, ["plan", str(batch), "--out", str(plan), "-s", "greedy"]).exit_code == 0
    )
    store = root / "good.duckdb"
    assert runner.invoke(app, ["generate", "-n", "10", "--db", str(store)]).exit_code == 0
    (root / "empty-dir").mkdir()
    (root / "a-file").write_text("not a folder\n")
    junk = root / "junk-dir"
    junk.mkdir()
    (junk / "batch.json").write_text("{not json")
    (junk / "orders.csv").write_text("a,b\n1,2\n")
    (junk / "allocations.csv").write_text("order_id,line_no,node_id,qty\nO1,x,DC1,-1\n")
    (junk / "summary.json").write_text("[")
    (root / "junk-store").write_bytes(b"this is not a duckdb file" * 100)
    return {"root": root, "batch": batch, "plan": plan, "store": store}


# {X} is the broken input; {batch}, {plan}, {store}, {new} are good paths.
COMMANDS = (
    "generate -n 5 --out {X}",
    "generate -n 5 --db {X}",
    "plan {X} --out {new} -s greedy",
    "plan {batch} --out {X} -s greedy",
    "check {X} {plan}",
    "check {batch} {X}",
    "explain {X} O1",
    "explain {plan} O1 --batch {X}",
    "demo -n 5 --time-limit 1 --workdir {X}",
    "orders --db {X}",
    "inventory A --db {X}",
    "runs --db {X}",
    "plans --db {X}",
    "serve --port 18292 --db {X}",
    "serve --port 18293 --db {store} --load {X}",
    "scenario run {X} --out {new}",
    "weights list --db {X}",
)

# Inputs that are valid for a command (it would just run, or serve for ever).
VALID = {
    ("generate -n 5 --out {X}", "missing"),
    ("generate -n 5 --out {X}", "empty-dir"),
    ("generate -n 5 --db {X}", "missing"),
    ("plan {batch} --out {X} -s greedy", "missing"),
    ("plan {batch} --out {X} -s greedy", "empty-dir"),
    ("demo -n 5 --time-limit 1 --workdir {X}", "missing"),
    ("demo -n 5 --time-limit 1 --workdir {X}", "empty-dir"),
    ("demo -n 5 --time-limit 1 --workdir {X}", "junk-dir"),  # adds its own subfolders
    ("serve --port 18292 --db {X}", "missing"),
    ("weights list --db {X}", "missing"),  # a new, empty store
}


CASES = [(c, k) for c in COMMANDS for k in BROKEN if (c, k) not in VALID]


@pytest.mark.parametrize(("command", "kind"), CASES)
def test_no_traceback(
    command: str, kind: str, world: dict[str, Path], tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("DOM_API_KEYS", raising=False)
    monkeypatch.chdir(tmp_path)
    args = command.format(
        X=world["root"] / kind,
        batch=world["batch"],
        plan=world["plan"],
        store=world["store"],
        new=tmp_path / "new",
    ).split()
    result = runner.invoke(app, args)
    assert isinstance(result.exception, SystemExit), (args, result.output, result.exception)
    assert result.exit_code in (1, 2), (args, result.output)
    assert "Traceback" not in result.output
    assert "error" in result.output.lower()


def test_explain_of_an_order_not_in_the_plans_batch(world: dict[str, Path]) -> None:
    result = runner.invoke(app, ["explain", str(world["plan"]), "NOPE"])
    assert result.exit_code == 1 and "order 'NOPE' is not in this batch" in result.output


def test_inventory_of_an_unknown_sku(world: dict[str, Path]) -> None:
    result = runner.invoke(app, ["inventory", "NOPE", "--db", str(world["store"])])
    assert result.exit_code == 1 and "no SKU 'NOPE' in the store" in result.output


def test_weights_that_break_the_rules_are_a_usage_error(world: dict[str, Path]) -> None:
    for weight in ("late=-1", "late=abc", "nosuch=1", "late"):
        result = runner.invoke(
            app, ["plan", str(world["batch"]), "--out", "unused", "-w", weight, "-s", "greedy"]
        )
        assert result.exit_code == 2 and isinstance(result.exception, SystemExit), weight
        assert "--weight" in result.output
