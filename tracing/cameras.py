"""The camera registry: read, validate, snap to the road edge each camera watches, export.

A registry is a table with one row per camera (columns :data:`REGISTRY_COLUMNS`), read
from and written to CSV or GeoJSON so a centre can load its own. :class:`Camera` is the
value type for one row.

Which edge a camera watches: the directed road edge near the camera that minimises
``distance + HEADING_WEIGHT_M_PER_DEG × |heading − edge bearing| − name bonus``, where
the bonus rewards the road the camera's name starts with (portal names read
"Main road - Cross road") and, less, the cross road. Vietnamese motorbikes carry a plate
only at the rear, so a plate-reading camera looks along the traffic it reads: the watched
direction is the one whose bearing is closest to the camera's heading. Without a heading,
the nearest edge wins (name match first) and the edge's bearing is recorded as the
assumed heading (``heading_known`` false).
"""

from __future__ import annotations

import json
import logging
import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point

from tracing import settings
from tracing.errors import RegistryError

if TYPE_CHECKING:
    from tracing.store import Store

logger = logging.getLogger(__name__)

REGISTRY_COLUMNS: Final = (
    "id", "code", "name", "lon", "lat", "heading", "heading_known", "ward", "is_lpr", "status",
    "edge_u", "edge_v", "edge_key", "road", "snap_distance_m", "directions", "stream_url",
)
REQUIRED_COLUMNS: Final = frozenset({"id", "lon", "lat"})
STATUSES: Final = frozenset({"up", "down", "maintenance", "planned"})
STREAM_SCHEMES: Final = ("rtsp://", "rtsps://", "http://", "https://")
"""Video stream addresses a camera without on-board plate reading may give (``stream_url``):
the stream workers (``python -m recognition workers``) read plates from them."""
DIRECTIONS: Final = frozenset({"both", "one"})
"""What a camera reads: both directions of its road (default: rear plates of the traffic
moving away, front plates of oncoming cars), or only the direction it is snapped to."""
MAIN_ROAD_BONUS_M: Final = 25.0
CROSS_ROAD_BONUS_M: Final = 8.0
ROAD_ALIASES: Final = {"vo nguyen giap": "xa lo ha noi"}
"""Roads renamed after the 2018 OSM snapshot (folded new name → folded OSM name)."""
LPR_ROAD_CLASSES: Final = frozenset(
    {"motorway", "trunk", "primary", "secondary", "motorway_link", "trunk_link",
     "primary_link", "secondary_link"})
"""Rule for the shipped registry: the portal does not say which cameras read plates, so a
camera is marked plate-reading when it watches a trunk, primary or secondary road (or
the expressway), where the city's AI cameras stand. A centre's own registry sets is_lpr."""


@dataclass(frozen=True, slots=True)
class Camera:
    """One camera of the registry; ``edge`` is the watched directed edge (u, v, key)."""

    id: str
    code: str
    name: str
    lon: float
    lat: float
    heading: float | None
    heading_known: bool
    ward: str | None
    is_lpr: bool
    status: str
    edge: tuple[int, int, int] | None
    road: str | None
    snap_distance_m: float | None
    directions: str = "both"
    """``both`` (reads both directions of its road) or ``one`` (only the edge's)."""
    stream_url: str | None = None
    """The camera's video stream (RTSP or HTTP) for the stream workers; None: none."""


# --- reading and validating -------------------------------------------------------------

def read_registry(path: Path, *, area: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    """Read a registry from CSV or GeoJSON and validate it (see :func:`validate_registry`)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype={"id": str, "code": str}, encoding="utf-8",
                                keep_default_na=False, na_values=[""])
        elif suffix in {".geojson", ".json"}:
            frame = _frame_from_geojson(path.read_text(encoding="utf-8"))
        else:
            raise RegistryError(f"{path.name}: registry must be .csv or .geojson, not {suffix!r}")
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{path.name} is not UTF-8 text: {exc.reason}") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, json.JSONDecodeError,
            RecursionError) as exc:
        raise RegistryError(f"{path.name} cannot be parsed: {exc}") from exc
    return validate_registry(frame, area=area, source=path.name)


def _frame_from_geojson(text: str) -> pd.DataFrame:
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(
            data.get("features"), list):
        raise RegistryError("GeoJSON registry must be a FeatureCollection of Point features")
    return pd.DataFrame([_point_row(i, feature) for i, feature in enumerate(data["features"])])


def _point_row(i: int, feature: Any) -> dict[str, Any]:
    geometry = feature.get("geometry") if isinstance(feature, dict) else None
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind != "Point":
        raise RegistryError(f"feature {i}: geometry must be a Point, got {kind}")
    coordinates = geometry.get("coordinates")  # type: ignore[union-attr]
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        raise RegistryError(f"feature {i}: a Point needs [lon, lat] coordinates")
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        raise RegistryError(f"feature {i}: properties must be an object")
    return {**properties, "lon": coordinates[0], "lat": coordinates[1]}


def validate_registry(frame: pd.DataFrame, *, area: shapely.Geometry | None = None,
                      source: str = "registry") -> gpd.GeoDataFrame:
    """Check columns and every row; raise one RegistryError that lists every bad row.

    Rules: only known columns; id, lon, lat present; ids unique and non-empty; lon/lat
    numbers inside ``area`` (default: the network area); heading in [0, 360); status one
    of :data:`STATUSES`; is_lpr a boolean.
    """
    unknown = sorted(set(frame.columns) - set(REGISTRY_COLUMNS))
    missing = sorted(REQUIRED_COLUMNS - set(frame.columns))
    if unknown or missing:
        parts = [f"unknown columns {unknown}" if unknown else "",
                 f"missing columns {missing}" if missing else ""]
        raise RegistryError(f"{source}: {'; '.join(p for p in parts if p)}; "
                            f"allowed: {', '.join(REGISTRY_COLUMNS)}")
    if frame.empty:
        raise RegistryError(f"{source}: no cameras")
    frame = _with_defaults(frame)
    problems = _row_problems(frame, area if area is not None else _network_area())
    if problems:
        shown = "; ".join(problems[:20]) + ("; …" if len(problems) > 20 else "")
        raise RegistryError(f"{source}: {len(problems)} bad row(s): {shown}")
    return _typed(frame)


def _with_defaults(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    defaults: dict[str, Any] = {"code": "", "name": "", "heading": np.nan, "ward": None,
                                "is_lpr": False, "status": "up", "edge_u": pd.NA,
                                "edge_v": pd.NA, "edge_key": pd.NA, "road": None,
                                "snap_distance_m": np.nan, "directions": "both",
                                "stream_url": None}
    for column, value in defaults.items():
        if column not in frame:
            frame[column] = value
    if "heading_known" not in frame:
        frame["heading_known"] = pd.to_numeric(frame["heading"], errors="coerce").notna()
    frame["id"] = frame["id"].astype("string").str.strip()
    return frame[list(REGISTRY_COLUMNS)]


def _as_bool(value: Any) -> bool | None:
    if value is None or value is pd.NA:
        return False  # missing, e.g. a store column written without it
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "y"}:
        return True
    if text in {"false", "0", "no", "n", "", "nan", "none"}:
        return False
    return None


def _row_problems(frame: pd.DataFrame, area: shapely.Geometry) -> list[str]:
    problems: list[str] = []
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=float)
    heading = pd.to_numeric(frame["heading"], errors="coerce").to_numpy(dtype=float)
    heading_given = frame["heading"].notna().to_numpy()
    inside = shapely.contains_xy(area, lon, lat)
    duplicated = frame["id"].duplicated(keep=False).to_numpy()
    empty_id = frame["id"].fillna("").eq("").to_numpy()
    for i, row in enumerate(frame.itertuples(index=False)):
        where = f"row {i + 1} (id {row.id!r})"
        if empty_id[i]:
            problems.append(f"row {i + 1}: empty id")
        elif duplicated[i]:
            problems.append(f"{where}: duplicate id")
        if np.isnan(lon[i]) or np.isnan(lat[i]):
            problems.append(f"{where}: lon/lat not numbers ({row.lon!r}, {row.lat!r})")
        elif not inside[i]:
            problems.append(f"{where}: position {row.lon}, {row.lat} is outside the area")
        if heading_given[i] and not 0 <= heading[i] < 360:
            problems.append(f"{where}: heading {row.heading!r} not a number in [0, 360)")
        if str(row.status).strip().lower() not in STATUSES:
            problems.append(f"{where}: status {row.status!r} not one of {sorted(STATUSES)}")
        if str(row.directions).strip().lower() not in DIRECTIONS:
            problems.append(f"{where}: directions {row.directions!r} not one of "
                            f"{sorted(DIRECTIONS)}")
        if not _stream_url_ok(row.stream_url):
            problems.append(f"{where}: stream_url {row.stream_url!r} is not an address "
                            f"starting with {', '.join(STREAM_SCHEMES)}")
        if _as_bool(row.is_lpr) is None:
            problems.append(f"{where}: is_lpr {row.is_lpr!r} is not true/false")
        if _as_bool(row.heading_known) is None:
            problems.append(f"{where}: heading_known {row.heading_known!r} is not true/false")
        problems.extend(f"{where}: {column} {value!r} is not {kind}"
                        for column, value, kind in _bad_snap_fields(row))
    if len(frame) > settings.REGISTRY_MAX_ROWS:
        problems.append(f"{len(frame)} rows, more than the {settings.REGISTRY_MAX_ROWS} allowed")
    return problems


def _stream_url_ok(value: Any) -> bool:
    if value is None or pd.isna(value) or not str(value).strip():
        return True
    text = str(value).strip()
    return (text.lower().startswith(STREAM_SCHEMES) and len(text) <= 2048
            and not any(c.isspace() or ord(c) < 32 for c in text))


def _bad_snap_fields(row: Any) -> list[tuple[str, Any, str]]:
    """Snapped-edge fields that are present but not whole numbers / a distance."""
    bad = []
    for column in ("edge_u", "edge_v", "edge_key"):
        value = getattr(row, column)
        number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
        if not pd.isna(value) and (pd.isna(number) or float(number) != int(number)):
            bad.append((column, value, "a whole number"))
    distance = pd.to_numeric(pd.Series([row.snap_distance_m]), errors="coerce").iloc[0]
    if not pd.isna(row.snap_distance_m) and (pd.isna(distance) or distance < 0):
        bad.append(("snap_distance_m", row.snap_distance_m, "a distance in metres"))
    return bad


def _typed(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    out = frame.copy()
    out["lon"] = pd.to_numeric(out["lon"]).astype(float)
    out["lat"] = pd.to_numeric(out["lat"]).astype(float)
    out["heading"] = pd.to_numeric(out["heading"]).astype(float)
    out["heading_known"] = out["heading_known"].map(_as_bool).astype(bool)
    out["is_lpr"] = out["is_lpr"].map(_as_bool).astype(bool)
    out["status"] = out["status"].astype(str).str.strip().str.lower()
    out["directions"] = out["directions"].astype(str).str.strip().str.lower()
    for column in ("edge_u", "edge_v", "edge_key"):
        out[column] = pd.to_numeric(out[column]).astype("Int64")
    for column in ("code", "name", "ward", "road"):
        out[column] = out[column].astype("string")
    url = out["stream_url"].astype("string").str.strip()
    out["stream_url"] = url.where(url.str.len() > 0)
    out["snap_distance_m"] = pd.to_numeric(out["snap_distance_m"]).astype(float)
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]),
                            crs=settings.WGS84)


def _network_area() -> shapely.Geometry:
    from tracing.boundaries import load_outline

    metric = gpd.GeoSeries([load_outline()], crs=settings.WGS84).to_crs(settings.METRIC_CRS)
    area: shapely.Geometry = metric.buffer(settings.NETWORK_BUFFER_M).to_crs(settings.WGS84).iloc[0]
    return area


# --- writing ----------------------------------------------------------------------------

def write_registry(cameras: gpd.GeoDataFrame, path: Path) -> Path:
    """Write the registry as CSV or GeoJSON (chosen by the suffix)."""
    table = pd.DataFrame(cameras[list(REGISTRY_COLUMNS)])
    if path.suffix.lower() == ".csv":
        table.to_csv(path, index=False, encoding="utf-8")
    elif path.suffix.lower() in {".geojson", ".json"}:
        path.write_text(registry_geojson(cameras), encoding="utf-8")
    else:
        raise RegistryError(f"cannot write a registry as {path.suffix!r}: use .csv or .geojson")
    return path


def registry_geojson(cameras: gpd.GeoDataFrame) -> str:
    """The registry as a GeoJSON FeatureCollection of points (lon/lat kept as properties)."""
    frame = gpd.GeoDataFrame(pd.DataFrame(cameras[list(REGISTRY_COLUMNS)]),
                             geometry=gpd.points_from_xy(cameras["lon"], cameras["lat"]),
                             crs=settings.WGS84)
    return str(frame.to_json(drop_id=True, na="null"))


def cameras_of(frame: gpd.GeoDataFrame) -> list[Camera]:
    """The registry rows as :class:`Camera` values."""
    return [_camera(row) for row in frame.itertuples(index=False)]


def _camera(row: Any) -> Camera:
    edge = None if pd.isna(row.edge_u) else (int(row.edge_u), int(row.edge_v), int(row.edge_key))
    return Camera(
        id=str(row.id), code=str(row.code or ""), name=str(row.name or ""), lon=float(row.lon),
        lat=float(row.lat), heading=None if pd.isna(row.heading) else float(row.heading),
        heading_known=bool(row.heading_known), ward=None if pd.isna(row.ward) else str(row.ward),
        is_lpr=bool(row.is_lpr), status=str(row.status), edge=edge,
        road=None if pd.isna(row.road) else str(row.road),
        snap_distance_m=None if pd.isna(row.snap_distance_m) else float(row.snap_distance_m),
        directions=str(row.directions),
        stream_url=None if pd.isna(row.stream_url) else str(row.stream_url),
    )


def load_registry(store: Store) -> gpd.GeoDataFrame:
    """The registry held in a store's ``cameras`` table."""
    with store.reader() as con:
        frame = con.execute("SELECT * FROM cameras ORDER BY code, id").df()
    if frame.empty:
        raise RegistryError(f"{store.path.name} holds no cameras: load a registry first")
    return _typed(frame[list(REGISTRY_COLUMNS)])


# --- snapping ---------------------------------------------------------------------------

def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _bearing_at(line: LineString, point: Point) -> float:
    """Compass bearing (degrees) of ``line`` (metric CRS) where it passes nearest ``point``."""
    at = line.project(point)
    a = line.interpolate(max(at - 5.0, 0.0))
    b = line.interpolate(min(at + 5.0, line.length))
    return math.degrees(math.atan2(b.x - a.x, b.y - a.y)) % 360.0


def _angle_between(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def _first(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _name_parts(name: str) -> list[str]:
    """The roads a portal camera name mentions, main road first, folded, aliases applied."""
    parts = [_fold(part).split("(")[0].strip() for part in name.split(" - ")]
    return [ROAD_ALIASES.get(part, part) for part in parts if part]


def _name_bonus(road: str, parts: list[str]) -> float:
    if not road:
        return 0.0
    for i, part in enumerate(parts):
        if part in road or road in part:
            return MAIN_ROAD_BONUS_M if i == 0 else CROSS_ROAD_BONUS_M
    return 0.0


def snap_cameras(cameras: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, *,
                 radius_m: float = settings.SNAP_RADIUS_M) -> gpd.GeoDataFrame:
    """Set edge_u/edge_v/edge_key, road, snap_distance_m (and an assumed heading) per camera.

    ``edges`` is osmnx's edge frame (index u, v, key; columns name, highway, geometry).
    A camera with no edge within ``radius_m`` keeps no edge and is logged.
    """
    metric_edges = edges.to_crs(settings.METRIC_CRS)
    metric_points = cameras.geometry.to_crs(settings.METRIC_CRS)
    out = cameras.copy()
    for i, point in enumerate(metric_points):
        choice = _best_edge(out.iloc[i], point, metric_edges, radius_m)
        if choice is None:
            logger.warning("camera %s: no road within %s m", out.iloc[i]["id"], radius_m)
            continue
        (u, v, key), distance, bearing = choice
        column = out.columns.get_loc
        out.iat[i, column("edge_u")], out.iat[i, column("edge_v")] = u, v
        out.iat[i, column("edge_key")] = key
        out.iat[i, column("snap_distance_m")] = round(distance, 1)
        out.iat[i, column("road")] = _first(metric_edges.loc[(u, v, key), "name"]) or None
        if not out.iloc[i]["heading_known"]:
            out.iat[i, column("heading")] = round(bearing)
    return out


def _best_edge(camera: Any, point: Point, edges: gpd.GeoDataFrame,
               radius_m: float) -> tuple[tuple[int, int, int], float, float] | None:
    positions = edges.sindex.query(point.buffer(radius_m), predicate="intersects")
    if len(positions) == 0:
        return None
    parts = _name_parts(str(camera["name"] or ""))
    best: tuple[float, tuple[int, int, int], float, float] | None = None
    for position in positions:
        line = edges.geometry.iloc[position]
        distance = line.distance(point)
        bearing = _bearing_at(line, point)
        cost = distance
        if camera["heading_known"]:
            cost += settings.HEADING_WEIGHT_M_PER_DEG * _angle_between(camera["heading"], bearing)
        cost -= _name_bonus(_fold(_first(edges["name"].iloc[position])), parts)
        u, v, key = (int(x) for x in edges.index[position])
        candidate = (cost, (u, v, key), distance, bearing)
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    assert best is not None
    return best[1], best[2], best[3]


def mark_lpr(cameras: gpd.GeoDataFrame, edges: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Apply the :data:`LPR_ROAD_CLASSES` rule (used for the shipped registry only)."""
    out = cameras.copy()
    classes = edges["highway"].map(_first)
    watched = [classes.get((u, v, k), "") if not pd.isna(u) else ""
               for u, v, k in zip(out["edge_u"], out["edge_v"], out["edge_key"], strict=True)]
    out["is_lpr"] = [c in LPR_ROAD_CLASSES for c in watched]
    return out


# --- the shipped registry ---------------------------------------------------------------

PORTAL_DISTRICT: Final = "Thành phố Thủ Đức"


def import_portal_cameras(csv_path: Path, edges: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Build the shipped Thủ Đức registry from the HCMC traffic-portal camera list."""
    from tracing.boundaries import ward_of

    portal = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    portal = portal[portal["district_2021"] == PORTAL_DISTRICT]
    frame = pd.DataFrame({
        "id": portal["cam_id"], "code": portal["code"], "name": portal["name"],
        "lon": portal["lon"], "lat": portal["lat"],
        "heading": pd.to_numeric(portal["angle_deg"], errors="coerce"),
        "status": portal["status"].str.lower(),
    })
    registry = validate_registry(frame, source=csv_path.name)
    registry["ward"] = ward_of(registry.geometry).astype("string")
    registry = mark_lpr(snap_cameras(registry, edges), edges)
    logger.info("registry: %s cameras, %s plate-reading", len(registry), int(registry.is_lpr.sum()))
    return registry
