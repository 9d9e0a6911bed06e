"""The US outline for the console's maps, drawn server-side as inline SVG.

The outline is us-atlas's ``states-albers-10m.json`` (vendored from npm): US
Census state boundaries as TopoJSON, already projected by d3's ``geoAlbersUsa``
at scale 1300 into a 975 x 610 frame. Nodes are placed on it by the same
projection, written out here (conic equal-area, standard parallels 29.5/45.5,
with d3's Alaska and Hawaii insets), so a store in Denver lands in Colorado.
"""

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ATLAS = Path(__file__).parent / "static" / "vendor" / "us-atlas" / "states-albers-10m.json"
WIDTH, HEIGHT = 975, 610
SCALE, TX, TY = 1300.0, 487.5, 305.0


@dataclass(frozen=True)
class State:
    name: str
    path: str  # SVG path data
    rings: tuple[tuple[tuple[float, float], ...], ...]


def _decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Quantized, delta-encoded arcs to absolute coordinates (TopoJSON spec)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def _ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    """Join a ring's arcs; a negative index ~i means arc i reversed."""
    out: list[tuple[float, float]] = []
    for i in indexes:
        pts = arcs[i] if i >= 0 else arcs[~i][::-1]
        out.extend(pts if not out else pts[1:])  # arcs share their end points
    return out


def _path(ring: tuple[tuple[float, float], ...]) -> str:
    """SVG path of a ring, dropping points within a pixel of the last one kept."""
    kept = [ring[0]]
    for x, y in ring[1:]:
        if abs(x - kept[-1][0]) + abs(y - kept[-1][1]) >= 1.0:
            kept.append((x, y))
    return "M" + "L".join(f"{x:.0f},{y:.0f}" for x, y in kept) + "Z"


@cache
def states() -> tuple[State, ...]:
    topology = json.loads(ATLAS.read_text())
    arcs = _decode_arcs(topology)
    found = []
    for geom in topology["objects"]["states"]["geometries"]:
        polygons = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
        rings = tuple(tuple(_ring(arcs, ring)) for poly in polygons for ring in poly)
        path = "".join(_path(ring) for ring in rings if len(ring) > 2)
        found.append(State(geom["properties"]["name"], path, rings))
    return tuple(sorted(found, key=lambda s: s.name))


def _conic(parallels: tuple[float, float]) -> tuple[float, float, float]:
    """(n, c, rho0) of an Albers conic equal-area projection (Snyder 14-1 to 14-3)."""
    sy0 = math.sin(math.radians(parallels[0]))
    n = (sy0 + math.sin(math.radians(parallels[1]))) / 2
    c = 1 + sy0 * (2 * n - sy0)
    return n, c, math.sqrt(c) / n


def _raw(lam: float, phi: float, n: float, c: float, r0: float) -> tuple[float, float]:
    r = math.sqrt(max(0.0, c - 2 * n * math.sin(phi))) / n
    return r * math.sin(lam * n), r0 - r * math.cos(lam * n)


@dataclass(frozen=True)
class _Part:
    rotate: float  # degrees added to longitude
    center: tuple[float, float]  # in rotated degrees
    parallels: tuple[float, float]
    scale: float  # times SCALE
    offset: tuple[float, float]  # translate offset, times SCALE

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        n, c, r0 = _conic(self.parallels)
        k = SCALE * self.scale
        lam = math.radians((lon + self.rotate + 180) % 360 - 180)
        x, y = _raw(lam, math.radians(lat), n, c, r0)
        cx, cy = _raw(math.radians(self.center[0]), math.radians(self.center[1]), n, c, r0)
        ox, oy = TX + self.offset[0] * SCALE, TY + self.offset[1] * SCALE
        return ox + k * (x - cx), oy - k * (y - cy)


# d3-geo's geoAlbersUsa: the lower 48, Alaska at 0.35 scale, Hawaii, as insets.
LOWER48 = _Part(96, (-0.6, 38.7), (29.5, 45.5), 1.0, (0.0, 0.0))
ALASKA = _Part(154, (-2, 58.5), (55, 65), 0.35, (-0.307, 0.201))
HAWAII = _Part(157, (-3, 19.9), (8, 18), 1.0, (-0.205, 0.212))


def project(lat: float, lon: float) -> tuple[float, float]:
    """A point's place on the outline (SVG units, y down)."""
    if lat > 50 and lon < -129:
        return ALASKA.project(lon, lat)
    if lat < 24 and lon < -150:
        return HAWAII.project(lon, lat)
    return LOWER48.project(lon, lat)


def contains(state: State, x: float, y: float) -> bool:
    """Even-odd point-in-polygon over all of a state's rings."""
    inside = False
    for ring in state.rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
                inside = not inside
    return inside
