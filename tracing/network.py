"""Offline road network of Thủ Đức City: build from the OSM extract, store compactly, load fast.

Build (needs the shared OSM extract, never the internet)::

    build_network_artifacts()   # PBF -> data/network/{nodes,edges}.parquet + README.md

Load (only the committed artefacts; speeds applied at load time, result cached)::

    graph = load_network()          # osmnx-compatible MultiDiGraph, EPSG:4326

The graph follows osmnx conventions: node keys are OSM node ids with ``x``/``y`` (lon/lat)
and ``street_count``; edges carry ``osmid`` (way id, a list where ways were merged),
``name``, ``highway``, ``oneway``, ``maxspeed``, ``lanes``, ``ref``, the class-restriction
tags ``motorcycle``, ``motor_vehicle``, ``motorroad``, ``hgv``, ``hgv:conditional`` where
the way has them (read by :mod:`tracing.vehicles`), ``length`` (m), ``geometry``
(LineString, on every edge), ``speed_kph`` and ``travel_time`` (s).
"""

from __future__ import annotations

import json
import logging
import math
import re
import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby, pairwise
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import osmium
import osmnx as ox
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from shapely.geometry import MultiPolygon, Polygon

from tracing import boundaries, diskcache, settings
from tracing.errors import NetworkError
from tracing.files import replace_file

logger = logging.getLogger(__name__)

NODES_FILE = "nodes.parquet"
EDGES_FILE = "edges.parquet"
README_FILE = "README.md"
SOURCE_SNAPSHOT = "2018-01-01"
RESTRICTION_TAGS = ("motorcycle", "motor_vehicle", "motorroad", "hgv", "hgv:conditional")
"""OSM access tags kept for vehicle-class rules (:mod:`tracing.vehicles`). They are not
simplification breaks (the topology does not depend on them): an edge merged from ways
with different values holds the list of those values."""
EDGE_TAGS = ("name", "highway", "maxspeed", "lanes", "ref", *RESTRICTION_TAGS)
"""OSM way tags kept on edges (besides osmid, oneway, length, geometry)."""
CACHE_FORMAT = 2
"""Bump when the cached graph's layout changes, so stale caches are ignored."""

# osmnx's "drive" network filter (osmnx/_overpass.py), as exact values.
_EXCLUDED_HIGHWAYS = frozenset({
    "abandoned", "bridleway", "bus_guideway", "construction", "corridor", "cycleway",
    "elevator", "escalator", "footway", "no", "path", "pedestrian", "planned", "platform",
    "proposed", "raceway", "razed", "rest_area", "service", "services", "steps", "track",
})
_EXCLUDED_SERVICES = frozenset({
    "alley", "driveway", "emergency_access", "parking", "parking_aisle", "private",
})
_ACCESS_KEYS = ("motorcar", "motor_vehicle", "vehicle", "access")
"""Access keys from most to least specific for a car (OSM access hierarchy)."""
_NO_ACCESS = frozenset({"no", "private"})
_ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
_ONEWAY_REVERSE = frozenset({"-1", "reverse"})
_IMPLIED_ONEWAY_JUNCTIONS = frozenset({"roundabout", "circular"})

_MAXSPEED_RE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$", re.IGNORECASE)
_UNIT_TO_KPH = {"mph": 1.609344, "knots": 1.852}


# --- Tags -----------------------------------------------------------------------------------


def is_drivable(tags: Mapping[str, str]) -> bool:
    """Whether an OSM way is in osmnx's "drive" network and open to private cars."""
    highway = tags.get("highway")
    if highway is None or highway in _EXCLUDED_HIGHWAYS or tags.get("area") == "yes":
        return False
    if tags.get("service") in _EXCLUDED_SERVICES:
        return False
    access = next((tags[k] for k in _ACCESS_KEYS if k in tags), None)
    return access not in _NO_ACCESS


def oneway_direction(tags: Mapping[str, str]) -> int:
    """``1`` one-way along the way, ``-1`` against it, ``0`` both ways.

    ``oneway`` values follow osmnx; roundabouts and motorways are one-way unless tagged
    otherwise. Contradictory values such as ``yes;no`` count as two-way.
    """
    value = tags.get("oneway")
    if value in _ONEWAY_FORWARD:
        return 1
    if value in _ONEWAY_REVERSE:
        return -1
    implied = tags.get("highway") == "motorway" or tags.get("junction") in _IMPLIED_ONEWAY_JUNCTIONS
    return 1 if value is None and implied else 0


def parse_maxspeed(value: object) -> float | None:
    """km/h of an OSM ``maxspeed`` value, ``None`` when it gives no number.

    Accepts ``"60"``, ``"60 km/h"``, ``"50 mph"``, several values (``"60;80"``, ``"60|80"``,
    or a list after graph simplification: their mean) and plain numbers.
    """
    if isinstance(value, (list, tuple)):
        parsed = [s for s in map(parse_maxspeed, value) if s is not None]
        return statistics.fmean(parsed) if parsed else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        speed = float(value)
        return speed if math.isfinite(speed) and speed > 0 else None
    if not isinstance(value, str):
        return None
    speeds = []
    for part in re.split(r"[;|]", value):
        match = _MAXSPEED_RE.match(part)
        if match:
            unit = (match.group(2) or "").lower()
            speeds.append(float(match.group(1).replace(",", ".")) * _UNIT_TO_KPH.get(unit, 1.0))
    speeds = [s for s in speeds if s > 0]
    return statistics.fmean(speeds) if speeds else None


# --- Speeds and travel times ----------------------------------------------------------------


def edge_speed_kph(
    data: Mapping[str, Any],
    *,
    road_speeds: Mapping[str, float] | None = None,
    fallback_kph: float | None = None,
) -> float:
    """Speed of one edge: its ``maxspeed``, else its class's speed, else the fallback."""
    tagged = parse_maxspeed(data.get("maxspeed"))
    if tagged is not None:
        return tagged
    speeds = settings.ROAD_SPEEDS_KPH if road_speeds is None else road_speeds
    fallback = settings.FALLBACK_SPEED_KPH if fallback_kph is None else fallback_kph
    highway = data.get("highway")
    if isinstance(highway, (list, tuple)):
        highway = highway[0] if highway else None
    return float(speeds.get(highway, fallback)) if isinstance(highway, str) else float(fallback)


def apply_speeds(
    graph: nx.MultiDiGraph,
    *,
    road_speeds: Mapping[str, float] | None = None,
    fallback_kph: float | None = None,
) -> nx.MultiDiGraph:
    """Set ``speed_kph`` and ``travel_time`` (s, from ``length`` in m) on every edge, in place."""
    speeds = dict(settings.ROAD_SPEEDS_KPH if road_speeds is None else road_speeds)
    fallback = settings.FALLBACK_SPEED_KPH if fallback_kph is None else fallback_kph
    bad = {k: v for k, v in [*speeds.items(), ("fallback", fallback)] if not v > 0}
    if bad:
        raise NetworkError(f"Road speeds must be positive km/h, got {bad}")
    for u, v, k, data in graph.edges(keys=True, data=True):
        if "length" not in data:
            raise NetworkError(f"Edge {(u, v, k)} has no length")
        speed = edge_speed_kph(data, road_speeds=speeds, fallback_kph=fallback)
        data["speed_kph"] = speed
        data["travel_time"] = float(data["length"]) / (speed / 3.6)
    return graph


# --- Build from the PBF ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Way:
    osmid: int
    nodes: list[int]
    tags: dict[str, str]


def build_network(
    pbf: Path = settings.OSM_PBF,
    *,
    outline: Polygon | MultiPolygon | None = None,
    buffer_m: float = settings.NETWORK_BUFFER_M,
) -> nx.MultiDiGraph:
    """Drivable, simplified, strongly connected road graph around the city from an OSM PBF.

    Keeps the drivable ways (osmnx "drive" rules, private and no-access ways dropped) within
    ``buffer_m`` metres of ``outline`` (default: the committed city outline); ways leaving
    that area are cut at its edge. Speeds are not set here (see ``apply_speeds``).
    """
    if not Path(pbf).is_file():
        raise NetworkError(f"OSM extract not found: {pbf}")
    area = _buffered_area(boundaries.load_outline() if outline is None else outline, buffer_m)
    ways, coords = _read_drivable_ways(Path(pbf))
    runs = list(_clip_ways(ways, coords, area))
    # The graph is built directly in the layout osmnx's own _create_graph produces. Writing a
    # temporary .osm XML for graph_from_xml would serialise and re-parse ~100k nodes through
    # ElementTree and apply osmnx's oneway rules, which miss implied motorway one-ways;
    # graph_from_gdfs would need every directed (u, v, key) edge computed in pandas first.
    # Lengths, components and simplification then use osmnx's own functions.
    graph = _graph_from_runs(runs, coords)
    if len(graph) == 0:
        raise NetworkError(f"No drivable roads of {pbf} lie within the city area")
    logger.info("Drivable graph: %s nodes, %s edges (unsimplified)", len(graph), len(graph.edges))
    return _finish_graph(graph)


def _buffered_area(outline: Polygon | MultiPolygon, buffer_m: float) -> Polygon | MultiPolygon:
    """``outline`` (EPSG:4326) grown by ``buffer_m`` metres in the metric CRS."""
    metric = gpd.GeoSeries([outline], crs=settings.WGS84).to_crs(settings.METRIC_CRS)
    area = metric.buffer(buffer_m).to_crs(settings.WGS84).iloc[0]
    shapely.prepare(area)
    return area  # type: ignore[no-any-return]


def _read_drivable_ways(pbf: Path) -> tuple[list[_Way], dict[int, tuple[float, float]]]:
    """Drivable highway ways of ``pbf`` and the lon/lat of their nodes."""
    processor = (
        osmium.FileProcessor(str(pbf))
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    ways: list[_Way] = []
    coords: dict[int, tuple[float, float]] = {}
    for way in processor:
        tags = {tag.k: tag.v for tag in way.tags}
        if not is_drivable(tags):
            continue
        refs = []
        for node in way.nodes:  # type: ignore[union-attr]  # the entity filter passes ways only
            if node.location.valid():
                coords[node.ref] = (node.lon, node.lat)
            refs.append(node.ref)
        ways.append(_Way(way.id, [n for n, _ in groupby(refs)], tags))
    logger.info("Read %s drivable ways with %s nodes from %s", len(ways), len(coords), pbf)
    return ways, coords


def _clip_ways(
    ways: Sequence[_Way],
    coords: Mapping[int, tuple[float, float]],
    area: Polygon | MultiPolygon,
) -> Iterator[tuple[_Way, list[int]]]:
    """Each way's runs of consecutive nodes inside ``area`` (at least two nodes each)."""
    ids = np.fromiter(coords.keys(), dtype=np.int64, count=len(coords))
    xy = np.array(list(coords.values()), dtype=float).reshape(-1, 2)
    inside = set(ids[shapely.contains_xy(area, xy[:, 0], xy[:, 1])].tolist())
    for way in ways:
        for is_in, run in groupby(way.nodes, key=inside.__contains__):
            nodes = list(run)
            if is_in and len(nodes) > 1:
                yield way, nodes


def _graph_from_runs(
    runs: Sequence[tuple[_Way, list[int]]], coords: Mapping[int, tuple[float, float]]
) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph(crs=settings.WGS84)
    for way, nodes in runs:
        direction = oneway_direction(way.tags)
        attrs: dict[str, Any] = {"osmid": way.osmid, "oneway": direction != 0}
        attrs.update((k, way.tags[k]) for k in EDGE_TAGS if k in way.tags)
        ordered = nodes[::-1] if direction < 0 else nodes
        graph.add_nodes_from((n, {"x": coords[n][0], "y": coords[n][1]}) for n in ordered)
        graph.add_edges_from(pairwise(ordered), **attrs)
        if direction == 0:
            graph.add_edges_from(pairwise(ordered[::-1]), **attrs)
    return graph


def _finish_graph(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Lengths, street counts, largest strongly connected component, simplification."""
    graph = ox.distance.add_edge_lengths(graph)
    street_count = ox.stats.count_streets_per_node(graph)
    graph = ox.truncate.largest_component(graph, strongly=True)
    nx.set_node_attributes(graph, street_count, name="street_count")
    # Break merged edges where the class, the speed limit or the name changes, so every edge
    # has one of each: its speed is exact (not an average over a list) and it names one road.
    # Costs 3% more nodes than plain simplification on this extract.
    graph = ox.simplify_graph(graph, edge_attrs_differ=["highway", "maxspeed", "name"])
    graph.graph.update(_graph_metadata())
    logger.info("Simplified strongly connected graph: %s nodes, %s edges",
                len(graph), len(graph.edges))
    return graph


def _graph_metadata() -> dict[str, Any]:
    return {
        "crs": settings.WGS84,
        "attribution": settings.OSM_ATTRIBUTION,
        "source": f"OpenStreetMap extract {settings.OSM_PBF.name}, snapshot {SOURCE_SNAPSHOT}",
        "simplified": True,
    }


# --- Compact artefacts -------------------------------------------------------------------------


def save_network(
    graph: nx.MultiDiGraph,
    out_dir: Path = settings.NETWORK_DIR,
    *,
    tolerance_m: float = settings.NETWORK_GEOMETRY_TOLERANCE_M,
) -> dict[str, int]:
    """Write ``graph`` as ``nodes.parquet`` and ``edges.parquet`` (GeoParquet, zstd) in ``out_dir``.

    Multi-valued tags become lists (sorted); edge geometries are simplified to
    ``tolerance_m`` and stored only where the edge is not a straight segment.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_parquet(_nodes_table(graph), out_dir / NODES_FILE)
    edges = _edges_frame_for_storage(graph, tolerance_m=tolerance_m)
    replace_file(out_dir / EDGES_FILE, lambda handle: edges.to_parquet(
        handle, compression="zstd", compression_level=19, index=False,
        geometry_encoding="WKB", write_covering_bbox=False))
    sizes = {name: (out_dir / name).stat().st_size for name in (NODES_FILE, EDGES_FILE)}
    return {"nodes": len(graph), "edges": len(graph.edges), "bytes": sum(sizes.values())}


def _write_parquet(table: pa.Table, path: Path) -> None:
    replace_file(path, lambda handle: pq.write_table(table, handle, compression="zstd",
                                                     compression_level=19))


def _nodes_table(graph: nx.MultiDiGraph) -> pa.Table:
    nodes = sorted(graph.nodes(data=True))
    return pa.table({
        "osmid": pa.array([n for n, _ in nodes], pa.int64()),
        "x": pa.array([d["x"] for _, d in nodes], pa.float64()),
        "y": pa.array([d["y"] for _, d in nodes], pa.float64()),
        "street_count": pa.array([d.get("street_count", 0) for _, d in nodes], pa.int16()),
    })


def _edges_frame_for_storage(graph: nx.MultiDiGraph, *, tolerance_m: float) -> gpd.GeoDataFrame:
    rows = sorted(graph.edges(keys=True, data=True), key=lambda e: (e[0], e[1], e[2]))
    # degrees per metre at this latitude, conservatively the smaller (longitude) scale
    tolerance_deg = tolerance_m / (111_320.0 * math.cos(math.radians(11.0)))
    geoms = [d.get("geometry") for *_, d in rows]
    simplified = [None if g is None else shapely.simplify(g, tolerance_deg) for g in geoms]
    columns: dict[str, Any] = {
        "u": [u for u, *_ in rows],
        "v": [v for _, v, *_ in rows],
        "key": [k for _, _, k, _ in rows],
        "osmid": [sorted(_as_list(d["osmid"])) for *_, d in rows],
        "oneway": [bool(d.get("oneway", False)) for *_, d in rows],
        "length": [round(float(d["length"]), 3) for *_, d in rows],
    }
    for tag in EDGE_TAGS:
        columns[tag] = [_tag_list(d.get(tag)) for *_, d in rows]
    return gpd.GeoDataFrame(columns, geometry=simplified, crs=settings.WGS84)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _tag_list(value: Any) -> list[str] | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return sorted({str(v) for v in _as_list(value)})


def build_network_artifacts(
    out_dir: Path = settings.NETWORK_DIR,
    *,
    pbf: Path = settings.OSM_PBF,
) -> dict[str, int]:
    """Build the network from the PBF and write the committed artefacts and their README.

    Returns the counts (nodes, edges, bytes written, edges with a maxspeed tag).
    """
    graph = build_network(pbf)
    counts = save_network(graph, out_dir)
    counts["edges_with_maxspeed"] = sum(m is not None for *_, m in graph.edges(data="maxspeed"))
    counts["length_km"] = round(sum(length for *_, length in graph.edges(data="length")) / 1000)
    stored = edges_frame(read_network(out_dir))  # as shipped: geometries simplified
    crossings = boundaries.boundary_crossings(stored, boundaries.load_outline())
    counts["boundary_crossings"] = len(crossings)
    _write_readme(out_dir / README_FILE, counts, restriction_tag_counts(graph))
    logger.info("Network artefacts written to %s: %s", out_dir, counts)
    return counts


def restriction_tag_counts(graph: nx.MultiDiGraph) -> dict[str, dict[str, int]]:
    """Directed edges per value of each class-restriction tag (a merged edge counts once
    per distinct value it holds)."""
    found: dict[str, dict[str, int]] = {}
    for *_, data in graph.edges(data=True):
        for tag in RESTRICTION_TAGS:
            if (value := data.get(tag)) is not None:
                for v in sorted({str(x) for x in _as_list(value)}):
                    by_value = found.setdefault(tag, {})
                    by_value[v] = by_value.get(v, 0) + 1
    return {tag: dict(sorted(found[tag].items())) for tag in RESTRICTION_TAGS if tag in found}


def _write_readme(
    path: Path, counts: Mapping[str, int], tag_counts: Mapping[str, Mapping[str, int]]
) -> None:
    tolerance = settings.NETWORK_GEOMETRY_TOLERANCE_M
    counts_text = "; ".join(
        f"`{tag}` " + ", ".join(f"{value} {n:,}" for value, n in values.items())
        for tag, values in tag_counts.items()
    ) or "none"
    tags_text = ", ".join(f"`{tag}`" for tag in RESTRICTION_TAGS)
    text = f"""# Road network of Thủ Đức City (committed, derived from OpenStreetMap)

Data © OpenStreetMap contributors, licensed under the Open Database License (ODbL) 1.0
(https://www.openstreetmap.org/copyright). Show "{settings.OSM_ATTRIBUTION}" wherever the
network or a map made from it is shown or shipped; this derived database is itself ODbL.

- Source: `{settings.OSM_PBF.name}`, OpenStreetMap extract of Ho Chi Minh City, snapshot
  of {SOURCE_SNAPSHOT} (cut from the Geofabrik Vietnam extract; public repo
  `uyennhiphantu/hcm-map-analysis`, path `custom_2018/hcm_2018.osm.pbf`). Roads built
  after 2018 are missing, and the extract ends at the borders with Bình Dương and Đồng Nai.
- Area: the Thủ Đức City outline (`data/boundaries/`) buffered by
  {settings.NETWORK_BUFFER_M:g} m in EPSG:32648; ways leaving it are cut at its edge.
- Roads: osmnx "drive" rules (no footway, cycleway, path, steps, track, service road or
  alley, construction, proposed, …; no `access`/`vehicle`/`motor_vehicle`/`motorcar` = no
  or private). One-way from `oneway` (`yes`, `-1`), roundabouts and motorways.
- Graph: largest strongly connected component, simplified with osmnx (edges split where
  `highway`, `maxspeed` or `name` changes).
  - {counts["nodes"]:,} nodes, {counts["edges"]:,} directed edges,
    {counts["length_km"]:,} km of directed edges
  - {counts["edges_with_maxspeed"]:,} edges with a `maxspeed` tag
  - {counts["boundary_crossings"]:,} crossings of the city boundary by directed edges
    (gateway roads, `tracing.boundaries.boundary_crossings`)
- `{NODES_FILE}`: osmid, x (lon), y (lat), street_count.
- `{EDGES_FILE}` (GeoParquet, EPSG:4326): u, v, key, osmid (way ids), oneway, length (m,
  measured on the full OSM geometry), name/highway/maxspeed/lanes/ref (lists), geometry
  (simplified to {tolerance:g} m; null for straight edges).
  - Vehicle-class tags (lists; null where none of the merged ways has the tag; read by
    `tracing.vehicles`): {tags_text}.
    Directed edges per value: {counts_text}.
    A tag no edge carries is an empty column.
- Speeds and travel times are applied at load time from `tracing/settings.py`
  (`tracing.network.load_network`).
- Rebuild (needs `../shared/data/osm/hcm_2018.osm.pbf`; byte-for-byte reproducible):
  `python -c "from tracing.network import build_network_artifacts as b; b()"`
  (also part of `python -m tracing build-data`).
"""
    path.write_text(text, encoding="utf-8")


# --- Load ---------------------------------------------------------------------------------------


def load_network(
    directory: Path = settings.NETWORK_DIR,
    *,
    cache_dir: Path | None = settings.CACHE_DIR,
    road_speeds: Mapping[str, float] | None = None,
    fallback_kph: float | None = None,
) -> nx.MultiDiGraph:
    """The committed road graph with ``speed_kph`` and ``travel_time`` on every edge.

    The finished graph is cached (pickle) in ``cache_dir`` under a key hashing the artefact
    files and the speed settings; ``cache_dir=None`` disables the cache.
    """
    paths = [directory / NODES_FILE, directory / EDGES_FILE]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise NetworkError(f"Network artefacts missing: {missing} (run build_network_artifacts)")
    speeds = dict(settings.ROAD_SPEEDS_KPH if road_speeds is None else road_speeds)
    fallback = settings.FALLBACK_SPEED_KPH if fallback_kph is None else fallback_kph
    key = _cache_key(paths, speeds, fallback)
    cache = None if cache_dir is None else diskcache.cache_file(cache_dir, "network", key,
                                                                 "pickle")
    if cache is not None and (cached := diskcache.read_pickle(cache, nx.MultiDiGraph)):
        logger.debug("Network loaded from cache %s", cache)
        return cached
    graph = apply_speeds(read_network(directory), road_speeds=speeds, fallback_kph=fallback)
    if cache is not None and cache_dir is not None:
        diskcache.write_pickle(cache, graph)
        diskcache.prune(cache_dir, "network", keep=settings.NETWORK_CACHES_KEPT)
    return graph


def read_network(directory: Path = settings.NETWORK_DIR) -> nx.MultiDiGraph:
    """The committed road graph as stored, without speeds and without the cache."""
    try:
        nodes = pq.read_table(directory / NODES_FILE).to_pydict()
        edges = pq.read_table(directory / EDGES_FILE)
    except (OSError, pa.ArrowException) as e:
        raise NetworkError(f"Cannot read the network artefacts in {directory}: {e}") from e
    graph = nx.MultiDiGraph(**_graph_metadata())
    rows = zip(nodes["osmid"], nodes["x"], nodes["y"], nodes["street_count"], strict=True)
    graph.add_nodes_from((n, {"x": x, "y": y, "street_count": c}) for n, x, y, c in rows)
    geoms = _edge_geometries(graph, edges)
    columns = {name: edges.column(name).to_pylist() for name in edges.column_names
               if name != "geometry"}
    graph.add_edges_from(_edge_rows(columns, geoms))
    logger.info("Read network: %s nodes, %s edges from %s", len(graph), len(graph.edges), directory)
    return graph


def _edge_geometries(graph: nx.MultiDiGraph, edges: pa.Table) -> np.ndarray:
    """Stored geometries, with straight lines between the end nodes where none is stored."""
    geoms = shapely.from_wkb(edges.column("geometry").to_numpy(zero_copy_only=False))
    missing = shapely.is_missing(geoms)
    if missing.any():
        xs, ys = graph.nodes(data="x"), graph.nodes(data="y")
        u = edges.column("u").to_numpy()[missing]
        v = edges.column("v").to_numpy()[missing]
        ends = [[(xs[a], ys[a]), (xs[b], ys[b])] for a, b in zip(u, v, strict=True)]
        geoms[missing] = shapely.linestrings(np.asarray(ends, dtype=float).reshape(-1, 2, 2))
    return geoms  # type: ignore[no-any-return]


def _edge_rows(
    columns: Mapping[str, list[Any]], geoms: np.ndarray
) -> Iterator[tuple[int, int, int, dict[str, Any]]]:
    tags = [t for t in EDGE_TAGS if t in columns]
    for i, (u, v, k) in enumerate(zip(columns["u"], columns["v"], columns["key"], strict=True)):
        data: dict[str, Any] = {
            "osmid": _unwrap(columns["osmid"][i]),
            "oneway": columns["oneway"][i],
            "length": columns["length"][i],
            "geometry": geoms[i],
        }
        for tag in tags:
            if (value := columns[tag][i]) is not None:
                data[tag] = _unwrap(value)
        yield u, v, k, data


def _unwrap(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def _cache_key(paths: Sequence[Path], speeds: Mapping[str, float], fallback: float) -> str:
    extra = {
        "format": CACHE_FORMAT,
        "speeds": sorted(speeds.items()),
        "fallback": fallback,
        "versions": [nx.__version__, shapely.__version__, ox.__version__],
    }
    return diskcache.content_key(*(part for path in paths
                                   for part in (path.name, path.read_bytes())),
                                 json.dumps(extra, sort_keys=True))


# --- Frames and projections ----------------------------------------------------------------------


def edges_frame(graph: nx.MultiDiGraph, *, crs: str = settings.WGS84) -> gpd.GeoDataFrame:
    """Edges as a GeoDataFrame indexed by ``(u, v, key)``, in ``crs``."""
    edges = ox.graph_to_gdfs(graph, nodes=False, fill_edge_geometry=True)
    return edges if crs == edges.crs else edges.to_crs(crs)
