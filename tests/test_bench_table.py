"""The benchmark table's summary of repeated time-limited runs."""

from pathlib import Path

import pytest

from benchmarks.run import above, known_optima, median_run, references


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


def test_a_plan_is_shown_against_the_batchs_proven_optimum_where_one_is_known() -> None:
    assert above(40_518.0, 40_000.0) == "+1.295 %"
    assert above(40_000.0, 40_000.0) == "+0.000 %"
    assert above(40_000.0, None) == "-"  # no optimum proved for this batch
    assert above(None, 40_000.0) == "-"  # the batch's (generate) row has no total
    assert above(101.0, 100.0, "LP") == "+1.000 % (LP)"  # a long run's LP, not an optimum


def test_the_known_optima_are_read_by_batch_name() -> None:
    optima = known_optima()
    assert optima and all(isinstance(v, float) and v > 0 for v in optima.values())
    assert all(name.split("-")[0].isdigit() and name.split("-")[1].isdigit() for name in optima)


def test_an_optimum_that_is_not_a_positive_number_is_an_error_naming_the_entry(
    tmp_path: Path,
) -> None:
    path = tmp_path / "optima.json"
    path.write_text('{"1500-7": {"optimum": 40118.13}, "1500-8": {"optimum": "n/a"}}')
    with pytest.raises(ValueError, match=r"optima\.json: entry '1500-8': 'optimum'"):
        known_optima(path)


def test_batches_without_a_proven_optimum_have_a_long_runs_lp_as_reference(
    tmp_path: Path,
) -> None:
    path = tmp_path / "optima.json"
    path.write_text('{"1500-7": {"optimum": 40118.13}, "10000-7": {"lp": 184401.56}}')
    assert references(path) == {"1500-7": (40118.13, "optimum"), "10000-7": (184401.56, "LP")}
    assert known_optima(path) == {"1500-7": 40118.13}
    path.write_text('{"10000-7": {"lp": 0}}')
    with pytest.raises(ValueError, match=r"entry '10000-7': 'lp' must be a positive"):
        references(path)
