"""The FastAPI application: routers per resource over one embedded DuckDB store.

``create_app()`` opens the store named by the settings (``DOM_DB_PATH``) for
the life of the process; tests pass their own ``Database``. Sync endpoints
run in the thread pool, each on its own cursor of the one connection.
"""

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from api import problems
from api.order_reads import OrderReads, warm_in_background
from api.promise_fast import PromiseFastPath
from api.routers import admin as admin_routes
from api.routers import (
    alerts,
    drop_ship,
    exchanges,
    inventory,
    orders,
    returns,
    sourcing,
    weights,
    work_items,
)
from api.routers import appointments as appointment_routes
from api.routers import promise as promise_routes
from api.settings import Settings
from api.web import mount as mount_console
from data.lifecycle_db import Database
from data.store import Store
from models.api import ApiKeyIn, Role
from parallel.executor import Executor
from services import admin
from services import promise as promising

log = logging.getLogger("dom.api")
THREADS = 256


def open_database(settings: Settings, *, bootstrap: bool = True) -> Database:
    """Open (and migrate) the store, recover from a crash, seed keys from settings.

    ``bootstrap=False`` leaves the one-time admin key to ``bootstrap_admin_key``, for a
    caller with more start-up steps that may fail: the key is shown once, so it is
    made last."""
    db = Database(Store(settings.db_path))
    interrupted = admin.start(db)
    if interrupted:
        log.warning("%d sourcing run(s) were interrupted and marked failed", interrupted)
    admin.seed_keys(db, settings.api_keys)
    if bootstrap:
        bootstrap_admin_key(db, settings)
    return db


def bootstrap_admin_key(db: Database, settings: Settings) -> str | None:
    """With no API key at all, create an admin key and print it (once: only its hash is kept)."""
    if not settings.bootstrap_admin or db.read(lambda r: r.count_api_keys()):
        return None
    key = f"dom_admin_{secrets.token_urlsafe(18)}"
    admin.create_key(db, ApiKeyIn(role=Role.ADMIN, label="bootstrap-admin"), key=key)
    print(f"dom: no API keys yet; created admin key {key}  (header X-API-Key)", flush=True)
    return key


def _join_cluster(settings: Settings, db: Database) -> Executor | None:
    """The Ray cluster the sourcing runs' optimizer uses, when ``ray_address`` names one."""
    if not settings.ray_address:
        return None
    from parallel import connect
    from planner.optimize.shards import WORKER_MODULES
    from services import sourcing as sourcing_runs

    cluster = connect(settings.ray_address, prepare=WORKER_MODULES)
    sourcing_runs.use_executor(db, cluster)
    log.info("sourcing runs use the Ray cluster at %s (%d CPUs)", settings.ray_address,
             cluster.workers)  # fmt: skip
    return cluster


def create_app(
    settings: Settings | None = None, db: Database | None = None, *, close_db: bool = False
) -> FastAPI:
    """The app; it closes the store at shutdown if it opened it or ``close_db`` says so.

    ``dom serve`` hands over the store it opened (and seeded) with ``close_db``:
    uvicorn ends a SIGTERM by re-raising the signal once the lifespan has shut
    down, so code after ``uvicorn.run`` never runs and only the lifespan can
    checkpoint the WAL and close the file.
    """
    settings = settings or Settings()
    owned = db is None or close_db

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.db is None:
            app.state.db = open_database(settings)
        promising.index_of(app.state.db)  # the promise index, built before the first call
        # Sync endpoints run in anyio's thread pool (40 threads by default). Captures
        # wait there for their group's commit; with more waiting than threads, reads
        # would queue behind them, so the pool is sized for many waiting callers.
        to_thread.current_default_thread_limiter().total_tokens = THREADS
        cluster = _join_cluster(settings, app.state.db)
        warming = warm_in_background(app.state.db)  # the read model of GET /orders/{id}
        try:
            yield
        finally:
            warming.join()  # its query must end before anyone closes the store
            if cluster is not None:
                from services import sourcing as sourcing_runs

                sourcing_runs.use_executor(app.state.db, None)
                cluster.close()
            if owned and app.state.db is not None:
                app.state.db.close()
                app.state.db = None

    app = FastAPI(
        title="DOM order service",
        version="0.1.0",
        description=(
            "Order lifecycle over the sourcing planner: capture, real-time inventory, "
            "sourcing runs, fulfilment at nodes, changes, returns. Errors are RFC 9457 "
            "problem+json. Authenticate with an API key in `X-API-Key`."
        ),
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc come from the console, on vendored assets
        redoc_url=None,
    )
    app.state.db = db
    app.state.settings = settings
    problems.install(app)
    app.add_middleware(PromiseFastPath)  # POST /promise's common case, before the framework
    for router in (
        promise_routes.promise_router,  # first: the hottest routes match soonest
        promise_routes.availability_router,
        orders.router,
        inventory.router,
        sourcing.router,
        work_items.router,
        drop_ship.router,
        alerts.router,
        exchanges.router,
        returns.router,
        weights.router,
        admin_routes.promotions,
        admin_routes.auth,
        appointment_routes.router,
    ):
        app.include_router(router)
    mount_console(app)
    app.add_middleware(OrderReads, state=app.state)  # read-model hits of GET /orders/{id}

    @app.get("/health", tags=["health"], summary="Liveness and the store's path")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
