"""Prices for short SKUs: the bound they give is exact by hand and never above an optimum."""

import time
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from data.batch_io import batch_from_frames
from models import COLUMNS
from planner.candidates import build_groups
from planner.instance import build_instance
from planner.mip import solve_mip
from planner.optimize import plan_total
from planner.pricing import order_shares
from planner.primal import Flat
from planner.scarce import price_short_skus, short_skus
from tests.random_batch import random_batch
from tests.tiny import rate_card


def _shares_at_zero(inst, groups):
    zero = np.zeros(inst.avail.shape), np.zeros(inst.n_nodes)
    return order_shares(inst, groups, *zero, exact_seconds=5.0, exact_up_to=3000, widen_by=0)


def _one_unit_two_takers():
    """DC1 (New York) holds one unit of A and five of B; O1 and O2 want one A each,
    O3 one B, all shipped ground to New York: zone 2, base 2 + 0.5/lb, pack 1, pick 0.5,
    processing 1 + transit 1 <= due 5. Each package costs 2 + 0.5 + 1 + 0.5 = 4.
    The optimum fills one A (4) and leaves one unfilled (100 + 10), and ships B (4): 118.
    At zero prices both A orders are served (L = 12); at price p on A,
    L(p) = 2 * min(4 + p, 110) + 4 - p, largest at p = 106: 118, the optimum."""
    frames = {
        "nodes": pd.DataFrame(
            [("DC1", "dc", "10001", True, False, 100, 0.5, 1.0, 1)],
            columns=list(COLUMNS["nodes"]),
        ),
        "items": pd.DataFrame([("A", 1.0, 10.0), ("B", 1.0, 50.0)], columns=list(COLUMNS["items"])),
        "inventory": pd.DataFrame(
            [("DC1", "A", 1, 0, 0), ("DC1", "B", 5, 0, 0)], columns=list(COLUMNS["inventory"])
        ),
        "orders": pd.DataFrame(
            [(o, "web", "10001", "ground", 5, False, None, "") for o in ("O1", "O2", "O3")],
            columns=list(COLUMNS["orders"]),
        ),
        "order_lines": pd.DataFrame(
            [("O1", 1, "A", 1), ("O2", 1, "A", 1), ("O3", 1, "B", 1)],
            columns=list(COLUMNS["order_lines"]),
        ),
        "rate_card": rate_card(),
    }
    return build_instance(batch_from_frames(date(2026, 11, 25), None, **frames))


def test_the_price_of_a_short_sku_lifts_the_bound_to_the_hand_optimum() -> None:
    inst = _one_unit_two_takers()
    assert list(inst.sku_ids[short_skus(inst)]) == ["A"]
    groups = build_groups(inst, inst.n_nodes)
    shares = _shares_at_zero(inst, groups)
    assert shares.sum() == pytest.approx(12.0)
    found = price_short_skus(inst, groups, shares, time.perf_counter() + 60, passes=40)
    assert found is not None and found.skus == 1 and found.orders == 2  # O3 is not re-priced
    assert found.bound == pytest.approx(118.0, abs=1e-6)
    a = list(inst.sku_ids).index("A")
    assert found.lam[0, a] == pytest.approx(106.0, abs=1e-6)
    assert found.lam[0, 1 - a] == 0.0


def test_no_short_sku_means_nothing_to_price() -> None:
    inst = _one_unit_two_takers()
    plenty = np.full_like(inst.avail, 5)
    inst = replace(inst, avail=plenty)
    assert not len(short_skus(inst))
    groups = build_groups(inst, inst.n_nodes)
    assert (
        price_short_skus(inst, groups, _shares_at_zero(inst, groups), time.perf_counter() + 60)
        is None
    )


def test_short_sku_prices_bound_between_zero_prices_and_the_optimum() -> None:
    inst = build_instance(random_batch(40, 6, 30, seed=2, supply=0.6))
    assert len(short_skus(inst)) > 0
    assignment, _, optimal = solve_mip(inst, time_limit=60)
    assert optimal
    optimum = plan_total(inst, Flat(assignment.line, assignment.node, assignment.qty))
    groups = build_groups(inst, 3)  # pruned: the floors must keep the bound valid
    shares = _shares_at_zero(inst, groups)
    found = price_short_skus(inst, groups, shares, time.perf_counter() + 60)
    assert found is not None
    assert shares.sum() < found.bound <= optimum + 1e-6
    short = np.zeros(len(inst.sku_ids), bool)
    short[short_skus(inst)] = True
    assert (found.lam[:, ~short] == 0).all()
    assert (found.lam == found.lam[0]).all()  # one price per SKU, at every node
