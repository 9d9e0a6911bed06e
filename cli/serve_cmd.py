"""``dom serve``: the order service on the embedded DuckDB file."""

import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli import ui
from cli.errors import CommandError
from cli.options import RayOpt

if TYPE_CHECKING:
    from data.lifecycle_db import Database


class StartupError(CommandError):
    """The service cannot start: nothing was changed, no key was made."""


def _listen(host: str, port: int) -> socket.socket:
    """Bind the port first, so that a busy port fails before anything else is done."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve_cmd(
    host: Annotated[str, typer.Option(metavar="HOST", help="Interface to listen on.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, metavar="PORT")] = 8000,
    db: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="DuckDB file [default: $DOM_DB_PATH or var/dom.duckdb]."),
    ] = None,
    seed_demo: Annotated[
        int,
        typer.Option(min=0, metavar="N", help="First load a generated network with N open orders."),
    ] = 0,
    load: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="First load this batch folder (network, stock, orders)."),
    ] = None,
    log_level: Annotated[str, typer.Option(metavar="LEVEL", help="uvicorn log level.")] = "info",
    ray: RayOpt = None,
) -> None:
    """Start the order service on the DuckDB file (API docs at /docs).

    One process owns the file (DuckDB has one writer); an empty store starts fine
    (empty network). Seed it with --seed-demo N or --load DIR. With no API key in
    the store, an admin key is created and printed once, after every other
    start-up step has worked.
    """
    import uvicorn
    from pydantic import ValidationError

    from api.app import bootstrap_admin_key, create_app, open_database
    from api.settings import Settings

    try:
        settings = Settings(db_path=db) if db else Settings()
        if ray:
            settings = settings.model_copy(update={"ray_address": ray})
    except (ValidationError, ValueError) as exc:
        raise StartupError(
            "the DOM_* settings are not valid: DOM_API_KEYS must be JSON like "
            f'{{"KEY": "admin"}} or {{"KEY": "node:ST1"}} ({str(exc).splitlines()[0]})'
        ) from None
    sock = _listen(host, port)
    try:
        try:
            database = open_database(settings, bootstrap=False)
        except ValueError as exc:  # a role in DOM_API_KEYS that does not exist
            raise StartupError(f"DOM_API_KEYS: {exc}") from None
        try:
            _seed(database, load, seed_demo)
            bootstrap_admin_key(database, settings)
        except BaseException:
            database.close()
            raise
        ui.out().print(f"serving {settings.db_path} on http://{host}:{port} (docs at /docs)")
        # The app's lifespan closes (checkpoints) the store, also on SIGTERM: uvicorn
        # re-raises that signal after shutting down, so nothing after run() would run.
        app = create_app(settings, database, close_db=True)
        _settle_heap()
        config = uvicorn.Config(app, host=host, port=port, log_level=log_level)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


# Young-generation collections every 100,000 allocations instead of 700, full ones rarely.
GC_THRESHOLDS = (100_000, 50, 1000)


def _settle_heap() -> None:
    """Keep the garbage collector out of request latency in the long-lived server.

    The store, the promise index and the read model are a large, long-lived heap; with
    Python's default thresholds a full collection walks all of it every few thousand
    requests and stalls every request in flight: POST /promise at 8 connections had a
    p99 of 224 ms with a p50 of 2.8 ms, and 6.2 ms with these settings
    (docs/experiments.md). What exists at start-up is frozen out of collections."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _seed(database: "Database", load: Path | None, seed_demo: int) -> None:
    from services import admin

    if load is not None:
        batch_id = admin.load_batch_dir(database, load)
        ui.out().print(f"[green]loaded[/green] {load} as {batch_id}")
    if seed_demo:
        admin.seed_demo(database, seed_demo)
        ui.out().print(f"[green]seeded[/green] a demo network with {seed_demo:,} orders")
