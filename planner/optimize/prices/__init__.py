"""Prices found without an LP, for the start: the per-unit flow's duals, the SKUs the network
runs short of, and market clearing on over-taken stock."""
