"""Administrative boundaries of Thủ Đức City: the outline, its 36 wards (2019), gateway roads.

The build step copies the source files from the shared data folder into compact, committed
GeoJSON under ``data/boundaries/``; the loaders read only the committed copies, so the
product works offline and without the shared data.
"""

from __future__ import annotations

import functools
import json
import logging
import unicodedata
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from tracing import settings
from tracing.errors import BoundaryError
from tracing.files import replace_file

logger = logging.getLogger(__name__)

Outline = Polygon | MultiPolygon
"""The city outline: one polygon (a multipolygon is accepted too)."""

OUTLINE_SOURCE = "thuduc_city_outline_2021.geojson"
WARDS_SOURCE = "thuduc_city_wards_2019_cityscope.geojson"
WARD_FIELDS = ("Com_Name", "Com_ID", "Dist_Name", "Pop_2009", "Pop_2019")
"""Fields of the CityScope ward file kept in the committed copy (besides ``ward``)."""
COORD_DECIMALS = 6
"""Committed coordinates are rounded to 1e-6 degree (about 0.1 m)."""

WARD_NAMES: dict[str, str] = {
    # Thủ Đức district (762)
    "26794": "Linh Xuân", "26797": "Bình Chiểu", "26800": "Linh Trung",
    "26803": "Tam Bình", "26806": "Tam Phú", "26809": "Hiệp Bình Phước",
    "26812": "Hiệp Bình Chánh", "26815": "Linh Chiểu", "26818": "Linh Tây",
    "26821": "Linh Đông", "26824": "Bình Thọ", "26827": "Trường Thọ",
    # District 9 (763)
    "26830": "Long Bình", "26833": "Long Thạnh Mỹ", "26836": "Tân Phú",
    "26839": "Hiệp Phú", "26842": "Tăng Nhơn Phú A", "26845": "Tăng Nhơn Phú B",
    "26848": "Phước Long B", "26851": "Phước Long A", "26854": "Trường Thạnh",
    "26857": "Long Phước", "26860": "Long Trường", "26863": "Phước Bình",
    "26866": "Phú Hữu",
    # District 2 (769)
    "27088": "Thảo Điền", "27091": "An Phú", "27094": "Bình An",
    "27097": "Bình Trưng Đông", "27100": "Bình Trưng Tây", "27103": "Bình Khánh",
    "27106": "An Khánh", "27109": "Cát Lái", "27112": "Thạnh Mỹ Lợi",
    "27115": "An Lợi Đông", "27118": "Thủ Thiêm",
}
"""Vietnamese ward names (with diacritics) by GSO commune code (``Com_ID``)."""


_README = f"""# Boundaries of Thủ Đức City (committed, derived)

Compact copies (GeoJSON, EPSG:4326, coordinates rounded to 1e-{COORD_DECIMALS} degree) written
by `tracing.boundaries.build_boundaries()` from `../shared/data/boundaries/`.

- `{settings.OUTLINE_GEOJSON.name}`: 1 polygon, Thủ Đức City (2021–2025).
  Source: public repo `nguyenhn1299/hcm-map`, `public/districts.json` (June 2021).
- `{settings.WARDS_GEOJSON.name}`: the 36 wards of 2019 (pre-2021 units of the old
  Thủ Đức district, District 2 and District 9; in 2021 five of them were merged or
  reorganised, giving the 34 wards of Thủ Đức City). Fields: `ward` (Vietnamese name, from
  the GSO code), `Com_Name` (ASCII), `Com_ID` (GSO code), `Dist_Name`, `Pop_2009`,
  `Pop_2019`. Source: City Science Lab HCMC "CityScope" ward shapefile, via public repo
  `hgscarlette/vn-demographic`.

The sources state no licence; the project ships these derived boundaries with the sources
named. The union of the wards matches the outline to about 1% of its area (IoU 0.989).
"""


def ascii_fold(text: str) -> str:
    """Vietnamese text without diacritics (``"Thủ Đức"`` -> ``"Thu Duc"``)."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# --- Build step ---------------------------------------------------------------------------


def build_boundaries(
    out_dir: Path = settings.BOUNDARIES_DIR,
    *,
    source_dir: Path = settings.SHARED_BOUNDARIES_DIR,
) -> dict[str, int]:
    """Copy the city outline and the 36 wards into compact GeoJSON under ``out_dir``.

    Returns the number of features and bytes written per file.
    """
    outline = _read_source(source_dir / OUTLINE_SOURCE)
    wards = _clean_wards(_read_source(source_dir / WARDS_SOURCE))
    outline = gpd.GeoDataFrame(
        {"name": ["Thành phố Thủ Đức"]},
        geometry=[shapely.union_all(outline.geometry.values)],
        crs=settings.WGS84,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    outline_path = out_dir / settings.OUTLINE_GEOJSON.name
    wards_path = out_dir / settings.WARDS_GEOJSON.name
    _write_compact_geojson(outline, outline_path)
    _write_compact_geojson(wards, wards_path)
    (out_dir / "README.md").write_text(_README, encoding="utf-8")
    _read_outline.cache_clear()
    counts = {
        "outline_features": len(outline),
        "outline_bytes": outline_path.stat().st_size,
        "wards": len(wards),
        "wards_bytes": wards_path.stat().st_size,
    }
    logger.info("Boundaries written to %s: %s", out_dir, counts)
    return counts


def _read_source(path: Path) -> gpd.GeoDataFrame:
    if not path.is_file():
        raise BoundaryError(f"Boundary source not found: {path}")
    with path.open(encoding="utf-8") as f:
        data = json.load(f)
    return gpd.GeoDataFrame.from_features(data["features"], crs=settings.WGS84)


def _clean_wards(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Keep the documented fields, add the Vietnamese ``ward`` name, sort by GSO code."""
    missing = [f for f in WARD_FIELDS if f not in raw.columns]
    if missing:
        raise BoundaryError(f"Ward file lacks fields {missing}")
    wards = raw[[*WARD_FIELDS, "geometry"]].copy()
    wards["Com_ID"] = wards["Com_ID"].astype(str)
    for column in ("Pop_2009", "Pop_2019"):
        wards[column] = wards[column].round().astype("int64")
    names = [_ward_name(c, n) for c, n in zip(wards["Com_ID"], wards["Com_Name"], strict=True)]
    wards.insert(0, "ward", names)
    return wards.sort_values("Com_ID").reset_index(drop=True)


def _ward_name(com_id: str, ascii_name: str) -> str:
    name = WARD_NAMES.get(com_id)
    if name is None or ascii_fold(name) != ascii_name:
        logger.warning("No Vietnamese name for ward %s (%s); keeping the ASCII one", com_id,
                       ascii_name)
        return ascii_name
    return name


def _write_compact_geojson(frame: gpd.GeoDataFrame, path: Path) -> None:
    """Write ``frame`` as GeoJSON without whitespace, coordinates rounded to 1e-6 degree."""
    grid = 10.0**-COORD_DECIMALS
    geoms = shapely.make_valid(shapely.set_precision(frame.geometry.values, grid))
    frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))
    data = frame.to_geo_dict(drop_id=True)
    for feature in data["features"]:
        feature["geometry"]["coordinates"] = _round_coords(feature["geometry"]["coordinates"])
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    replace_file(path, (text + "\n").encode("utf-8"))


def _round_coords(coords: Any) -> Any:
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(float(c), COORD_DECIMALS) for c in coords]
    return [_round_coords(c) for c in coords]


# --- Loaders ------------------------------------------------------------------------------


def load_outline(path: Path = settings.OUTLINE_GEOJSON) -> Outline:
    """The committed Thủ Đức City outline (EPSG:4326)."""
    return _read_outline(Path(path))


@functools.lru_cache(maxsize=4)
def _read_outline(path: Path) -> Outline:
    if not path.is_file():
        raise BoundaryError(f"City outline not found: {path} (run the boundaries build step)")
    with path.open(encoding="utf-8") as f:
        data = json.load(f)
    geom = shapely.union_all([shape(feat["geometry"]) for feat in data["features"]])
    if not isinstance(geom, (Polygon, MultiPolygon)):
        raise BoundaryError(f"City outline in {path} is a {geom.geom_type}, not a polygon")
    return geom


def load_wards(path: Path = settings.WARDS_GEOJSON) -> gpd.GeoDataFrame:
    """The committed 36 wards (EPSG:4326): ``ward`` plus the CityScope fields."""
    if not path.is_file():
        raise BoundaryError(f"Ward file not found: {path} (run the boundaries build step)")
    with path.open(encoding="utf-8") as f:
        data = json.load(f)
    wards = gpd.GeoDataFrame.from_features(data["features"], crs=settings.WGS84)
    return wards[["ward", *WARD_FIELDS, "geometry"]]


def ward_of(points: gpd.GeoSeries, *, wards: gpd.GeoDataFrame | None = None) -> pd.Series:
    """Ward name of each point (``None`` outside every ward), indexed like ``points``.

    Points without a CRS are taken as EPSG:4326. On a shared border the first ward wins.
    """
    wards = load_wards() if wards is None else wards
    pts = points if points.crs is not None else points.set_crs(settings.WGS84)
    pts = pts.to_crs(wards.crs)
    point_idx, ward_idx = wards.sindex.query(pts.values, predicate="within")
    names = np.full(len(pts), None, dtype=object)
    first = np.unique(point_idx, return_index=True)[1]
    names[point_idx[first]] = wards["ward"].to_numpy()[ward_idx[first]]
    return pd.Series(names, index=points.index, name="ward", dtype=object)


# --- Gateway roads ------------------------------------------------------------------------


def boundary_crossings(edges: gpd.GeoDataFrame, outline: Outline) -> gpd.GeoDataFrame:
    """Directed edges that cross the boundary of ``outline`` (EPSG:4326), one row per crossing.

    ``edges`` is a frame like ``osmnx.graph_to_gdfs(G, nodes=False)`` (indexed by ``u, v,
    key`` or with those columns). The result keeps the edge's columns and geometry and adds
    ``direction`` (``inbound``: the edge enters the outline there, ``outbound``: it leaves)
    and ``crossing_lon``/``crossing_lat`` (where the edge meets the boundary).
    """
    keyed = "u" in (edges.index.names or [])
    frame = edges.reset_index() if keyed else edges.reset_index(drop=True)
    lines = frame.geometry if frame.crs is None else frame.geometry.to_crs(settings.WGS84)
    coords, row = shapely.get_coordinates(lines.values, return_index=True)
    shapely.prepare(outline)
    inside = shapely.contains_xy(outline, coords[:, 0], coords[:, 1])
    seg = np.nonzero((row[1:] == row[:-1]) & (inside[1:] != inside[:-1]))[0]
    result = frame.iloc[row[seg]].reset_index(drop=True)
    result["direction"] = np.where(inside[seg + 1], "inbound", "outbound")
    points = _first_crossing(coords[seg], coords[seg + 1], outline)
    result["crossing_lon"] = points[:, 0]
    result["crossing_lat"] = points[:, 1]
    logger.debug("%s boundary crossings on %s edges", len(result), len(frame))
    return result


def _first_crossing(start: np.ndarray, end: np.ndarray, outline: Outline) -> np.ndarray:
    """Point where each segment ``start -> end`` first meets the outline's boundary."""
    if len(start) == 0:
        return np.empty((0, 2))
    segments = shapely.linestrings(np.stack([start, end], axis=1))
    meet = shapely.intersection(segments, outline.boundary)
    coords, idx = shapely.get_coordinates(meet, return_index=True)
    dist = np.hypot(coords[:, 0] - start[idx, 0], coords[:, 1] - start[idx, 1])
    order = np.lexsort((dist, idx))
    first = order[np.unique(idx[order], return_index=True)[1]]
    points = np.full((len(start), 2), np.nan)
    points[idx[first]] = coords[first]
    return points
