"""The Lagrangian bound with optimize's own budget and widening, for tests."""

from planner.core.group import Group
from planner.core.instance import Instance
from planner.optimize.pricing.orders import FloatA, lagrangian_bound
from planner.optimize.settings import Settings


def bound_at(inst: Instance, groups: list[Group], lam: FloatA, mu: FloatA) -> float:
    s = Settings()
    return lagrangian_bound(
        inst, groups, lam, mu, s.exact_pricing_seconds, s.exact_pricing_up_to, s.bound_widen_by
    )
