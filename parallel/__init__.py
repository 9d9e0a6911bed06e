"""One seam for work that can run elsewhere: this process, its threads, worker
processes, or a Ray cluster.

The optimizer and the scenario runner hand independent calls to an ``Executor``
and never ask where they run. The local executors import nothing beyond the
standard library; the Ray one lives in its own module and is imported only when
an address is given (``connect("auto")``), so a run without ``--ray`` never
loads Ray.
"""

from parallel.executor import (
    Executor,
    Handle,
    SerialExecutor,
    TaskFailed,
    ThreadExecutor,
    connect,
    connected,
)

__all__ = [
    "Executor",
    "Handle",
    "SerialExecutor",
    "TaskFailed",
    "ThreadExecutor",
    "connect",
    "connected",
]
