"""The optimizer's knobs, in one place: every default is what benchmarks/README.md measured."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Knobs of the method; the defaults are what benchmarks/README.md measured."""

    candidates: int = 16  # candidate nodes per single-line order (more for more lines)
    all_nodes_up_to: int = 64  # networks this small keep every node: no pruning ...
    all_pairs_up_to: int = 8_000_000  # ... while orders x nodes^2 (the node pairs pricing
    # enumerates) is at most this. At 5 s, pruned against not: 3,000 orders on 62 nodes
    # (11.5M) gap 2.7 % -> 0.99 % (seed 8: 1.27 % -> 0.78 %), 2,600 on 58 (8.7M) 1.58-1.95 %
    # -> 0.97 %: unpruned, set-up takes 1.2 s and a round 0.55 s (pruned 0.34 s, 0.43 s). At
    # or below 6.4M it is a wash or worse: 2,200 on 54 nodes 0.95 % -> 1.40 % (the plan $265
    # dearer), 2,000 on 52 0.60 % -> 0.58 %, 1,500 on 45 0.78 % -> 0.81 % and 0.34 % -> 0.34 %
    single_line_candidates: int = 40  # candidates of one-line orders on larger networks
    widen_by: int = 16  # nodes added to an order per round when dropped ones look cheaper
    bound_widen_by: int = 32  # nodes added where a dropped node's floor binds the bound
    initial_singles: int = 3  # single-node columns per order before the first LP
    flow_singles: int = 8  # more of them, at the flow's prices, on batches of at most
    flow_singles_up_to: int = 20_000  # orders
    priced_singles: int = 2  # single-node columns per order offered each round
    scarce_passes: int = 8  # bisection passes pricing the SKUs the network runs short of
    scarce_share: float = 0.05  # of the time limit, those passes may use
    flow_up_to: int = 200_000  # orders; prices from the per-unit flow (planner.flow_prices),
    # above: short SKUs and clearing. 100k: L $1.769M in 12 s (clearing $1.701M in 12 s).
    # 1M: the flow and its second solve (below) bound $16.59M (clearing $15.56M) but take
    # 420-530 s on 2 cores, and the first LP then does not fit in 15 minutes (plan $19.41M
    # instead of $17.72M)
    flow_arcs_per_line: int = 4  # arcs a line may gain when the flow is solved again with
    # those its prices lack (1M: 436,428 arcs, L $10.17M -> $16.59M)
    between_share: float = 0.08  # of the time limit, two more pricings between the flow's
    # highest and lowest optimal duals may take (before the plan) in a run whose rounds never
    # beat the flow's prices (10k seed 8: L $184.7k -> $186.6k in 0.5 s; at 100k, 60 s,
    # they would take ~6 s for +0.02 %)
    between_up_to: int = 50_000  # orders; the probe runs on batches of at most this many
    # (100k: halfway loses; when it fit, it took ~6 s of the plan's time for nothing)
    clearing_passes: int = 4  # market-clearing passes on over-taken stock rows
    clearing_share: float = 0.2  # of the time limit, those passes may use (100k: 4 in 8.7 s)
    max_rounds: int = 40  # column-generation rounds
    stall: float = 2e-5  # stop when a round improves the LP by less than this (relative)
    stall_gap: float = 2e-4  # ... and the bound is within this of the LP (relative): a
    # stalled LP's duals still move (1,500 orders at 60 s: LP $39,951 for two rounds,
    # bound $39,777 when it stopped)
    search_share: float = 0.7  # of the time limit, column generation may use: its rounds
    # make both the bound and the LP the dive starts from (10,000 orders at 10 s: 0.4 ->
    # 2 rounds, bound $168k, plan $192.9k; 0.7 -> 4 rounds, $181.5k, $190.6k)
    small_search_share: float = 0.6  # the same up to simplex_up_to orders (1,500 at 5 s:
    # gap 1.8 % at 0.4, 0.8 % at 0.6 and 0.7)
    stretch_share: float = 0.8  # of the time limit, a round may still end at when the last
    stretch_within: float = 0.1  # round's bound came this close to the start's
    min_plan_share: float = 0.15  # of the time limit, the plan keeps at least after the
    # final bound or the probe, which run before it (else they do not run)
    finish_share: float = 0.08  # of the time limit, kept for costing and the plan's
    # overrun; the plan may borrow a quarter of it back for the final bound's time
    exact_pricing_up_to: int = 3000  # orders per round the exact pricing MIP may take
    exact_pricing_seconds: float = 5.0
    exact_when_below: float = 0.02  # new columns per order under which exact pricing runs
    simplex_up_to: int = 5000  # orders; larger masters are solved by PDLP (first-order)
    dive_share: float = 0.6  # of the time after column generation, the dive may use
    rescue_share: float = 0.5  # of the time after the dive, rescue may use (it stops early
    # when every order it could help was tried); local search has the rest. 100k at 60 s:
    # 0.8 gave the same plan as 0.5 ($1.852M); at 1M, local search took $256k off in 45 s
    # after 60 s of rescue took $129k.
    neighbourhood: int = 400  # orders per restricted-master MIP of the neighbourhood search
    improve_passes: int = 2
    exact_up_to: int = 300  # orders; smaller batches finish with the exact MIP
    tolerance: float = 1e-6  # reduced cost below -tolerance enters the master
    warm_start: bool = True  # PDLP starts from the last round's LP (100k at 600 s: the
    # late rounds' LPs 2.5-3 s where the first took 8 s)
    pdlp_tolerance: float = 1e-3  # relative optimality PDLP stops at: its prices need
    # not be exact, the bound is valid at any prices
    pdlp_tolerance_floor: float = 1e-5  # once the LP stalls, each round tightens it 4x
    # down to this
