"""``dom scenario``: run a YAML spec of scenarios over simulated days and report on them."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli import ui
from cli.subapp import console, friendly

if TYPE_CHECKING:
    from scenarios.executor import Executor
    from scenarios.spec import Resolved, Spec

app = typer.Typer(no_args_is_help=True, help="Multi-day scenario analysis on the same orders.")
MARKER = ".dom-scenario-report"


@app.command("run")
@friendly
def run_cmd(
    spec_file: Annotated[Path, typer.Argument(help="YAML spec: base, scenarios, days, seeds.")],
    out: Annotated[Path, typer.Option(help="Folder for tables, charts and report.html.")] = Path(
        "scenario-report"
    ),
    db: Annotated[Path, typer.Option(help="Analysts' DuckDB file the run is appended to.")] = Path(
        "var/scenarios.duckdb"
    ),
    executor: Annotated[str, typer.Option(help="processes (both cores) or serial.")] = "processes",
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes; default: cores.")
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(help="Store holding weight profiles a spec names; default $DOM_DB_PATH."),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            help="Run each scenario as a task on the Ray cluster at this address "
            "(auto: the one 'ray start' runs here; local: a private one)."
        ),
    ] = None,
) -> None:
    """Simulate every scenario of SPEC_FILE day by day and compare them with the base."""
    from data.atomic import Layout, check_target
    from scenarios.executor import make_executor
    from scenarios.spec import SpecError, load_spec
    from scenarios.storage import resolve_profiles

    spec = load_spec(spec_file)  # refused here, before anything runs
    check_target(out, Layout("scenario report", MARKER), inputs=[spec_file.parent])
    scenarios = resolve_profiles(spec.resolved(), store)
    try:
        ex = make_executor(executor, workers)
    except ValueError as exc:
        raise SpecError(f"--executor: {exc}") from None
    if not ray:
        _run(spec_file, spec, scenarios, ex, out, db)
        return
    from parallel import connect
    from scenarios.executor import ClusterExecutor

    with console.status(f"connecting to the Ray cluster at {ray}"):
        cluster = connect(ray, workers or 2, prepare=("scenarios.simulate",))
    try:
        _run(spec_file, spec, scenarios, ClusterExecutor(cluster), out, db)
        console.print(
            f"Ray at {ray}: {cluster.workers} CPUs; scenario tasks run again after their "
            f"worker died: {cluster.retries}"
        )
    finally:
        cluster.close()


def _run(
    spec_file: Path,
    spec: "Spec",
    scenarios: "list[Resolved]",
    ex: "Executor",
    out: Path,
    db: Path,
) -> None:
    """Run the spec on ``ex`` with progress bars, then write the report and the tables."""
    import time
    import uuid

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from data.atomic import Layout, atomic_folder
    from data.scenario_tables import save_scenario_run
    from scenarios import report
    from scenarios.runner import run_spec
    from scenarios.storage import frames_for_db

    report_layout = Layout("scenario report", MARKER)
    run_id = f"scn-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    names = [f"{sc.name} (seed {seed})" for seed in spec.seeds for sc in scenarios]
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=ui.out(),  # a real Console: Live enters it as a context manager
    ) as progress:
        world = progress.add_task("orders and network", total=len(spec.seeds))
        bars = [progress.add_task(n, total=spec.days) for n in names]
        result = run_spec(
            spec,
            ex,
            on_day=lambda i, d: progress.update(bars[i], completed=d),
            scenarios=scenarios,
            on_world=lambda seed: progress.advance(world),
        )
        charts = progress.add_task("charts and report", total=1)
        with atomic_folder(out, report_layout, inputs=[spec_file.parent]) as scratch:
            (scratch / MARKER).write_text(run_id + "\n")
            report.write_tables(result, scratch)
            data = report.write_charts(result, scratch)
            report.write_html(result, scratch, data, run_id)
        save_scenario_run(db, run_id, *frames_for_db(result, spec_file))
        progress.update(charts, completed=1)
    console.print(report.comparison_table(result))
    console.print(
        f"{len(result.runs)} scenario runs in {result.wall_seconds:,.0f} s; "
        f"report: [bold]{out / 'report.html'}[/bold]; tables in {db} "
        f"(run_id {run_id})"
    )
