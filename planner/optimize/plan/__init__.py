"""Building the plan from the LP: dive, priced repair, rescue, local search and the
neighbourhood search on the restricted master."""
