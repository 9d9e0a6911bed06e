"""What every strategy shares: the indexed instance, the one cost model, the checker of the
contract's rules, the plan type and the result a strategy returns."""
