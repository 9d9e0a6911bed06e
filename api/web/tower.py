"""Control tower (schedulers, analysts): today's orders, exceptions, runs, map; run sourcing.

"Run sourcing now" starts ``sourcing.run_sourcing`` on a background thread and
answers at once; the page then polls a small fragment every second that shows
the run's phase, elapsed time against its limit, and its KPIs when applied.
"""

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

import planner
from api.web import charts, forms, usmap
from api.web.render import page, problem_text
from api.web.session import Session, checked_form, require
from data.lifecycle_db import Database
from models.api import Actor, Role, RunRequest
from models.lifecycle_errors import DomError
from services import console, sourcing

router = APIRouter(prefix="/console/tower", include_in_schema=False)
Viewer = Annotated[Session, Depends(require(Role.SCHEDULER, Role.ANALYST))]
Scheduler = Annotated[Session, Depends(require(Role.SCHEDULER))]


@dataclass
class RunTracker:
    """The run this process started from the console, for the progress view."""

    started: float = 0.0
    time_limit: float = 0.0
    strategy: str = ""
    error: str | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


def _tracker(request: Request) -> RunTracker:
    state = request.app.state
    if not hasattr(state, "console_run"):
        state.console_run = RunTracker()
    tracker: RunTracker = state.console_run
    return tracker


@router.get("", response_class=HTMLResponse)
def tower(request: Request, session: Viewer) -> HTMLResponse:
    db = request.app.state.db
    show = request.query_params.get("show", "")
    show = show if show in console.EXCEPTIONS else ""
    view = console.tower(db)
    pivot_channels = sorted({r["channel"] for r in view.today})
    pivot: dict[str, dict[str, int]] = {}
    for r in view.today:
        pivot.setdefault(r["status"], {})[r["channel"]] = int(r["orders"])
    return page(
        request,
        "tower.html",
        session,
        view=view,
        channels=pivot_channels,
        pivot=pivot,
        total_today=sum(int(r["orders"]) for r in view.today),
        show=show,
        listed=console.exception_orders(db, show) if show else [],
        states=usmap.states(),
        dots=charts.node_dots(view.nodes),
        bars=charts.cost_bars(view.runs),
        components=charts.COMPONENTS,
        costs={r.run_id: charts.run_costs(r) for r in view.runs},
        strategies=list(planner.STRATEGIES),
        default_limit=request.app.state.settings.run_time_limit,
        can_run=session.can(Role.SCHEDULER),
        tracker=_tracker(request),
        latest=console.latest_run(db),
        alerts=console.open_alerts(db, cursor=request.query_params.get("alerts") or None),
    )


def _run_in_background(tracker: RunTracker, db: Database, req: RunRequest, actor: Actor) -> None:
    try:
        sourcing.run_sourcing(db, req, actor)
    except DomError as exc:
        tracker.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - shown on the progress view, logged by the run row
        tracker.error = f"{type(exc).__name__}: {exc}"[:300]


@router.post("/run", response_class=HTMLResponse)
async def run_now(request: Request, session: Scheduler) -> HTMLResponse:
    form = await checked_form(request, session)
    tracker = _tracker(request)
    try:
        strategy = forms.choice(form, "strategy", list(planner.STRATEGIES))
        limit = forms.number(form, "time_limit", 0.5, 600)
    except DomError as exc:
        message, status = problem_text(exc)
        return page(request, "_run_progress.html", session, status, error=message)
    if tracker.active:
        latest = await run_in_threadpool(console.latest_run, request.app.state.db)
        return page(
            request,
            "_run_progress.html",
            session,
            409,
            error="a sourcing run started here is still in progress",
            tracker=tracker,
            latest=latest,
        )
    tracker.started, tracker.time_limit, tracker.strategy = time.time(), limit, strategy
    tracker.error = None
    tracker.thread = threading.Thread(
        target=_run_in_background,
        args=(
            tracker,
            request.app.state.db,
            RunRequest(strategy=strategy, time_limit=limit),
            session.actor,
        ),
        name="console-sourcing-run",
        daemon=True,
    )
    tracker.thread.start()
    await asyncio.sleep(0.2)  # let the run write its 'running' row
    return await run_in_threadpool(progress, request, session)


@router.get("/run/progress", response_class=HTMLResponse)
def progress(request: Request, session: Viewer) -> HTMLResponse:
    tracker = _tracker(request)
    latest = console.latest_run(request.app.state.db)
    elapsed = time.time() - tracker.started if tracker.started else 0.0
    share = min(1.0, elapsed / tracker.time_limit) if tracker.time_limit else 0.0
    return page(
        request,
        "_run_progress.html",
        session,
        tracker=tracker,
        latest=latest,
        elapsed=elapsed,
        share=share,
        costs=charts.run_costs(latest) if latest else {},
    )
