"""The one plan type every strategy builds: allocation entries in index space."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planner.core.instance import Instance

IntA = npt.NDArray[np.int64]


@dataclass
class Plan:
    """``qty[i]`` units of line ``line[i]`` from node ``node[i]``; a line may have several
    entries (several nodes, or the same node added twice: costing merges them)."""

    line: IntA
    node: IntA
    qty: IntA

    @staticmethod
    def empty() -> "Plan":
        z = np.zeros(0, np.int64)
        return Plan(z, z.copy(), z.copy())

    @staticmethod
    def from_lists(line: list[int], node: list[int], qty: list[int]) -> "Plan":
        return Plan(
            np.asarray(line, np.int64), np.asarray(node, np.int64), np.asarray(qty, np.int64)
        )

    def take(self, mask: npt.NDArray[np.bool_]) -> "Plan":
        """The entries where ``mask`` holds."""
        return Plan(self.line[mask], self.node[mask], self.qty[mask])

    def extend(self, other: "Plan") -> "Plan":
        return Plan(
            np.concatenate([self.line, other.line]),
            np.concatenate([self.node, other.node]),
            np.concatenate([self.qty, other.qty]),
        )


def left_by(inst: Instance, plan: Plan) -> tuple[IntA, IntA]:
    """The stock (N, S) and node capacity (N,) the plan's allocations leave."""
    avail = inst.avail.copy()
    cap = inst.capacity.copy()
    np.subtract.at(avail, (plan.node, inst.line_sku[plan.line]), plan.qty)
    np.subtract.at(cap, plan.node, plan.qty)
    return avail, cap
