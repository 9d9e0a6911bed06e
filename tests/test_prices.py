"""Prices found without an LP (short SKUs, clearing): the bounds they give are exact by
hand on small cases and never above a known optimum."""

from dataclasses import replace

import numpy as np
import pytest

from planner.baselines.mip import solve_mip
from planner.core.instance import build_instance
from planner.optimize.candidates import build_groups
from planner.optimize.prices.clearing import _clearing_regret, clearing_prices
from planner.optimize.prices.scarce import price_short_skus, short_skus
from planner.optimize.pricing.orders import lagrangian_bound, order_shares
from tests.clock import later
from tests.costs import plan_total
from tests.random_batch import random_batch
from tests.tiny import dc, ny_ground_instance


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
    return ny_ground_instance(
        [dc("DC1", "10001", 1.0)],
        [("DC1", "A", 1, 0, 0), ("DC1", "B", 5, 0, 0)],
        [("O1", 1, "A", 1), ("O2", 1, "A", 1), ("O3", 1, "B", 1)],
    )


def test_the_price_of_a_short_sku_lifts_the_bound_to_the_hand_optimum() -> None:
    inst = _one_unit_two_takers()
    assert list(inst.sku_ids[short_skus(inst)]) == ["A"]
    groups = build_groups(inst, inst.n_nodes)
    shares = _shares_at_zero(inst, groups)
    assert shares.sum() == pytest.approx(12.0)
    found = price_short_skus(inst, groups, shares, later(), passes=40)
    assert found is not None and found.orders == 2  # O3 holds no A: not re-priced
    assert list(found.short) == list(short_skus(inst))
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
    assert price_short_skus(inst, groups, _shares_at_zero(inst, groups), later()) is None


def test_short_sku_prices_bound_between_zero_prices_and_the_optimum() -> None:
    inst = build_instance(random_batch(40, 6, 30, seed=2, supply=0.6))
    assert len(short_skus(inst)) > 0
    assignment, _, optimal = solve_mip(inst, time_limit=60)
    assert optimal
    optimum = plan_total(inst, assignment)
    groups = build_groups(inst, 3)  # pruned: the floors must keep the bound valid
    shares = _shares_at_zero(inst, groups)
    found = price_short_skus(inst, groups, shares, later())
    assert found is not None
    assert shares.sum() < found.bound <= optimum + 1e-6
    short = np.zeros(len(inst.sku_ids), bool)
    short[short_skus(inst)] = True
    assert (found.lam[:, ~short] == 0).all()
    assert (found.lam == found.lam[0]).all()  # one price per SKU, at every node


def test_clearing_regret_is_the_regret_of_the_unit_that_clears_the_excess() -> None:
    # Takers of rows 0..3, interleaved: (row, regret per unit, units).
    row = np.array([2, 0, 1, 0, 2, 3, 0, 2])
    regret = np.array([4.0, 3.0, 9.0, 1.0, 0.5, 7.0, 2.0, 6.0])
    qty = np.array([2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 3.0])
    over = np.array([2.0, 0.0, 3.0, 1.0])
    rows, raise_by = _clearing_regret(row, regret, qty, over)
    # Row 0 (regrets 1, 2, 3): two units must leave, the second at regret 2.
    # Row 1: not over-taken. Row 2 (0.5 x1, 4 x2, 6 x3): the third unit to leave is
    # one of the two at regret 4. Row 3: its one taker, at 7.
    assert list(rows) == [0, 2, 3]
    assert list(raise_by) == [2.0, 4.0, 7.0]
    rows, _ = _clearing_regret(row, regret, qty, np.array([-1.0, 0.0, 0.0, -2.0]))
    assert not len(rows)  # nothing over-taken, nothing raised


def test_a_clearing_step_prices_the_contested_unit_at_the_takers_regret() -> None:
    """DC1 and DC2 both in New York; DC2 packs at $4 instead of $1, so each order's
    regret for leaving DC1 is $3. DC1 holds one A, DC2 five; O1 and O2 want one each.
    A package from DC1 costs 4 (see above), from DC2 7: the optimum is 4 + 7 = 11,
    L(0) = 8. One clearing step prices DC1's A at 3 + 0.01: both orders then take DC2
    (7 < 4 + 3.01) and L = 7 + 7 - 3.01 = 10.99. The next pass finds DC1 unused and
    lowers its price (x 0.8), both come back: L = 2 * (4 + 2.408) - 2.408, worse, so
    the second pass's prices stay best."""
    inst = ny_ground_instance(
        [
            dc("DC1", "10001", 1.0),
            dc("DC2", "10001", 4.0),
        ],
        [("DC1", "A", 1, 0, 0), ("DC2", "A", 5, 0, 0)],
        [("O1", 1, "A", 1), ("O2", 1, "A", 1)],
    )
    groups = build_groups(inst, inst.n_nodes)
    zero = np.zeros(inst.avail.shape)
    frozen = np.zeros(len(inst.sku_ids), bool)
    found = clearing_prices(inst, groups, zero, 8.0, frozen, later(), passes=3)
    a = list(inst.sku_ids).index("A")
    assert found.passes == 3 and found.best_pass == 2
    assert found.bound == pytest.approx(10.99)
    assert found.lam[0, a] == pytest.approx(3.01)
    assert found.lam[1, a] == 0.0


def test_clearing_prices_bound_validly_from_the_short_skus_prices() -> None:
    inst = build_instance(random_batch(40, 6, 30, seed=2, supply=0.6))
    assignment, _, optimal = solve_mip(inst, time_limit=60)
    assert optimal
    optimum = plan_total(inst, assignment)
    groups = build_groups(inst, 3)
    shares = _shares_at_zero(inst, groups)
    scarce = price_short_skus(inst, groups, shares, later())
    assert scarce is not None
    frozen = scarce.lam[0] > 0
    found = clearing_prices(inst, groups, scarce.lam, scarce.bound, frozen, later(), passes=6)
    assert found.best_pass > 0  # the clearing improved on the short SKUs' prices
    assert scarce.bound < found.bound <= optimum + 1e-6
    assert (found.lam[:, frozen] == scarce.lam[:, frozen]).all()  # short SKUs untouched
    # The reported bound is L at the reported prices (recomputed with the exact part,
    # which can only raise it).
    again = lagrangian_bound(inst, groups, found.lam, found.mu, 5.0, 3000, 0)
    assert found.bound <= again + 1e-6 <= optimum + 2e-6


def _loose_at_flow_prices(inst):
    """The orders whose three-package floor is below their best one- or two-node choice,
    at the flow's prices: what the exact pricing has to solve."""
    from planner.optimize.prices.flow import flow_prices
    from planner.optimize.pricing.orders import price_groups

    groups = build_groups(inst, inst.n_nodes)
    fp = flow_prices(inst, groups)
    priced = price_groups(inst, groups, fp.lam, fp.mu)
    parts, floors = [], []
    for p in priced:
        sol = p.solution
        rows = np.flatnonzero((sol.bound < sol.value - 1e-9) & (p.group.dropped_bound > sol.bound))
        if len(rows):
            parts.append((p.group, rows))
            floors.append(sol.bound[rows])
    return groups, fp, parts, np.concatenate(floors)


def test_the_lp_relaxation_bounds_loose_orders_between_their_floor_and_their_optimum() -> None:
    # Seed 2: three orders whose floor for three packages is below their best pair. Their
    # LP relaxation (packages fractional) is a lower bound on each one's exact optimum,
    # and here well above the floors (1,883.88 -> 1,911.34; exact 1,914.34).
    from planner.optimize.pricing.exact import relaxed_values, solve_exact

    inst = build_instance(random_batch(40, 6, 30, seed=2, supply=0.6))
    _, fp, parts, floors = _loose_at_flow_prices(inst)
    split = inst.weights.split
    relaxed = np.concatenate(relaxed_values(parts, fp.lam, fp.mu, split))
    exact = solve_exact(parts, fp.lam, fp.mu, split, inst.line_sku, 30)
    assert all(ex.proven for ex in exact)
    optimum = np.concatenate([ex.value for ex in exact])
    assert len(relaxed) == len(optimum) == 3
    assert (relaxed <= optimum + 1e-6).all()
    assert np.maximum(floors, relaxed).sum() == pytest.approx(1911.34, abs=0.01)
    assert floors.sum() == pytest.approx(1883.88, abs=0.01)


def test_when_scip_cannot_prove_in_time_the_bound_takes_the_lp_relaxation(monkeypatch) -> None:
    # SCIP proving nothing (and the three-node enumeration after it giving only the
    # floors): the loose orders' shares come from their LP relaxation, ~$27 above the
    # floors (seed 2, as above) and at most the exact shares.
    from planner.optimize.pricing import orders as pricing

    inst = build_instance(random_batch(40, 6, 30, seed=2, supply=0.6))
    groups, fp, _, _ = _loose_at_flow_prices(inst)
    exact = lagrangian_bound(inst, groups, fp.lam, fp.mu, 30, 3000, 32)
    monkeypatch.setattr(pricing, "solve_group", _no_enumeration(pricing.solve_group))
    floors = lagrangian_bound(inst, groups, fp.lam, fp.mu, 30, 0, 32)  # no exact part
    real_solve_exact = pricing.solve_exact

    def unproven(*args, **kwargs):
        return [replace(ex, proven=False) for ex in real_solve_exact(*args, **kwargs)]

    monkeypatch.setattr(pricing, "solve_exact", unproven)
    relaxed = lagrangian_bound(inst, groups, fp.lam, fp.mu, 30, 3000, 32)
    assert relaxed - floors == pytest.approx(1911.34 - 1883.88, abs=0.02)
    assert relaxed <= exact + 1e-6


def _no_enumeration(solve_group):
    """solve_group, but the three-node enumeration fallback gives only the floors."""

    def solve(*args, tight_bound: bool = False, **kwargs):
        return solve_group(*args, **kwargs)

    return solve
