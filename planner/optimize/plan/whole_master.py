"""The small-batch finish: the restricted master over the whole batch as one MIP (SCIP),
solved on a core of its own while the plan steps run on the other.

Column generation leaves a pool that, on small batches, may hold a plan far better than
the dive and the neighbourhoods find in the time: on the 1,500-order seed 8 SCIP over every
column of every order reaches 0.03-0.05 % above the proven optimum where the steps of a
5 s run stop at 0.14-0.27 %, but only after its presolve, root LP and cut rounds: 4-5 s
of one core (seed 7's root LP alone takes longer). So it runs only when the plan has
that long (``Settings.finish_least``); it starts as soon as the pool is final (after
column generation, from the seed plan as the hint), and the plan steps meanwhile take
the other core (the neighbourhood search one neighbourhood at a time). The cheaper of
the two plans is kept: the finish never makes a plan worse, nor infeasible (the MIP keeps
every stock and capacity row, and its plan is checked again before it is taken). Its
dual bound is the restricted master's, not a bound on the batch: the certified bound
stays the Lagrangian one. Time to target of this and the other finishers tried:
docs/experiments.md.
"""

import threading
from dataclasses import dataclass

import numpy as np

from parallel.executor import Executor
from planner.core.instance import Instance
from planner.core.plan import Plan, left_by
from planner.optimize.budget import Deadline
from planner.optimize.columns import Columns, plan_cost
from planner.optimize.plan.neighbourhood import Resolved, resolve
from planner.optimize.settings import Settings

_GRACE = 1.0  # seconds past its deadline the finish is still waited for (SCIP's overrun)


@dataclass
class Finish:
    """A finish running beside the plan steps: collect it with ``better``."""

    done: threading.Event
    answer: list[Resolved | None]  # the solve's answer, once done
    deadline: Deadline
    columns: int  # of the pool, the MIP's (the hint's join them)


def begin(
    inst: Instance,
    pool: Columns,
    plan: Plan,
    deadline: Deadline,
    settings: Settings,
    executor: Executor,
) -> Finish | None:
    """Start SCIP on the whole restricted master from ``plan`` on ``executor``, until
    ``deadline``; None when the batch is too large or the time too short to pay."""
    left = deadline.left() - settings.neighbourhood_margin
    if inst.n_orders > settings.finish_up_to or left < settings.finish_least or not pool.size:
        return None
    finish = Finish(threading.Event(), [], deadline, pool.size)
    everyone = np.arange(inst.n_orders)
    empty = inst.order_unfilled_cost

    def solve() -> None:
        try:
            finish.answer.append(
                resolve(
                    inst, pool, plan, empty, everyone, left, deadline.budget, settings.finish_nodes
                )
            )
        finally:
            finish.done.set()

    executor.submit(solve)
    return finish


def better(inst: Instance, plan: Plan, finish: Finish | None, notes: list[str]) -> Plan:
    """The finish's plan when it is cheaper than ``plan`` and keeps every row; else
    ``plan``. Waits for the finish until its deadline (and a grace second), and not at
    all once the run is stopped: SCIP does not always honour an interrupt during its
    root, and a stopped run must answer at once (the solve ends at its time limit)."""
    if finish is None:
        return plan
    budget = finish.deadline.budget
    give_up = finish.deadline.at + _GRACE
    while not finish.done.wait(0.05):
        if budget.stopped or budget.now() > give_up:
            notes.append("finish (restricted master, SCIP): not waited for")
            return plan
    out = finish.answer[0] if finish.answer else None
    if out is None or out.gain <= 0:
        notes.append(
            f"finish (restricted master, {finish.columns:,} columns, SCIP): no better plan"
        )
        return plan
    avail, cap = left_by(inst, out.plan)
    found, current = plan_cost(inst, out.plan), plan_cost(inst, plan)
    kept = found < current and (avail >= 0).all() and (cap >= 0).all()
    notes.append(
        f"finish (restricted master, {finish.columns:,} columns, SCIP, {out.status}): "
        f"{found:,.2f} against the steps' {current:,.2f}: " + ("taken" if kept else "not taken")
    )
    return out.plan if kept else plan
