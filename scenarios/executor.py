"""Where scenario runs execute: a seam between the runner and the machines.

A task is (world, scenario, spec), all plain picklable data, and a result is a
``ScenarioRun``: the runner neither knows nor cares whether tasks run in this
process, in worker processes on this machine's cores, or as tasks of the shared
``parallel`` seam (a Ray cluster); an executor only has to honour
``run(tasks, on_day)``. The process executor stays here because it reports every
simulated day through a queue; the cluster one reports each finished scenario.
"""

import contextlib
import multiprocessing as mp
import os
import queue
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from scenarios.simulate import ScenarioRun, simulate
from scenarios.spec import Resolved, Spec
from scenarios.world import World

if TYPE_CHECKING:
    import parallel

OnDay = Callable[[int, int], None]  # (task index, days done)


@dataclass(frozen=True)
class Task:
    index: int
    world: World
    scenario: Resolved
    spec: Spec


class Executor(Protocol):
    def run(self, tasks: Sequence[Task], on_day: OnDay) -> list[ScenarioRun]: ...


class SerialExecutor:
    """Every scenario in this process, one after the other (tests, one core, debugging)."""

    def run(self, tasks: Sequence[Task], on_day: OnDay) -> list[ScenarioRun]:
        return [simulate(t.world, t.scenario, t.spec, _day_of(t.index, on_day)) for t in tasks]


def _day_of(index: int, on_day: OnDay) -> Callable[[int], None]:
    """``on_day`` for one task: reports (task index, days done)."""

    def report(days: int) -> None:
        on_day(index, days)

    return report


_progress: Any = None  # the worker's end of the progress queue


def _init_worker(q: Any) -> None:
    global _progress
    _progress = q
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _work(task: Task) -> ScenarioRun:
    return simulate(task.world, task.scenario, task.spec, lambda d: _progress.put((task.index, d)))


class ProcessExecutor:
    """Scenarios in worker processes (one per core by default); progress through a queue.

    On Ctrl-C (or any error) the workers are terminated and nothing is returned.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)

    def run(self, tasks: Sequence[Task], on_day: OnDay) -> list[ScenarioRun]:
        if not tasks:
            return []
        ctx = mp.get_context("spawn")  # no forked copies of the parent's threads or locks
        q = ctx.Queue()
        stop = threading.Event()

        def drain() -> None:
            while not stop.is_set():
                with contextlib.suppress(queue.Empty):
                    on_day(*q.get(timeout=0.1))

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        pool = ProcessPoolExecutor(
            min(self.workers, len(tasks)), mp_context=ctx, initializer=_init_worker, initargs=(q,)
        )
        try:
            futures: dict[Future[ScenarioRun], int] = {
                pool.submit(_work, t): t.index for t in tasks
            }
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for f in done:
                    f.result()  # re-raise a worker's error at once
            results = {futures[f]: f.result() for f in futures}
        except BaseException:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.terminate()  # our own workers, by their handles
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            stop.set()
            reader.join(timeout=1)
        pool.shutdown()
        while True:  # the last days reported before the pool closed
            try:
                on_day(*q.get_nowait())
            except queue.Empty:
                break
        return [results[t.index] for t in tasks]


def _simulate(world: World, scenario: Resolved, spec: Spec) -> ScenarioRun:
    return simulate(world, scenario, spec, lambda days: None)


class ClusterExecutor:
    """One task per scenario and seed on a ``parallel.Executor`` (a Ray cluster).

    Each seed's world is stored once (``put``) and every task of that seed reads it
    in place, instead of each task carrying its own pickled copy.
    """

    def __init__(self, executor: "parallel.Executor") -> None:
        self.executor = executor

    def run(self, tasks: Sequence[Task], on_day: OnDay) -> list[ScenarioRun]:
        stored: dict[int, Any] = {}
        for t in tasks:
            if id(t.world) not in stored:
                stored[id(t.world)] = self.executor.put(t.world)
        handles = [self.executor.submit(_simulate, stored[id(t.world)], t.scenario, t.spec)
                   for t in tasks]  # fmt: skip
        runs = []
        for t, handle in zip(tasks, handles, strict=True):
            runs.append(handle.result())  # TaskFailed names the scenario's failure
            on_day(t.index, t.spec.days)
        return runs


def make_executor(name: str, workers: int | None = None) -> Executor:
    if name == "serial":
        return SerialExecutor()
    if name == "processes":
        return ProcessExecutor(workers)
    raise ValueError(f"unknown executor {name!r}; choose serial or processes")
