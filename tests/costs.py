"""A plan's total from the one cost model (``planner.cost.evaluate``), for tests: the
reference the optimizer's quick totals (``planner.columns.plan_cost``) are held to."""

from planner.cost import evaluate
from planner.instance import Instance
from planner.primal import Flat
from planner.result import Assignment, allocation_frames


def plan_total(inst: Instance, plan: Flat) -> float:
    """The contract's total of a plan, from the one cost model."""
    alloc, _ = allocation_frames(inst, Assignment(plan.line, plan.node, plan.qty))
    return evaluate(inst.batch, alloc, inst.weights).total
