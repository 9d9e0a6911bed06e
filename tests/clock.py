"""Time for tests: deadlines for calling the optimizer's steps on their own, and a clock
a test moves by hand (``Budget`` takes it, so no test patches ``time``)."""

from planner.optimize.budget import Budget, Deadline
from planner.optimize.settings import Settings


class ManualClock:
    """Reads what the test set; ``tick`` seconds pass at every reading when given."""

    def __init__(self, now: float = 0.0, tick: float = 0.0) -> None:
        self.now = now
        self.tick = tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def budget(limit: float = 60.0, clock: ManualClock | None = None) -> Budget:
    if clock is None:
        return Budget(limit, Settings(), small=True)
    return Budget(limit, Settings(), small=True, clock=clock)


def later(seconds: float = 60.0) -> Deadline:
    """A deadline ``seconds`` from now on the real clock."""
    b = budget(seconds)
    return b.until(b.started + seconds)
