"""A default carrier rate card shaped like published parcel tariffs (after discounts).

Generated batches need a rate card whose cost structure looks like real
carriers: a per-package base that rises with zone, a per-pound charge that
rises faster, ground transit of 1-5 days, and premium services that cost a
multiple of ground in exchange for guaranteed speed. Numbers are round,
plausible commercial rates, not any carrier's actual tariff.
"""

import pandas as pd

from models.batch import COLUMNS

ZONES: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8)
# Ground: $ per package, $ per lb and business days, for zones 2..8.
GROUND_BASE: tuple[float, ...] = (7.60, 8.10, 8.75, 9.55, 10.40, 11.40, 12.60)
GROUND_PER_LB: tuple[float, ...] = (0.35, 0.45, 0.60, 0.75, 0.95, 1.10, 1.30)
GROUND_TRANSIT: tuple[int, ...] = (1, 2, 3, 3, 4, 5, 5)
# Premium services as multiples of ground, with their guaranteed transit.
TWO_DAY_FACTOR = 1.8
NEXT_DAY_FACTOR = 3.0


def default_rate_card() -> pd.DataFrame:
    """Rate rows for ground, two_day and next_day in zones 2..8, canonical columns."""
    rows: list[tuple[str, int, float, float, int]] = []
    for i, zone in enumerate(ZONES):
        base, per_lb = GROUND_BASE[i], GROUND_PER_LB[i]
        rows.append(("ground", zone, base, per_lb, GROUND_TRANSIT[i]))
        # A short two-day hop usually arrives overnight.
        rows.append(
            (
                "two_day",
                zone,
                round(base * TWO_DAY_FACTOR, 2),
                round(per_lb * TWO_DAY_FACTOR, 2),
                1 if zone == 2 else 2,
            )
        )
        rows.append(
            (
                "next_day",
                zone,
                round(base * NEXT_DAY_FACTOR, 2),
                round(per_lb * NEXT_DAY_FACTOR, 2),
                1,
            )
        )
    df = pd.DataFrame(rows, columns=list(COLUMNS["rate_card"]))
    df["service"] = df["service"].astype(object)
    df["zone"] = df["zone"].astype("int64")
    df["base"] = df["base"].astype("float64")
    df["per_lb"] = df["per_lb"].astype("float64")
    df["transit_days"] = df["transit_days"].astype("int64")
    return df
