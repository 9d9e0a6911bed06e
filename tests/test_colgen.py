"""Column generation pieces: columns are costed exactly as the contract says, the
master LP and the Lagrangian bound sit below the proven optimum, and the
dive from the LP returns a plan that keeps every hard rule."""

from dataclasses import replace

import numpy as np
import pytest

from planner import check_plan
from planner.baselines.mip import solve_mip
from planner.core.instance import build_instance
from planner.core.plan import Plan
from planner.core.result import allocation_frames
from planner.optimize.candidates import build_groups, dropped_bound_at
from planner.optimize.column_generation import price
from planner.optimize.columns import Columns, best_singles, columns_from_plan, plan_cost
from planner.optimize.final_bound import bound_fits, final_budget
from planner.optimize.master import SolveOptions, solve_master
from planner.optimize.plan import neighbourhood
from planner.optimize.plan.dive import DiveOptions, dive
from planner.optimize.pricing.orders import price_groups
from planner.optimize.pricing.subproblem import solve_group
from planner.optimize.settings import Settings
from planner.optimize.solver import solve
from planner.optimize.start import initial_columns, keeps_all_nodes
from tests.bounds import bound_at
from tests.clock import later
from tests.costs import plan_total
from tests.random_batch import random_batch


@pytest.fixture(scope="module")
def tight():
    batch = random_batch(40, 6, 30, seed=2, supply=0.6)
    inst = build_instance(batch)
    assignment, _, optimal = solve_mip(inst, time_limit=60)
    assert optimal
    return batch, inst, plan_total(inst, assignment)


def _start(inst):
    """Every node a candidate, the zero-price columns, the empty column's costs."""
    groups = build_groups(inst, inst.n_nodes)
    return groups, initial_columns(inst, groups, Settings())[0], inst.order_unfilled_cost


def test_every_column_costs_what_the_cost_model_says(tight) -> None:
    batch, inst, _ = tight
    groups, pool, empty = _start(inst)
    for p in range(pool.size):
        sel = pool.ent_col == p
        plan = Plan(pool.ent_line[sel], pool.ent_node[sel], pool.ent_qty[sel])
        others = empty.sum() - empty[pool.order[p]]  # every other order left unfilled
        assert plan_total(inst, plan) - others == pytest.approx(pool.cost[p], abs=1e-6)


def test_single_node_columns_never_exceed_the_stock(tight) -> None:
    _, inst, _ = tight
    lam, mu = np.zeros(inst.avail.shape), np.zeros(inst.n_nodes)
    for g in build_groups(inst, inst.n_nodes):
        cols = best_singles(g, lam, mu, 3, inst.weights.split)
        sku = inst.line_sku[cols.ent_line]
        assert (cols.ent_qty <= inst.avail[cols.ent_node, sku]).all()
        # One node per column.
        first = np.searchsorted(cols.ent_col, cols.ent_col)
        assert (cols.ent_node == cols.ent_node[first]).all()


def test_master_lp_and_lagrangian_bound_are_below_the_optimum(tight) -> None:
    _, inst, optimum = tight
    groups, pool, empty = _start(inst)
    settings = Settings()
    scope = np.arange(inst.n_orders)
    for _ in range(30):
        m = solve_master(pool, inst.line_sku, empty, scope, inst.avail, inst.capacity)
        new = price(inst, groups, m.lam, m.mu, m.ref, settings, later(30), exact=True).columns
        if not new.size:
            break
        pool = pool.extend(new)
    assert not new.size  # column generation converged
    bound = bound_at(inst, groups, m.lam, m.mu)
    zero = bound_at(inst, groups, np.zeros(inst.avail.shape), np.zeros(inst.n_nodes))
    # Converged with exact pricing, the Lagrangian bound at the LP's prices is the LP value.
    assert bound == pytest.approx(m.value, rel=1e-6)
    assert zero <= bound <= optimum + 1e-6


def test_pdlp_from_a_warm_start_solves_the_same_master(tight) -> None:
    # PDLP (large batches) starts from the last round's LP: from there, as from
    # nothing, it must reach the master's optimum that GLOP proves, to its tolerance;
    # and from a solution over fewer columns (the next round's case) too.
    _, inst, _ = tight
    groups, pool, empty = _start(inst)
    scope = np.arange(inst.n_orders)
    tight_tol = "termination_criteria { simple_optimality_criteria { " \
        "eps_optimal_absolute: 1e-6 eps_optimal_relative: 1e-6 } }"  # fmt: skip
    exact = solve_master(pool, inst.line_sku, empty, scope, inst.avail, inst.capacity)
    fewer = pool.take(np.arange(pool.size // 2))  # the first half: a round before
    earlier = solve_master(fewer, inst.line_sku, empty, scope, inst.avail, inst.capacity)
    for warm in (None, exact, earlier):
        m = solve_master(
            pool, inst.line_sku, empty, scope, inst.avail, inst.capacity,
            SolveOptions(solver_name="pdlp", params=tight_tol, warm=warm, time_limit=30),
        )  # fmt: skip
        assert m.optimal
        assert m.value == pytest.approx(exact.value, rel=1e-4)


def test_dive_returns_a_plan_that_keeps_every_rule(tight) -> None:
    batch, inst, optimum = tight
    groups, pool, empty = _start(inst)
    settings = Settings()
    m = solve_master(
        pool, inst.line_sku, empty, np.arange(inst.n_orders), inst.avail, inst.capacity
    )

    def reprice(sub, lam, mu, ref):
        return price(inst, sub, lam, mu, ref, settings, later(30)).columns

    plan, open_orders = dive(inst, groups, pool, m, empty, reprice, later(30), DiveOptions())
    assert len(open_orders) == 0
    alloc, unfilled = allocation_frames(inst, plan)
    assert check_plan(batch, alloc, unfilled) == []
    assert plan_total(inst, plan) >= optimum - 1e-6


def test_heuristic_path_alone_is_feasible_and_bounded(tight) -> None:
    batch, inst, optimum = tight
    # No exact finish of any kind: column generation, dive, repair, local search.
    out = solve(inst, 30, Settings(exact_up_to=0, neighbourhood=0))
    total = plan_total(inst, out.plan)
    alloc, unfilled = allocation_frames(inst, out.plan)
    assert check_plan(batch, alloc, unfilled) == []
    assert out.bound <= optimum + 1e-6 <= total + 2e-6


@pytest.mark.parametrize(
    ("flow_up_to", "notes"),
    [(10**6, ["flow prices:"]), (0, ["short SKUs:", "clearing prices:"])],
)
def test_large_batch_path_starts_from_prices_without_an_lp_and_stays_valid(
    tight, flow_up_to, notes
) -> None:
    batch, inst, optimum = tight
    # As if the batch were too large for column generation to converge: prices without
    # an LP first (the per-unit flow's, or short SKUs' and clearing), PDLP for the
    # master, no exact finish.
    settings = Settings(simplex_up_to=10, exact_up_to=0, flow_up_to=flow_up_to)
    out = solve(inst, 30, settings)
    for note in notes:
        assert any(n.startswith(note) for n in out.notes)
    alloc, unfilled = allocation_frames(inst, out.plan)
    assert check_plan(batch, alloc, unfilled) == []
    zero = bound_at(inst, build_groups(inst, inst.n_nodes), *(np.zeros(inst.avail.shape),
                    np.zeros(inst.n_nodes)))  # fmt: skip
    assert zero < out.bound <= optimum + 1e-6 <= plan_total(inst, out.plan) + 2e-6
    # The bound is L at the prices reported with it.
    lam, mu = out.prices
    assert out.bound <= bound_at(inst, build_groups(inst, inst.n_nodes), lam, mu) + 1e-6


def test_a_plan_becomes_columns_that_cost_what_the_cost_model_says(tight) -> None:
    batch, inst, _ = tight
    out = solve(inst, 30, Settings(exact_up_to=0, neighbourhood=0))
    cols = columns_from_plan(inst, out.plan)
    empty = inst.order_unfilled_cost
    served = np.zeros(inst.n_orders, bool)
    served[cols.order] = True
    assert cols.cost.sum() + empty[~served].sum() == pytest.approx(plan_total(inst, out.plan))
    # The optimizer's quick total is that sum: the cost model's total, to the cent.
    assert plan_cost(inst, out.plan) == pytest.approx(plan_total(inst, out.plan), abs=1e-6)
    assert cols.allocations(np.arange(cols.size)).qty.sum() == out.plan.qty.sum()


def _random_prices_and_achievable(inst, seed):
    """Random prices on ~30 % of the stock and every node, and the priced cost of a
    choice each order really has with every node a candidate."""
    rng = np.random.default_rng(seed)
    lam = rng.uniform(0, 40, inst.avail.shape) * (rng.random(inst.avail.shape) < 0.3)
    mu = rng.uniform(0, 5, inst.n_nodes)
    achievable = np.zeros(inst.n_orders)
    for g in build_groups(inst, inst.n_nodes):
        achievable[g.orders] = solve_group(g, lam, mu, inst.weights.split).value
    return lam, mu, achievable


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dropped_node_floor_never_exceeds_what_the_order_can_do(tight, seed) -> None:
    # Pruned to 2 candidates, an order's bound is min(its candidates' optimum, the floor
    # of any choice using a dropped node). At any prices that must stay below the
    # priced cost of a choice the order really has with every node available.
    _, inst, optimum = tight
    lam, mu, achievable = _random_prices_and_achievable(inst, seed)
    split = inst.weights.split
    for g in build_groups(inst, 2):
        g = replace(g, dropped_bound=dropped_bound_at(inst, g, lam, mu))
        bound = solve_group(g, lam, mu, split, tight_bound=True).bound
        assert (bound <= achievable[g.orders] + 1e-6).all()
    full = bound_at(inst, build_groups(inst, inst.n_nodes), lam, mu)
    assert bound_at(inst, build_groups(inst, 2), lam, mu) <= full + 1e-6
    assert full <= optimum + 1e-6


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_widening_where_the_floor_binds_tightens_the_bound_and_keeps_it_valid(tight, seed) -> None:
    # Pruned to 2 candidates at random prices: orders whose dropped-node floor undercuts
    # their candidates' optimum are widened. Each order's share must then lie between
    # the floor-capped share (never looser) and what it can really do with every node.
    _, inst, _ = tight
    lam, mu, achievable = _random_prices_and_achievable(inst, seed)
    split = inst.weights.split
    capped = np.zeros(inst.n_orders)
    for g in build_groups(inst, 2):
        capped[g.orders] = solve_group(
            replace(g, dropped_bound=dropped_bound_at(inst, g, lam, mu)), lam, mu, split
        ).bound
    widened = np.full(inst.n_orders, np.nan)
    parts = price_groups(inst, build_groups(inst, 2), lam, mu)
    for p in parts:
        widened[p.group.orders] = p.bound
    assert not np.isnan(widened).any()  # every order priced once
    assert (widened >= capped - 1e-6).all()
    assert (widened <= achievable + 1e-6).all()
    assert (widened > capped + 1e-6).any()  # the test can fail: widening changed something
    assert any(p.group.cand.shape[1] > 2 for p in parts)


def test_neighbourhood_resolve_keeps_every_rule_and_gains_what_it_says(tight) -> None:
    batch, inst, optimum = tight
    groups, pool, empty = _start(inst)
    # A plan from one round of column generation: room to improve over its columns.
    # (Zero prices to start from: the flow's columns leave this one no room.)
    settings = Settings(exact_up_to=0, neighbourhood=0, max_rounds=1, flow_up_to=0, finish_up_to=0)
    start = solve(inst, 30, settings)
    m = solve_master(
        pool, inst.line_sku, empty, np.arange(inst.n_orders), inst.avail, inst.capacity
    )
    seeds = neighbourhood.seed_order(inst, pool, m, start.plan, empty)
    assert sorted(seeds.tolist()) == list(range(inst.n_orders))  # every order once
    scope = neighbourhood.around(inst, pool, start.plan, seeds[:3], 12)
    assert set(seeds[:3].tolist()) <= set(scope.tolist()) and len(scope) <= 12
    more = pool.extend(columns_from_plan(inst, start.plan))
    whole = neighbourhood.resolve(inst, more, start.plan, empty, np.arange(inst.n_orders), 30)
    assert whole is not None
    for out in (neighbourhood.resolve(inst, pool, start.plan, empty, scope, 30), whole):
        assert out is not None and out.gain >= 0
        alloc, unfilled = allocation_frames(inst, out.plan)
        assert check_plan(batch, alloc, unfilled) == []
        assert plan_total(inst, out.plan) == pytest.approx(
            plan_total(inst, start.plan) - out.gain, abs=1e-6
        )
        assert plan_total(inst, out.plan) >= optimum - 1e-6
    assert whole.gain > 0  # the starting plan was not the best its columns allow


def test_fresh_columns_are_those_not_known_each_once() -> None:
    def cols(order, cost, line):
        """One entry per column: one unit of ``line`` from node 0."""
        n = len(order)
        col = np.arange(n)
        return Columns(
            np.array(order), np.array(cost, float), col, np.array(line), col * 0, col * 0 + 1
        )

    known = cols([0, 1], [5.0, 7.0], [10, 11])
    offered = cols([0, 0, 1, 1, 2], [5.0, 6.0, 7.0000000001, 8.0, 6.0], [10, 10, 11, 11, 12])
    fresh = offered.fresh(known)
    # (0, 5, line 10) and (1, 7 to the micro-dollar, line 11) are known; the rest are new.
    assert list(zip(fresh.order, fresh.cost, strict=True)) == [(0, 6.0), (1, 8.0), (2, 6.0)]
    assert list(fresh.ent_col) == [0, 1, 2]  # renumbered, entries kept with their column
    assert list(fresh.ent_line) == [10, 11, 12]
    assert offered.extend(offered).fresh(known).size == 3  # each once
    tie = cols([3, 3], [1.0, 1.0], [13, 14])  # same order and cost, other lines: both kept
    assert tie.fresh(Columns.empty()).size == 2


def test_concat_is_extending_part_after_part() -> None:
    def cols(order, line):
        col = np.arange(len(order))
        return Columns(np.array(order), col * 1.0, col, np.array(line), col * 0, col * 0 + 1)

    parts = [cols([0, 1], [5, 6]), Columns.empty(), cols([2], [7]), cols([3, 4], [8, 9])]
    joined = Columns.concat(parts)
    chained = parts[0].extend(parts[1]).extend(parts[2]).extend(parts[3])
    assert list(joined.ent_col) == [0, 1, 2, 3, 4] == list(chained.ent_col)
    assert list(joined.order) == [0, 1, 2, 3, 4] and list(joined.ent_line) == [5, 6, 7, 8, 9]
    assert Columns.concat([]).size == 0


def test_the_probe_runs_only_while_the_plan_keeps_enough_time() -> None:
    # Plan deadline 9.25 s (binary-exact stand-ins for a 10 s limit), the plan must keep
    # 1.5 s, the probe needs 0.75 s:
    # rounds ending at 6.5 s leave the plan 2 s after it (it runs); ending at 7.75 s
    # they would leave 0.75 s (it does not).
    assert bound_fits(6.5, 9.25, 0.75, 1.5)
    assert not bound_fits(7.75, 9.25, 0.75, 1.5)
    assert bound_fits(7.0, 9.25, 0.75, 1.5)  # exactly 1.5 s left: it runs


def test_a_small_batchs_final_bound_gets_what_leaves_the_plan_its_share() -> None:
    S = Settings()
    # Deadline 4.6 s, the plan keeps 0.75 s, a pricing pass took 0.2 s, budget 0.5 s.
    # Small batch (trim): 1.5 passes are kept for the pricing, the exact part gets the rest.
    assert final_budget(2.5, 4.6, 0.2, 0.5, 0.75, trim=True, settings=S) == 0.5  # all of it fits
    assert final_budget(3.25, 4.6, 0.2, 0.5, 0.75, trim=True, settings=S) == pytest.approx(
        0.3
    )  # cut
    assert final_budget(3.5, 4.6, 0.2, 0.5, 0.75, trim=True, settings=S) == 0.0  # 0.05 s: not run
    # Large batch: two passes and the whole budget (0.9 s) must fit before the plan's 0.75 s.
    assert final_budget(2.5, 4.6, 0.2, 0.5, 0.75, trim=False, settings=S) == 0.5  # 2.1 s left
    assert final_budget(3.0, 4.6, 0.2, 0.5, 0.75, trim=False, settings=S) == 0.0  # 1.6 s left
    assert final_budget(3.0, 4.6, 0.2, 0.5, 0.75, trim=True, settings=S) == 0.5  # a small one runs


def test_small_networks_keep_every_node_while_pricing_every_pair_stays_cheap() -> None:
    s = Settings()  # at most 64 nodes and 8M order x node-pair products
    assert keeps_all_nodes(1_500, 45, s)  # 3.0M
    assert keeps_all_nodes(2_200, 54, s)  # 6.4M
    assert not keeps_all_nodes(3_000, 62, s)  # 11.5M: pruned
    assert not keeps_all_nodes(100, 65, s)  # more than 64 nodes: pruned however few orders
