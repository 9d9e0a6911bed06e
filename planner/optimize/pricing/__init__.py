"""Pricing: every order's cheapest way to be served at given prices (its columns and its part
of the Lagrangian bound), vectorised, with an exact MIP for orders that may want three or
more packages."""
