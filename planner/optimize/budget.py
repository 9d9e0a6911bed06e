"""The optimizer's time: every share of the limit and every deadline of one solve, on one clock.

Steps never read the clock themselves: they ask a ``Deadline`` whether it has passed or how
long is left. So ``Budget.stop()`` (Ctrl-C) makes every deadline "now" at once, and a test
drives the whole schedule with a clock it advances by hand.

The budget also keeps what the solve has found so far (``Found``: the phase, the best
bound, the best feasible plan), told by the steps as they go: a progress display reads
it, and a caller that abandons the solve mid-step (``optimize.detached``) plans with it.
"""

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field

from planner.core.plan import Plan
from planner.optimize.settings import Settings

Clock = Callable[[], float]
# What a budget tells its listener: ("phase", name), ("bound", value) or ("plan", (plan, total)).
Listener = Callable[[str, object], None]


@dataclass
class Found:
    """The solve so far: the step it is in, the best bound proven and the cheapest
    feasible plan (with its total). ``plan`` is None until the first plan exists."""

    phase: str = "starting"
    bound: float = -math.inf
    plan: Plan | None = field(default=None, repr=False)
    total: float = math.inf

    @property
    def gap(self) -> float | None:
        """(total - bound) / total, None until both exist."""
        if self.plan is None or not math.isfinite(self.bound) or self.total <= 0:
            return None
        return max(0.0, (self.total - self.bound) / self.total)

    def take(self, kind: str, value: object) -> None:
        """Apply one report: a better bound or plan replaces the last, a phase follows."""
        if kind == "phase":
            self.phase = str(value)
        elif kind == "bound":
            self.bound = max(self.bound, float(value))  # type: ignore[arg-type]
        elif kind == "plan":
            assert isinstance(value, tuple)
            plan, total = value
            if total < self.total:
                self.plan, self.total = plan, float(total)


class Budget:
    """The time limit of one solve cut into its steps' shares (see ``Settings``).

    ``started`` is the clock when the budget was made; ``search_end``, ``stretch_end`` and
    ``deadline`` are clock readings: when column generation should stop, the latest a
    promising round may end, and when the plan must be done (the rest of the limit is kept
    for costing it)."""

    def __init__(
        self,
        limit: float,
        settings: Settings,
        small: bool,
        clock: Clock = time.perf_counter,
        started: float | None = None,
    ) -> None:
        """``started`` (a reading of ``clock``, default now) is when the limit began: a
        command counts its start-up and reading in it."""
        self.limit = limit
        self.settings = settings
        self.clock = clock
        self.started = clock() if started is None else started
        search = settings.small_search_share if small else settings.search_share
        self.search_end = self.at(search)
        self.stretch_end = self.at(settings.stretch_share)
        self.deadline = self.at(1 - settings.finish_share)
        self._stopped = threading.Event()
        self._interrupts: list[Callable[[], object]] = []
        self._lock = threading.Lock()
        self.found = Found()
        self._listeners: list[Listener] = []

    # -- reading the clock -------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def elapsed(self) -> float:
        return self.now() - self.started

    def after(self) -> str:
        """``after 1.2 s``: for the notes."""
        return f"after {self.elapsed():.1f} s"

    def at(self, share: float) -> float:
        """The clock reading ``share`` of the limit after the start."""
        return self.started + share * self.limit

    def from_now(self, share: float) -> "Deadline":
        """A deadline ``share`` of the whole limit from now (a start step's allowance)."""
        return self.until(self.now() + share * self.limit)

    def part_of_rest(self, share: float, until: float) -> float:
        """The clock reading ``share`` of the way from now to ``until``."""
        now = self.now()
        return now + share * (until - now)

    def until(self, at: float) -> "Deadline":
        return Deadline(self, at)

    def plan_deadline(self) -> "Deadline":
        return self.until(self.deadline)

    def borrow(self, seconds: float) -> None:
        """Move the plan's deadline later by what a step before it took, out of a part
        (``borrow_share``) of the margin kept for costing."""
        margin = self.settings.finish_share * self.limit * self.settings.borrow_share
        self.deadline += min(seconds, margin)

    # -- what has been found ------------------------------------------------------------

    def listen(self, listener: Listener) -> None:
        """Also tell ``listener`` every phase, bound and plan the steps report."""
        self._listeners.append(listener)

    def enter(self, phase: str) -> None:
        """The solve starts ``phase`` (e.g. "column generation")."""
        self._tell("phase", phase)

    def found_bound(self, bound: float) -> None:
        """A proven lower bound (the best one is kept)."""
        if math.isfinite(bound):
            self._tell("bound", float(bound))

    def found_plan(self, plan: Plan, total: float) -> None:
        """A complete feasible plan and its total (the cheapest is kept). A copy is kept:
        the steps after may build on the arrays."""
        if total < self.found.total:
            kept = Plan(plan.line.copy(), plan.node.copy(), plan.qty.copy())
            self._tell("plan", (kept, float(total)))

    def _tell(self, kind: str, value: object) -> None:
        with self._lock:
            self.found.take(kind, value)
        for listener in self._listeners:
            listener(kind, value)

    # -- cancellation ------------------------------------------------------------------

    def stop(self) -> None:
        """Make every deadline "now" and interrupt the solver that is running: the
        optimizer returns its best feasible plan so far. Safe from a signal handler or
        another thread."""
        self._stopped.set()
        with self._lock:
            interrupts = list(self._interrupts)
        for interrupt in interrupts:
            interrupt()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    @contextmanager
    def interruptible(self, interrupt: Callable[[], object]) -> Iterator[None]:
        """While inside, ``stop()`` calls ``interrupt`` (e.g. a solver's ``stop_search``)."""
        with self._lock:
            self._interrupts.append(interrupt)
        try:
            if self.stopped:
                interrupt()
            yield
        finally:
            with self._lock:
                self._interrupts.remove(interrupt)


@dataclass(frozen=True)
class Deadline:
    """A clock reading a step must end by, read through its budget (so a stop ends it)."""

    budget: Budget
    at: float

    def left(self) -> float:
        """Seconds to the deadline; 0 once the budget is stopped."""
        return 0.0 if self.budget.stopped else self.at - self.budget.now()

    def passed(self) -> bool:
        return self.budget.stopped or self.budget.now() > self.at

    def fits(self, seconds: float) -> bool:
        """Whether a step of ``seconds`` started now ends by the deadline."""
        return not self.budget.stopped and self.budget.now() + seconds <= self.at

    def earlier(self, seconds: float) -> "Deadline":
        return Deadline(self.budget, self.at - seconds)


def interruptible(
    budget: Budget | None, interrupt: Callable[[], object]
) -> AbstractContextManager[None]:
    """``budget.interruptible(interrupt)``, or nothing when the solve has no budget."""
    return budget.interruptible(interrupt) if budget is not None else nullcontext()
