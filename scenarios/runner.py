"""Run a spec: build each seed's world once, fan the scenarios out, gather the KPIs."""

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from scenarios import kpis
from scenarios.executor import Executor, SerialExecutor, Task
from scenarios.simulate import ScenarioRun
from scenarios.spec import Resolved, Spec
from scenarios.world import World, build_world, check_nodes


@dataclass(frozen=True)
class SpecResult:
    spec: Spec
    scenarios: list[Resolved]
    runs: list[ScenarioRun]
    daily: pd.DataFrame  # one row per scenario, seed and day
    summaries: pd.DataFrame  # one row per scenario and seed
    comparison: pd.DataFrame  # one row per scenario: means, deltas vs base, CIs
    wall_seconds: float


def tasks_of(spec: Spec, scenarios: list[Resolved], worlds: dict[int, World]) -> list[Task]:
    out: list[Task] = []
    for seed in spec.seeds:
        for sc in scenarios:
            out.append(Task(len(out), worlds[seed], sc, spec))
    return out


def run_spec(
    spec: Spec,
    executor: Executor | None = None,
    on_day: Callable[[int, int], None] | None = None,
    scenarios: list[Resolved] | None = None,
    on_world: Callable[[int], None] | None = None,
) -> SpecResult:
    """Every scenario of the spec under every seed; ``on_day(task, days_done)`` reports."""
    started = time.perf_counter()
    scenarios = scenarios or spec.resolved()
    worlds = {}
    for seed in spec.seeds:
        worlds[seed] = build_world(spec, seed)
        if on_world is not None:
            on_world(seed)
    for world in worlds.values():
        for sc in scenarios:
            check_nodes(world, sc)  # a misnamed node stops the run before any scenario starts
    tasks = tasks_of(spec, scenarios, worlds)
    runs = (executor or SerialExecutor()).run(tasks, on_day or (lambda i, d: None))
    daily = pd.concat([kpis.daily(r) for r in runs], ignore_index=True)
    summaries = pd.DataFrame([kpis.summary(r) for r in runs])
    comparison = kpis.compare(summaries)
    return SpecResult(
        spec=spec,
        scenarios=scenarios,
        runs=runs,
        daily=daily,
        summaries=summaries,
        comparison=comparison,
        wall_seconds=time.perf_counter() - started,
    )
