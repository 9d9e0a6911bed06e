"""The optimizer's knobs, in one place. Each default is the one benchmarks/README.md was
measured with; what it was chosen against is in docs/experiments.md."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Knobs of the method (sizes, shares of the time limit, tolerances)."""

    # Candidates (optimize.candidates): fewer nodes per order price faster; the floor of
    # the dropped ones keeps the bound valid.
    candidates: int = 16  # candidate nodes per single-line order (more for more lines)
    all_nodes_up_to: int = 64  # networks this small keep every node: no pruning ...
    all_pairs_up_to: int = 8_000_000  # ... while orders x nodes^2 (the node pairs pricing
    # enumerates) is at most this: above it pruning makes set-up and rounds faster
    single_line_candidates: int = 40  # candidates of one-line orders on larger networks
    widen_by: int = 16  # nodes added to an order per round when dropped ones look cheaper
    bound_widen_by: int = 32  # nodes added where a dropped node's floor binds the bound
    # First columns and prices found without an LP (optimize.start, optimize.prices):
    initial_singles: int = 3  # single-node columns per order before the first LP
    flow_singles: int = 8  # more of them, at the flow's prices, on batches of at most
    flow_singles_up_to: int = 20_000  # orders (above, the first LP grows too slow)
    priced_singles: int = 2  # single-node columns per order offered each round
    scarce_passes: int = 8  # bisection passes pricing the SKUs the network runs short of
    scarce_share: float = 0.05  # of the time limit, those passes may use
    flow_up_to: int = 200_000  # orders; prices from the per-unit flow up to here, short
    # SKUs and clearing above (the flow no longer fits the limit)
    flow_arcs_per_line: int = 4  # arcs a line may gain when the flow is solved again with
    # those its prices lack
    between_share: float = 0.08  # of the time limit, the probe between the flow's highest
    # and lowest optimal duals may take (before the plan)
    between_up_to: int = 50_000  # orders; the probe runs on batches of at most this many
    clearing_passes: int = 4  # market-clearing passes on over-taken stock rows
    clearing_share: float = 0.2  # of the time limit, those passes may use
    start_share: float = 0.4  # of the time limit, by when the start's pricing passes (L(0),
    # short SKUs, clearing) must end, counted from the budget's start: the first LP and
    # the plan keep the rest on a slow machine too
    zero_least: float = 0.05  # of the time limit, L(0) gets at least from when it starts,
    # past start_share if need be: without it the start's bound is 0 (1M orders: 18 s)
    start_part: int = 50_000  # orders per part of a start pass: the clock is read between
    # parts (prices.parts)
    # Column generation (optimize.column_generation):
    max_rounds: int = 40  # column-generation rounds
    stall: float = 2e-5  # stop when a round improves the LP by less than this (relative)
    stall_gap: float = 2e-4  # ... and the bound is within this of the LP (relative): a
    # stalled LP's duals still move
    search_share: float = 0.7  # of the time limit, column generation may use: its rounds
    # make both the bound and the LP the dive starts from
    small_search_share: float = 0.6  # the same up to simplex_up_to orders
    stretch_share: float = 0.8  # of the time limit, a round may still end at when the last
    stretch_within: float = 0.1  # round's bound came this close to the start's
    bound_beside: bool = True  # above simplex_up_to orders the final bound runs in a
    # forked child while the plan is built (``final_bound.bound_beside``) ...
    bound_beside_up_to: int = 200_000  # ... on batches of at most this many orders (above,
    # the fork of a multi-GiB process costs memory and the bound is the start's anyway)
    min_plan_share: float = 0.15  # of the time limit, the plan keeps at least after the
    # final bound or the probe, which run before it (else they do not run)
    finish_share: float = 0.08  # of the time limit, kept for costing and the plan's overrun
    exact_pricing_up_to: int = 3000  # orders per round the exact pricing MIP may take
    exact_pricing_seconds: float = 5.0
    exact_when_below: float = 0.02  # new columns per order under which exact pricing runs
    simplex_up_to: int = 5000  # orders; larger masters are solved by PDLP (first-order)
    tolerance: float = 1e-6  # reduced cost below -tolerance enters the master
    warm_start: bool = True  # PDLP starts from the last round's LP (later LPs are faster)
    pdlp_tolerance: float = 1e-3  # relative optimality PDLP stops at: its prices need
    # not be exact, the bound is valid at any prices
    pdlp_tolerance_floor: float = 1e-5  # once the LP stalls, each round tightens it 4x
    # down to this
    # The plan (optimize.plan):
    dive_share: float = 0.6  # of the time after column generation, the dive may use
    rescue_share: float = 0.5  # of the time after the dive, rescue may use (it stops early
    # when every order it could help was tried); local search has the rest
    neighbourhood: int = 400  # orders per restricted-master MIP of the neighbourhood search
    neighbourhood_nodes: int = 5000  # SCIP's branch-and-bound nodes per neighbourhood (a
    # work limit; 0: time only)
    improve_passes: int = 2  # local-search passes over the orders, worst first
    exact_up_to: int = 300  # orders; smaller batches finish with the exact MIP
    dive_steps: int = 40  # fix-and-resolve steps at most
    dive_rounds: int = 5  # column-generation rounds on the open orders after each step
    large_dive_rounds: int = 2  # the same above simplex_up_to orders: a round's LP over the
    # thousands the first step leaves open takes ~1 s, and the rounds after the second
    # gain little (10k: a dive of 2 rounds is within $600 of 5 in a third of the time)
    dive_lean: float = 0.2  # of the fractional orders, the most leaning take their column
    repair_rounds: int = 30  # priced-repair rounds on the stock still free
    rescue_nodes: int = 20  # nodes per order whose moves rescue costs exactly
    neighbourhood_least: float = 0.3  # seconds: no neighbourhood is started with less left
    neighbourhood_margin: float = 0.15  # seconds a neighbourhood's SCIP leaves for what follows
    finish_up_to: int = 0  # orders; up to here SCIP solves the whole restricted master
    # beside the plan steps (plan.whole_master) ... Off (0): under the bench lock main
    # reached +0.011 % at 20 s on 1,500-8 without it; 3,000 to try it
    finish_least: float = 6.0  # ... when the plan has at least these seconds (1,500
    # orders: 4.3-5.3 s alone, about twice that beside the plan steps on 2 cores)
    finish_nodes: int = 2000  # SCIP's branch-and-bound nodes for it (a work limit)
    # Time held back by the steps, in units of what they took before:
    first_lp_margin: float = 2.0  # repairs the first LP leaves before the plan's deadline
    dive_margin: float = 1.5  # repairs the dive leaves before its end
    probe_pricings: float = 2.5  # pricings the probe between the flow's duals may take
    held_pricings: float = 2.0  # pricing passes held for a large batch's final bound ...
    held_pricings_small: float = 1.5  # ... and a small one's (widening varies)
    min_exact: float = 0.25  # seconds: a small batch's final bound runs only if its exact
    # part gets this (SCIP proves a small batch's loose orders in about that)
    exact_least: float = 0.5  # seconds the start's exact pricing gets at least ...
    exact_share: float = 0.05  # ... or this share of the limit (up to exact_pricing_seconds)
    borrow_share: float = 0.25  # of the costing margin, the plan may borrow back for the
    # time the final bound took before it
