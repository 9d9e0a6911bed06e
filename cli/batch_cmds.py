"""``dom generate`` and ``dom demo``: make batches, and show the whole product on one."""

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer

from cli import ui
from cli.options import DEFAULT_STRATEGY, ForceOpt, StrategyOpt, TimeLimitOpt
from cli.ui import progress_bar, stage


def generate_cmd(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", metavar="DIR", help="Batch folder to write.")
    ] = None,
    db: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Load straight into this DuckDB file.")
    ] = None,
    orders: Annotated[
        int,
        typer.Option("--orders", "-n", min=1, max=5_000_000, metavar="N", help="Orders to make."),
    ] = 10_000,
    seed: Annotated[int, typer.Option(metavar="S", help="Same seed, same batch.")] = 7,
    nodes: Annotated[
        int | None, typer.Option(min=2, metavar="N", help="[default: scales with orders]")
    ] = None,
    skus: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="[default: scales with orders]")
    ] = None,
    tightness: Annotated[
        float, typer.Option(min=0.05, metavar="X", help="Supply vs demand; 1 = tight.")
    ] = 1.0,
    fmt: Annotated[Literal["csv", "parquet"], typer.Option("--format")] = "csv",
    batch_date: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], metavar="YYYY-MM-DD", help="[default: today]"),
    ] = None,
    vendors: Annotated[
        int, typer.Option(min=0, max=500, metavar="N", help="Drop-ship vendors to add.")
    ] = 0,
    digital: Annotated[
        float, typer.Option(min=0, max=1, metavar="X", help="Share of SKUs that are digital.")
    ] = 0.0,
    force: ForceOpt = False,
) -> None:
    """Make a realistic batch, to a folder and/or the store.

    Real US geography (ZIP codes, cities), seeded: the same seed makes the same batch.
    """
    from data.atomic import check_target
    from data.batch_io import BATCH_LAYOUT, write_batch
    from data.generator import generate_batch

    if out is None and db is None:
        raise typer.BadParameter("say where the batch goes: --out DIR and/or --db FILE")
    if out is not None:
        check_target(out, BATCH_LAYOUT, force=force)
    day = batch_date.date() if batch_date else date.today()
    with progress_bar() as progress:
        with stage(progress, f"generating {orders:,} orders (seed {seed})"):
            batch = generate_batch(
                orders,
                seed=seed,
                nodes=nodes,
                skus=skus,
                batch_date=day,
                tightness=tightness,
                vendors=vendors,
                digital_share=digital,
            )
        if out is not None:
            with stage(progress, f"writing {out} ({fmt})"):
                write_batch(batch, out, fmt, force=force)
        if db is not None:
            from data.store import Store

            with stage(progress, f"loading into {db}"), Store(db) as store:
                store.load_batch(batch, source=f"dom generate --seed {seed}")
    ui.out().print(
        f"[green]generated[/green] {len(batch.nodes):,} nodes, "
        f"{len(batch.items):,} SKUs, {len(batch.orders):,} orders, "
        f"{len(batch.order_lines):,} lines"
    )


def demo_cmd(
    orders: Annotated[
        int, typer.Option("--orders", "-n", min=1, metavar="N", help="Orders to make.")
    ] = 5_000,
    seed: Annotated[int, typer.Option(metavar="S", help="Same seed, same batch.")] = 7,
    db: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="[default: WORKDIR/dom.duckdb, made afresh]"),
    ] = None,
    workdir: Annotated[
        Path, typer.Option(metavar="DIR", help="Where batch and plans are written.")
    ] = Path("var/demo"),
    strategy: StrategyOpt = DEFAULT_STRATEGY,
    time_limit: TimeLimitOpt = 30.0,
) -> None:
    """Generate, load into DuckDB, plan with each strategy, compare.

    Without --db the demo loads into a DuckDB file of its own in the workdir,
    made afresh each run (a second load of the same batch into one file stops:
    its order ids are taken).
    """
    from cli.report import comparison_table, kpi_table
    from data.atomic import OutputPathError, check_target
    from data.batch_io import BATCH_LAYOUT, write_batch
    from data.generator import generate_batch
    from data.plan_io import PLAN_LAYOUT, write_plan
    from data.store import Store
    from planner import plan

    names = list(dict.fromkeys(["nearest", "greedy", strategy]))
    check_target(workdir / "batch", BATCH_LAYOUT)
    for name in names:
        check_target(workdir / f"plan-{name}", PLAN_LAYOUT)
    db_path = db or workdir / "dom.duckdb"
    if db is None and db_path.exists():
        # Made afresh: but only a file the demo made (beside the demo's batch) is removed.
        if not (workdir / "batch" / "batch.json").is_file():
            raise OutputPathError(
                f"{db_path} exists and {workdir} is not a demo folder; "
                "pass --db FILE or another --workdir"
            )
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
    ui.out().print(kpi_table(results[strategy].summary))
    ui.out().print(comparison_table({n: r.summary for n, r in results.items()}))
    ui.out().print(
        f"batch and plans under [bold]{workdir}[/bold]; check one with "
        f"[bold]dom check {workdir / 'batch'} {workdir / ('plan-' + strategy)}[/bold]"
    )
