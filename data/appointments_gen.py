"""Realistic resource pools for a generated network (no downloads: ZIP centroids
come from ``zipcodes`` through ``data.geo``).

Each node with ``crews_per_node`` > 0 gets crews whose skills follow a typical
home-delivery mix (every crew delivers; some install, assemble or mount; big
items need two people), shifts of 10 hours starting 07:00-10:00 local, and
the ZIP3 regions whose centroids lie nearest the node. Regions are dealt out
as sectors (contiguous by bearing from the node) so each is served by several
crews on every working weekday and a crew's day stays on one side of the
metro; the sectors rotate through the week. Heavy SKUs get a service: the
heaviest need two-person delivery, then install, then assembly.
"""

import math
from collections.abc import Sequence

import numpy as np

from appointments.model import Crew, Service
from data.geo import haversine_miles, zip_table

SKILL_MIX = (
    frozenset({"delivery", "two_person_delivery", "install"}),
    frozenset({"delivery", "two_person_delivery", "assembly"}),
    frozenset({"delivery", "install", "mounting"}),
    frozenset({"delivery", "assembly", "install"}),
    frozenset({"delivery", "two_person_delivery", "install", "assembly", "mounting"}),
)
SERVICES = (  # (service, skill, minutes per unit), heaviest items first
    ("two_person_delivery", "two_person_delivery", 30),
    ("install", "install", 45),
    ("assembly", "assembly", 40),
    ("mounting", "mounting", 35),
)


def nearest_zip3(lat: float, lon: float, count: int) -> list[str]:
    """The ``count`` ZIP3 prefixes whose centroid (mean of their ZIPs) is nearest, in order
    of bearing from the point, so neighbours in the list are neighbours on the map."""
    table = zip_table()
    prefixes = np.array([z[:3] for z in table.zips])
    uniq, inverse = np.unique(prefixes, return_inverse=True)
    n = np.bincount(inverse)
    lat3 = np.bincount(inverse, weights=table.lat) / n
    lon3 = np.bincount(inverse, weights=table.lon) / n
    miles = haversine_miles(lat, lon, lat3, lon3)
    near = np.argsort(miles)[:count]
    bearing = np.arctan2(lat3[near] - lat, (lon3[near] - lon) * np.cos(np.radians(lat)))
    return [str(uniq[i]) for i in near[np.argsort(bearing)]]


def generate_pools(
    nodes: Sequence[tuple[str, str]],
    skus: Sequence[tuple[str, float]],
    crews_per_node: int = 8,
    regions_per_node: int = 12,
    regions_per_crew_day: int = 6,
    service_share: float = 0.2,
    seed: int = 7,
) -> tuple[list[Crew], list[Service]]:
    """Crews for each (node_id, zip) and services for the heaviest ``service_share`` of
    the (sku, weight_lb) list."""
    rng = np.random.default_rng(seed)
    table = zip_table()
    crews: list[Crew] = []
    for node_id, zip_code in nodes:
        idx = int(table.index_of([zip_code])[0])
        if idx < 0:
            continue
        regions = nearest_zip3(float(table.lat[idx]), float(table.lon[idx]), regions_per_node)
        per_day = min(regions_per_crew_day, len(regions))
        for k in range(crews_per_node):
            start = int(rng.choice([7, 8, 8, 9, 10])) * 60
            served = {}
            for wd in range(6):  # Monday to Saturday
                first = (k * per_day // 2 + wd * 3) % len(regions)
                served[wd] = frozenset(regions[(first + j) % len(regions)] for j in range(per_day))
            crews.append(
                Crew(
                    f"{node_id}-C{k + 1:02d}",
                    node_id,
                    SKILL_MIX[k % len(SKILL_MIX)],
                    start,
                    start + 10 * 60,
                    served,
                )
            )
    by_weight = sorted(skus, key=lambda s: -s[1])
    chosen = by_weight[: math.ceil(len(by_weight) * service_share)]
    services = []
    for i, (sku, _) in enumerate(chosen):
        service, skill, minutes = SERVICES[
            min(i * len(SERVICES) // max(len(chosen), 1), len(SERVICES) - 1)
        ]
        services.append(Service(sku, service, skill, minutes))
    return crews, services
