"""``dom appointments ...``: pools in, routes out. Thin commands over services.appointments;
heavy imports (the store, OR-Tools) happen inside the commands so ``dom --help`` stays fast."""

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.subapp import console, friendly

app = typer.Typer(no_args_is_help=True, help="Delivery and service appointments.")
DbOpt = Annotated[Path | None, typer.Option("--db", help="DuckDB store (default: DOM_DB_PATH).")]


def _open(db: Path | None) -> Any:
    from api.settings import Settings
    from data.lifecycle_db import Database
    from data.store import Store

    return Database(Store(str(db or Settings().db_path)))


@app.command("load")
@friendly
def load(
    folder: Annotated[
        Path,
        typer.Argument(
            help="Folder with crews.csv, crew_regions.csv, item_services.csv (any of them)."
        ),
    ],
    db: DbOpt = None,
) -> None:
    """Load resource pools and item services from CSV files into the store."""
    from data.appointments_io import read_pools
    from services import appointments as svc

    crews, services = read_pools(folder)
    database = _open(db)
    try:
        svc.put_crews(database, crews)
        svc.put_item_services(database, services)
    finally:
        database.close()
    console.print(f"[green]loaded[/green] {len(crews)} crews, {len(services)} item services")


@app.command("generate")
@friendly
def generate(
    out: Annotated[Path, typer.Argument(help="Folder to write the pool CSVs to.")],
    crews_per_node: Annotated[int, typer.Option(min=1, max=200)] = 8,
    db: DbOpt = None,
) -> None:
    """Write realistic pools for the store's network (then ``dom appointments load``)."""
    from data.appointments_gen import generate_pools
    from data.appointments_io import write_pools

    database = _open(db)
    try:
        nodes, skus = database.read(
            lambda r: (
                [(n["node_id"], n["zip"]) for n in r.nodes() if n["ship_enabled"]],
                [(str(s), float(w)) for s, w in r.rows("SELECT sku, weight_lb FROM items")],
            )
        )
    finally:
        database.close()
    crews, services = generate_pools(nodes, skus, crews_per_node)
    write_pools(out, crews, services)
    console.print(f"wrote {len(crews)} crews and {len(services)} item services to {out}")


@app.command("route")
@friendly
def route(
    day: Annotated[str, typer.Option("--date", help="Day to route, YYYY-MM-DD.")],
    node: Annotated[str | None, typer.Option("--node", help="One node (default: all).")] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1)] = 10.0,
    db: DbOpt = None,
) -> None:
    """Route every crew's booked day with OR-Tools; report drive time vs insertion-only."""
    from rich.table import Table

    from services import appointments as svc

    try:
        the_day = date.fromisoformat(day)
    except ValueError:
        raise typer.BadParameter(
            f"{day!r} is not a date (YYYY-MM-DD)", param_hint="--date"
        ) from None
    database = _open(db)
    table = Table(
        "node",
        "crews",
        "appointments",
        "insertion drive h",
        "routed drive h",
        "saved",
        "seconds",
        title=f"routes for {the_day}",
    )
    try:
        nodes = [node] if node else svc.nodes_with_bookings(database, the_day)
        for n in nodes:
            with console.status(f"routing {n} ({time_limit:g} s limit; Ctrl-C stops)"):
                done = svc.route_day(database, the_day, n, time_limit)
            res = done.result
            saved = (
                1 - res.drive_minutes / res.insertion_drive_minutes
                if res.insertion_drive_minutes
                else 0.0
            )
            table.add_row(
                n,
                str(done.crews),
                str(done.appointments),
                f"{res.insertion_drive_minutes / 60:.1f}",
                f"{res.drive_minutes / 60:.1f}",
                f"{saved:.1%}",
                f"{res.wall_seconds:.1f}",
            )
    finally:
        database.close()
    console.print(table)
