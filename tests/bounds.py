"""The Lagrangian bound with optimize's own budget and widening, for tests."""

from planner.candidates import Group
from planner.instance import Instance
from planner.optimize import Settings
from planner.pricing import FloatA, lagrangian_bound


def bound_at(inst: Instance, groups: list[Group], lam: FloatA, mu: FloatA) -> float:
    s = Settings()
    return lagrangian_bound(
        inst, groups, lam, mu, s.exact_pricing_seconds, s.exact_pricing_up_to, s.bound_widen_by
    )
