"""``dom plan``, ``dom check``, ``dom explain``: plan a batch, check any plan, explain an order.

The planner, pandas and OR-Tools are imported inside each command: ``dom --help``
must not pay for them.
"""

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

import cli
from cli import ui
from cli.errors import CommandError
from cli.interrupt import ctrl_c, run_interruptible
from cli.options import (
    DEFAULT_STRATEGY,
    ForceOpt,
    RayOpt,
    StrategyOpt,
    TimeLimitOpt,
    WeightOpt,
    parse_weights,
)
from cli.ui import progress_bar, stage

if TYPE_CHECKING:
    import pandas as pd

    from models import Batch, Weights
    from parallel import Executor
    from planner import Instance, PlanResult
    from planner.core.explain import LineChoice
    from planner.optimize.detached import Detached

BatchArg = Annotated[
    Path, typer.Argument(metavar="BATCH", help="Batch folder (batch.json and its tables).")
]
PlanArg = Annotated[
    Path, typer.Argument(metavar="PLAN", help="Plan folder (allocations, unfilled, summary.json).")
]


def plan_cmd(
    batch_dir: BatchArg,
    out: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Plan folder to write.")],
    strategy: StrategyOpt = DEFAULT_STRATEGY,
    time_limit: TimeLimitOpt = None,
    weight: WeightOpt = None,
    force: ForceOpt = False,
    ray: RayOpt = None,
) -> None:
    """Plan a batch, write the plan folder, print its KPIs.

    The plan folder holds allocations, unfilled and summary.json.

    Ctrl-C stops the optimizer: it writes the best feasible plan found so far.
    With --ray the optimizer's shards run on a Ray cluster; if the cluster is lost the
    best plan so far is written and the command exits 1.
    """
    from cli.report import kpi_table
    from data.atomic import check_target
    from data.batch_io import read_batch
    from data.plan_io import PLAN_LAYOUT, write_plan

    # Refused before minutes of planning, not after.
    check_target(out, PLAN_LAYOUT, force=force, inputs=[batch_dir])
    started = cli.PROCESS_STARTED or time.perf_counter()  # the limit counts start-up too
    with progress_bar() as progress:
        with stage(progress, f"reading {batch_dir}"):
            batch = read_batch(batch_dir)
        weights = parse_weights(weight, batch.weights)
        with stage(progress, f"planning {len(batch.orders):,} orders with {strategy}"):
            result, stopped, lost = _plan(
                batch, strategy, time_limit, weights, started, ui.status_line(progress), ray
            )
        with stage(progress, f"writing {out}"):
            summary = result.summary.model_dump(mode="json")
            summary["batch_path"] = str(batch_dir.resolve())
            if stopped:
                summary["stopped_by_user"] = True
            if lost:
                summary["cluster_lost"] = lost
            write_plan(
                out, result.allocations, result.unfilled, summary, force=force, inputs=[batch_dir]
            )
    ui.out().print(kpi_table(result.summary))
    if stopped:
        ui.err().print(
            f"[yellow]stopped by Ctrl-C after {result.summary.wall_seconds:.1f} s:[/yellow] "
            f"{out} holds the best feasible plan found so far (the gap says how far from "
            "the best it may be)",
            highlight=False,
        )
    if lost:
        raise CommandError(
            f"the Ray cluster at {ray} was lost ({lost}); {out} holds the best feasible plan "
            "found before (the gap says how far from the best it may be)"
        )
    cli.QUICK_EXIT = True  # the plan is written: the heap need not be torn down


# After a stop the optimizer's child gets this long to answer before it is killed.
STOP_GRACE_SECONDS = 0.3
# The optimizer plans to end by the limit (counted from the process's start); past it by
# this much, less what writing takes, it is stopped: wall time stays within the limit
# + 1.5 s (issue 28) even when a solver step overruns.
BACKSTOP_SECONDS = 0.8


def _tail_seconds(n_orders: int) -> float:
    """What writing and printing a plan take once it is costed (30,000 orders: 0.15-0.35 s
    on the shared 2-core machine, see benchmarks/README.md), with room to spare."""
    return 0.2 + 1e-5 * n_orders


def _plan(
    batch: "Batch",
    strategy: str,
    time_limit: float | None,
    weights: "Weights",
    started: float,
    show: "Callable[[str], object]",
    ray: str | None = None,
) -> tuple["PlanResult", bool, str | None]:
    """The plan, whether Ctrl-C stopped it early, and why the Ray cluster was lost if it was.

    Without ``ray`` the optimizer runs in a child process (``planner.optimize.detached``)
    this process watches: it shows the phase, bound, best plan and time left as they come.
    The optimizer's own schedule ends by the limit, counted from ``started``; at Ctrl-C or
    at the backstop (``BACKSTOP_SECONDS`` past the limit, less what writing takes) this
    process asks for the plan and, after ``STOP_GRACE_SECONDS``, takes the best one sent.
    With ``ray`` this process is the cluster's coordinator and runs the optimizer itself.
    Other strategies stop on Ctrl-C with nothing written (greedy and nearest take
    seconds; mip cannot be stopped early)."""
    from planner import PlanResult, build_instance, plan
    from planner.optimize import detached
    from planner.optimize.solver import DEFAULT_TIME_LIMIT

    if strategy != "optimize":
        return plan(batch, strategy, time_limit, weights), False, None
    planning = time.perf_counter()
    inst = build_instance(batch, weights)
    limit = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
    lost: str | None = None
    if ray:
        result, stopped, lost = _plan_on_cluster(inst, limit, ray)
    elif not detached.available():
        result, stopped = _plan_here(inst, limit, started)
    else:
        run = detached.Detached(inst, limit, started)
        try:
            backstop = started + limit + BACKSTOP_SECONDS - _tail_seconds(inst.n_orders)
            result, stopped = _watch(run, backstop, show, started + limit)
        finally:
            run.close()
    wall = time.perf_counter() - planning  # like planner.plan: indexing included
    summary = result.summary.model_copy(update={"wall_seconds": wall})
    return PlanResult(result.allocations, result.unfilled, summary), stopped, lost


def _watch(
    run: "Detached", hard_stop: float, show: "Callable[[str], object]", limit_at: float
) -> tuple["PlanResult", bool]:
    """Show the child's progress (time left to ``limit_at``) until it answers, Ctrl-C is
    pressed or ``hard_stop`` passes."""
    with ctrl_c(on_stop=_say_stopping) as pressed:
        while not run.poll(0.1):
            show(ui.solve_status(run.found, limit_at - time.perf_counter()))
            if pressed.is_set() or time.perf_counter() >= hard_stop:
                note = "stopped by Ctrl-C" if pressed.is_set() else "stopped at the time limit"
                # At the backstop the child has had its time: no grace.
                grace = STOP_GRACE_SECONDS if pressed.is_set() else 0.0
                return run.stop(grace, note), pressed.is_set()
        assert run.result is not None
        return run.result, pressed.is_set()


def _say_stopping() -> None:
    ui.err().print(
        "[yellow]Ctrl-C: stopping; the best plan so far will be written "
        "(Ctrl-C again to abort)[/yellow]"
    )


def _plan_here(
    inst: "Instance", limit: float, started: float | None, executor: "Executor | None" = None
) -> tuple["PlanResult", bool]:
    """The optimizer in this process (its parallel calls on ``executor``), told to stop by
    Ctrl-C through its budget: it answers once the solver it is in returns. Used with a
    Ray cluster (this process coordinates) and where no child process can be had."""
    from planner.optimize.solver import budget_for, plan_optimize

    budget = budget_for(inst, limit, started=started)
    outcome = run_interruptible(
        lambda: plan_optimize(inst, budget=budget, executor=executor),
        budget.stop,
        on_stop=_say_stopping,
    )
    return outcome.result, outcome.stopped


def _plan_on_cluster(
    inst: "Instance", limit: float, ray: str
) -> tuple["PlanResult", bool, str | None]:
    """The optimizer's shards on the Ray cluster at ``ray``; the limit starts once the
    cluster is ready. The third value says why the cluster was lost, if it was."""
    from parallel import connected
    from planner.optimize.shards import WORKER_MODULES

    with connected(ray, prepare=WORKER_MODULES) as executor:
        result, stopped = _plan_here(inst, limit, None, executor)
        return result, stopped, getattr(executor, "lost", None)


def check_cmd(
    batch_dir: Annotated[
        Path, typer.Argument(metavar="BATCH", help="Batch folder the plan was made for.")
    ],
    plan_dir: PlanArg,
    weight: WeightOpt = None,
) -> None:
    """Check a plan's hard rules and cost it again.

    Any plan, also one made by another tool, is costed with the contract's objective.

    Exit code 0: feasible and its summary's total (if any) is the checked one; 1 otherwise.
    """
    from rich.markup import escape

    from cli.report import kpi_table
    from data.batch_io import read_batch
    from data.plan_io import read_plan
    from models import PlanSummary, Weights
    from planner import check_plan, evaluate, known_rows

    batch = read_batch(batch_dir)
    allocations, unfilled, claimed = read_plan(plan_dir, batch)
    # A plan is costed with the weights it was made with, when its summary says so.
    planned_with = claimed.get("cost", {}).get("weights") if isinstance(claimed, dict) else None
    base = Weights.model_validate(planned_with) if planned_with else batch.weights
    weights = parse_weights(weight, base)
    violations = [str(v) for v in check_plan(batch, allocations, unfilled)]
    known = known_rows(batch, allocations)
    # Rows naming no order line or node of the batch are violations above; the cost
    # covers the others.
    cost = evaluate(batch, allocations[known.to_numpy()], weights)
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
    ui.out().print(kpi_table(summary, title=f"Checked plan {plan_dir}"))
    if "total" in claimed:
        same = abs(float(claimed["total"]) - cost.total) <= 1e-6 * max(1.0, abs(cost.total))
        mark = "[green]matches[/green]" if same else "[red]DIFFERS from[/red]"
        ui.out().print(
            f"summary.json total {float(claimed['total']):,.2f} {mark} "
            f"the checked total {cost.total:,.2f}"
        )
        if not same:
            violations.append("[summary] summary.json total differs from the contract's objective")
    if len(allocations) and not known.any():
        violations.append(_wrong_batch_hint(batch_dir, claimed))
    if violations:
        for v in violations:
            ui.err().print(f"[red]✗[/red] {escape(v)}", highlight=False)
        ui.err().print(f"[bold red]{len(violations)} violation(s)[/bold red]")
        raise typer.Exit(1)
    ui.out().print("[bold green]✓ feasible: every hard rule holds[/bold green]")


def _wrong_batch_hint(batch_dir: Path, claimed: dict[str, Any]) -> str:
    made_for = claimed.get("batch_path")
    hint = f"; summary.json says it was made for {made_for}" if made_for else ""
    return f"[structure] no allocation names an order line and node of {batch_dir}{hint}"


def explain_cmd(
    plan_dir: PlanArg,
    order_id: Annotated[str, typer.Argument(metavar="ORDER_ID", help="The order to explain.")],
    batch_dir: Annotated[
        Path | None,
        typer.Option("--batch", metavar="DIR", help="[default: the batch in summary.json]"),
    ] = None,
) -> None:
    """Why each line of an order is sourced where it is.

    Per line: the node chosen, its cost, and the next best node and why not.

    The lines' costs add up to the packages' costs plus the unfilled penalty; the
    order's cost adds the split penalty (each package after the first).
    """
    from data.batch_io import read_batch
    from data.plan_io import read_plan
    from models import Weights
    from models.errors import PlanValidationError, Problem
    from planner import build_instance, known_rows
    from planner.core.explain import explain_order

    allocations, _, summary = read_plan(plan_dir)
    source = batch_dir or summary.get("batch_path")
    if not source:
        raise typer.BadParameter("the plan does not say its batch; pass --batch")
    batch = read_batch(source)
    bad = allocations.index[~known_rows(batch, allocations) & (allocations["order_id"] == order_id)]
    if len(bad):
        raise PlanValidationError(
            [
                Problem("allocations", "names an order line or node not in the batch", int(r) + 1)
                for r in bad
            ]
        )
    weights = summary.get("cost", {}).get("weights")
    inst = build_instance(batch, Weights.model_validate(weights) if weights else None)
    packages, lines = explain_order(inst, allocations, order_id)
    _print_explanation(order_id, packages, lines, inst.weights)


def _print_explanation(
    order_id: str, packages: "pd.DataFrame", lines: "list[LineChoice]", w: "Weights"
) -> None:
    from rich import box
    from rich.table import Table

    pk = Table(
        title=f"Order {order_id}: packages",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),
    )
    for col in ("node", "zone", "units", "lb", "ship $", "handle $", "late d", "cost $"):
        pk.add_column(col, justify="left" if col == "node" else "right", no_wrap=True)
    package_total = 0.0
    for p in packages.itertuples():
        shipping, handling = float(p.shipping), float(p.handling)  # type: ignore[arg-type]
        late = float(p.late_days)  # type: ignore[arg-type]
        cost = w.shipping * shipping + w.handling * handling + w.late * late
        package_total += cost
        pk.add_row(
            str(p.node_id),
            str(p.zone),
            str(p.units),
            f"{p.weight_lb:.1f}",
            f"{shipping:.2f}",
            f"{handling:.2f}",
            f"{late:.0f}",
            f"{cost:.2f}",
        )
    ui.out().print(pk)
    lt = Table(
        title=f"Order {order_id}: lines", box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 0)
    )
    for col in ("line", "sku", "from", "cost $", "next best", "extra $"):
        lt.add_column(col, no_wrap=True, justify="right" if "$" in col else "left")
    lt.add_column("why not", overflow="fold")
    for c in lines:
        lt.add_row(
            str(c.line_no),
            c.sku,
            c.sources.replace(", ", "\n"),  # one source per line: the column stays narrow
            f"{c.cost:.2f}",
            c.next_node or "-",
            "-" if c.next_extra is None else f"{c.next_extra:+.2f}",
            c.why_not,
        )
    ui.out().print(lt)
    lines_total = sum(c.cost for c in lines)
    unfilled = lines_total - package_total
    extra = max(0, len(packages) - 1)
    splits = w.split * extra
    ui.out().print(
        f"order cost {lines_total + splits:,.2f} = packages {package_total:,.2f}"
        f" + unfilled {abs(unfilled) if abs(unfilled) < 0.005 else unfilled:,.2f}"
        f" + splits {splits:,.2f} ({extra} x {w.split:g})",
        highlight=False,
    )
    ui.out().print(
        "cost $: the line's share of its packages, plus its unfilled penalty\n"
        "extra $: what moving the whole line to the next best node would add",
        style="dim",
        highlight=False,
    )
