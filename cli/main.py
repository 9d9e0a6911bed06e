"""``dom``: generate batches, plan them, check any plan, look into the store, serve the API.

Thin typer commands over library calls, one module per group (``plan_cmds``,
``batch_cmds``, ``store_cmds``, ``serve_cmd``; the ``scenario`` and ``weights``
sub-apps). Each is wrapped by
``cli.errors.friendly_errors``: a user's mistake is one red message and exit 1.
Modules imported here load only typer and rich; the planner, pandas and
OR-Tools load inside the commands that use them, so ``dom --help`` is quick.
"""

import os
import sys
from typing import Annotated

import typer

import cli
from cli import appointments as _appointments
from cli import batch_cmds, plan_cmds, serve_cmd, store_cmds
from cli import scenario as _scenario  # light sub-apps: heavy imports inside their commands
from cli import weights as _weights
from cli.errors import friendly_errors

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
    help="Distributed order management: sourcing planner, plan checker, order store and API.",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"dom {version('dom')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = None,
) -> None:
    """Distributed order management: sourcing planner, plan checker, order store and API."""


for name, command in (
    ("generate", batch_cmds.generate_cmd),
    ("plan", plan_cmds.plan_cmd),
    ("check", plan_cmds.check_cmd),
    ("explain", plan_cmds.explain_cmd),
    ("demo", batch_cmds.demo_cmd),
    ("orders", store_cmds.orders_cmd),
    ("inventory", store_cmds.inventory_cmd),
    ("runs", store_cmds.runs_cmd),
    ("plans", store_cmds.plans_cmd),
    ("serve", serve_cmd.serve_cmd),
):
    app.command(name)(friendly_errors(command))
app.add_typer(_scenario.app, name="scenario")
app.add_typer(_weights.app, name="weights")
app.add_typer(_appointments.app, name="appointments")


def main() -> None:
    """The console entry point (also for ``python -m cli.main``)."""
    cli.PROCESS_STARTED = cli.IMPORTED
    try:
        app()
    except SystemExit as done:
        if cli.QUICK_EXIT:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(done.code if isinstance(done.code, int) else 0 if done.code is None else 1)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
