"""Objective weights merchandisers tune per batch or per run."""

from pydantic import BaseModel, ConfigDict

from models.scalars import NonNegFloat


class Weights(BaseModel):
    """Multipliers of the objective's components; defaults are the spec's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shipping: NonNegFloat = 1.0
    handling: NonNegFloat = 1.0
    late: NonNegFloat = 5.0
    split: NonNegFloat = 2.0
    unfilled: NonNegFloat = 1.0
