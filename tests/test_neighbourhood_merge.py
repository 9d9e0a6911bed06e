"""Neighbourhoods solved side by side (planner.optimize.plan.neighbourhood._merge): each
re-solve that gained is kept in order while the merged plan keeps every stock row; one
that would take stock another already took is dropped, never half-applied."""

import numpy as np

from planner.core.instance import build_instance
from planner.core.plan import Plan
from planner.optimize.plan.neighbourhood import Resolved, _merge
from tests.tiny import tiny_batch

DC1, ST1 = 0, 1
O1_B, O3_B = 1, 4  # lines: O1's B, O3's B (one unit each)


def _scopes(inst, *orders: str) -> list[np.ndarray]:
    return [np.flatnonzero(inst.order_ids == o) for o in orders]


def test_two_re_solves_on_different_stock_are_both_kept() -> None:
    inst = build_instance(tiny_batch())
    outs = [
        Resolved(Plan(np.array([O1_B]), np.array([ST1]), np.array([1])), 5.0, "OPTIMAL"),
        Resolved(Plan(np.array([O3_B]), np.array([DC1]), np.array([1])), 3.0, "OPTIMAL"),
    ]
    plan, gained, lost = _merge(inst, Plan.empty(), _scopes(inst, "O1", "O3"), outs)
    assert (gained, lost) == (8.0, 0)
    entries = sorted(zip(plan.line.tolist(), plan.node.tolist(), strict=True))
    assert entries == [(O1_B, ST1), (O3_B, DC1)]


def test_a_re_solve_that_takes_stock_the_one_before_took_is_dropped() -> None:
    inst = build_instance(tiny_batch())  # ST1 holds one B
    outs = [
        Resolved(Plan(np.array([O1_B]), np.array([ST1]), np.array([1])), 5.0, "OPTIMAL"),
        Resolved(Plan(np.array([O3_B]), np.array([ST1]), np.array([1])), 3.0, "OPTIMAL"),
        None,  # a neighbourhood that found nothing (or failed) changes nothing
    ]
    scopes = _scopes(inst, "O1", "O3", "O5")
    plan, gained, lost = _merge(inst, Plan.empty(), scopes, outs)
    assert (gained, lost) == (5.0, 1)
    assert list(zip(plan.line.tolist(), plan.node.tolist(), strict=True)) == [(O1_B, ST1)]
