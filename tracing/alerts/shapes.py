"""Fence geometries: parse and check GeoJSON, and build fences from wards, points, roads
and the roads entering the city.

Every fence is a Polygon or MultiPolygon in EPSG:4326 inside the Thủ Đức outline buffered by
``settings.GEOFENCE_AREA_BUFFER_M``. Invalid shapes are refused with where they go wrong
(a self-intersection's coordinates); nothing is silently "repaired".
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, TypeAlias

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, shape

from tracing import boundaries, settings
from tracing.errors import BoundaryError, GeofenceError

FenceGeometry: TypeAlias = Polygon | MultiPolygon
_POLYGON_TYPES = ("Polygon", "MultiPolygon")


@lru_cache(maxsize=4)
def city_area(buffer_m: float = settings.GEOFENCE_AREA_BUFFER_M) -> FenceGeometry:
    """The area fences must lie in: the city outline buffered by ``buffer_m`` metres."""
    try:
        outline = boundaries.load_outline()
    except BoundaryError as exc:
        raise GeofenceError(f"cannot check fences against the city area: {exc}") from exc
    metric = gpd.GeoSeries([outline], crs=settings.WGS84).to_crs(settings.METRIC_CRS)
    area = metric.buffer(buffer_m).to_crs(settings.WGS84).iloc[0]
    shapely.prepare(area)
    return area  # type: ignore[no-any-return]


def _where(reason: str) -> str:
    """shapely's validity reason in words, with lon/lat where it names a point."""
    kind, _, rest = reason.partition("[")
    coords = rest.rstrip("]").split()
    if len(coords) == 2:
        lon, lat = (float(c) for c in coords)
        return f"{kind.strip().lower()} at lon {lon:.6f}, lat {lat:.6f}"
    return reason.lower()


def check_fence(geometry: object, *, area: FenceGeometry | None = None) -> FenceGeometry:
    """``geometry`` when it is a usable fence, else GeofenceError saying why and where."""
    if not isinstance(geometry, Polygon | MultiPolygon):
        kind = getattr(geometry, "geom_type", type(geometry).__name__)
        raise GeofenceError(f"a fence must be a Polygon or MultiPolygon, not a {kind}")
    if geometry.is_empty:
        raise GeofenceError("the fence is empty: draw at least three corners")
    vertices = shapely.get_num_coordinates(geometry)
    if vertices > settings.GEOFENCE_MAX_VERTICES:
        raise GeofenceError(f"the fence has {vertices} vertices; at most "
                            f"{settings.GEOFENCE_MAX_VERTICES} are accepted")
    if not geometry.is_valid:
        raise GeofenceError(
            f"the fence is not a valid polygon: {_where(shapely.is_valid_reason(geometry))}; "
            "redraw it so that its edges do not cross")
    if geometry.area == 0.0:
        raise GeofenceError("the fence has no area: draw at least three corners")
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise GeofenceError(f"fence coordinates {geometry.bounds} are not lon/lat "
                            "(EPSG:4326, longitude first)")
    area = city_area() if area is None else area
    if not area.covers(geometry):
        centre = geometry.representative_point()
        where = "lies outside" if not area.intersects(geometry) else "reaches outside"
        raise GeofenceError(
            f"the fence {where} the Thủ Đức area (city outline + "
            f"{settings.GEOFENCE_AREA_BUFFER_M / 1000:g} km) near lon {centre.x:.5f}, "
            f"lat {centre.y:.5f}")
    return geometry


def _geometries(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    kind = data.get("type")
    if kind == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list) or not features:
            raise GeofenceError("the GeoJSON FeatureCollection holds no features")
        return [g for f in features for g in _geometries(f)]
    if kind == "Feature":
        geometry = data.get("geometry")
        if not isinstance(geometry, Mapping):
            raise GeofenceError("a GeoJSON Feature has no geometry")
        return [geometry]
    if kind in _POLYGON_TYPES:
        return [data]
    if isinstance(kind, str):
        raise GeofenceError(f"GeoJSON of type {kind} is not a polygon: give a Polygon, a "
                            "MultiPolygon, or Features of them")
    raise GeofenceError("this is not GeoJSON: no \"type\" member")


def fence_from_geojson(data: str | Mapping[str, Any], *,
                       area: FenceGeometry | None = None) -> FenceGeometry:
    """A fence from GeoJSON text or a parsed mapping (Polygon, MultiPolygon, a Feature or a
    FeatureCollection of them; several polygons are united). GeofenceError when it is not
    JSON, not polygonal, empty, invalid (where it self-intersects) or outside the area."""
    if isinstance(data, str):
        try:
            parsed = json.loads(data)
        except json.JSONDecodeError as exc:
            raise GeofenceError(f"the fence is not valid JSON: {exc}") from exc
    else:
        parsed = data
    if not isinstance(parsed, Mapping):
        raise GeofenceError(f"GeoJSON must be an object, not a {type(parsed).__name__}")
    parts = []
    for geometry in _geometries(parsed):
        if geometry.get("type") not in _POLYGON_TYPES:
            raise GeofenceError(f"GeoJSON geometry of type {geometry.get('type')} is not a "
                                "polygon: fences must be Polygons or MultiPolygons")
        try:
            parts.append(shape(dict(geometry)))
        except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
            raise GeofenceError(f"GeoJSON {geometry.get('type')} has bad coordinates: "
                                f"{exc}") from exc
    for part in parts:
        check_fence(part, area=area)
    fence = parts[0] if len(parts) == 1 else shapely.union_all(parts)
    return check_fence(fence, area=area)


def _metric(geometry: shapely.Geometry) -> Any:
    """The geometry in metres (settings.METRIC_CRS)."""
    return gpd.GeoSeries([geometry], crs=settings.WGS84).to_crs(settings.METRIC_CRS).iloc[0]


def _lonlat(geometry: shapely.Geometry) -> Any:
    """A metric geometry back in lon/lat."""
    return gpd.GeoSeries([geometry], crs=settings.METRIC_CRS).to_crs(settings.WGS84).iloc[0]


def _check_distance(value: float, what: str) -> float:
    if not isinstance(value, int | float) or not 0 < float(value) <= settings.GEOFENCE_MAX_RADIUS_M:
        raise GeofenceError(f"{what} {value!r} must be a distance in metres in "
                            f"(0, {settings.GEOFENCE_MAX_RADIUS_M:g}]")
    return float(value)


def point_fence(lon: float, lat: float, radius_m: float, *,
                area: FenceGeometry | None = None) -> FenceGeometry:
    """A disc of ``radius_m`` metres around a point (lon/lat)."""
    radius = _check_distance(radius_m, "radius")
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise GeofenceError(f"point ({lon!r}, {lat!r}) is not a lon/lat position")
    return check_fence(_lonlat(_metric(Point(lon, lat)).buffer(radius, 32)), area=area)


def ward_fence(wards: gpd.GeoDataFrame, ward_names: Sequence[str], *,
               area: FenceGeometry | None = None) -> FenceGeometry:
    """The union of the named wards (column ``ward``); unknown names are listed."""
    names = list(dict.fromkeys(str(n) for n in ward_names))
    if not names:
        raise GeofenceError("pick at least one ward")
    known = set(wards["ward"].astype(str))
    unknown = [n for n in names if n not in known]
    if unknown:
        raise GeofenceError(f"unknown wards: {', '.join(unknown)}")
    chosen = wards[wards["ward"].astype(str).isin(names)].to_crs(settings.WGS84)
    return check_fence(shapely.union_all(chosen.geometry.to_numpy()), area=area)


def _road_names(value: object) -> list[str]:
    if isinstance(value, list | tuple | np.ndarray):
        return [str(v) for v in value]
    return [] if value is None or (isinstance(value, float) and math.isnan(value)) else [str(value)]


def road_fence(edges: gpd.GeoDataFrame, road_name: str, width_m: float, *,
               area: FenceGeometry | None = None) -> FenceGeometry:
    """Every edge named ``road_name`` (case and accents ignored) buffered by ``width_m`` metres
    on each side, clipped to the city area."""
    width = _check_distance(width_m, "road buffer width")
    wanted = boundaries.ascii_fold(str(road_name)).strip().lower()
    if not wanted:
        raise GeofenceError("give the name of a road")
    names = edges["name"] if "name" in edges.columns else pd.Series([], dtype=object)
    mask = np.array([any(boundaries.ascii_fold(n).lower() == wanted for n in _road_names(v))
                     for v in names], bool)
    if not mask.any():
        raise GeofenceError(f"no road named {road_name!r} in the road network")
    lines = edges[mask].to_crs(settings.METRIC_CRS).geometry.buffer(width, 8)
    area = city_area() if area is None else area
    fence = _lonlat(shapely.union_all(lines.to_numpy())).intersection(area)
    if isinstance(fence, shapely.GeometryCollection):
        fence = shapely.union_all([g for g in fence.geoms if isinstance(g, Polygon | MultiPolygon)])
    return check_fence(fence, area=area)


# --- gateway fences -------------------------------------------------------------------------

_COMPASS = ("east", "north-east", "north", "north-west", "west", "south-west", "south",
            "south-east")


def _compass(point: Point, centre: Point) -> str:
    angle = math.degrees(math.atan2(point.y - centre.y, point.x - centre.x)) % 360
    return _COMPASS[int((angle + 22.5) // 45) % 8]


def _road_label(row: Any) -> str:
    for value in (row.name, getattr(row, "ref", None)):
        names = _road_names(value)
        if names:
            return names[0]
    highway = _road_names(row.highway)
    return f"unnamed {highway[0] if highway else 'road'}"


def _clusters(points: Sequence[Point], within_m: float) -> list[list[int]]:
    """Groups of points (indices) chained by distances below ``within_m`` (metric points)."""
    groups: list[list[int]] = []
    for i, p in enumerate(points):
        near = [g for g in groups if any(points[j].distance(p) < within_m for j in g)]
        merged = [i] + [j for g in near for j in g]
        groups = [g for g in groups if g not in near] + [sorted(merged)]
    return sorted(groups)


def gateway_fences(graph: nx.MultiDiGraph, outline: FenceGeometry, *,
                   radius_m: float = settings.GATEWAY_FENCE_RADIUS_M,
                   classes: Iterable[str] = settings.GATEWAY_FENCE_CLASSES,
                   ) -> list[tuple[str, FenceGeometry]]:
    """Fences where roads enter the city: a disc of ``radius_m`` around each inbound
    boundary crossing (:func:`tracing.boundaries.boundary_crossings`, the gateway roads of
    :mod:`tracing.coverage` and the simulator) of a road in ``classes``. Crossings closer
    than the radius (carriageways of one road, roads meeting at one interchange) share a
    fence, so a camera there raises one entry, not one per road. Named ``Gateway <roads>
    (<side of the city>)``, numbered where names repeat."""
    from tracing.network import edges_frame  # osmnx: seconds to import, needed only here

    radius = _check_distance(radius_m, "gateway radius")
    wanted = set(classes)
    crossings = boundaries.boundary_crossings(edges_frame(graph), outline)
    crossings = crossings[crossings["direction"] == "inbound"]
    keep = [any(h in wanted for h in _road_names(v)) for v in crossings["highway"]]
    crossings = crossings[np.asarray(keep, bool)].reset_index(drop=True)
    points = list(gpd.GeoSeries(
        gpd.points_from_xy(crossings["crossing_lon"], crossings["crossing_lat"]),
        crs=settings.WGS84).to_crs(settings.METRIC_CRS))
    labels = [_road_label(row) for row in crossings.itertuples(index=False)]
    centre = _metric(outline.centroid)
    fences: list[tuple[str, FenceGeometry]] = []
    for group in _clusters(points, radius):
        disc = shapely.union_all([points[i].buffer(radius, 32) for i in group])
        roads = sorted({labels[i] for i in group})
        named = " / ".join(roads[:3]) + (f" +{len(roads) - 3}" if len(roads) > 3 else "")
        fences.append((f"Gateway {named} ({_compass(disc.centroid, centre)})", _lonlat(disc)))
    fences.sort(key=lambda item: (item[0], item[1].centroid.x, item[1].centroid.y))
    return _numbered(fences)


def _numbered(fences: list[tuple[str, FenceGeometry]]) -> list[tuple[str, FenceGeometry]]:
    counts: dict[str, int] = {}
    for name, _ in fences:
        counts[name] = counts.get(name, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for name, geometry in fences:
        if counts[name] > 1:
            seen[name] = seen.get(name, 0) + 1
            name = f"{name} #{seen[name]}"
        out.append((name, geometry))
    return out
