"""Shared constrained scalar types, reused by every row model."""

from typing import Annotated

from pydantic import Field, StringConstraints

ZIP_PATTERN = r"^\d{5}$"

Zip5 = Annotated[str, StringConstraints(pattern=ZIP_PATTERN)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
NonNegInt = Annotated[int, Field(ge=0)]
PositiveInt = Annotated[int, Field(ge=1)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
