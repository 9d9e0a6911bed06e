"""The default strategy: column generation and price-and-branch (``planner.optimize.solver``)."""
