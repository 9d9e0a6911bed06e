"""Whole spec runs on a small generated history: same orders everywhere, report with the numbers."""

import base64
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from scenarios import report
from scenarios.executor import ProcessExecutor, SerialExecutor
from scenarios.runner import SpecResult, run_spec
from scenarios.spec import parse_spec
from scenarios.world import build_world

SPEC = """\
name: small
days: 2
orders_per_day: 150
nodes: 10
skus: 80
schedule: {{run_hours: [11, 21]}}
base: {{strategy: greedy}}
scenarios:
  - {{name: dc-only, ship_from_store: false}}
  - {{name: bopis-40, bopis_share: 0.4}}
  - {{name: close-dc, close_nodes: [{dc}]}}
  - name: new-dc
    add_nodes: [{{node_id: DC-NEW, kind: dc, zip: "66101", capacity_units: 200, stock_like: {dc}}}]
  - {{name: express, service_mix: {{ground: 0.4, two_day: 0.3, next_day: 0.3}}}}
  - {{name: thin, inventory_depth: 0.5, store_capacity: 2.0}}
"""


@pytest.fixture(scope="module")
def result() -> SpecResult:
    probe = parse_spec(SPEC.format(dc="X"))
    world = build_world(probe, 7)
    dc = world.nodes.loc[world.nodes["kind"] == "dc", "node_id"].iloc[0]
    return run_spec(parse_spec(SPEC.format(dc=dc)), SerialExecutor())


def test_every_scenario_saw_the_same_orders(result: SpecResult) -> None:
    assert len(result.runs) == 7
    assert len({r.orders_digest for r in result.runs}) == 1
    arrived = [r.days["arrived_units"].tolist() for r in result.runs]
    assert all(a == arrived[0] for a in arrived)
    by = {r.scenario: r for r in result.runs}
    # The changes took effect: no store ships parcels, more pickups, a DC closed, one added.
    dc_only = by["dc-only"].packages
    assert not (dc_only["parcel"] & (dc_only["kind"] == "store")).any()
    assert (by["bopis-40"].packages["service"] == "pickup").sum() > (
        by["base"].packages["service"] == "pickup"
    ).sum()
    closed = result.scenarios[3].close_nodes[0]
    assert closed not in set(by["close-dc"].allocations["node_id"])
    assert "DC-NEW" in set(by["new-dc"].nodes["node_id"])
    assert (by["express"].packages["service"] == "next_day").sum() > (
        by["base"].packages["service"] == "next_day"
    ).sum()


def test_comparison_is_against_the_base(result: SpecResult) -> None:
    cmp = result.comparison.set_index("scenario")
    s = result.summaries.set_index("scenario")
    assert cmp.loc["base", "cost_per_order_delta"] == 0.0
    for name in cmp.index:
        assert cmp.loc[name, "cost_per_order"] == s.loc[name, "cost_per_order"]
        assert cmp.loc[name, "on_time_rate_delta"] == pytest.approx(
            s.loc[name, "on_time_rate"] - s.loc["base", "on_time_rate"]
        )


def test_report_is_self_contained_and_holds_the_runs_numbers(
    result: SpecResult, tmp_path: Path
) -> None:
    report.write_tables(result, tmp_path)
    data = report.write_charts(result, tmp_path)
    page = report.write_html(result, tmp_path, data, "run-x").read_text()
    assert "http://" not in page and "https://" not in page  # opens offline
    figures = re.findall(
        r'<figure data-chart="(\w+)"><img alt="[^"]*" src="data:image/png;base64,([^"]+)"', page
    )
    assert [f[0] for f in figures] == ["cost", "scatter", "map", "daily"]
    for _, b64 in figures:
        png = base64.b64decode(b64)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    embedded = json.loads(
        re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
        .group(1)
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
    )
    cmp = result.comparison.set_index("scenario")
    cost = embedded["cost"]
    for name, total in zip(cost["scenarios"], cost["total"], strict=True):
        assert total == pytest.approx(cmp.loc[name, "cost_per_order"], abs=1e-3)
        assert f"<td>{name}</td><td>{cmp.loc[name, 'cost_per_order']:.2f}" in page
    scatter = embedded["scatter"]
    assert scatter["on_time_pct"] == pytest.approx(
        [100 * cmp.loc[n, "on_time_rate"] for n in scatter["scenarios"]], abs=1e-3
    )
    runs = {r.scenario: r for r in result.runs}
    assert embedded["map"]["base"]["parcels"] == int(runs["base"].packages["parcel"].sum())
    assert embedded["map"]["dc-only"]["store_share"] == 0.0
    daily = result.daily[result.daily["scenario"] == "base"]
    assert embedded["daily"]["backlog_units"]["base"] == daily["backlog_units"].tolist()
    table = pd.read_parquet(tmp_path / "comparison.parquet")
    assert table["scenario"].tolist() == result.comparison["scenario"].tolist()


def test_processes_give_the_serial_results(result: SpecResult) -> None:
    spec = result.spec.model_copy(update={"scenarios": result.spec.scenarios[:1]})
    seen: list[tuple[int, int]] = []
    parallel = run_spec(spec, ProcessExecutor(2), on_day=lambda i, d: seen.append((i, d)))
    assert sorted(seen) == [(0, 1), (0, 2), (1, 1), (1, 2)]
    for p, s in zip(parallel.runs, result.runs[:2], strict=True):
        pd.testing.assert_frame_equal(p.allocations, s.allocations)


def test_cli_refuses_a_bad_spec_before_running(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("days: 2\nbase:\n  bopis_share: 2\n")
    out = CliRunner().invoke(app, ["scenario", "run", str(bad), "--out", str(tmp_path / "o")])
    assert out.exit_code == 1
    assert f"{bad} line 3: base.bopis_share: Input should be less than or equal to 1" in " ".join(
        out.output.split()
    )
    assert not (tmp_path / "o").exists()


def test_a_misnamed_node_stops_the_run_before_any_scenario_starts() -> None:
    from scenarios.spec import SpecError

    spec = parse_spec(SPEC.format(dc="DC-NOPE-01"))
    started: list[int] = []
    with pytest.raises(SpecError, match="scenario close-dc: close_nodes: no node 'DC-NOPE-01'"):
        run_spec(spec, SerialExecutor(), on_day=lambda i, d: started.append(i))
    assert started == []


def test_a_recorded_history_is_replayed_on_the_days_and_hours_it_was_placed(
    tmp_path: Path,
) -> None:
    from data.batch_io import write_batch
    from data.generator import generate_batch

    batch = generate_batch(60, seed=3, nodes=8, skus=40)
    folder = write_batch(batch, tmp_path / "history")
    orders = pd.read_csv(folder / "orders.csv", dtype=str, keep_default_na=False)
    # 20 orders a day over three days, at 08:00, 08:30, ...; the third day is past the horizon.
    stamps = pd.Timestamp("2026-12-01 08:00") + pd.to_timedelta(
        [(i // 20) * 24 * 60 + (i % 20) * 30 for i in range(60)], unit="min"
    )
    orders["created_at"] = [t.isoformat() for t in stamps]
    orders.to_csv(folder / "orders.csv", index=False)
    spec_file = tmp_path / "replay.yaml"
    spec_file.write_text(
        "days: 2\nhistory: {batch: history}\nschedule: {run_hours: [12, 20]}\n"
        "base: {strategy: greedy}\n"
    )
    from scenarios.spec import load_spec

    res = run_spec(load_spec(spec_file), SerialExecutor())
    run = res.runs[0]
    assert run.orders == 40 and run.days["arrived_orders"].tolist() == [20, 20]
    # The noon run sees the 08:00-11:30 orders (8 of them), the 20:00 run the rest of the day.
    assert run.runs.loc[run.runs["day"] == 0, "orders"].tolist()[0] == 8

    orders["created_at"] = orders["created_at"].where(orders.index != 4, "yesterday")
    orders.to_csv(folder / "orders.csv", index=False)
    from models.errors import BatchValidationError

    with pytest.raises(
        BatchValidationError,
        match="orders.csv row 5 column 'created_at': not an ISO timestamp: 'yesterday'",
    ):
        run_spec(load_spec(spec_file), SerialExecutor())


def test_terminal_table_fits_80_columns_with_intervals_over_seeds(result: SpecResult) -> None:
    from dataclasses import replace

    from rich.console import Console

    from scenarios import kpis

    other = result.summaries.assign(seed=8, cost_per_order=result.summaries["cost_per_order"] + 1)
    summaries = pd.concat([result.summaries, other], ignore_index=True)
    two = replace(result, summaries=summaries, comparison=kpis.compare(summaries))
    console = Console(width=80, record=True)
    console.print(report.comparison_table(two))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "±" in text and "pt" in text and "dc-only" in text
    assert any("Ship-from-store (base against dc-only)" in f for f in report.findings(result))
