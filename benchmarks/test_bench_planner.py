"""pytest-benchmark suite (not part of the test run): ./dev dom … or
    .venv/bin/pytest benchmarks/ --benchmark-only
Sizes here are the quick ones; benchmarks/run.py measures the large ones."""

import pytest

import planner
from data.generator import generate_batch


@pytest.fixture(scope="module", params=[1_500, 10_000])
def batch(request):
    return generate_batch(request.param, seed=7)


@pytest.mark.parametrize("strategy", ["greedy", "nearest", "optimize"])
def test_plan(benchmark, batch, strategy: str) -> None:
    result = benchmark.pedantic(planner.plan, args=(batch, strategy, 60.0), rounds=1, iterations=1)
    benchmark.extra_info.update(
        total=result.summary.total,
        gap=result.summary.gap,
        orders=len(batch.orders),
        nodes=len(batch.nodes),
    )
