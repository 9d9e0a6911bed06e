"""A sourcing plan: which node fulfils how much of which line, and what it costs."""

from pydantic import BaseModel, ConfigDict, Field

from models.scalars import Identifier, NonNegFloat, NonNegInt, PositiveInt
from models.weights import Weights


class Allocation(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_id: Identifier
    line_no: NonNegInt
    node_id: Identifier
    qty: PositiveInt


class Unfilled(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_id: Identifier
    line_no: NonNegInt
    qty: PositiveInt


class CostBreakdown(BaseModel):
    """The spec's objective, component by component (raw sums, before weights)."""

    model_config = ConfigDict(frozen=True)

    weights: Weights
    shipping: float
    handling: float
    late_days: float
    splits: float
    unfilled: float
    total: float
    # Counts that explain the money; not part of the objective.
    orders: NonNegInt
    packages: NonNegInt
    units_ordered: NonNegInt
    units_allocated: NonNegInt
    late_packages: NonNegInt

    @property
    def fill_rate(self) -> float:
        return self.units_allocated / self.units_ordered if self.units_ordered else 1.0

    @property
    def on_time_share(self) -> float:
        return 1.0 - self.late_packages / self.packages if self.packages else 1.0

    @property
    def packages_per_order(self) -> float:
        return self.packages / self.orders if self.orders else 0.0


class PlanSummary(BaseModel):
    """Contents of ``summary.json``."""

    strategy: str
    cost: CostBreakdown
    total: float
    lower_bound: float | None = None
    gap: float | None = Field(default=None, description="(total - bound) / total")
    wall_seconds: NonNegFloat
    proven_optimal: bool = False
    notes: list[str] = Field(default_factory=list)
