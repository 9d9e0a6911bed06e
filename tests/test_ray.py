"""The Ray executor on a private two-CPU cluster on loopback: the optimizer and the
scenario runner give the same answers on it as here, a worker killed mid-run is
retried and the run completes, and nothing of Ray loads without ``--ray``.

One cluster for the module (starting Ray takes seconds); its object store is capped.
"""

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from parallel import TaskFailed
from parallel.ray_cluster import RayExecutor, _attempt, connect
from planner import check_plan
from planner.core.instance import build_instance
from planner.core.result import allocation_frames
from planner.optimize.settings import Settings
from planner.optimize.solver import solve
from scenarios.executor import ClusterExecutor, SerialExecutor
from scenarios.runner import run_spec
from scenarios.spec import parse_spec
from tests.costs import plan_total
from tests.random_batch import random_batch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster() -> Iterator[RayExecutor]:
    saved = os.environ.get("DOM_RAY_STORE_BYTES")
    os.environ["DOM_RAY_STORE_BYTES"] = str(128 * 2**20)
    ex = connect("local", 2, prepare=("planner.optimize.pricing.orders",))
    try:
        yield ex
    finally:
        ex.close()
        if saved is None:
            os.environ.pop("DOM_RAY_STORE_BYTES", None)
        else:
            os.environ["DOM_RAY_STORE_BYTES"] = saved


def _sum_in_place(a: np.ndarray) -> tuple[float, bool]:
    return float(a.sum()), bool(a.flags.writeable)


def _fail(x: int) -> int:
    raise ValueError(f"bad item {x}")


def _killed_on_first_attempt(fn: Callable[[Any], Any], item: Any) -> Any:
    """The worker running this dies (SIGKILL) the first time; Ray runs it again."""
    if _attempt() == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return fn(item)


class KillingFirstMap:
    """The cluster's executor, but the first task of the first ``map`` kills its worker."""

    def __init__(self, inner: RayExecutor) -> None:
        self.inner, self.name, self.workers = inner, inner.name, inner.workers
        self.killed = 0

    @property
    def retries(self) -> int:
        return self.inner.retries

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.inner.submit(fn, *args)

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        if self.killed or not items:
            return self.inner.map(fn, items)
        self.killed = 1
        first = self.inner.submit(partial(_killed_on_first_attempt, fn), items[0])
        rest = self.inner.map(fn, items[1:])
        return [first.result(), *rest]

    def put(self, value: Any) -> Any:
        return self.inner.put(value)

    def close(self) -> None:
        pass


def test_map_put_and_failures(cluster: RayExecutor) -> None:
    assert cluster.workers == 2
    assert cluster.map(abs, [-3, 1, -2]) == [3, 1, 2]
    a = np.arange(300_000, dtype=np.float64)  # 2.4 MB: stored, read in place (read-only)
    assert cluster.submit(_sum_in_place, cluster.put(a)).result() == (float(a.sum()), False)
    with pytest.raises(TaskFailed, match="ValueError: bad item 5"):
        cluster.submit(_fail, 5).result()


def test_a_plan_on_ray_costs_what_the_local_plan_costs(cluster: RayExecutor) -> None:
    batch = random_batch(120, 8, 30, seed=4, supply=0.7)
    inst = build_instance(batch)
    settings = Settings(exact_up_to=0)  # column generation's own plan, not the exact MIP's
    on_ray = solve(inst, 20.0, settings, executor=cluster)
    local = solve(inst, 20.0, settings)
    alloc, unfilled = allocation_frames(inst, on_ray.plan)
    assert check_plan(batch, alloc, unfilled) == []
    assert plan_total(inst, on_ray.plan) == plan_total(inst, local.plan)
    assert on_ray.bound == local.bound
    assert "ray: 2 workers; calls run again after their worker died: 0" in on_ray.notes


def test_killed_workers_are_retried_and_the_run_completes(cluster: RayExecutor) -> None:
    batch = random_batch(120, 8, 30, seed=4, supply=0.7)
    inst = build_instance(batch)
    settings = Settings(exact_up_to=0)
    killing = KillingFirstMap(cluster)
    before = cluster.retries
    # A limit the run never reaches: the worker's restart must not change the plan.
    out = solve(inst, 120.0, settings, executor=killing)  # type: ignore[arg-type]
    local = solve(inst, 120.0, settings)
    assert killing.killed == 1
    assert cluster.retries - before == killing.killed  # each killed task ran once more
    assert cluster.retried["_killed_on_first_attempt"] == killing.killed  # by task name
    alloc, unfilled = allocation_frames(inst, out.plan)
    assert check_plan(batch, alloc, unfilled) == []
    assert plan_total(inst, out.plan) == plan_total(inst, local.plan)
    assert out.bound == local.bound <= plan_total(inst, out.plan)
    retried = f"calls run again after their worker died: {killing.killed}"
    assert any(retried in note for note in out.notes)


SPEC = """\
name: ray-small
days: 1
orders_per_day: 120
nodes: 8
skus: 60
schedule: {run_hours: [12]}
base: {strategy: greedy}
scenarios:
  - {name: dc-only, ship_from_store: false}
"""


def test_scenarios_on_ray_give_the_local_tables(cluster: RayExecutor) -> None:
    spec = parse_spec(SPEC)
    days: list[tuple[int, int]] = []
    on_ray = run_spec(spec, ClusterExecutor(cluster), on_day=lambda i, d: days.append((i, d)))
    local = run_spec(spec, SerialExecutor())
    assert sorted(days) == [(0, 1), (1, 1)]  # each scenario reported done
    for ray_table, local_table in [
        (on_ray.summaries, local.summaries),
        (on_ray.daily, local.daily),
    ]:
        timed = [
            c for c in local_table.columns if c.endswith("seconds")
        ]  # the clock's, not the plan's
        assert ray_table.drop(columns=timed).equals(local_table.drop(columns=timed))
        assert len(local_table.columns) - len(timed) > 20


def test_dom_plan_without_ray_does_not_import_ray(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    code = f"""
import sys
from typer.testing import CliRunner
from cli.main import app
from data.batch_io import write_batch
from tests.random_batch import random_batch
write_batch(random_batch(60, 5, 20, seed=3), {str(batch)!r}, "parquet")
r = CliRunner().invoke(app, ["plan", {str(batch)!r}, "--out", {str(tmp_path / "plan")!r},
                             "--time-limit", "2"])
assert r.exit_code == 0, r.output
print("ray" in sys.modules, "parallel.ray_cluster" in sys.modules)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]
    assert (tmp_path / "plan" / "summary.json").exists()
