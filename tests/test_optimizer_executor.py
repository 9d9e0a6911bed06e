"""The optimizer runs its independent calls on the executor it is given (the seam a
Ray cluster plugs into), and the plan does not depend on which executor ran them."""

from collections.abc import Callable, Sequence
from typing import Any

from parallel import Handle, SerialExecutor
from planner import check_plan
from planner.core.instance import build_instance
from planner.core.result import allocation_frames
from planner.optimize.settings import Settings
from planner.optimize.solver import solve
from tests.costs import plan_total
from tests.random_batch import random_batch


class Recording(SerialExecutor):
    """Runs every call here, and remembers which functions it was given."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> Handle[Any]:
        self.calls.append(getattr(fn, "__name__", type(fn).__name__))
        return super().submit(fn, *args)

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        inner = getattr(fn, "func", fn)  # functools.partial
        self.calls.extend([inner.__name__] * len(items))
        return super().map(fn, items)


def test_the_pricing_goes_through_the_given_executor_and_the_plan_is_the_same() -> None:
    batch = random_batch(120, 8, 30, seed=4, supply=0.7)
    inst = build_instance(batch)
    # No exact MIP finish: the plan is column generation's own, from its rounds.
    settings = Settings(exact_up_to=0)
    ex = Recording()
    given = solve(inst, 20.0, settings, executor=ex)
    local = solve(inst, 20.0, settings)
    assert "_price_one" in ex.calls  # every priced bound went through it
    assert "solve_group" in ex.calls  # so did the pricing for columns
    alloc, unfilled = allocation_frames(inst, given.plan)
    assert check_plan(batch, alloc, unfilled) == []
    assert plan_total(inst, given.plan) == plan_total(inst, local.plan)
    assert given.bound == local.bound
