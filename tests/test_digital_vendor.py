"""Digital goods and drop-ship vendors in the planner path, costed by hand.

The batch is tests/tiny.py plus a vendor VN1 in Cambridge MA (02139, the same ZIP as ST1):
ships, never a pickup, capacity 50, pick 0.2, pack 4.0, processing 3 days; it alone
stocks V (3 lb, $80, 5 units). D is digital (0 lb, $15), stocked nowhere.

O6 (ship-complete, ground to 02139, due 5): line 1 D x1, line 2 V x2.
   VN1->02139 zone 2 ground: ship 2 + 0.5*(2*3) = 5; handle 4 + 0.2*2 = 4.4;
   late max(0, 3 + 1 - 5) = 0. The digital line costs nothing and does not stop the
   ship-complete order's physical line from being served whole.
O7: only D x3: no part of any plan, costs 0.
Tiny's hand plan costs 39 + 11.5 + 5*1 + 2*1 + 410 = 467.5 (test_cost.py); with O6 from
VN1 the total is 467.5 + 9.4 = 476.9.
"""

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from data.batch_io import batch_from_frames, read_batch, write_batch
from data.plan_io import read_plan, write_plan
from models import COLUMNS, Batch
from models.errors import BatchValidationError, PlanValidationError
from planner import STRATEGIES, check_plan, evaluate, plan
from planner.core.instance import build_instance
from tests.tiny import HAND_PLAN, allocations, frames

HAND_TOTAL = 39 + 11.5 + 5 * 1 + 2 * 1 + 410
HAND_UNFILLED = [("O4", 1, 1), ("O5", 1, 1), ("O5", 2, 1)]


def unfilled(rows: list[tuple[str, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["order_id", "line_no", "qty"])


O6_FROM_VENDOR = [("O6", 2, "VN1", 2)]


def vendor_frames() -> dict[str, pd.DataFrame]:
    f = frames()
    vendor = pd.DataFrame(
        [("VN1", "vendor", "02139", True, False, 50, 0.2, 4.0, 3)], columns=list(COLUMNS["nodes"])
    )
    f["nodes"] = pd.concat([f["nodes"], vendor], ignore_index=True)
    f["items"] = pd.concat(
        [
            f["items"].assign(digital=False),
            pd.DataFrame(
                [("D", 0.0, 15.0, True), ("V", 3.0, 80.0, False)],
                columns=[*COLUMNS["items"], "digital"],
            ),
        ],
        ignore_index=True,
    )
    stock = pd.DataFrame([("VN1", "V", 5, 0, 0)], columns=list(COLUMNS["inventory"]))
    f["inventory"] = pd.concat([f["inventory"], stock], ignore_index=True)
    more = [
        ("O6", "web", "02139", "ground", 5, True, None, ""),
        ("O7", "web", "02139", "ground", 5, False, None, ""),
    ]
    f["orders"] = pd.DataFrame(
        [*f["orders"].astype(object).itertuples(index=False), *more],
        columns=list(COLUMNS["orders"]),
    )
    lines = pd.DataFrame(
        [("O6", 1, "D", 1), ("O6", 2, "V", 2), ("O7", 1, "D", 3)],
        columns=list(COLUMNS["order_lines"]),
    )
    f["order_lines"] = pd.concat([f["order_lines"], lines], ignore_index=True)
    return f


def vendor_batch() -> Batch:
    return batch_from_frames(date(2026, 11, 25), **vendor_frames())


def test_digital_lines_and_a_vendor_package_cost_by_hand() -> None:
    cost = evaluate(vendor_batch(), allocations(HAND_PLAN + O6_FROM_VENDOR))
    assert cost.shipping == pytest.approx(39 + 5)
    assert cost.handling == pytest.approx(11.5 + 4.4)
    assert (cost.late_days, cost.splits, cost.unfilled) == (1, 1, pytest.approx(410))
    assert cost.total == pytest.approx(HAND_TOTAL + 9.4)
    # Digital units are neither ordered nor allocated as far as the plan is concerned.
    assert (cost.packages, cost.orders, cost.units_ordered, cost.units_allocated) == (6, 7, 12, 9)


def test_ship_complete_order_with_a_digital_line_is_feasible_from_one_node() -> None:
    batch = vendor_batch()
    plan = allocations(HAND_PLAN + O6_FROM_VENDOR)
    assert check_plan(batch, plan, unfilled(HAND_UNFILLED)) == []
    # Its physical line unfilled is the "nothing allocated" branch of rule 4: also fine,
    # and it costs the V units' penalty only: 2 * (100 + 80).
    left = unfilled([*HAND_UNFILLED, ("O6", 2, 2)])
    assert check_plan(batch, allocations(HAND_PLAN), left) == []
    assert evaluate(batch, allocations(HAND_PLAN)).unfilled == pytest.approx(410 + 360)


def test_a_digital_line_in_a_plan_is_a_violation_and_costs_nothing() -> None:
    batch = vendor_batch()
    alloc = allocations(HAND_PLAN + O6_FROM_VENDOR + [("O6", 1, "DC1", 1)])
    found = [str(v) for v in check_plan(batch, alloc)]
    assert found == ["[structure] order O6 line 1: digital sku D has no place in allocations"]
    assert evaluate(batch, alloc).total == pytest.approx(HAND_TOTAL + 9.4)
    left = unfilled([*HAND_UNFILLED, ("O7", 1, 3)])
    found = [str(v) for v in check_plan(batch, allocations(HAND_PLAN + O6_FROM_VENDOR), left)]
    assert found == ["[structure] order O7 line 1: digital sku D has no place in unfilled"]


def test_strategies_never_see_digital_lines() -> None:
    inst = build_instance(vendor_batch())
    assert "O7" not in set(inst.order_ids)
    assert inst.n_lines == 8 + 1  # tiny's eight lines and O6's physical one


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_plans_vendors_and_digital_lines(strategy: str) -> None:
    batch = vendor_batch()
    result = plan(batch, strategy=strategy, time_limit=10)
    assert check_plan(batch, result.allocations, result.unfilled) == []
    assert result.summary.total == pytest.approx(evaluate(batch, result.allocations).total)
    digital = {("O6", 1), ("O7", 1)}
    for table in (result.allocations, result.unfilled):
        assert not digital & set(zip(table["order_id"], table["line_no"], strict=True))
    # V is stocked only at the vendor; every strategy but the nearest-node one takes it there.
    o6 = result.allocations[result.allocations["order_id"] == "O6"]
    assert o6[["line_no", "node_id", "qty"]].values.tolist() == [[2, "VN1", 2]]


def test_a_pickup_enabled_vendor_is_refused_naming_the_cell(tmp_path: Path) -> None:
    folder = write_batch(vendor_batch(), tmp_path / "batch")
    nodes = pd.read_csv(folder / "nodes.csv", dtype=str, keep_default_na=False)
    nodes.loc[3, "pickup_enabled"] = "true"
    nodes.to_csv(folder / "nodes.csv", index=False)
    with pytest.raises(BatchValidationError) as info:
        read_batch(folder)
    assert [str(p) for p in info.value.problems] == [
        "nodes.csv row 4 column 'pickup_enabled': a vendor (drop-ship) node cannot be "
        "pickup_enabled (got True)"
    ]


def test_only_a_digital_item_may_weigh_nothing(tmp_path: Path) -> None:
    folder = write_batch(vendor_batch(), tmp_path / "batch")
    items = pd.read_csv(folder / "items.csv", dtype=str, keep_default_na=False)
    assert items.loc[2, "digital"] == "true"  # written because some item is digital
    items.loc[0, "weight_lb"] = "0"
    items.to_csv(folder / "items.csv", index=False)
    with pytest.raises(BatchValidationError) as info:
        read_batch(folder)
    assert [str(p) for p in info.value.problems] == [
        "items.csv row 1 column 'weight_lb': must be > 0 for a physical item (only a digital "
        "item may weigh 0) (got 0.0)"
    ]


def test_a_batch_without_the_digital_column_is_all_physical(tmp_path: Path) -> None:
    batch = read_batch(write_batch(batch_from_frames(date(2026, 11, 25), **frames()), tmp_path))
    assert "digital" not in pd.read_csv(tmp_path / "items.csv").columns
    assert not batch.items["digital"].any() and batch.digital_skus == frozenset()


def test_a_digital_line_in_a_plan_file_names_file_row_and_column(tmp_path: Path) -> None:
    batch = vendor_batch()
    alloc = allocations([*HAND_PLAN, *O6_FROM_VENDOR, ("O6", 1, "DC1", 1)])
    folder = write_plan(tmp_path / "plan", alloc, unfilled(HAND_UNFILLED), {})
    read_plan(folder)  # without the batch, the file alone is well formed
    with pytest.raises(PlanValidationError) as info:
        read_plan(folder, batch)
    assert [str(p) for p in info.value.problems] == [
        "allocations.csv row 8 column 'line_no': order O6 line 1 is digital sku D: "
        "delivered electronically, it is never allocated nor unfilled"
    ]


def test_dom_check_agrees_with_the_cost_model_on_the_vendor_batch(tmp_path: Path) -> None:
    batch = vendor_batch()
    batch_dir = write_batch(batch, tmp_path / "batch")
    out = tmp_path / "plan"
    planned = CliRunner().invoke(app, ["plan", str(batch_dir), "--out", str(out), "-s", "greedy"])
    assert planned.exit_code == 0, planned.output
    checked = CliRunner().invoke(app, ["check", str(batch_dir), str(out)])
    assert checked.exit_code == 0, checked.output
    assert "matches" in checked.output
    hand = tmp_path / "hand"
    write_plan(
        hand,
        allocations(HAND_PLAN + O6_FROM_VENDOR),
        unfilled(HAND_UNFILLED),
        {"total": HAND_TOTAL + 9.4},
    )
    checked = CliRunner().invoke(app, ["check", str(batch_dir), str(hand)])
    assert checked.exit_code == 0, checked.output
    assert "matches" in checked.output


def test_explain_lists_a_digital_line_as_delivered_and_refuses_a_digital_only_order() -> None:
    from planner.core.explain import UnknownOrderError, explain_order

    batch = vendor_batch()
    alloc = pd.DataFrame(O6_FROM_VENDOR, columns=["order_id", "line_no", "node_id", "qty"])
    packages, lines = explain_order(build_instance(batch), alloc, "O6")
    assert list(packages["node_id"]) == ["VN1"]
    assert [(c.line_no, c.sku, c.sources, c.cost) for c in lines] == [
        (1, "D", "digital", 0.0), (2, "V", "VN1 x2", pytest.approx(9.4)),
    ]  # fmt: skip
    with pytest.raises(UnknownOrderError, match="has only digital lines"):
        explain_order(build_instance(batch), alloc, "O7")
