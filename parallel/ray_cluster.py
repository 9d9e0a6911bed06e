"""The executor on a Ray cluster: each call is one Ray task, retried when its
worker dies, large numpy arrays shared through the object store.

Imported only by ``parallel.connect`` when an address is given, so nothing of
Ray loads in a run without ``--ray``. Addresses:

- ``"local"``: a private one-machine cluster started here, on loopback, with
  ``workers`` CPUs and a capped object store; it ends with ``close()``.
- ``"auto"``: the cluster ``ray start`` left on this machine.
- ``"ray://host:10001"`` or ``"host:6379"``: a cluster elsewhere.

Why a task returns its attempt number: Ray retries a task whose worker died
without telling the caller; the result carries the attempt so a run can report
what was retried (``retried``), as the issue asks.
"""

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from parallel.executor import Handle, TaskFailed

T = TypeVar("T")
R = TypeVar("R")

MAX_RETRIES = 3  # a task whose worker dies is run again up to this many times
OBJECT_STORE_BYTES = 512 * 2**20  # the local cluster's store; Ray's default is 30 % of RAM
# On Linux Ray binds to the address it uses to reach the internet; this switch (meant for
# one-machine clusters on other systems) makes it bind to loopback instead.
_LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
_CURRENT_CLUSTER = Path("/tmp/ray/ray_current_cluster")  # where `ray start` writes its address


def _attempt() -> int:
    """Which run of the current task this is (0 the first); a private Ray call,
    so a Ray without it reports 0 (no retries seen) rather than failing the task."""
    import ray  # noqa: PLC0415 - runs on the worker

    core = getattr(ray._private.worker.global_worker, "core_worker", None)
    getter = getattr(core, "get_current_task_attempt_number", None)
    return int(getter()) if getter is not None else 0


def _call(fn: Callable[..., Any], *args: Any) -> tuple[int, Any]:
    """The body of every task: the call's answer with the attempt that made it."""
    return _attempt(), fn(*args)


class _RayHandle:
    def __init__(self, executor: "RayExecutor", ref: Any, name: str) -> None:
        self._executor, self._ref, self._name = executor, ref, name

    def result(self, timeout: float | None = None) -> Any:
        import ray  # noqa: PLC0415
        from ray import exceptions  # noqa: PLC0415

        try:
            attempt, value = ray.get(self._ref, timeout=timeout)
        except exceptions.GetTimeoutError:
            raise TaskFailed(f"{self._name}: no answer within {timeout} s") from None
        except exceptions.RayTaskError as exc:  # the call itself raised
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            raise TaskFailed(f"{self._name}: {type(cause).__name__}: {cause}") from exc
        except exceptions.RayError as exc:  # worker died past its retries, cluster lost
            raise TaskFailed(f"{self._name}: {type(exc).__name__}: {exc}") from exc
        except (ConnectionError, OSError) as exc:
            raise TaskFailed(f"{self._name}: cluster unreachable: {exc}") from exc
        self._executor.note_attempts(self._name, attempt)
        return value


class RayExecutor:
    """Calls as Ray tasks. ``put`` stores an array once in the object store; pass
    the reference it returns to ``submit`` as a top-level argument and every task
    reads the array in place (read-only, zero-copy) instead of unpickling a copy."""

    name = "ray"

    def __init__(self, address: str, workers: int | None = None) -> None:
        self.address = address
        self._owned = address == "local"
        _init(address, workers)
        import ray  # noqa: PLC0415

        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._task = ray.remote(max_retries=MAX_RETRIES, num_cpus=1)(_call)
        self._lock = threading.Lock()
        self.retried: dict[str, int] = {}  # task name -> retries it took

    @property
    def retries(self) -> int:
        """How many task runs were repeats of one whose worker died."""
        return sum(self.retried.values())

    def note_attempts(self, name: str, attempt: int) -> None:
        if attempt > 0:
            with self._lock:
                self.retried[name] = self.retried.get(name, 0) + attempt

    def put(self, value: Any) -> Any:
        import ray  # noqa: PLC0415

        return ray.put(value)

    def submit(self, fn: Callable[..., R], *args: Any) -> Handle[R]:
        name = getattr(fn, "__qualname__", repr(fn))
        try:
            ref = self._task.options(name=name).remote(fn, *args)
        except Exception as exc:  # noqa: BLE001 - a lost cluster refuses new tasks
            raise TaskFailed(f"{name}: could not start: {type(exc).__name__}: {exc}") from exc
        return _RayHandle(self, ref, name)

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        handles = [self.submit(fn, item) for item in items]
        return [h.result() for h in handles]

    def close(self) -> None:
        import ray  # noqa: PLC0415

        if ray.is_initialized():
            ray.shutdown()  # a "local" cluster ends with it; a shared one only loses this driver


def _is_loopback(address: str) -> bool:
    if address == "local":
        return True
    if address == "auto":
        try:
            address = _CURRENT_CLUSTER.read_text().strip()
        except OSError:
            return False
    host = address.removeprefix("ray://").rsplit(":", 1)[0]
    return host in ("localhost", "::1") or host.startswith("127.")


def _init(address: str, workers: int | None) -> None:
    """Start or join the cluster; a clear ``TaskFailed`` when there is none."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no reports off this machine
    if _is_loopback(address):
        os.environ.setdefault(_LOOPBACK_SWITCH, "0")
    import ray  # noqa: PLC0415

    if ray.is_initialized():
        return
    # Ray warns on every start that the cluster uses token authentication (it should).
    logging.getLogger("ray").setLevel(logging.ERROR)
    options: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    try:
        if address == "local":
            ray.init(
                num_cpus=workers or os.cpu_count() or 1,
                object_store_memory=int(os.environ.get("DOM_RAY_STORE_BYTES", OBJECT_STORE_BYTES)),
                include_dashboard=False,
                **options,
            )
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise TaskFailed(f"no Ray cluster at {address!r}: {exc}") from None


def connect(address: str, workers: int | None = None) -> RayExecutor:
    """The executor for a cluster address (see the module docstring)."""
    return RayExecutor(address, workers)
