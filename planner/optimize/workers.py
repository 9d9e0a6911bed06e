"""Where the optimizer's independent calls run, through the one seam ``parallel.Executor``.

Two kinds of call: ``shared`` ones release the GIL and read the caller's arrays
(every group's pricing, a neighbourhood's SCIP solve), so threads of this process
suit them; ``isolated`` ones hold the GIL (OR-Tools' min-cost flow over half the
SKUs), so they need another process. Without an executor from the caller, both
cores of this machine: threads and forked children. With one (a Ray cluster's,
``parallel.connect``), every call goes to it. What each call needs is listed in
``planner/README.md`` ("Both cores: the executor seam").
"""

from dataclasses import dataclass

from parallel.executor import Executor, ThreadExecutor
from parallel.fork import ForkExecutor

CORES = 2  # what the local executors use: the machine the benchmarks ran on


_ASIDE = ThreadExecutor(1)


@dataclass(frozen=True)
class Workers:
    shared: Executor  # calls that release the GIL and read the caller's memory
    isolated: Executor  # calls that hold the GIL
    here: Executor  # this machine's threads: calls that carry the run's Budget (a stop
    # interrupts their SCIP), which cannot leave the process
    aside: Executor = _ASIDE  # a thread of this machine for one long solve that carries
    # the Budget and runs beside the steps (the small-batch finish, plan.finish)


_THREADS = ThreadExecutor(CORES)
LOCAL = Workers(_THREADS, ForkExecutor(CORES), _THREADS)


def workers_for(executor: Executor | None) -> Workers:
    """The caller's executor for every call that can leave this process, or this
    machine's threads and forks."""
    return LOCAL if executor is None else Workers(executor, executor, _THREADS)
