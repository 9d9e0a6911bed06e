"""Sourcing planner: strategies that turn a batch into a plan, and the one cost model.

Public API::

    from planner import plan, STRATEGIES
    result = plan(batch, strategy="greedy", time_limit=60)
    result.allocations, result.unfilled, result.summary
"""

import time
from collections.abc import Callable
from dataclasses import replace

from models import Batch, Weights
from models.errors import DomError
from parallel.executor import Executor
from planner.baselines.greedy import plan_greedy, plan_nearest
from planner.baselines.mip import plan_mip
from planner.core.checker import Violation, check_plan, known_rows
from planner.core.cost import evaluate
from planner.core.instance import Instance, build_instance
from planner.core.result import PlanResult
from planner.optimize.solver import plan_optimize
from planner.optimize.warm import Warm

Strategy = Callable[[Instance, float | None], PlanResult]

STRATEGIES: dict[str, Strategy] = {
    "greedy": plan_greedy,
    "nearest": plan_nearest,
    "optimize": plan_optimize,
    "mip": plan_mip,
}
DEFAULT_STRATEGY = "optimize"


class UnknownStrategyError(DomError):
    pass


def plan(
    batch: Batch,
    strategy: str = DEFAULT_STRATEGY,
    time_limit: float | None = None,
    weights: Weights | None = None,
    executor: Executor | None = None,
    warm: Warm | None = None,
) -> PlanResult:
    """Plan a batch with a named strategy; the summary's wall time covers indexing too.
    ``executor`` runs the optimizer's independent calls (``parallel.connect``) and
    ``warm`` (a previous optimize result's ``warm``) starts it from that run's prices and
    plan; the other strategies ignore both."""
    if strategy not in STRATEGIES:
        raise UnknownStrategyError(
            f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}"
        )
    started = time.perf_counter()
    inst = build_instance(batch, weights)
    if strategy == "optimize" and (executor is not None or warm is not None):
        result = plan_optimize(inst, time_limit, executor=executor, warm=warm)
    else:
        result = STRATEGIES[strategy](inst, time_limit)
    summary = result.summary.model_copy(update={"wall_seconds": time.perf_counter() - started})
    return replace(result, summary=summary)


__all__ = [
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "PlanResult",
    "UnknownStrategyError",
    "Violation",
    "Warm",
    "build_instance",
    "check_plan",
    "evaluate",
    "known_rows",
    "plan",
]
