"""The benchmark table's summary of repeated time-limited runs."""

from benchmarks.run import median_run


def _run(total: float, bound: float | None) -> dict:
    gap = None if bound is None else (total - bound) / total
    return {"strategy": "optimize", "orders": 10, "total": total, "bound": bound, "gap": gap}


def test_repeated_runs_show_the_median_gap_and_the_range() -> None:
    # Gaps 3 %, 1 %, 2 %: the 2 % run is the median; the range is 1-3 %.
    runs = [_run(100.0, 97.0), _run(100.0, 99.0), _run(100.0, 98.0)]
    row = median_run(runs)
    assert row["bound"] == 98.0
    assert row["runs"] == 3
    assert row["gap_range"] == "1.00-3.00 %"
    assert "runs" not in runs[2]  # the runs themselves are left as they were


def test_an_even_count_takes_the_lower_middle_and_unbounded_runs_come_last() -> None:
    runs = [_run(100.0, None), _run(100.0, 96.0), _run(100.0, 99.0), _run(90.0, None)]
    row = median_run(runs)
    assert row["bound"] == 96.0  # ordered: 1 %, 4 %, then the two without a bound
    assert row["gap_range"] == "1.00-4.00 %"


def test_a_single_run_is_shown_as_it_is() -> None:
    run = _run(100.0, 99.0)
    assert median_run([run]) is run
