"""The strategies the optimizer is measured against: greedy and nearest-node heuristics, and
the exact MIP (the compact model solved to optimality where it fits)."""
