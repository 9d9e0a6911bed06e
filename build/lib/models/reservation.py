"""Where to reserve an order's stock at capture: a small, deterministic rule.

A captured order must be promised only what exists, at once, before any
sourcing run. This picks nodes from what is available right now: one node for
the whole order if one can (fewest packages), else each line from the
nearest nodes with stock; ship-complete orders accept only one node and
``max_packages`` caps the nodes used. All or nothing: if any unit cannot be
covered the order reserves nothing and is backordered for the next run,
which re-plans everything cheaply anyway.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Need:
    line_no: int
    sku: str
    qty: int


@dataclass(frozen=True)
class Hold:
    """``qty`` units of line ``line_no`` (sku) reserved at ``node_id``."""

    line_no: int
    sku: str
    node_id: str
    qty: int


def choose_reservation(
    needs: Sequence[Need],
    nodes_by_preference: Sequence[str],
    available: Mapping[tuple[str, str], int],
    *,
    ship_complete: bool = False,
    max_packages: int | None = None,
) -> list[Hold] | None:
    """Holds covering every unit of ``needs``, or None if stock cannot cover them.

    ``nodes_by_preference`` lists the eligible nodes, best (nearest) first;
    ``available`` maps (node_id, sku) to units that may still be promised.
    """
    # Units per SKU the order needs: lines of the same SKU share one stock row.
    per_sku: dict[str, int] = {}
    for n in needs:
        per_sku[n.sku] = per_sku.get(n.sku, 0) + n.qty
    for node in nodes_by_preference:
        if all(available.get((node, sku), 0) >= q for sku, q in per_sku.items()):
            return [Hold(n.line_no, n.sku, node, n.qty) for n in needs]
    if ship_complete or max_packages == 1:
        return None
    left = {key: max(0, int(v)) for key, v in available.items()}
    holds: list[Hold] = []
    used: list[str] = []
    for n in needs:
        want = n.qty
        for node in nodes_by_preference:
            if want == 0:
                break
            have = left.get((node, n.sku), 0)
            if have <= 0:
                continue
            take = min(have, want)
            left[(node, n.sku)] = have - take
            want -= take
            holds.append(Hold(n.line_no, n.sku, node, take))
            if node not in used:
                used.append(node)
        if want > 0:
            return None
    if max_packages is not None and len(used) > max_packages:
        return None
    return holds


def sorted_holds(holds: Sequence[Hold]) -> list[tuple[str, str, int]]:
    """Units per (node_id, sku), sorted: the fixed order stock rows are locked in."""
    total: dict[tuple[str, str], int] = {}
    for h in holds:
        total[(h.node_id, h.sku)] = total.get((h.node_id, h.sku), 0) + h.qty
    return [(node, sku, qty) for (node, sku), qty in sorted(total.items())]
