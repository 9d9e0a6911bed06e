"""A coordinator that loses its cluster stops with the best plan so far: the solve
finishes on this machine at once, says so in its notes, and ``dom plan --ray``
writes that plan and exits 1 with one clear message. No Ray needed: the lost
cluster is an executor whose calls start failing as a lost Ray cluster's do."""

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import parallel
from cli.main import app
from data.batch_io import read_batch, write_batch
from data.plan_io import read_plan
from parallel import Handle, SerialExecutor, TaskFailed
from planner import check_plan
from planner.core.instance import build_instance
from planner.core.result import allocation_frames
from planner.optimize.settings import Settings
from planner.optimize.solver import solve
from tests.random_batch import random_batch


class LostAfter(SerialExecutor):
    """Answers ``calls`` calls, then fails every one like a cluster that went away."""

    name = "ray"
    workers = 2

    def __init__(self, calls: int) -> None:
        self.left = calls
        self.lost: str | None = None

    def _spend(self) -> None:
        if self.left <= 0:
            self.lost = "ConnectionError: GCS unreachable"
            raise TaskFailed(self.lost)
        self.left -= 1

    def submit(self, fn: Callable[..., Any], *args: Any) -> Handle[Any]:
        self._spend()
        return super().submit(fn, *args)

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        self._spend()
        return super().map(fn, items)


def test_a_lost_cluster_stops_the_solve_with_a_feasible_plan() -> None:
    batch = random_batch(120, 8, 30, seed=4, supply=0.7)
    inst = build_instance(batch)
    out = solve(inst, 600.0, Settings(exact_up_to=0), executor=LostAfter(1))
    alloc, unfilled = allocation_frames(inst, out.plan)
    assert check_plan(batch, alloc, unfilled) == []
    lost = [n for n in out.notes if n.startswith("ray lost")]
    assert len(lost) == 1 and "GCS unreachable; stopped early" in lost[0]
    assert len(out.plan.line) > 0


@pytest.fixture
def batch_dir(tmp_path: Path) -> Path:
    return write_batch(random_batch(120, 8, 30, seed=4, supply=0.7), tmp_path / "b", "parquet")


def test_dom_plan_writes_the_best_plan_and_exits_1_when_the_cluster_is_lost(
    batch_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @contextmanager
    def lost_cluster(address: str | None, workers: int = 2, prepare: Any = ()) -> Iterator[Any]:
        assert address == "ray://head:10001"
        yield LostAfter(2)

    monkeypatch.setattr(parallel, "connected", lost_cluster)
    out = tmp_path / "plan"
    r = CliRunner().invoke(
        app, ["plan", str(batch_dir), "--out", str(out), "--ray", "ray://head:10001",
              "--time-limit", "600"],
    )  # fmt: skip
    assert r.exit_code == 1
    assert "the Ray cluster at ray://head:10001 was lost" in " ".join(r.output.split())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cluster_lost"] == "ConnectionError: GCS unreachable"
    alloc, unfilled, _ = read_plan(out)
    assert check_plan(read_batch(batch_dir), alloc, unfilled) == []


def test_serve_runs_use_the_cluster_and_plan_here_once_it_is_lost() -> None:
    from models.api import RunRequest
    from services import sourcing
    from tests.lifecycle_fixtures import ADMIN, make_db
    from tests.test_lifecycle_concurrency import check_invariants

    db = make_db(orders=True, keys=False)
    cluster = LostAfter(0)
    sourcing.use_executor(db, cluster)
    run = sourcing.run_sourcing(db, RunRequest(strategy="optimize", time_limit=5), ADMIN)
    assert cluster.lost is not None  # the run asked the cluster first
    assert run.status == "applied" and run.orders_planned == 5  # with the best plan it had
    assert sourcing._executors.get(db) is None  # the next run plans on this machine
    check_invariants(db)


def test_an_address_nothing_listens_on_is_refused_at_once() -> None:
    """Ray would retry an unreachable GCS for minutes; the command must say so instead."""
    from parallel import TaskFailed, connect

    with pytest.raises(TaskFailed, match=r"no Ray cluster at '127\.0\.0\.1:1': nothing answers"):
        connect("127.0.0.1:1")
