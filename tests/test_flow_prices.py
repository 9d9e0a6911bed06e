"""Prices from the per-unit min-cost flow: its duals by hand on small cases, and the
Lagrangian bound they give between the flow's optimum and the proven optimum."""

from dataclasses import replace

import numpy as np
import pytest

from planner.baselines.mip import solve_mip
from planner.core.group import Group
from planner.core.instance import Instance, build_instance
from planner.core.plan import Plan
from planner.optimize.candidates import build_groups
from planner.optimize.columns import columns_from_plan, keeping_rules
from planner.optimize.prices import flow as flow_prices_module
from planner.optimize.prices.flow import (
    FlowPrices,
    _candidate_arcs,
    _halves,
    _solve,
    between,
    flow_prices,
    with_cheaper_arcs,
)
from planner.optimize.pricing.orders import bound_of, price_groups
from planner.optimize.settings import Settings
from planner.optimize.solver import solve
from planner.optimize.start import _prices_from_flow, begin, best_between
from tests.bounds import bound_at
from tests.clock import budget
from tests.costs import plan_total
from tests.random_batch import random_batch
from tests.tiny import dc, ny_ground_instance, tiny_batch


def _between(fp: FlowPrices, t: float) -> tuple[np.ndarray, np.ndarray]:
    return between((fp.lam, fp.mu), (fp.low_lam, fp.low_mu), t)


def _proven_optimum(inst: Instance) -> float:
    assignment, _, optimal = solve_mip(inst, time_limit=60)
    assert optimal
    return plan_total(inst, assignment)


def _until_none_lacking(
    inst: Instance, groups: list[Group], fp: FlowPrices
) -> tuple[FlowPrices, int]:
    """The flow with every arc its prices lack, and how many solves that took."""
    rounds = 0
    while (more := with_cheaper_arcs(inst, groups, fp, per_line=4)) is not None:
        fp, rounds = more, rounds + 1
        assert rounds <= 5
    return fp, rounds


def test_a_unit_two_orders_want_is_priced_at_what_the_loser_pays_unfilled() -> None:
    # DC1 holds one A and five B; O1 and O2 want one A each, O3 one B. A package costs
    # 2 + 0.5 + 1 + 0.5 = 4. The flow serves one A (4), leaves one unfilled (100 + 10)
    # and ships B (4): 118. One more A would save 110 - 4 = 106: A's price.
    inst = ny_ground_instance(
        [dc("DC1", "10001", 1.0)],
        [("DC1", "A", 1, 0, 0), ("DC1", "B", 5, 0, 0)],
        [("O1", 1, "A", 1), ("O2", 1, "A", 1), ("O3", 1, "B", 1)],
    )
    groups = build_groups(inst, inst.n_nodes)
    fp = flow_prices(inst, groups)
    a, b = list(inst.sku_ids).index("A"), list(inst.sku_ids).index("B")
    assert fp.value == pytest.approx(118.0)
    assert fp.lam[0, a] == pytest.approx(106.0)
    assert fp.lam[0, b] == 0.0
    assert (fp.mu == 0).all()
    # At these prices the Lagrangian bound is the optimum itself.
    assert bound_at(inst, groups, fp.lam, fp.mu) == pytest.approx(118.0)


def test_a_full_node_is_priced_at_what_the_next_node_costs_more() -> None:
    # DC1 can pick one unit, DC2 (Philadelphia, also zone 2) packs for 3 instead of 1:
    # its package costs 6 against DC1's 4. Two orders for A: one each, 10 in all, and
    # DC1's capacity is worth 6 - 4 = 2 a unit; stock is plentiful, so unpriced.
    inst = ny_ground_instance(
        [
            dc("DC1", "10001", 1.0, capacity=1),
            dc("DC2", "19103", 3.0),
        ],
        [("DC1", "A", 5, 0, 0), ("DC2", "A", 5, 0, 0)],
        [("O1", 1, "A", 1), ("O2", 1, "A", 1)],
    )
    groups = build_groups(inst, inst.n_nodes)
    fp = flow_prices(inst, groups)
    assert fp.value == pytest.approx(10.0)
    assert list(fp.mu) == pytest.approx([2.0, 0.0])
    assert (fp.lam == 0).all()
    assert bound_at(inst, groups, fp.lam, fp.mu) == pytest.approx(10.0)


def test_a_pruned_line_keeps_an_arc_to_its_cheapest_dropped_node() -> None:
    # DC1 has one A for two orders; DC2 (Philadelphia, zone 2, packs for 3) has plenty
    # but is pruned away (one candidate each). The flow still sends the second order
    # there (6), so DC1's A is worth 6 - 4 = 2, not the 106 an unfilled unit would say.
    inst = ny_ground_instance(
        [
            dc("DC1", "10001", 1.0),
            dc("DC2", "19103", 3.0),
        ],
        [("DC1", "A", 1, 0, 0), ("DC2", "A", 5, 0, 0)],
        [("O1", 1, "A", 1), ("O2", 1, "A", 1)],
    )
    groups = build_groups(inst, 1)
    assert all(g.cand.shape[1] == 1 for g in groups)
    fp = flow_prices(inst, groups)
    a = list(inst.sku_ids).index("A")
    assert fp.value == pytest.approx(10.0)
    assert fp.lam[0, a] == pytest.approx(2.0)
    assert fp.lam[1, a] == 0.0
    assert bound_at(inst, groups, fp.lam, fp.mu) == pytest.approx(10.0)


def test_a_unit_pays_the_package_shared_only_with_units_its_node_can_carry() -> None:
    # O1 wants one A and one B; DC1 (package 2 + 1 fixed, 0.5 + 0.5 a unit) holds only A,
    # DC2 (Philadelphia, packs for 3) only B. A package from either carries one unit, so
    # each unit pays its node's whole fixed cost: A 1 + 3, B 1 + 5 = 10 (charged F / 2,
    # the order's units, it was 6). The plan costs 4 + 6 + a split of 2 = 12.
    inst = ny_ground_instance(
        [
            dc("DC1", "10001", 1.0),
            dc("DC2", "19103", 3.0),
        ],
        [("DC1", "A", 5, 0, 0), ("DC2", "B", 5, 0, 0)],
        [("O1", 1, "A", 1), ("O1", 2, "B", 1)],
    )
    groups = build_groups(inst, inst.n_nodes)
    fp = flow_prices(inst, groups)
    assert fp.value == pytest.approx(10.0)
    assert bound_at(inst, groups, fp.lam, fp.mu) == pytest.approx(12.0)


def test_the_lowest_duals_price_units_at_what_the_dearest_served_unit_costs_more() -> None:
    # DC1, DC2, DC3 (zone 2, packing for 1, 3, 5): one A each at 4, 6 and 8; three
    # orders want one A, all candidates. Every unit is served (18). The highest duals
    # price each A at what it saves unfilled (110 - 4, - 6, - 8); the lowest at what the
    # dearest served unit costs more (8 - 4, 8 - 6, 0). L is the optimum at both ends and
    # halfway.
    inst, _ = _three_dcs_one_a_each()
    groups = build_groups(inst, inst.n_nodes)
    fp = flow_prices(inst, groups)
    a = list(inst.sku_ids).index("A")
    assert fp.value == pytest.approx(18.0)
    assert list(fp.lam[:, a]) == pytest.approx([106.0, 104.0, 102.0])
    assert list(fp.low_lam[:, a]) == pytest.approx([4.0, 2.0, 0.0])
    assert (fp.low_mu == 0).all()
    assert list(_between(fp, 0.5)[0][:, a]) == pytest.approx([55.0, 53.0, 51.0])
    for t in (0.0, 0.5, 1.0):
        assert bound_at(inst, groups, *_between(fp, t)) == pytest.approx(18.0)


@pytest.mark.parametrize("seed", [2, 5])
def test_every_dual_between_the_lowest_and_highest_bounds_between_flow_and_optimum(seed) -> None:
    # With every node a candidate the flow is a relaxation (each unit pays its share of
    # the package), and L at any of its optimal duals is at least the flow's optimum
    # (each order's real cost is at least its units' shares), at most the proven optimum,
    # and above L(0). Halfway bounds best on these batches (seed 2: 6,702.86 at the
    # highest, 6,707.51 halfway, 6,705.80 at the lowest).
    inst = build_instance(random_batch(40, 6, 30, seed=seed, supply=0.6))
    optimum = _proven_optimum(inst)
    groups = build_groups(inst, inst.n_nodes)
    fp = flow_prices(inst, groups)
    cents = 0.005 * inst.line_qty.sum()
    assert (np.abs(fp.low_lam - fp.lam) > 1e-9).any()
    assert fp.value <= optimum + cents
    at = {t: bound_at(inst, groups, *_between(fp, t)) for t in (0.0, 0.5, 1.0)}
    zero = bound_at(inst, groups, np.zeros(inst.avail.shape), np.zeros(inst.n_nodes))
    for value in at.values():
        assert max(fp.value - cents, zero) < value <= optimum + 1e-6
    assert (fp.lam > 0).any()  # stock is short: the test prices something
    assert at[0.5] > max(at[0.0], at[1.0])
    # The start keeps the highest duals (its first columns are made there); the end of
    # a run whose rounds never beat them looks between.
    start = begin(inst, Settings(), budget(60.0), [])
    assert start.bound == pytest.approx(
        bound_of(inst, price_groups(inst, groups, fp.lam, fp.mu), fp.lam, fp.mu)
    )
    notes: list[str] = []
    bound, lam, _ = best_between(inst, start, Settings().bound_widen_by, budget(), notes)
    assert start.bound < bound <= at[0.5] + 1e-6
    assert np.allclose(lam, _between(fp, 0.5)[0])
    assert "0.50 of the way up" in notes[0]


def _per_unit_dual(inst: Instance, fp: FlowPrices, lam: np.ndarray, mu: np.ndarray) -> float:
    """The flow's dual objective at (lam, mu): each line fills its units from its arcs
    (each at most its capacity, min(qty, stock)), cheapest priced first, the rest
    unfilled; minus what the prices charge for the supply."""
    assert fp.graph is not None
    arcs, n_skus = fp.graph, inst.avail.shape[1]
    priced = arcs.cost / 100 + lam.ravel()[arcs.row] + mu[arcs.row // n_skus]
    total = 0.0
    for line in range(inst.n_lines):
        left, unfilled = int(inst.line_qty[line]), float(inst.unfilled_unit_cost[line])
        mine = np.flatnonzero(arcs.line == line)
        for a in mine[np.argsort(priced[mine], kind="stable")]:
            if priced[a] >= unfilled or not left:
                break
            take = min(left, int(arcs.cap[a]))
            total, left = total + take * priced[a], left - take
        total += left * unfilled
    return total - float((lam * inst.avail).sum()) - float((mu * inst.capacity).sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_point_between_is_an_optimal_dual_where_capacity_binds(seed) -> None:
    # Node capacity cut to 30 %: the flow's dual objective at the lowest, the highest and
    # points between is the flow's own optimum (LP duality), to the cent.
    inst = build_instance(random_batch(25, 4, 10, seed=seed, supply=1.0))
    inst = replace(inst, capacity=np.floor(inst.capacity * 0.3).astype(np.int64))
    fp = flow_prices(inst, build_groups(inst, inst.n_nodes))
    assert (fp.low_mu > 0).any()  # capacity binds even at the lowest
    for t in (0.0, 0.25, 0.5, 1.0):
        assert _per_unit_dual(inst, fp, *_between(fp, t)) == pytest.approx(fp.value, abs=1e-6)
    assert np.array_equal(_between(fp, 0.0)[0], fp.low_lam)
    assert np.array_equal(_between(fp, 0.0)[1], fp.low_mu)
    assert np.array_equal(_between(fp, 1.0)[1], fp.mu)


def test_a_node_without_capacity_is_priced_above_any_unit() -> None:
    # DC1 (4 a package) holds A but may pick nothing; DC2 (6) holds five. One order for
    # one A: the flow ships it from DC2 (6). DC1 has no residual path to the sink: the
    # highest potentials price it at the dearest unfilled unit (110), so L is 6 and not
    # the 4 of DC1 unpriced; the lowest price it at what it would save, 6 - 4.
    inst = ny_ground_instance(
        [dc("DC1", "10001", 1.0, capacity=0), dc("DC2", "19103", 3.0)],
        [("DC1", "A", 5, 0, 0), ("DC2", "A", 5, 0, 0)],
        [("O1", 1, "A", 1)],
    )
    groups = build_groups(inst, inst.n_nodes)
    fp = flow_prices(inst, groups)
    assert fp.value == pytest.approx(6.0)
    assert list(fp.mu) == pytest.approx([110.0, 0.0])
    assert list(fp.low_mu) == pytest.approx([2.0, 0.0])
    for t in (0.0, 0.5, 1.0):
        assert bound_at(inst, groups, *_between(fp, t)) == pytest.approx(6.0)


def test_the_halves_duals_at_their_lowest_are_each_halfs(monkeypatch) -> None:
    inst = build_instance(random_batch(40, 6, 30, seed=2, supply=0.6))
    groups = build_groups(inst, inst.n_nodes)
    monkeypatch.setattr(flow_prices_module, "SPLIT_FROM", 0)
    halves = flow_prices(inst, groups)
    assert halves.graph is not None
    (a, cap_a), (b, cap_b) = _halves(inst, halves.graph)
    first, second = _solve(inst, a, cap_a), _solve(inst, b, cap_b)
    assert np.array_equal(halves.low_lam, first.low_lam + second.low_lam)  # disjoint rows
    assert np.array_equal(halves.low_mu, np.maximum(first.low_mu, second.low_mu))
    assert (first.low_lam > 0).any() and (second.low_lam > 0).any()


def test_the_probe_goes_on_to_the_lowest_when_halfway_gains() -> None:
    inst = build_instance(random_batch(40, 6, 30, seed=3, supply=0.6))
    start = begin(inst, Settings(), budget(60.0), [])
    assert start.low is not None
    notes: list[str] = []
    bound, lam, mu = best_between(inst, start, Settings().bound_widen_by, budget(), notes)
    assert "0.00 of the way up" in notes[0]
    assert np.allclose(lam, start.low[0]) and np.allclose(mu, start.low[1])
    assert bound > start.bound


def test_a_run_whose_rounds_never_beat_the_flow_returns_the_probes_bound_and_prices() -> None:
    # No rounds, and no exact MIP at the end to overwrite the bound: it is the probe's,
    # and pricing every order at the prices the run returns gives it again.
    inst = build_instance(random_batch(40, 6, 30, seed=2, supply=0.6))
    settings = Settings(max_rounds=0, exact_up_to=0)
    start = begin(inst, settings, budget(60.0), [])
    out = solve(inst, 60.0, settings)
    assert any("between the flow's highest and lowest" in n for n in out.notes)
    assert out.bound > start.bound + 1e-6
    assert out.prices is not None
    lam, mu = out.prices
    priced = price_groups(inst, start.groups, lam, mu, settings.bound_widen_by)
    assert bound_of(inst, priced, lam, mu) == pytest.approx(out.bound)
    assert out.bound <= plan_total(inst, out.plan) + 1e-6


def test_the_start_keeps_no_lowest_duals_when_zero_prices_bound_better() -> None:
    # DC1 the only candidate, no arcs generated: L at the flow's prices falls below L(0)
    # (see the next tests' three DCs), so the start's prices are zero and have no segment.
    settings = Settings(
        all_nodes_up_to=1, candidates=1, single_line_candidates=1, flow_arcs_per_line=0
    )
    inst, _ = _three_dcs_one_a_each()
    start = begin(inst, settings, budget(60.0), [])
    assert start.low is None
    assert not start.lam.any() and not start.mu.any()


def _three_dcs_one_a_each() -> tuple[Instance, list[Group]]:
    # DC1 (New York, packs for 1), DC2 (Philadelphia, 3) and DC3 (Newark, 5), all zone 2:
    # a package of one A costs 4, 6 and 8. One A at each; three orders want one A.
    inst = ny_ground_instance(
        [dc("DC1", "10001", 1.0), dc("DC2", "19103", 3.0), dc("DC3", "07102", 5.0)],
        [("DC1", "A", 1, 0, 0), ("DC2", "A", 1, 0, 0), ("DC3", "A", 1, 0, 0)],
        [("O1", 1, "A", 1), ("O2", 1, "A", 1), ("O3", 1, "A", 1)],
    )
    groups = build_groups(inst, 1)  # DC1 the only candidate, DC2 the escape arc
    return inst, groups


def test_arcs_the_flows_prices_lack_are_added_and_the_flow_solved_again() -> None:
    inst, groups = _three_dcs_one_a_each()
    a = list(inst.sku_ids).index("A")
    # The flow sees DC1 and DC2 only: 4 + 6 + one unfilled (100 + 10) = 120, and prices
    # DC1's A at 110 - 4 = 106, DC2's at 104. The orders see DC3 unpriced at 8, so L
    # there (3 * 8 - 106 - 104) is far below the optimum 4 + 6 + 8 = 18.
    fp = flow_prices(inst, groups)
    assert fp.value == pytest.approx(120.0)
    assert list(fp.lam[:, a]) == pytest.approx([106.0, 104.0, 0.0])
    assert bound_at(inst, groups, fp.lam, fp.mu) < 0
    # DC3 at 8 undercuts the 110 a unit is worth to the flow: each line gets the arc.
    again = with_cheaper_arcs(inst, groups, fp, per_line=4)
    assert again is not None
    assert again.arcs == fp.arcs + 3
    assert again.value == pytest.approx(18.0)
    # Every unit is served now, each worth the 110 it saves unfilled: 106, 104, 102.
    assert list(again.lam[:, a]) == pytest.approx([106.0, 104.0, 102.0])
    assert bound_at(inst, groups, again.lam, again.mu) == pytest.approx(18.0)
    # Its prices are feasible over every node: nothing more to add.
    assert with_cheaper_arcs(inst, groups, again, per_line=4) is None


@pytest.mark.parametrize(("seed", "below_before"), [(2, False), (4, True)])
def test_once_no_arc_is_lacking_the_bound_is_at_least_the_flow(seed, below_before) -> None:
    # Two candidates per order on six nodes: the flow misses nodes. When the arcs its
    # prices lack are all in, its duals are feasible over every node, so L at them is at
    # least its value, and at most the proven optimum (on seed 4 L fell below it before).
    inst = build_instance(random_batch(40, 6, 30, seed=seed, supply=0.6))
    optimum = _proven_optimum(inst)
    groups = build_groups(inst, 2, 2)
    fp = flow_prices(inst, groups)
    cents = 0.005 * inst.line_qty.sum()
    assert (bound_at(inst, groups, fp.lam, fp.mu) < fp.value - cents) == below_before
    fp, rounds = _until_none_lacking(inst, groups, fp)
    assert rounds >= 1
    assert fp.value - cents <= bound_at(inst, groups, fp.lam, fp.mu) <= optimum + 1e-6


@pytest.mark.parametrize("seed", [1, 2])
def test_with_binding_node_capacity_the_generated_flow_still_bounds(seed) -> None:
    # One candidate per order, node capacities cut to 7-20 units for 60 orders: the
    # flow prices capacity, and L at the first flow's prices falls below its value. With
    # every lacking arc added, L is again between the flow's value and the optimum.
    inst = build_instance(random_batch(60, 12, 30, seed=seed, supply=0.6))
    tight = np.maximum(1, (0.5 * np.minimum(inst.capacity, 40)).astype(np.int64))
    inst = replace(inst, capacity=tight)
    optimum = _proven_optimum(inst)
    groups = build_groups(inst, 1, 1)
    fp = flow_prices(inst, groups)
    cents = 0.005 * inst.line_qty.sum()
    first = bound_at(inst, groups, fp.lam, fp.mu)
    assert first < fp.value - cents
    fp, _ = _until_none_lacking(inst, groups, fp)
    assert (fp.mu > 0).any()  # capacity binds and is priced
    bound = bound_at(inst, groups, fp.lam, fp.mu)
    assert first < bound
    assert fp.value - cents <= bound <= optimum + 1e-6


def test_a_split_flow_gains_arcs_from_both_halves(monkeypatch) -> None:
    # The flow split in two processes: each half prices its own lines (a line's worth is
    # its own half's, not the unfilled cost the other half knows it by), so both halves'
    # lines gain arcs, and L at the re-solved halves' prices is still a bound.
    inst = build_instance(random_batch(40, 6, 30, seed=8, supply=0.6))
    optimum = _proven_optimum(inst)
    groups = build_groups(inst, 2, 2)
    monkeypatch.setattr(flow_prices_module, "SPLIT_FROM", 0)
    fp = flow_prices(inst, groups)
    assert (fp.line_price <= inst.unfilled_unit_cost + 1e-9).all()
    assert (fp.line_price < inst.unfilled_unit_cost - 1e-9).any()
    again = with_cheaper_arcs(inst, groups, fp, per_line=4)
    assert again is not None and again.graph is not None
    n_skus = inst.avail.shape[1]
    gained = again.graph.row[fp.arcs :] % n_skus
    cut = np.cumsum(np.bincount(fp.graph.row % n_skus, minlength=n_skus))
    assert (cut[gained] <= cut[-1] / 2).any() and (cut[gained] > cut[-1] / 2).any()
    assert bound_at(inst, groups, again.lam, again.mu) <= optimum + 1e-6


def test_the_start_solves_the_flow_again_when_its_bound_falls_below_the_flow() -> None:
    inst, groups = _three_dcs_one_a_each()
    notes: list[str] = []
    found = _prices_from_flow(inst, groups, np.zeros(inst.n_orders), Settings(), budget(), notes)
    assert found.bound == pytest.approx(18.0)
    assert found.flow_value == pytest.approx(18.0)
    assert any("arcs its prices lacked" in n for n in notes)
    off = _prices_from_flow(
        inst, groups, np.zeros(inst.n_orders), Settings(flow_arcs_per_line=0), budget(), []
    )
    assert off.flow_value == pytest.approx(120.0)


def test_a_flow_split_in_two_processes_still_prices_a_valid_bound(monkeypatch) -> None:
    # Large flows are solved as two halves of the SKUs, one in a forked process, with
    # each node's capacity shared between them. Their prices are not the whole flow's,
    # but L there is still a bound: between L(0) and the proven optimum.
    inst = build_instance(random_batch(40, 6, 30, seed=2, supply=0.6))
    optimum = _proven_optimum(inst)
    groups = build_groups(inst, inst.n_nodes)
    whole = flow_prices(inst, groups)
    monkeypatch.setattr(flow_prices_module, "SPLIT_FROM", 0)
    halves = flow_prices(inst, groups)
    assert halves.arcs == whole.arcs
    # Each half sees less capacity: its flow costs at least the whole one.
    assert halves.value >= whole.value - 1e-6
    # Both halves price rows (the SKUs split between them).
    skus = np.flatnonzero((halves.lam > 0).any(axis=0))
    cut = np.cumsum(np.bincount(_candidate_arcs(inst, groups).row % inst.avail.shape[1]))
    assert (cut[skus] <= cut[-1] / 2).any() and (cut[skus] > cut[-1] / 2).any()
    zero = bound_at(inst, groups, np.zeros(inst.avail.shape), np.zeros(inst.n_nodes))
    for t in (0.0, 1.0):  # the halves' lowest duals as well as their highest
        assert zero < bound_at(inst, groups, *_between(halves, t)) <= optimum + 1e-6


def test_the_flows_allocation_joins_the_columns_only_where_it_keeps_the_order_rules() -> None:
    # Tiny batch (tests/tiny.py): O1 two lines, O3 at most two packages, O5 ship-complete.
    inst = build_instance(tiny_batch())
    dc1, st1 = 0, 1
    # O1 from two nodes (no limit), O3 one line only (one package), O5 split over two nodes.
    split = Plan(np.array([0, 1, 3, 6, 7]), np.array([dc1, st1, dc1, dc1, st1]),
                 np.array([2, 1, 1, 1, 1]))  # fmt: skip
    kept = keeping_rules(inst, columns_from_plan(inst, split))
    assert sorted(inst.order_ids[kept.order]) == ["O1", "O3"]
    # O5 from one node but only one of its lines: not ship-complete either.
    partial = Plan(np.array([6]), np.array([dc1]), np.array([1]))
    assert keeping_rules(inst, columns_from_plan(inst, partial)).size == 0
    whole = Plan(np.array([6, 7]), np.array([dc1, dc1]), np.array([1, 1]))
    assert list(inst.order_ids[keeping_rules(inst, columns_from_plan(inst, whole)).order]) == [
        "O5"
    ]
