"""``dom``: generate batches, plan them, check any plan, run the demo.

Each command is a thin shell over library calls; a DomError is printed as one
red message and exits with code 1 (no traceback for the user's mistakes).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cli import scenario as _scenario  # light sub-apps: heavy imports inside their commands
from cli import weights as _weights
from cli.subapp import console, err_console, friendly
from data.batch_io import read_batch, write_batch
from data.plan_io import read_plan, write_plan
from models import PlanSummary, Weights
from planner import DEFAULT_STRATEGY, STRATEGIES, check_plan, evaluate, plan

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Distributed order management: sourcing planner and tools.",
)
friendly_errors = friendly  # a DomError is one red message and exit 1


@contextmanager
def stage(progress: Progress, label: str) -> Iterator[None]:
    """One line of the progress display per stage of long work."""
    task = progress.add_task(label, total=1)
    yield
    progress.update(task, completed=1)


def progress_bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def parse_weights(spec: list[str] | None, base: Weights) -> Weights:
    """``--weight late=10 --weight split=0`` over the batch's own weights."""
    if not spec:
        return base
    values = base.model_dump()
    for item in spec:
        name, _, raw = item.partition("=")
        if name not in values or not raw:
            raise typer.BadParameter(
                f"expected NAME=VALUE with NAME in {sorted(values)}; got {item!r}",
                param_hint="--weight",
            )
        try:
            values[name] = float(raw)
        except ValueError:
            raise typer.BadParameter(
                f"{item!r}: {raw!r} is not a number", param_hint="--weight"
            ) from None
    return Weights(**values)


StrategyOpt = Annotated[
    str, typer.Option("--strategy", "-s", help=f"One of: {', '.join(STRATEGIES)}.")
]
TimeLimitOpt = Annotated[
    float | None, typer.Option("--time-limit", min=0.0, help="Seconds the optimizer may use.")
]
WeightOpt = Annotated[
    list[str] | None, typer.Option("--weight", "-w", help="Override a weight: NAME=VALUE.")
]


@app.command("plan")
@friendly_errors
def plan_cmd(
    batch_dir: Annotated[Path, typer.Argument(help="Batch folder (batch.json + tables).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Plan folder to write.")],
    strategy: StrategyOpt = DEFAULT_STRATEGY,
    time_limit: TimeLimitOpt = None,
    weight: WeightOpt = None,
) -> None:
    """Read a batch, plan it, write allocations, unfilled and summary.json."""
    with progress_bar() as progress:
        with stage(progress, f"reading {batch_dir}"):
            batch = read_batch(batch_dir)
        weights = parse_weights(weight, batch.weights)
        with stage(progress, f"planning {len(batch.orders):,} orders with {strategy}"):
            result = plan(batch, strategy, time_limit, weights)
        with stage(progress, f"writing {out}"):
            summary = result.summary.model_dump(mode="json")
            summary["batch_path"] = str(batch_dir.resolve())
            write_plan(out, result.allocations, result.unfilled, summary)
    from cli.report import kpi_table

    console.print(kpi_table(result.summary))


@app.command("check")
@friendly_errors
def check_cmd(
    batch_dir: Annotated[Path, typer.Argument(help="Batch folder the plan was made for.")],
    plan_dir: Annotated[Path, typer.Argument(help="Plan folder (allocations, unfilled).")],
    weight: WeightOpt = None,
) -> None:
    """Check every hard rule and cost the plan with the contract's objective."""
    batch = read_batch(batch_dir)
    allocations, unfilled, claimed = read_plan(plan_dir, batch)
    # A plan is costed with the weights it was made with, when its summary says so.
    planned_with = claimed.get("cost", {}).get("weights") if isinstance(claimed, dict) else None
    base = Weights.model_validate(planned_with) if planned_with else batch.weights
    weights = parse_weights(weight, base)
    violations = check_plan(batch, allocations, unfilled)
    cost = evaluate(batch, allocations, weights)
    summary = PlanSummary(
        strategy=str(claimed.get("strategy", "unknown")),
        cost=cost,
        total=cost.total,
        lower_bound=claimed.get("lower_bound"),
        gap=None,
        wall_seconds=float(claimed.get("wall_seconds", 0.0)),
    )
    if summary.lower_bound is not None and cost.total > 0:
        summary.gap = (cost.total - summary.lower_bound) / cost.total
    from cli.report import kpi_table

    console.print(kpi_table(summary, title=f"Checked plan {plan_dir}"))
    if "total" in claimed:
        same = abs(float(claimed["total"]) - cost.total) <= 1e-6 * max(1.0, abs(cost.total))
        mark = "[green]matches[/green]" if same else "[red]DIFFERS from[/red]"
        console.print(
            f"summary.json total {float(claimed['total']):,.4f} {mark} "
            f"the checked total {cost.total:,.4f}"
        )
        if not same:
            violations.append(_total_mismatch())
    if violations:
        for v in violations:
            err_console.print(f"[red]✗[/red] {v}", highlight=False)
        err_console.print(f"[bold red]{len(violations)} violation(s)[/bold red]")
        raise typer.Exit(1)
    console.print("[bold green]✓ feasible: every hard rule holds[/bold green]")


def _total_mismatch() -> Any:
    from planner.core.checker import Violation

    return Violation("summary", "summary.json total differs from the contract's objective")


@app.command("explain")
@friendly_errors
def explain_cmd(
    plan_dir: Annotated[Path, typer.Argument(help="Plan folder written by dom plan.")],
    order_id: Annotated[str, typer.Argument(help="The order to explain.")],
    batch_dir: Annotated[Path | None, typer.Option("--batch", help="Default: the plan's.")] = None,
) -> None:
    """Per line: the node chosen, its cost, and the next best node and why not."""
    from rich.table import Table

    from planner.core.explain import explain_order
    from planner.core.instance import build_instance

    allocations, _, summary = read_plan(plan_dir)
    source = batch_dir or summary.get("batch_path")
    if not source:
        raise typer.BadParameter("the plan does not say its batch; pass --batch")
    batch = read_batch(source)
    weights = summary.get("cost", {}).get("weights")
    inst = build_instance(batch, Weights.model_validate(weights) if weights else None)
    packages, lines = explain_order(inst, allocations, order_id)
    pk = Table(title=f"Order {order_id}: packages")
    for col in ("node", "zone", "units", "lb", "shipping $", "handling $", "late days"):
        pk.add_column(col, justify="left" if col == "node" else "right")
    for p in packages.itertuples():
        pk.add_row(
            str(p.node_id),
            str(p.zone),
            str(p.units),
            f"{p.weight_lb:.1f}",
            f"{p.shipping:.2f}",
            f"{p.handling:.2f}",
            f"{p.late_days:.0f}",
        )
    console.print(pk)
    lt = Table(title=f"Order {order_id}: lines")
    for col in ("line", "sku", "qty", "from", "cost $", "next best", "extra $", "why not"):
        lt.add_column(col)
    for c in lines:
        lt.add_row(
            str(c.line_no),
            c.sku,
            str(c.qty),
            c.sources,
            f"{c.cost:.2f}",
            c.next_node or "-",
            "-" if c.next_extra is None else f"{c.next_extra:+.2f}",
            c.why_not,
        )
    console.print(lt)


@app.command("generate")
@friendly_errors
def generate_cmd(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Batch folder to write.")] = None,
    db: Annotated[Path | None, typer.Option(help="Load straight into this DuckDB file.")] = None,
    orders: Annotated[int, typer.Option("--orders", "-n", min=1, max=5_000_000)] = 10_000,
    seed: Annotated[int, typer.Option(help="Same seed, same batch.")] = 7,
    nodes: Annotated[int | None, typer.Option(min=2, help="Default scales with orders.")] = None,
    skus: Annotated[int | None, typer.Option(min=1, help="Default scales with orders.")] = None,
    tightness: Annotated[float, typer.Option(min=0.05, help="Supply vs demand; 1 = tight.")] = 1.0,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    batch_date: Annotated[str | None, typer.Option(help="ISO date; default today.")] = None,
    vendors: Annotated[int, typer.Option(min=0, max=500, help="Drop-ship vendors to add.")] = 0,
    digital: Annotated[float, typer.Option(min=0, max=1, help="Share of SKUs digital.")] = 0.0,
) -> None:
    """Generate a realistic batch on real US geography, to a folder and/or the store."""
    from data.generator import generate_batch

    if out is None and db is None:
        raise typer.BadParameter("say where the batch goes: --out FOLDER and/or --db FILE")
    if fmt not in ("csv", "parquet"):
        raise typer.BadParameter(f"{fmt!r}: use csv or parquet", param_hint="--format")
    day = date.fromisoformat(batch_date) if batch_date else date.today()
    with progress_bar() as progress:
        with stage(progress, f"generating {orders:,} orders (seed {seed})"):
            batch = generate_batch(
                orders, seed=seed, nodes=nodes, skus=skus, batch_date=day, tightness=tightness,
                vendors=vendors, digital_share=digital,
            )  # fmt: skip
        if out is not None:
            with stage(progress, f"writing {out} ({fmt})"):
                write_batch(batch, out, fmt)  # type: ignore[arg-type]
        if db is not None:
            from data.store import Store

            with stage(progress, f"loading into {db}"), Store(db) as store:
                store.load_batch(batch, source=f"dom generate --seed {seed}")
    console.print(
        f"[green]generated[/green] {len(batch.nodes):,} nodes, "
        f"{len(batch.items):,} SKUs, {len(batch.orders):,} orders, "
        f"{len(batch.order_lines):,} lines"
    )


@app.command("demo")
@friendly_errors
def demo_cmd(
    orders: Annotated[int, typer.Option("--orders", "-n", min=1)] = 5_000,
    seed: int = 7,
    db: Annotated[
        Path | None,
        typer.Option(help="DuckDB file to load into; default WORKDIR/dom.duckdb, made afresh."),
    ] = None,
    workdir: Annotated[Path, typer.Option(help="Where batch and plans are written.")] = Path(
        "var/demo"
    ),
    strategy: StrategyOpt = DEFAULT_STRATEGY,
    time_limit: TimeLimitOpt = 30.0,
) -> None:
    """Generate a batch, load it into DuckDB, plan the snapshot, show KPIs per strategy.

    Without ``--db`` the demo loads into a file of its own in the workdir, made afresh, so
    that it runs again (into the service's file a second load of the same batch stops:
    its order ids are taken)."""
    from data.generator import generate_batch
    from data.store import Store

    db_path = db or workdir / "dom.duckdb"
    if db is None:
        for old in (db_path, db_path.with_name(db_path.name + ".wal")):
            old.unlink(missing_ok=True)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    results = {}
    with progress_bar() as progress:
        with stage(progress, f"generating {orders:,} orders on real US geography"):
            batch = generate_batch(orders, seed=seed)
            write_batch(batch, workdir / "batch")
        with stage(progress, f"loading into DuckDB at {db_path}"), Store(db_path) as store:
            store.load_batch(batch)
            snapshot = store.export_batch()
        names = list(dict.fromkeys(["nearest", "greedy", strategy]))
        for name in names:
            with stage(progress, f"planning with {name}"):
                results[name] = plan(snapshot, name, time_limit)
                write_plan(
                    workdir / f"plan-{name}",
                    results[name].allocations,
                    results[name].unfilled,
                    results[name].summary.model_dump(mode="json"),
                )
        with stage(progress, "saving plans in DuckDB"), Store(db_path) as store:
            for name, result in results.items():
                store.save_plan(
                    name,
                    snapshot.batch_date,
                    result.summary.cost.weights,
                    result.allocations,
                    result.unfilled,
                    result.summary.model_dump(mode="json"),
                )
    from cli.report import comparison_table, kpi_table

    console.print(kpi_table(results[strategy].summary))
    console.print(comparison_table({n: r.summary for n, r in results.items()}))
    console.print(
        f"batch and plans under [bold]{workdir}[/bold]; check one with "
        f"[bold]dom check {workdir / 'batch'} {workdir / ('plan-' + strategy)}[/bold]"
    )


@app.command("serve")
@friendly_errors
def serve_cmd(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    db: Annotated[Path | None, typer.Option(help="DuckDB file; default $DOM_DB_PATH.")] = None,
    seed_demo: Annotated[
        int, typer.Option(min=0, help="First load a generated network with N open orders.")
    ] = 0,
    load: Annotated[
        Path | None, typer.Option(help="First load this batch folder (network, stock, orders).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Start the order service (OpenAPI at /docs) on the embedded DuckDB file.

    One process owns the file (DuckDB has one writer); an empty store starts
    fine (empty network). Seed it with --seed-demo N or --load BATCH_DIR.
    """
    import uvicorn

    from api.app import create_app, open_database
    from api.settings import Settings
    from services import admin

    settings = Settings(db_path=db) if db else Settings()
    database = open_database(settings)
    if load is not None:
        batch_id = admin.load_batch_dir(database, load)
        console.print(f"[green]loaded[/green] {load} as {batch_id}")
    if seed_demo:
        batch_id = admin.seed_demo(database, seed_demo)
        console.print(f"[green]seeded[/green] a demo network with {seed_demo:,} orders")
    console.print(f"serving {settings.db_path} on http://{host}:{port} (docs at /docs)")
    # The app's lifespan closes (checkpoints) the store, also on SIGTERM.
    app = create_app(settings, database, close_db=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


app.add_typer(_scenario.app, name="scenario")
app.add_typer(_weights.app, name="weights")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
