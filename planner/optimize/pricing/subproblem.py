"""Each order's own choice, priced: the Lagrangian subproblem, solved exactly.

With prices lam[n, sku] >= 0 on stock and mu[n] >= 0 on node capacity, orders
no longer interact, and each order picks the set S of its candidate nodes
(at most max_packages; one whole node for ship-complete) minimising

    sum_{n in S} F[n] + w.split * (|S| - 1) + sum_l linecost(l, S)

where a line takes units from the open nodes cheapest first, each node at
most its batch stock of the sku, at unit cost u[l,n] = U[l,n] + lam[n,sku] + mu[n]
(capped at the unfilled penalty p[l]: a unit that costs more stays unfilled).
Sets of one and two nodes are enumerated exactly; any set of three or more
costs at least its three cheapest F plus 2 * w.split plus each line's cost at
its cheapest single node, which bounds it. Chunks keep memory at BLOCK*L*K*K.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planner.core.group import BLOCK, Group

FloatA = npt.NDArray[np.float64]
IntA = npt.NDArray[np.int64]
PAIR_CELLS = BLOCK * 2 * 16 * 16 // 2  # what a chunk of two-line orders on 16 nodes holds
MAX_TRIPLE_K = 64  # candidates above which sets of three are floored, not enumerated


@dataclass
class GroupSolution:
    """Per order: bound, chosen cost, and for each line up to two (node, qty) sources."""

    bound: FloatA  # (M,) min(subproblem optimum, dropped-node bound)
    value: FloatA  # (M,) cost of the chosen set at these prices
    node1: IntA  # (M, L) first source node, -1 = none
    qty1: IntA  # (M, L)
    node2: IntA  # (M, L) second source node (a pair split the line), -1 = none
    qty2: IntA  # (M, L)
    regret: FloatA  # (M,) next-best single choice minus the chosen cost

    def take(self, rows: IntA) -> "GroupSolution":
        """The solution of some of the group's orders."""
        return GroupSolution(**{f: getattr(self, f)[rows] for f in self.__dataclass_fields__})


def unit_prices(g: Group, lam: FloatA, mu: FloatA, sl: slice) -> FloatA:
    """U + lam + mu: per-unit cost of each line at each candidate, (chunk, L, K)."""
    cand = g.cand[sl]
    price = lam[cand[:, None, :], g.skus[sl][:, :, None]] + mu[cand][:, None, :]
    return g.unit[sl] + price


def solve_group(
    g: Group, lam: FloatA, mu: FloatA, split: float, tight_bound: bool = False
) -> GroupSolution:
    """Each order's priced choice; ``tight_bound`` also enumerates sets of three
    nodes where the cheap floor cannot settle them (only the bound needs it)."""
    m, n_lines = g.size, g.n_lines
    out = GroupSolution(
        bound=np.empty(m),
        value=np.empty(m),
        node1=np.full((m, n_lines), -1, np.int64),
        qty1=np.zeros((m, n_lines), np.int64),
        node2=np.full((m, n_lines), -1, np.int64),
        qty2=np.zeros((m, n_lines), np.int64),
        regret=np.empty(m),
    )
    # Pairs take chunk * L * K^2 / 2 cells: wide groups go in smaller chunks.
    k = g.cand.shape[1]
    chunk = int(max(16, min(BLOCK, PAIR_CELLS // max(1, n_lines * k * k // 2))))
    for start in range(0, m, chunk):
        _solve_chunk(g, lam, mu, split, slice(start, min(start + chunk, m)), out, tight_bound)
    return out


def _solve_chunk(
    g: Group,
    lam: FloatA,
    mu: FloatA,
    split: float,
    sl: slice,
    out: GroupSolution,
    tight_bound: bool,
) -> None:
    u_raw = unit_prices(g, lam, mu, sl)  # (C, L, K)
    p = g.unit_penalty[sl][:, :, None]  # (C, L, 1)
    u = np.minimum(u_raw, p)
    q = g.qty[sl][:, :, None]
    stock = g.stock[sl]
    fixed = g.fixed[sl]
    sc = g.ship_complete[sl]
    maxp = g.max_packages[sl]
    cand = g.cand[sl]
    c_rows, n_lines, k = u.shape
    rows = np.arange(c_rows)
    empty = (g.penalty[sl]).sum(axis=1)

    take = np.minimum(q, stock)  # units each node alone would give each line
    take = np.where(u < p, take, 0)  # a unit priced above its penalty stays unfilled
    line_single = take * u + (q - take) * p  # (C, L, K)
    single = fixed + line_single.sum(axis=1)
    # Ship-complete: the node serves every line whole (candidates can), nothing partial.
    whole = (stock >= q).all(axis=1)  # (C, K): the node can ship the order complete
    single_sc = np.where(whole, fixed + (q * u_raw).sum(axis=1), np.inf)
    single = np.where(sc[:, None], single_sc, single)
    best_k = np.argmin(single, axis=1)
    best_single = single[rows, best_k]
    second = np.sort(single, axis=1)[:, 1] if k > 1 else np.full(c_rows, np.inf)

    value = np.minimum(empty, best_single)
    use_single = best_single < empty
    lines_idx = np.arange(n_lines)[None, :]
    kk = np.broadcast_to(best_k[:, None], (c_rows, n_lines))
    got = np.where(sc[:, None], g.qty[sl], take[rows[:, None], lines_idx, kk])
    node1 = np.where(use_single[:, None] & (got > 0), cand[rows[:, None], kk], -1)
    qty1 = np.where(node1 >= 0, got, 0)
    node2 = np.full_like(node1, -1)
    qty2 = np.zeros_like(qty1)
    bound = value.copy()

    # Two packages can only pay off for an order of two units or more.
    multi = ~sc & (maxp != 1) & (g.qty[sl].sum(axis=1) >= 2)
    if k >= 2 and multi.any() and (n_lines >= 2 or (g.qty[sl] > 1).any()):
        idx = np.flatnonzero(multi)
        iu_a, iu_b = np.triu_indices(k, 1)
        ua, ub = u[idx][:, :, iu_a], u[idx][:, :, iu_b]  # (C', L, P)
        sa, sb = take[idx][:, :, iu_a], take[idx][:, :, iu_b]
        a_first = ua <= ub
        u1, u2 = np.where(a_first, ua, ub), np.where(a_first, ub, ua)
        s1, s2 = np.where(a_first, sa, sb), np.where(a_first, sb, sa)
        qq = q[idx]
        t1 = np.minimum(qq, s1)
        t2 = np.minimum(qq - t1, s2)
        line_pair = t1 * u1 + t2 * u2 + (qq - t1 - t2) * p[idx]
        fx = fixed[idx]
        pair = fx[:, iu_a] + fx[:, iu_b] + split + line_pair.sum(axis=1)  # (C', P)
        best_p = np.argmin(pair, axis=1)
        best_pair = pair[np.arange(len(idx)), best_p]
        better = best_pair < value[idx]
        if better.any():
            r = idx[better]
            bp = best_p[better]
            rr = np.arange(len(idx))[better]
            value[r] = best_pair[better]
            bound[r] = best_pair[better]
            first = np.where(
                a_first[rr, :, bp], cand[r, iu_a[bp]][:, None], cand[r, iu_b[bp]][:, None]
            )
            second_n = np.where(
                a_first[rr, :, bp], cand[r, iu_b[bp]][:, None], cand[r, iu_a[bp]][:, None]
            )
            t1b, t2b = t1[rr, :, bp], t2[rr, :, bp]
            node1[r] = np.where(t1b > 0, first, -1)
            qty1[r] = t1b
            node2[r] = np.where(t2b > 0, second_n, -1)
            qty2[r] = t2b
        units = g.qty[sl][idx].sum(axis=1)
        three = idx[((maxp[idx] == 0) | (maxp[idx] >= 3)) & (units >= 3)]
        if len(three) and k >= 3:
            floor3 = _at_least(3, u[three], q[three], take[three], fixed[three], split)
            loose = floor3 < bound[three] - 1e-9
            if tight_bound and loose.any() and k <= MAX_TRIPLE_K:
                # The floor is too weak to settle it: enumerate three nodes exactly and
                # floor only the sets of four or more.
                r = three[loose]
                exact3 = _best_triple(u[r], q[r], take[r], p[r], fixed[r], split)
                floor4 = _at_least(4, u[r], q[r], take[r], fixed[r], split)
                floor3[loose] = np.minimum(exact3, floor4)
            bound[three] = np.minimum(bound[three], floor3)

    out.value[sl] = value
    out.bound[sl] = np.minimum(bound, g.dropped_bound[sl])
    out.node1[sl], out.qty1[sl], out.node2[sl], out.qty2[sl] = node1, qty1, node2, qty2
    out.regret[sl] = np.minimum(second, empty) - value


def _at_least(n: int, u: FloatA, q: FloatA, take: IntA, fixed: FloatA, split: float) -> FloatA:
    """A floor on any plan of an order with ``n`` or more packages.

    Every unit of line l costs at least umin[l] = min_k u[l, k]. Each of the (at
    least n) open nodes serves some unit, so n distinct units each carry a
    package: a unit of line l carried by node k costs F[k] + u[l, k], at least
    carried[l] = min_k (F[k] + u[l, k]). Hence the floor
    (n - 1) * split + sum of units' umin + the n smallest (carried - umin)
    over units (line l counted q[l] times).
    """
    umin = u.min(axis=2)  # (C, L)
    floor = (q[:, :, 0] * umin).sum(axis=1)
    stocked = take > 0
    carried = np.where(stocked, fixed[:, None, :] + u, np.inf).min(axis=2) - umin  # (C, L)
    copies = np.arange(n)[None, None, :] < q[:, :, :1]  # (C, L, n): line l, copy j < q[l]
    extra = np.where(copies, carried[:, :, None], np.inf).reshape(len(u), -1)
    by_unit = np.sort(extra, axis=1)[:, :n].sum(axis=1)
    # Also: each open node k pays F[k] plus at least min_l (u[l, k] - umin[l]).
    per_node = fixed + np.where(stocked, u - umin[:, :, None], np.inf).min(axis=1)
    by_node = np.sort(per_node, axis=1)[:, :n].sum(axis=1)
    return (n - 1) * split + floor + np.maximum(by_unit, by_node)


def _best_triple(
    u: FloatA, q: FloatA, take: IntA, p: FloatA, fixed: FloatA, split: float
) -> FloatA:
    """Exact cost of the best set of three candidate nodes (lines fill cheapest first)."""
    k = u.shape[2]
    a, b, c = np.array(
        [(i, j, m) for i in range(k) for j in range(i + 1, k) for m in range(j + 1, k)]
    ).T
    out = np.empty(u.shape[0])
    for start in range(0, u.shape[0], 16):
        sl = slice(start, start + 16)
        u3 = np.stack([u[sl][:, :, a], u[sl][:, :, b], u[sl][:, :, c]], axis=-1)  # (R, L, T, 3)
        s3 = np.stack([take[sl][:, :, a], take[sl][:, :, b], take[sl][:, :, c]], axis=-1)
        order = np.argsort(u3, axis=-1)
        u3 = np.take_along_axis(u3, order, axis=-1)
        s3 = np.take_along_axis(s3, order, axis=-1)
        left = np.broadcast_to(q[sl], s3.shape[:3]).astype(float)
        cost = np.zeros(left.shape)
        for j in range(3):
            t = np.minimum(left, s3[..., j])
            cost += t * u3[..., j]
            left = left - t
        cost += left * p[sl]
        f = fixed[sl]
        out[sl] = (f[:, a] + f[:, b] + f[:, c] + 2 * split + cost.sum(axis=1)).min(axis=1)
    return out
