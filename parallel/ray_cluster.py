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
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import partial
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
# Ray runs its workers at nice 15, below everything else on the machine: on a shared
# machine they then get a fifth of the CPU the coordinator gets (measured: a pricing
# pass 4 s instead of 1.1 s at a load of 9). The workers do the run's work: nice 0.
_WORKER_NICENESS = "RAY_worker_niceness"


def _attempt() -> int:
    """Which run of the current task this is (0 the first); a private Ray call,
    so a Ray without it reports 0 (no retries seen) rather than failing the task."""
    import ray  # noqa: PLC0415 - runs on the worker

    core = getattr(ray._private.worker.global_worker, "core_worker", None)
    getter = getattr(core, "get_current_task_attempt_number", None)
    return int(getter()) if getter is not None else 0


class _Shared:
    """An object every task of a run reads (the solve's ``Instance``): stored once,
    and each worker process unpacks it once and keeps it (``_resolve``). Ray leaves a
    reference inside an argument for the task to fetch; that is the point here."""

    def __init__(self, ref: Any) -> None:
        self.ref = ref


_KEPT: "OrderedDict[str, Any]" = OrderedDict()  # on a worker: shared objects it unpacked
KEEP = 4  # how many shared objects an executor and each worker hold at once


def _resolve(value: Any) -> Any:
    if not isinstance(value, _Shared):
        return value
    import ray  # noqa: PLC0415

    key = value.ref.hex()
    if key not in _KEPT:
        _KEPT[key] = ray.get(value.ref)
        while len(_KEPT) > KEEP:
            _KEPT.popitem(last=False)
    _KEPT.move_to_end(key)
    return _KEPT[key]


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[int, Any]:
    """The body of every task: the call's answer with the attempt that made it."""
    args = tuple(_resolve(a) for a in args)
    kwargs = {k: _resolve(v) for k, v in kwargs.items()}
    return _attempt(), fn(*args, **kwargs)


def _prepare(modules: Sequence[str], seconds: float) -> int:
    """Import ``modules`` in this worker, held ``seconds`` so that the other CPUs'
    copies of this task start on other workers."""
    import importlib  # noqa: PLC0415
    import time  # noqa: PLC0415

    started = time.perf_counter()
    for name in modules:
        importlib.import_module(name)
    time.sleep(max(0.0, seconds - (time.perf_counter() - started)))
    return os.getpid()


def _is_frozen(value: Any) -> bool:
    params = getattr(type(value), "__dataclass_params__", None)
    return bool(params is not None and params.frozen)


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
            self._executor.lost = f"{type(exc).__name__}: {exc}"
            raise TaskFailed(f"{self._name}: {type(exc).__name__}: {exc}") from exc
        except (ConnectionError, OSError) as exc:
            self._executor.lost = str(exc)
            raise TaskFailed(f"{self._name}: cluster unreachable: {exc}") from exc
        self._executor.note_attempts(self._name, attempt)
        return value


class RayExecutor:
    """Calls as Ray tasks. ``put`` stores an array once in the object store; pass
    the reference it returns to ``submit`` as a top-level argument and every task
    reads the array in place (read-only, zero-copy) instead of unpickling a copy."""

    name = "ray"

    def __init__(
        self, address: str, workers: int | None = None, prepare: Sequence[str] = ()
    ) -> None:
        self.address = address
        self.lost: str | None = None  # why the cluster stopped answering, once it has
        self.in_flight: int | None = None  # at most this many tasks of a map at once
        _init(address, workers)
        import ray  # noqa: PLC0415

        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._task = ray.remote(max_retries=MAX_RETRIES, num_cpus=1)(_call)
        self._lock = threading.Lock()
        self.retried: dict[str, int] = {}  # task name -> retries it took
        self._kept: OrderedDict[int, tuple[Any, _Shared]] = OrderedDict()  # id -> (obj, ref)
        if prepare:  # workers start (and import) before the caller's clock does
            self.map(partial(_prepare, seconds=1.0), [tuple(prepare)] * self.workers)

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

    def _argument(self, value: Any) -> Any:
        """A frozen data class (the solve's ``Instance``) is stored once per executor
        and unpacked once per worker; anything else goes as it is."""
        if not _is_frozen(value):
            return value
        with self._lock:
            kept = self._kept.get(id(value))
            if kept is None:
                kept = (value, _Shared(self.put(value)))  # holding value keeps its id unique
                self._kept[id(value)] = kept
                while len(self._kept) > KEEP:
                    self._kept.popitem(last=False)
            return kept[1]

    def _start(self, name: str, fn: Callable[..., Any], args: Any, kwargs: Any) -> Handle[Any]:
        try:
            ref = self._task.options(name=name).remote(fn, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a lost cluster refuses new tasks
            self.lost = f"{type(exc).__name__}: {exc}"
            raise TaskFailed(f"{name}: could not start: {type(exc).__name__}: {exc}") from exc
        return _RayHandle(self, ref, name)

    def submit(self, fn: Callable[..., R], *args: Any) -> Handle[R]:
        return self._start(_name(fn), fn, [self._argument(a) for a in args], {})

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """One task per item. A ``functools.partial``'s bound arguments (the prices every
        group is solved at) are stored once for all the items, not once per task."""
        name, func, args, kwargs = _name(fn), fn, (), {}
        if isinstance(fn, partial):
            func = fn.func
            args = tuple(self._once(a) for a in fn.args)
            kwargs = {k: self._once(v) for k, v in fn.keywords.items()}
        step = self.in_flight or len(items) or 1
        out: list[Any] = []
        for at in range(0, len(items), step):
            chunk = items[at : at + step]
            handles = [self._start(name, func, (*args, item), kwargs) for item in chunk]
            out.extend(h.result() for h in handles)
        return out

    def _once(self, value: Any) -> Any:
        """A bound argument: kept if frozen, else stored for this map when it is large."""
        if _is_frozen(value):
            return self._argument(value)
        return self.put(value) if _nbytes(value) >= LARGE else value

    def close(self) -> None:
        import ray  # noqa: PLC0415

        if ray.is_initialized():
            ray.shutdown()  # a "local" cluster ends with it; a shared one only loses this driver


LARGE = 1 << 20  # bytes from which a bound argument is stored once rather than per task


def _nbytes(value: Any) -> int:
    return int(getattr(value, "nbytes", 0))


def _name(fn: Callable[..., Any]) -> str:
    inner = fn.func if isinstance(fn, partial) else fn
    return str(getattr(inner, "__qualname__", repr(inner)))


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
            os.environ.setdefault(_WORKER_NICENESS, "0")
            ray.init(
                address="local",  # a new cluster even when `ray start` left one here
                num_cpus=workers or os.cpu_count() or 1,
                object_store_memory=int(os.environ.get("DOM_RAY_STORE_BYTES", OBJECT_STORE_BYTES)),
                include_dashboard=False,
                **options,
            )
        else:
            _reachable(address)
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise TaskFailed(f"no Ray cluster at {address!r}: {exc}") from None


def _reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse at once an address nothing listens on: Ray itself retries an unreachable
    GCS for minutes before it gives up, and the command would seem to hang."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms: Ray's own resolution applies
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {host}:{port} ({exc.strerror or exc})") from None


def connect(address: str, workers: int | None = None, prepare: Sequence[str] = ()) -> RayExecutor:
    """The executor for a cluster address (see the module docstring); every worker
    has imported the modules in ``prepare`` when it returns."""
    return RayExecutor(address, workers, prepare)
