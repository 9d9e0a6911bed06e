"""The day loop and its KPIs on a hand-built two-day history (figures worked out by hand).

Network: DC1 (New York 10001, ships) and ST1 (10002, pickup only, no stock).
SKU-A weighs 1 lb and costs $10. Rates: ground $5 + $1/lb, 2 days in transit;
next day $10 + $1/lb, 1 day. DC1 picks at $0.50 a unit and packs at $1, same
day. Every customer lives in 10001 (0 miles, zone 2). DC1 starts with 3 units.

Day 0, one run at noon (greedy, orders in arrival order):
  O1 (2 units, ground, due 3): DC1 ships 2 -> shipping 5 + 2 = 7, handling 1 + 1 = 2
  O2 (2 units, ground, due 3): DC1 ships its last 1 -> shipping 6, handling 1.5; 1 unit waits
  day 0: 2 orders served, $16.50 -> $8.25 an order; fill 3 / (3 + 1) = 75 %; backlog 1 unit
  end of day: DC1 has 0, orders up to 3, arriving day 1 (lead 1 day)
Day 1: the 3 units land; O1 comes back (BORIS) to ST1: 2 units restocked there.
  O2's last unit (due in 2 days): shipping 6, handling 1.5
  O3 (1 unit, next day, due 1):   shipping 11, handling 1.5
  day 1: 2 orders served, $20.00 -> $10.00 an order; fill 100 %; backlog 0; DC1 keeps 1
Horizon: $36.50 over 3 orders = $12.1667; 4 packages for 3 orders; O2 came in two
packages: split rate 1/3; everything on time; every unit filled.
"""

import numpy as np
import pandas as pd
import pytest

from scenarios import kpis
from scenarios.simulate import initial_state, make_context, run_day, simulate
from scenarios.spec import Spec
from scenarios.world import World

SPEC = Spec(
    days=2,
    orders_per_day=2,
    schedule={"run_hours": [12], "store_hours": [0, 24], "time_limit": 5},
    supply={"dc_lead_days": 1, "store_review_days": 1},
    returns={"rate": 0.5},
    base={"strategy": "greedy", "boris_share": 1.0},
)


def hand_world() -> World:
    nodes = pd.DataFrame(
        {
            "node_id": ["DC1", "ST1"],
            "kind": ["dc", "store"],
            "zip": ["10001", "10002"],
            "ship_enabled": [True, False],
            "pickup_enabled": [False, True],
            "capacity_units": np.array([100, 10], dtype=np.int64),
            "pick_cost": [0.5, 0.5],
            "pack_cost": [1.0, 1.0],
            "processing_days": np.array([0, 0], dtype=np.int64),
        }
    )
    rate = pd.DataFrame(
        [
            (s, z, b, 1.0, t)
            for s, b, t in (("ground", 5.0, 2), ("two_day", 8.0, 2), ("next_day", 10.0, 1))
            for z in range(2, 9)
        ],
        columns=["service", "zone", "base", "per_lb", "transit_days"],
    )
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3"],
            "channel": "web",
            "ship_zip": "10001",
            "service": ["ground", "ground", "next_day"],
            "due_days": np.array([3, 3, 1], dtype=np.int64),
            "ship_complete": False,
            "max_packages": pd.array([pd.NA] * 3, dtype="Int64"),
            "pickup_node_id": "",
            "day": np.array([0, 0, 1], dtype=np.int64),
            "hour": [1.0, 2.0, 3.0],
            "cust_zip": "10001",
            "u_pickup": 0.5,
            "u_service": 0.5,
            "u_boris": 0.0,
        }
    )
    lines = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3"],
            "line_no": np.array([1, 1, 1], dtype=np.int64),
            "sku": "SKU-A",
            "qty": np.array([2, 2, 1], dtype=np.int64),
            "u_return": [0.0, 0.9, 0.9],  # only O1 comes back
            "return_lag": np.array([1, 1, 1], dtype=np.int64),
            "restockable": True,
        }
    )
    return World(
        seed=0,
        days=2,
        nodes=nodes,
        items=pd.DataFrame({"sku": ["SKU-A"], "weight_lb": [1.0], "price": [10.0]}),
        inventory=pd.DataFrame(
            {"node_id": ["DC1"], "sku": ["SKU-A"], "on_hand": [3], "safety_stock": [0]}
        ),
        rate_card=rate,
        orders=orders,
        order_lines=lines,
    )


def test_stock_and_backlog_carry_into_the_next_day() -> None:
    world = hand_world()
    ctx = make_context(world, SPEC.resolved()[0], SPEC)
    day0, log0 = run_day(ctx, initial_state(world))
    assert day0.day == 1
    assert day0.stock[("DC1", "SKU-A")] == 0  # all 3 units shipped
    assert day0.open_qty.tolist() == [0, 1, 1]  # O2 waits for 1 unit; O3 comes tomorrow
    vendor = day0.pipeline[day0.pipeline["source"] == "vendor"]
    assert vendor[["arrive_day", "node_id", "sku", "qty"]].values.tolist() == [
        [1, "DC1", "SKU-A", 3]
    ]
    ret = day0.pipeline[day0.pipeline["source"] == "return"]
    assert ret[["arrive_day", "node_id", "qty"]].values.tolist() == [[1, "ST1", 2]]
    assert log0.end["backlog_units"] == 1 and log0.end["backlog_orders"] == 1

    day1, log1 = run_day(ctx, day0)
    assert day1.stock[("DC1", "SKU-A")] == 1  # 3 arrived, O2's last unit and O3 shipped
    assert day1.stock[("ST1", "SKU-A")] == 2  # O1's return, restocked where it was brought
    assert day1.open_qty.tolist() == [0, 0, 0]
    assert log1.end["backlog_units"] == 0
    # The backlog was planned with its promise moved by a day: O2 is due in 2 days now.
    assert [r["orders"] for r in log1.runs] == [2]


def test_daily_and_horizon_kpis_match_the_hand_figures() -> None:
    run = simulate(hand_world(), SPEC.resolved()[0], SPEC)
    d = kpis.daily(run).set_index("day")
    assert d.loc[0, "orders_served"] == 2 and d.loc[1, "orders_served"] == 2
    assert d.loc[0, "shipping"] == pytest.approx(13.0)
    assert d.loc[0, "handling"] == pytest.approx(3.5)
    assert d.loc[0, "cost_per_order"] == pytest.approx(8.25)
    assert d.loc[1, "shipping"] == pytest.approx(17.0)
    assert d.loc[1, "handling"] == pytest.approx(3.0)
    assert d.loc[1, "cost_per_order"] == pytest.approx(10.0)
    assert d["late"].tolist() == [0.0, 0.0] and d["lost"].tolist() == [0.0, 0.0]
    assert d["fill_rate"].tolist() == pytest.approx([0.75, 1.0])
    assert d["on_time_rate"].tolist() == [1.0, 1.0]
    assert d["packages_per_order"].tolist() == [1.0, 1.0]
    assert d["split_rate"].tolist() == [0.0, 0.0]
    assert d["units_dc"].tolist() == [3, 2] and d["units_store"].tolist() == [0, 0]
    assert d["backlog_units"].tolist() == [1, 0]
    assert d["returns_restocked"].tolist() == [0, 2]
    assert d["avg_miles"].tolist() == [0.0, 0.0] and d["avg_zone"].tolist() == [2.0, 2.0]
    assert run.returns[["day", "node_id", "kind", "units"]].values.tolist() == [
        [1, "ST1", "store", 2]
    ]

    s = kpis.summary(run)
    assert s["total_cost"] == pytest.approx(36.5)
    assert s["cost_per_order"] == pytest.approx(36.5 / 3)
    assert s["packages"] == 4
    assert s["packages_per_order"] == pytest.approx(4 / 3)
    assert s["split_rate"] == pytest.approx(1 / 3)
    assert s["on_time_rate"] == 1.0 and s["fill_rate"] == 1.0
    assert s["store_unit_share"] == 0.0 and s["backlog_end"] == 0
    assert s["returns_restocked"] == 2


def test_backlog_older_than_the_limit_is_cancelled_and_costed_by_the_cost_model() -> None:
    spec = SPEC.model_copy(update={"max_backlog_days": 0, "days": 1})
    world = hand_world()
    run = simulate(world, spec.resolved()[0], spec)
    # O2's unit left at day end is cancelled at once: penalty (100 + $10) x 1 unit.
    assert run.days["dropped_units"].tolist() == [1]
    assert run.days["lost_cost"].tolist() == [110.0]
    assert kpis.daily(run)["lost"].tolist() == [110.0]


def test_comparison_deltas_against_the_base_and_ci_over_seeds() -> None:
    rows = pd.DataFrame(
        {
            "scenario": ["base", "base", "alt", "alt"],
            "seed": [1, 2, 1, 2],
            "cost_per_order": [10.0, 12.0, 9.0, 10.0],
        }
    )
    cmp = kpis.compare(rows).set_index("scenario")
    assert cmp.loc["alt", "cost_per_order"] == 9.5
    assert cmp.loc["alt", "cost_per_order_delta"] == -1.5  # (-1 + -2) / 2, paired by seed
    assert cmp.loc["alt", "cost_per_order_delta_pct"] == pytest.approx(-1.5 / 11.0)
    # t(0.975, 1) = 12.706; sd of (9, 10) = 0.7071; / sqrt(2) -> 12.706 x 0.5 = 6.353
    assert cmp.loc["alt", "cost_per_order_ci"] == pytest.approx(6.353, abs=1e-3)
    assert cmp.loc["alt", "cost_per_order_delta_ci"] == pytest.approx(6.353, abs=1e-3)
