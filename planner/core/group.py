"""Orders laid out for vectorised solving: one group per number of lines, as dense arrays
(M orders, L lines, K candidate nodes). Built by ``planner.optimize.candidates``."""

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

IntA = npt.NDArray[np.int64]
FloatA = npt.NDArray[np.float64]
BoolA = npt.NDArray[np.bool_]

# Orders per numpy block wherever orders are costed or priced in bulk: it bounds memory
# (BLOCK x lines x candidates, or BLOCK x nodes) and does not change any result.
BLOCK = 2048


@dataclass
class Group:
    """M orders with L lines each, against K candidate nodes (padded with fixed=inf)."""

    orders: IntA  # (M,)
    lines: IntA  # (M, L) global line index
    skus: IntA  # (M, L)
    qty: IntA  # (M, L)
    unit_penalty: FloatA  # (M, L) weighted cost of one unfilled unit
    cand: IntA  # (M, K) node index (0 where padded)
    fixed: FloatA  # (M, K) F; inf where padded
    unit: FloatA  # (M, L, K) U per unit; inf where the node has none of the sku
    stock: IntA  # (M, L, K) units of the line's sku the node has in the batch
    ship_complete: BoolA  # (M,)
    max_packages: IntA  # (M,) 0 = no limit
    dropped_bound: FloatA  # (M,) D[o]; inf when nothing was dropped
    escape_node: IntA  # (M, L) the line's cheapest dropped node per unit, U + F/C; -1: none
    escape_unit: FloatA  # (M, L) that charge (the flow gives the line an arc there)

    @property
    def size(self) -> int:
        return len(self.orders)

    @property
    def n_lines(self) -> int:
        return self.lines.shape[1]

    def take(self, rows: IntA) -> "Group":
        """The same group restricted to some of its orders."""
        return Group(**{f: getattr(self, f)[rows] for f in self.__dataclass_fields__})

    @property
    def penalty(self) -> FloatA:
        """Cost of leaving each whole line unfilled."""
        return self.unit_penalty * self.qty


def subset(g: Group, rows: IntA, avail: npt.NDArray[np.int64], cap: IntA) -> Group:
    """The group restricted to some orders, with stock = what is still free."""
    part = g.take(rows)
    stock = avail[part.cand[:, None, :], part.skus[:, :, None]]
    stock = np.minimum(stock, cap[part.cand][:, None, :])
    return replace(part, stock=np.where(np.isfinite(part.unit), stock, 0))
