"""Shared constrained scalar types, reused by every row model."""

from typing import Annotated

from pydantic import Field, StringConstraints

ZIP_PATTERN = r"^\d{5}$"
# Node calendar settings (see promise/README.md): weekday names, a holidays code, ISO dates.
WEEKDAYS_PATTERN = r"^(none|((mon|tue|wed|thu|fri|sat|sun)[a-z]*([ ,]+|$))+)$"
HOLIDAY_CODE_PATTERN = r"^(none|[A-Z]{2}(-[A-Z0-9]{1,3})?)$"
DATES_PATTERN = r"^(\d{4}-\d{2}-\d{2}([ ,;]+|$))*$"
PATTERN_MESSAGES: dict[str, str] = {
    ZIP_PATTERN: "must be a 5-digit US ZIP",
    WEEKDAYS_PATTERN: "must be weekday names like 'sat,sun' (or 'none')",
    HOLIDAY_CODE_PATTERN: "must be a holiday calendar like 'US' or 'US-CA' (or 'none')",
    DATES_PATTERN: "must be ISO dates like '2026-12-24 2026-12-31'",
}

Zip5 = Annotated[str, StringConstraints(pattern=ZIP_PATTERN)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
NonNegInt = Annotated[int, Field(ge=0)]
PositiveInt = Annotated[int, Field(ge=1)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Weekdays = Annotated[str, StringConstraints(pattern=WEEKDAYS_PATTERN, max_length=64)]
HolidayCode = Annotated[str, StringConstraints(pattern=HOLIDAY_CODE_PATTERN, max_length=8)]
DateList = Annotated[str, StringConstraints(pattern=DATES_PATTERN, max_length=2000)]
