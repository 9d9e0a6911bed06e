"""Drive time between two points: haversine miles x road factor at a stated speed.

Stated assumptions (``Travel``'s defaults): 30 mph average door-to-door speed
in metro delivery, a road factor of 1.3 (road distance over great-circle
distance, the usual figure for US street networks). Minutes are rounded up so
that a schedule that fits in whole minutes fits in reality too.
"""

import math
from dataclasses import dataclass
from functools import lru_cache

EARTH_RADIUS_MI = 3958.8  # the same radius as data.geo


@dataclass(frozen=True)
class Travel:
    speed_mph: float = 30.0
    road_factor: float = 1.3

    def miles(self, lat1: float, lon1: float, lat2: float, lon2: float) -> float:
        p1, p2 = math.radians(lat1), math.radians(lat2)
        a = (
            math.sin((p2 - p1) / 2) ** 2
            + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
        )
        return 2 * EARTH_RADIUS_MI * math.asin(math.sqrt(min(1.0, a))) * self.road_factor

    def minutes(self, lat1: float, lon1: float, lat2: float, lon2: float) -> int:
        return _minutes(self, lat1, lon1, lat2, lon2)


@lru_cache(maxsize=500_000)
def _minutes(travel: Travel, lat1: float, lon1: float, lat2: float, lon2: float) -> int:
    """Cached: slot searches ask for the same legs of booked days again and again."""
    return math.ceil(travel.miles(lat1, lon1, lat2, lon2) / travel.speed_mph * 60 - 1e-9)
