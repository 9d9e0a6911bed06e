"""The cost model against sums done by hand on tests/tiny.py.

O1 DC1->02139 zone 3: ship 3 + 0.5*(2*2+1*1) = 5.5; handle 1 + 0.5*3 = 2.5; late 1+1-3 < 0 -> 0
O2 DC1->94105 zone 8 next day: ship 24 + 1.5*2 = 27; handle 1.5; late 1+1-1 = 1
O3 DC1->10001 zone 2: ship 2 + 0.5*2 = 3; handle 1.5
   ST1->10001 zone 3: ship 3 + 0.5*1 = 3.5; handle 2 + 1 = 3; one split
O4 pickup at ST2: ship 0; handle 2 + 1*1 = 3; late 0; 1 unit unfilled: 100 + 50
O5 ship-complete, unfilled: (100 + 10) + (100 + 50) = 260
"""

import numpy as np
import pytest

from data.geo import haversine_miles, zone_between, zone_of_miles
from models import Weights
from planner.core.cost import evaluate, package_table
from tests.tiny import HAND_PLAN, allocations, tiny_batch


def test_zone_bands_are_inclusive_upper_limits() -> None:
    miles = [0, 150, 150.01, 300, 300.01, 600, 1000, 1400, 1800, 1800.01, 5000]
    assert zone_of_miles(miles).tolist() == [2, 2, 3, 3, 4, 4, 5, 6, 7, 8, 8]


def test_haversine_matches_a_known_distance() -> None:
    # One degree of latitude on the spec's Earth radius: 3958.8 * pi / 180.
    assert haversine_miles(40.0, -75.0, 41.0, -75.0) == pytest.approx(69.0941, abs=1e-3)


def test_zones_between_real_zips() -> None:
    assert zone_between(["10001", "10001", "10001"], ["10001", "02139", "94105"]).tolist() == [
        2,
        3,
        8,
    ]


def test_hand_costed_plan_components() -> None:
    cost = evaluate(tiny_batch(), allocations(HAND_PLAN))
    assert cost.shipping == pytest.approx(5.5 + 27 + 3 + 3.5 + 0)
    assert cost.handling == pytest.approx(2.5 + 1.5 + 1.5 + 3 + 3)
    assert cost.late_days == 1
    assert cost.splits == 1
    assert cost.unfilled == pytest.approx(150 + 260)
    assert cost.total == pytest.approx(39 + 11.5 + 5 * 1 + 2 * 1 + 410)
    assert (cost.packages, cost.orders, cost.units_ordered, cost.units_allocated) == (5, 5, 10, 7)
    assert cost.late_packages == 1


def test_packages_carry_zone_and_late_days() -> None:
    pkg = package_table(tiny_batch(), allocations(HAND_PLAN)).set_index(["order_id", "node_id"])
    assert pkg.loc[("O1", "DC1"), "zone"] == 3
    assert pkg.loc[("O1", "DC1"), "weight_lb"] == 5.0
    assert pkg.loc[("O2", "DC1"), ["zone", "late_days"]].tolist() == [8, 1]
    assert pkg.loc[("O4", "ST2"), ["zone", "shipping", "handling"]].tolist() == [0, 0.0, 3.0]


def test_weights_scale_each_component() -> None:
    w = Weights(shipping=2, handling=0, late=10, split=0, unfilled=0.5)
    cost = evaluate(tiny_batch(w), allocations(HAND_PLAN))
    assert cost.total == pytest.approx(2 * 39 + 10 * 1 + 0.5 * 410)


def test_empty_plan_costs_every_unit_unfilled() -> None:
    cost = evaluate(tiny_batch(), allocations([]))
    # Units: A 2+1+1+1 = 5 at 110, B 1+1+2+1 = 5 at 150.
    assert cost.total == pytest.approx(5 * 110 + 5 * 150)
    assert cost.packages == 0
    assert np.isclose(cost.fill_rate, 0.0)
