"""Which fences each camera stands in: point in polygon on the cameras' positions, computed
once per change of the cameras or fences (the engine keys it by :func:`fingerprint`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import duckdb
import numpy as np
import shapely

from tracing.alerts.common import fetch

_FINGERPRINT_SQL: Final = """
SELECT (SELECT list_value(count(*), sum(hash(id, lon, lat))) FROM cameras)::VARCHAR,
       (SELECT list_value(count(*), max(epoch_us(updated_at)), max(epoch_us(deleted_at)))
        FROM geofences)::VARCHAR,
       (SELECT list_value(count(*), max(epoch_us(created_at)), max(epoch_us(removed_at)),
                          min(epoch_us(expires_at)) FILTER (
                              WHERE removed_at IS NULL AND expires_at > now()))
        FROM watchlist)::VARCHAR
"""


def fingerprint(con: duckdb.DuckDBPyConnection) -> tuple[object, ...]:
    """Changes whenever cameras, fences or watch entries change (or the next entry expires)."""
    row = con.execute(_FINGERPRINT_SQL).fetchone()
    return tuple(str(v) for v in row) if row else ()


@dataclass(frozen=True, slots=True)
class FenceMap:
    """Fences of each camera (ids, ascending) and the names of live fences."""

    by_camera: dict[str, tuple[int, ...]]
    names: dict[int, str]

    def of(self, camera_id: str) -> tuple[int, ...]:
        """Fences the camera stands in (none for an unknown camera)."""
        return self.by_camera.get(camera_id, ())


def load_fence_map(con: duckdb.DuckDBPyConnection) -> FenceMap:
    """Map the store's cameras to its live fences (cameras on a fence's border count in)."""
    cameras = fetch(con, "SELECT id, lon, lat FROM cameras WHERE lon IS NOT NULL "
                         "AND lat IS NOT NULL ORDER BY id")
    fences = fetch(con, "SELECT id, name, geojson FROM geofences WHERE deleted_at IS NULL "
                        "ORDER BY id")
    lon = cameras["lon"].to_numpy(np.float64)
    lat = cameras["lat"].to_numpy(np.float64)
    ids = cameras["id"].astype(str).to_numpy()
    found: dict[str, list[int]] = {}
    for fence_id, geojson in zip(fences["id"], fences["geojson"], strict=True):
        geometry = shapely.from_geojson(str(geojson))
        shapely.prepare(geometry)
        inside = shapely.intersects_xy(geometry, lon, lat)
        for camera in ids[np.asarray(inside, bool)]:
            found.setdefault(str(camera), []).append(int(fence_id))
    return FenceMap({c: tuple(f) for c, f in found.items()},
                    {int(i): str(n) for i, n in zip(fences["id"], fences["name"], strict=True)})
