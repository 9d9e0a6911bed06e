"""pytest-benchmark for the batch generator (nothing timed is asserted).

    .venv/bin/pytest benchmarks/bench_generate.py --benchmark-only -m "not large"
    .venv/bin/pytest benchmarks/bench_generate.py --benchmark-only -m large   # 100k

The 100k case is marked ``large`` so it can be run on its own; 1M orders are
measured with peak memory by ``benchmarks/run.py``.
"""

import pytest

from data.cities import us_cities
from data.generator import generate_batch


@pytest.fixture(scope="module", autouse=True)
def _warm_geography() -> None:
    """Load cities and ZIPs once, so the timings are of generation alone."""
    us_cities()


def _generate(benchmark, orders: int, rounds: int) -> None:
    batch = benchmark.pedantic(
        generate_batch, args=(orders,), kwargs={"seed": 7}, rounds=rounds, iterations=1
    )
    benchmark.extra_info.update(
        orders=len(batch.orders),
        lines=len(batch.order_lines),
        nodes=len(batch.nodes),
        skus=len(batch.items),
        inventory_rows=len(batch.inventory),
    )


def test_generate_10k(benchmark) -> None:
    _generate(benchmark, 10_000, rounds=3)


@pytest.mark.large
def test_generate_100k(benchmark) -> None:
    _generate(benchmark, 100_000, rounds=1)
