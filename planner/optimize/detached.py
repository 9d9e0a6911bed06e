"""The optimizer in a child process its caller can abandon at any moment.

OR-Tools' PDLP and min-cost flow hold the GIL until they return, which at 10,000
orders and up is seconds: no signal handler, watchdog or display of this process
runs meanwhile, and ``Budget.stop()`` waits for them. So a caller that must answer
at once (Ctrl-C, a hard wall-clock limit) runs the solve in a forked child (the
instance is shared copy-on-write; nothing is pickled on the way in). The child
reports every phase, bound and feasible plan through a pipe as it finds them
(``Budget.listen``); the parent keeps the best (``Found``). To stop, the parent asks
the child (``Budget.stop()``) and waits a moment for its answer; a child
inside one of those solvers is killed with its process group, and the parent
costs the best plan it was sent.
"""

import math
import multiprocessing as mp
import multiprocessing.process as mp_process
import os
import signal
import sys
import threading
import time
import traceback
from contextlib import suppress
from multiprocessing.connection import Connection
from typing import Any

from parallel.fork import can_fork, start_child
from planner.baselines.greedy import greedy_plan
from planner.core.instance import Instance
from planner.core.plan import Plan
from planner.core.result import PlanResult, finish
from planner.optimize.budget import Found


def available() -> bool:
    """Whether the solve can run in a child here (a platform that forks)."""
    return can_fork()


class Detached:
    """``plan_optimize`` running in a child process; ``found`` is what it has sent so far.

    ``started`` is the ``time.perf_counter`` reading the time limit counts from (the
    clock is the machine's monotonic one, the same in the child). Meanwhile a thread
    of this process makes a stop quick: until the child sends a plan it plans the
    spec's greedy (feasible, there in a second or two where the child's first plan
    takes several), and it costs each better plan as it comes, so that a stop only
    has to write one."""

    def __init__(self, inst: Instance, time_limit: float, started: float) -> None:
        self.inst = inst
        self.started = started
        self.found = Found()
        self.result: PlanResult | None = None
        self.abandoned = False  # the child was killed: the result was built here
        self._costed: tuple[Plan, PlanResult] | None = None  # a plan, costed
        self._greedy: Plan | None = None  # the fallback, until the child sends a plan
        self._changed = threading.Condition()  # guards found and _costed
        self._closed = False
        self._failed: BaseException | None = None  # the preparing thread's error
        # The stop request goes down a pipe, not as a signal: a signal sent before the
        # child set its handler would kill it.
        stop_receive, self._stop = mp.Pipe(duplex=False)
        # Not daemonic: the child may fork the flow's second half (``parallel.fork``).
        try:
            self._process, self._receive = start_child(
                _child, (inst, time_limit, started, stop_receive), daemon=False
            )
        finally:
            stop_receive.close()
        self._group(self._process.pid)
        self._preparer = threading.Thread(target=self._prepare, name="dom-prepare", daemon=True)
        self._preparer.start()

    @staticmethod
    def _group(pid: int | None) -> None:
        # Also set here, not only in the child: a kill right after start reaches the group.
        if pid is not None:
            with suppress(OSError):  # the child did it first (or has exited already)
                os.setpgid(pid, pid)

    def poll(self, timeout: float) -> bool:
        """Take in what the child sent within ``timeout`` seconds; True once it answered
        (``result`` is set)."""
        deadline = time.perf_counter() + timeout
        while self.result is None:
            left = deadline - time.perf_counter()
            try:
                if not self._receive.poll(max(0.0, left)):
                    return False
                kind, value = self._receive.recv()
            except (EOFError, OSError):
                raise RuntimeError(
                    f"the optimizer's process ended without an answer "
                    f"(exit code {self._process.exitcode})"
                ) from None
            if kind == "done":
                self.result = value
                self.close()
            elif kind == "error":
                self.close()
                raise value if isinstance(value, BaseException) else RuntimeError(value)
            else:
                with self._changed:
                    self.found.take(kind, value)
                    self._changed.notify_all()
        return True

    def _prepare(self) -> None:
        """The preparing thread: greedy first if no plan came yet, then each new best
        plan costed (0.1-0.7 s at 10,000-30,000 orders)."""
        try:
            self._prepare_plans()
        except BaseException as exc:  # noqa: BLE001 - a stop waiting for it raises it
            with self._changed:
                self._failed = exc
                self._changed.notify_all()

    def _prepare_plans(self) -> None:
        with self._changed:
            pending = self.found.plan is None
        if pending:
            greedy = greedy_plan(self.inst)
            costed = finish(self.inst, greedy, "optimize", self.started)
            with self._changed:
                self._greedy = greedy
                self.found.take("plan", (greedy, costed.summary.total))
                self._costed = (greedy, costed)
                self._changed.notify_all()
        while True:
            with self._changed:
                while not self._closed and self._ready():
                    self._changed.wait()
                if self._closed:
                    return
                plan = self.found.plan
            assert plan is not None
            costed = finish(self.inst, plan, "optimize", self.started)
            with self._changed:
                self._costed = (plan, costed)
                self._changed.notify_all()

    def _ready(self) -> bool:
        """Whether the best plan so far is costed (call holding ``_changed``)."""
        plan = self.found.plan
        return plan is not None and self._costed is not None and self._costed[0] is plan

    def stop(self, grace: float, note: str) -> PlanResult:
        """The plan now: the child is asked to stop and given ``grace`` seconds to answer;
        past that it is killed and the best plan it sent (or greedy's, before it sent
        any) is the answer, once costed; ``note`` says why it stopped."""
        if self.result is not None:
            return self.result
        with suppress(OSError):  # a child that is gone needs no asking
            self._stop.send(True)
        if self.poll(grace):
            assert self.result is not None
            return self.result
        self.kill()
        self.abandoned = True
        with self._changed:
            while not self._ready() and self._failed is None:
                self._changed.wait()
            if self._failed is not None:
                raise self._failed
            found = self.found
            assert self._costed is not None
            costed = self._costed[1]
            from_greedy = found.plan is self._greedy
            self._closed = True
            self._changed.notify_all()
        summary = costed.summary
        bound = min(found.bound, summary.total) if math.isfinite(found.bound) else None
        gap = None
        if bound is not None and summary.total > 0:
            gap = (summary.total - bound) / summary.total
        source = "the greedy plan (none sent yet)" if from_greedy else "the best plan sent"
        update = {
            "lower_bound": bound,
            "gap": gap,
            "notes": [f"{note} during {found.phase}: {source}"],
        }
        self.result = PlanResult(
            costed.allocations, costed.unfilled, summary.model_copy(update=update)
        )
        return self.result

    def kill(self) -> None:
        """End the child and any child of its own at once."""
        self._signal(signal.SIGKILL, group=True)

    def close(self) -> None:
        """Nothing left running: the preparing thread ends, and a child still alive
        (exiting, or given up on) is killed with its group. Its exit is not waited for:
        a killed child of 1 GB takes the kernel a while to tear down."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self.kill()
        self._receive.close()
        self._stop.close()
        self._process.join(timeout=0)  # reaped now if gone, else by the system
        # (left to multiprocessing, its exit would make this process wait at exit)
        mp_process._children.discard(self._process)  # type: ignore[attr-defined]

    def _signal(self, signum: int, group: bool = False) -> None:
        pid = self._process.pid
        if pid is None or self._process.exitcode is not None:
            return
        try:
            if group:
                os.killpg(pid, signum)
            else:
                os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass  # gone already


def _child(
    inst: Instance, time_limit: float, started: float, stop: Connection, send: Connection
) -> None:
    """The solve, in the child: its own process group (Ctrl-C reaches the parent's
    only, and a kill of the group takes the flow's forked half along), every report
    sent on, the result or the error last. The solve runs in a thread so that this
    main thread is free to wait for the parent's stop request: ``Budget.stop()`` then
    interrupts the solvers that accept it (SCIP, GLOP) at once."""
    os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the child's life
    from planner.optimize.solver import budget_for, plan_optimize

    budget = budget_for(inst, time_limit, started=started)
    budget.listen(lambda kind, value: send.send((kind, value)))

    def solve() -> None:
        answer: tuple[str, Any]
        try:
            answer = ("done", plan_optimize(inst, budget=budget))
        except BaseException as exc:  # noqa: BLE001 - the parent shows it
            answer = ("error", exc)
        try:
            send.send(answer)
        except Exception:  # noqa: BLE001 - an error that does not pickle goes as text
            send.send(("error", traceback.format_exc()))

    worker = threading.Thread(target=solve, name="dom-optimize")
    worker.start()
    while worker.is_alive():
        if stop.poll(0.1):  # asked, or the parent is gone
            budget.stop()
            break
    worker.join()
    send.close()
