"""A plan's total from the one cost model (``planner.core.cost.evaluate``), for tests: the
reference the optimizer's quick totals (``planner.optimize.columns.plan_cost``) are held to."""

from planner.core.cost import evaluate
from planner.core.instance import Instance
from planner.core.plan import Plan
from planner.core.result import allocation_frames


def plan_total(inst: Instance, plan: Plan) -> float:
    """The contract's total of a plan, from the one cost model."""
    alloc, _ = allocation_frames(inst, plan)
    return evaluate(inst.batch, alloc, inst.weights).total
