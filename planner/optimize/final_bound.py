"""The bound's last step, run before the plan: the exact pricing at the best LP prices,
or (when the rounds never beat the flow's prices) the probe between the flow's duals.

Run before the plan, the plan then has every second to the deadline (run after it, its
time was held back by an estimate and, when the plan overran that by a few ms, went
unused: 10k at 10 s ended at 8.6 s). The start's prices have their bound already (redone
that way: clearing prices +0.1 % at 10k, +0.03 % for 2.3 s at 100k).
"""

import os
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from parallel.executor import Handle, TaskFailed
from parallel.fork import ForkExecutor, can_fork
from planner.core.instance import Instance
from planner.optimize.budget import Budget, Clock
from planner.optimize.column_generation import Search
from planner.optimize.pricing.orders import lagrangian_bound
from planner.optimize.settings import Settings
from planner.optimize.start import Start, best_between
from planner.optimize.workers import LOCAL, Workers

FloatA = npt.NDArray[np.float64]


def final_bound(
    inst: Instance,
    start: Start,
    search: Search,
    settings: Settings,
    budget: Budget,
    small: bool,
    notes: list[str],
    workers: Workers = LOCAL,
    beside: bool = False,
) -> tuple[float, FloatA, FloatA]:
    """The best bound and the prices it was taken at. ``beside``: it runs while the plan
    is built (``bound_beside``), so it need only end by the plan's deadline; otherwise
    it leaves the plan its least share."""
    bound, lam, mu = search.bound, search.lam, search.mu
    least = 0.0 if beside else settings.min_plan_share * budget.limit
    now = budget.now()
    if budget.stopped:
        return bound, lam, mu
    if search.from_round:
        # The rounds priced three-or-more-package orders at a floor; exact here.
        pricing = max(start.bound_seconds, search.price_seconds)
        seconds = final_budget(now, budget.deadline, pricing, start.exact_seconds, least, small,
                               settings)  # fmt: skip
        if seconds > 0:
            held = pricing_held(pricing, small, settings)
            exact = lagrangian_bound(
                inst, search.groups, search.lam, search.mu, seconds,
                settings.exact_pricing_up_to, settings.bound_widen_by,
                deadline=budget.until(now + held + seconds), executor=workers.shared,
            )  # fmt: skip
            notes.append(f"Lagrangian bound at the best prices {exact:,.2f} {budget.after()}")
            bound = max(bound, exact)
    elif probes(inst, start, settings, budget.limit) and bound_fits(
        now, budget.deadline, settings.probe_pricings * start.bound_seconds, least
    ):
        # The rounds never beat the flow's prices: two pricings between its highest and
        # lowest optimal potentials may (10k seed 8 at 10 s, one round: $184.7k ->
        # $186.6k).
        between, b_lam, b_mu = best_between(
            inst, start, settings.bound_widen_by, budget, notes, workers
        )
        if between > bound:
            bound, lam, mu = between, b_lam, b_mu
    return bound, lam, mu


@dataclass
class Beside:
    """The final bound running in a forked child while this process builds the plan."""

    handle: Handle[tuple[float, FloatA | None, FloatA | None, list[str]]]
    budget: Budget
    search: Search

    def result(self, notes: list[str]) -> tuple[float, FloatA, FloatA]:
        """The child's bound (the rounds' when it failed or did not answer by the plan's
        deadline plus ``GRACE``: it is then stopped) and the prices it was taken at."""
        wait = max(0.0, self.budget.plan_deadline().left()) + GRACE
        try:
            bound, lam, mu, said = self.handle.result(timeout=wait)
        except TaskFailed as failed:
            notes.append(f"final bound beside the plan: no answer ({str(failed)[-80:]})")
            return self.search.bound, self.search.lam, self.search.mu
        notes.extend(said)
        if lam is None or mu is None:
            return bound, self.search.lam, self.search.mu
        return bound, lam, mu


GRACE = 0.3  # seconds past the plan's deadline the bound beside it may still answer in
BESIDE_NICE = 10  # how much lower the child's priority is than the plan's


def bound_beside(
    inst: Instance, start: Start, search: Search, budget: Budget, small: bool, workers: Workers
) -> Beside | None:
    """The final bound started in a forked child, to run on the second core while the
    plan (Python, on the first) is built: 10k at 10 s, its 1.4 s came out of the plan's
    2.4 s. None where no child can run beside (no fork, or the caller's executor): the
    caller then runs ``final_bound`` first."""
    if small or not budget.settings.bound_beside:
        return None
    if inst.n_orders > budget.settings.bound_beside_up_to:
        return None
    if not isinstance(workers.isolated, ForkExecutor) or not can_fork():
        return None
    handle = workers.isolated.submit(
        _in_child, inst, start, search, budget.settings, small, budget.limit, budget.started,
        budget.deadline, budget.clock,
    )  # fmt: skip
    return Beside(handle, budget, search)


def _in_child(
    inst: Instance,
    start: Start,
    search: Search,
    settings: Settings,
    small: bool,
    limit: float,
    started: float,
    deadline: float,
    clock: Clock,
) -> tuple[float, FloatA | None, FloatA | None, list[str]]:
    """``final_bound`` on a budget of the child's own (the parent's tells listeners the
    child must not write to), with the parent's clock and deadline; prices only when
    they are not the rounds' (they cross a pipe)."""
    budget = Budget(limit, settings, small, clock=clock, started=started)
    budget.deadline = deadline
    notes: list[str] = []
    # Below the plan's priority: the plan's steps must not wait for a core (10k at 10 s
    # under load: dive $190.4k alone, $192.7k with the bound beside it at the same
    # priority).
    os.nice(BESIDE_NICE)
    bound, lam, mu = final_bound(inst, start, search, settings, budget, small, notes, LOCAL,
                                 beside=True)  # fmt: skip
    if lam is search.lam and mu is search.mu:
        return bound, None, None, notes
    return bound, lam, mu, notes


def bound_fits(now: float, deadline: float, seconds: float, least: float) -> bool:
    """Whether a step of ``seconds`` (the probe, or a large batch's final bound: see
    ``final_budget``) may run before the plan: only if the plan keeps at least ``least``
    seconds to ``deadline`` after it. Rescue and local search come first: 10k at 10 s, a
    third LP ending at 7.9 s left the plan 0.6 s when the final bound's time was held back
    (no rescue: $192.7k, gap 4.8 %); without it six such runs planned $187.0-187.6k."""
    return deadline - now - seconds >= least


def final_budget(
    now: float,
    deadline: float,
    pricing: float,
    exact: float,
    least: float,
    trim: bool,
    settings: Settings,
) -> float:
    """Seconds the final bound's exact part may take (0: the final bound does not run),
    leaving the plan ``least`` seconds to ``deadline``. Large batches hold back twice a
    pricing pass plus the whole budget ``exact``, or skip it: their plans are starved
    (10k at 10 s: the ~1 s it takes cost the plan $500-800 on a loaded machine, for a
    bound $243 higher). Small ones (``trim``) hold back 1.5 passes and cut the exact part
    to what is left, down to ``Settings.min_exact``: their plans level off (neighbourhood
    search at 1,500 orders: -$53 in 1 s, -$67 in 2 s), the bound does not (2,200 orders at
    5 s: skipped, $52,214; run, $52,425-52,459)."""
    held = pricing_held(pricing, trim, settings)
    if not trim:
        return exact if bound_fits(now, deadline, held + exact, least) else 0.0
    seconds = min(exact, deadline - now - least - held)
    return seconds if seconds >= settings.min_exact else 0.0


def pricing_held(pricing: float, trim: bool, settings: Settings) -> float:
    """The time held for the final bound's pricing pass, from the last one's ``pricing``:
    widening varies (10k at 10 s: a 0.4 s round and 0.5 s of exact pricing took 1.3 s)."""
    return (settings.held_pricings_small if trim else settings.held_pricings) * pricing


def probes(inst: Instance, start: Start, settings: Settings, limit: float) -> bool:
    """Whether the probe between the flow's duals may run: it has a second point, the
    batch is small enough (100k at 60 s: ~6 s for +0.02 %) and its two pricings are
    cheap beside the limit."""
    return (
        start.low is not None
        and inst.n_orders <= settings.between_up_to
        and 2 * start.bound_seconds <= settings.between_share * limit
        and not (np.array_equal(start.low[0], start.lam) and np.array_equal(start.low[1], start.mu))
    )
