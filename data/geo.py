"""Reference geography from packages that ship their data (no downloads).

ZIP centroids come from ``zipcodes``; distances are haversine miles on the
spec's Earth radius; zones use the spec's bands. Everything is vectorised
over numpy arrays and the ZIP table is loaded once per process, because the
planner asks for every (node, destination) pair. ``zipcodes`` builds a dict per ZIP
(about 1 s), so the table is also kept as an ``.npz`` in the user's cache folder,
keyed by the package's version: every later process loads it in milliseconds.
"""

import os
from contextlib import suppress
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from zipfile import BadZipFile

import numpy as np
import numpy.typing as npt
import zipcodes

EARTH_RADIUS_MI = 3958.8
# Upper mile limit of zones 2..7; anything beyond is zone 8.
ZONE_LIMITS_MI = np.array([150.0, 300.0, 600.0, 1000.0, 1400.0, 1800.0])
MIN_ZONE, MAX_ZONE = 2, 8

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ZipTable:
    """All US ZIPs with a centroid, sorted by ZIP for binary search."""

    zips: npt.NDArray[np.str_]
    lat: FloatArray
    lon: FloatArray
    state: npt.NDArray[np.str_]
    city: npt.NDArray[np.str_]

    def index_of(self, zips: npt.ArrayLike) -> IntArray:
        """Row of each ZIP, -1 where the ZIP is unknown."""
        query = np.asarray(zips, dtype=self.zips.dtype)
        pos = np.searchsorted(self.zips, query)
        pos = np.clip(pos, 0, len(self.zips) - 1)
        found = self.zips[pos] == query
        return np.where(found, pos, -1).astype(np.int64)

    def known(self, zips: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        return self.index_of(zips) >= 0

    def coords(self, zips: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Latitude and longitude of each ZIP; raises KeyError on an unknown one."""
        idx = self.index_of(zips)
        if (idx < 0).any():
            bad = np.asarray(zips)[idx < 0][:5]
            raise KeyError(f"unknown US ZIP code(s): {', '.join(map(str, bad))}")
        return self.lat[idx], self.lon[idx]

    def state_of(self, zip_code: str) -> str | None:
        idx = int(self.index_of([zip_code])[0])
        return None if idx < 0 else str(self.state[idx])


def cache_dir() -> Path:
    """Where derived data may be kept between runs: ``$DOM_CACHE_DIR``, else the XDG cache."""
    if folder := os.environ.get("DOM_CACHE_DIR"):
        return Path(folder)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dom"


@cache
def zip_table() -> ZipTable:
    """Load ZIP centroids once per process, from the cache file when it is there."""
    path = cache_dir() / f"zips-{zipcodes.__version__}.npz"
    try:
        with np.load(path) as saved:
            return ZipTable(**{f.name: saved[f.name] for f in fields(ZipTable)})
    except (OSError, KeyError, ValueError, EOFError, BadZipFile):
        pass  # absent, unreadable or from an older layout: build it again
    table = _zip_table_from_package()
    scratch = path.with_name(f".{path.name}.{os.getpid()}.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(scratch, **{f.name: getattr(table, f.name) for f in fields(ZipTable)})
        os.replace(scratch, path)  # readers see the whole file or none
    except OSError:  # a read-only home still plans, only slower
        with suppress(OSError):
            scratch.unlink(missing_ok=True)
    return table


def _zip_table_from_package() -> ZipTable:
    """ZIP centroids from ``zipcodes``; ZIPs without coordinates are left out."""
    rows = [
        (z["zip_code"], float(z["lat"]), float(z["long"]), z["state"], z["city"])
        for z in zipcodes.list_all()
        if z.get("lat") and z.get("long") and z.get("country", "US") == "US"
    ]
    rows.sort(key=lambda r: r[0])
    return ZipTable(
        zips=np.array([r[0] for r in rows], dtype="<U5"),
        lat=np.array([r[1] for r in rows], dtype=np.float64),
        lon=np.array([r[2] for r in rows], dtype=np.float64),
        state=np.array([r[3] for r in rows], dtype="<U2"),
        city=np.array([r[4] for r in rows]),
    )


def haversine_miles(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Great-circle miles; inputs broadcast like numpy arrays."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_MI * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def zone_of_miles(miles: npt.ArrayLike) -> IntArray:
    """Spec zone bands: <=150 -> 2, <=300 -> 3, ... , >1800 -> 8 (limits inclusive)."""
    return (np.searchsorted(ZONE_LIMITS_MI, np.asarray(miles), side="left") + MIN_ZONE).astype(
        np.int64
    )


def zone_between(from_zips: npt.ArrayLike, to_zips: npt.ArrayLike) -> IntArray:
    """Zone for each pair of ZIPs (arrays broadcast)."""
    table = zip_table()
    lat1, lon1 = table.coords(from_zips)
    lat2, lon2 = table.coords(to_zips)
    return zone_of_miles(haversine_miles(lat1, lon1, lat2, lon2))


@cache
def _zip_timezones() -> dict[str, str]:
    """IANA time zone per ZIP from ``zipcodes``; a ZIP listed without a usable
    zone (about 2 % are blank or misspelt) takes its state's most common one."""
    from collections import Counter
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    valid: dict[str, bool] = {}

    def usable(name: str) -> bool:
        if name not in valid:
            try:
                ZoneInfo(name)
                valid[name] = "/" in name
            except (ZoneInfoNotFoundError, ValueError):
                valid[name] = False
        return valid[name]

    rows = zipcodes.list_all()
    by_state: dict[str, Counter[str]] = {}
    for z in rows:
        tz = z.get("timezone") or ""
        if tz and usable(tz):
            by_state.setdefault(z["state"], Counter())[tz] += 1
    out = {}
    for z in rows:
        tz = z.get("timezone") or ""
        if not (tz and usable(tz)):
            common = by_state.get(z["state"])
            tz = common.most_common(1)[0][0] if common else "America/New_York"
        out[z["zip_code"]] = tz
    return out


def zip_timezone(zip_code: str) -> str | None:
    """The IANA time zone of a US ZIP (e.g. 'America/Chicago'); None if unknown."""
    return _zip_timezones().get(zip_code)
