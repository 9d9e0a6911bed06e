"""``dom weights``: merchandisers' named, versioned weight profiles on the store file."""

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import ui
from cli.subapp import console, friendly

app = typer.Typer(
    no_args_is_help=True, help="Weight profiles: list, show, create, compare, activate."
)
DbOpt = Annotated[Path | None, typer.Option("--db", help="Store file; default $DOM_DB_PATH.")]


@contextmanager
def _db(path: Path | None) -> Iterator[Any]:
    from data.lifecycle_db import Database
    from data.store import Store

    db = Database(Store(path))
    try:
        yield db
    finally:
        db.close()


def _actor(name: str | None) -> Any:
    from models.api import Actor, Role

    return Actor(name=name or getpass.getuser(), role=Role.MERCHANDISER)


def _kpi_table(title: str, left: str, right: str, a: dict, b: dict) -> Any:
    from rich.table import Table

    t = Table(title=title)
    t.add_column("KPI")
    t.add_column(left, justify="right")
    t.add_column(right, justify="right")
    t.add_column("change", justify="right")
    for k in a:
        pct = k in ("on_time_share", "fill_rate")
        f = (lambda v: f"{v:.2%}") if pct else (lambda v: f"{v:,.2f}")
        d = b[k] - a[k]
        t.add_row(k, f(a[k]), f(b[k]), f"{d * 100:+.2f} pt" if pct else f"{d:+,.2f}")
    return t


@app.command("list")
@friendly
def list_cmd(db: DbOpt = None) -> None:
    """Every profile's latest version; the active one is marked."""
    from rich.table import Table

    from services import weights as wp

    with _db(db) as d:
        rows = wp.list_profiles(d)
        act = wp.active_weights(d)
    t = Table(title="Weight profiles")
    for c in ("name", "version", "shipping", "handling", "late", "split", "unfilled", "note"):
        t.add_column(c)
    for r in rows:
        w = r["weights"]
        mark = " (active)" if act and act[1].startswith(r["name"] + "@") else ""
        t.add_row(
            r["name"] + mark,
            str(r["version"]),
            *(f"{w[k]:g}" for k in ("shipping", "handling", "late", "split", "unfilled")),
            r["note"] or "",
        )
    console.print(t)


@app.command("show")
@friendly
def show_cmd(
    ref: Annotated[str, typer.Argument(help="name or name@version")], db: DbOpt = None
) -> None:
    """One profile version, its versions and whether it is active."""
    from services import weights as wp

    with _db(db) as d:
        console.print_json(json.dumps(wp.show(d, ref), default=str))


@app.command("create")
@friendly
def create_cmd(
    name: str,
    weight: Annotated[list[str], typer.Option("--set", help="component=value, e.g. late=15.")] = [],  # noqa: B006
    note: Annotated[str | None, typer.Option(help="Why this profile.")] = None,
    actor: Annotated[str | None, typer.Option(help="Who creates it; default $USER.")] = None,
    db: DbOpt = None,
) -> None:
    """Create a profile (or its next version); unset components keep the spec's defaults."""
    from models.lifecycle_errors import FieldError, InvalidInput
    from services import weights as wp

    raw: dict[str, Any] = {}
    for item in weight:
        key, _, value = item.partition("=")
        try:
            raw[key.strip()] = float(value)
        except ValueError:
            raise InvalidInput(
                [FieldError(f"weights.{key.strip()}", f"{value!r} is not a number")]
            ) from None
    with _db(db) as d:
        prof = wp.create(d, name, raw, note, _actor(actor))
    console.print(f"[green]created[/green] {prof.name}@{prof.version}: {prof.weights}")


@app.command("activate")
@friendly
def activate_cmd(
    ref: str,
    actor: Annotated[str | None, typer.Option(help="Who activates; default $USER.")] = None,
    db: DbOpt = None,
) -> None:
    """Make a profile the one the next sourcing runs use (recorded: who, when, from which)."""
    from services import weights as wp

    with _db(db) as d:
        a = wp.activate(d, ref, _actor(actor))
    prev = f"{a['from_name']}@{a['from_version']}" if a["from_name"] else "spec defaults"
    console.print(
        f"[green]active[/green]: {a['name']}@{a['version']} (was {prev}), by {a['actor']}"
    )


@app.command("audit")
@friendly
def audit_cmd(db: DbOpt = None) -> None:
    """Every activation: who, when, from which version to which."""
    from services import weights as wp

    with _db(db) as d:
        for a in wp.audit(d):
            prev = f"{a['from_name']}@{a['from_version']}" if a["from_name"] else "defaults"
            console.print(
                f"{a['activated_at']}  {a['actor']}: {prev} -> {a['name']}@{a['version']}"
            )


@app.command("whatif")
@friendly
def whatif_cmd(
    ref: str,
    time_limit: Annotated[float, typer.Option(min=0.1, help="Seconds per re-plan.")] = 10.0,
    db: DbOpt = None,
) -> None:
    """Re-plan the last sourcing run's batch under the profile; KPI changes before activation."""
    from services import weights as wp

    with _db(db) as d, console.status("re-planning the last run's batch twice"):
        r = wp.whatif(d, ref, time_limit)
    console.print(
        _kpi_table(
            f"What-if {r['profile']} on run {r['run_id']} "
            f"({r['orders']:,} orders, {r['strategy']})",
            "current weights",
            r["profile"],
            r["current"],
            r["candidate"],
        )
    )


@app.command("compare")
@friendly
def compare_cmd(
    a: str,
    b: str,
    time_limit: Annotated[float, typer.Option(min=0.1, help="Seconds per re-plan.")] = 10.0,
    db: DbOpt = None,
) -> None:
    """Two profiles on the last run's batch, side by side."""
    from services import weights as wp

    with _db(db) as d, console.status("re-planning the last run's batch under both"):
        r = wp.compare(d, a, b, time_limit)
    console.print(
        _kpi_table(
            f"{r['a']['profile']} vs {r['b']['profile']} on run {r['run_id']}",
            r["a"]["profile"],
            r["b"]["profile"],
            r["a"]["kpis"],
            r["b"]["kpis"],
        )
    )


@app.command("sweep")
@friendly
def sweep_cmd(
    component: Annotated[str, typer.Argument(help="late, split, shipping, handling or unfilled.")],
    values: Annotated[str, typer.Option(help="Comma-separated weights.")] = "1,2,5,10,20,40",
    out: Annotated[Path, typer.Option(help="PNG of the trade-off curve.")] = Path(
        "weight-sweep.png"
    ),
    time_limit: Annotated[float, typer.Option(min=0.1)] = 10.0,
    db: DbOpt = None,
) -> None:
    """Re-plan the last run's batch at each value of one weight; draw the trade-off curve."""
    from rich.progress import Progress

    from models.lifecycle_errors import FieldError, InvalidInput
    from scenarios.sweep_chart import sweep_chart
    from services import weights as wp

    try:
        vals = [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        raise InvalidInput(
            [FieldError("values", f"{values!r}: numbers separated by commas")]
        ) from None
    rows = []
    with _db(db) as d, Progress(console=ui.out()) as progress:  # Live needs a real Console
        task = progress.add_task(f"sweeping {component}", total=len(vals))
        for v in vals:
            rows += wp.sweep(d, component, [v], time_limit=time_limit)
            progress.advance(task)
    sweep_chart(component, rows, out)
    from rich.table import Table

    t = Table(title=f"Sweep of {component}")
    for c in ("weight", "ship+handle $", "on-time", "pkg/order", "late days"):
        t.add_column(c, justify="right")
    for r in rows:
        t.add_row(
            f"{r['value']:g}",
            f"{r['shipping_plus_handling']:,.2f}",
            f"{r['on_time_share']:.2%}",
            f"{r['packages_per_order']:.3f}",
            f"{r['late_days']:,.0f}",
        )
    console.print(t)
    console.print(f"curve: [bold]{out}[/bold]")
