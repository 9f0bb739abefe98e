"""The compiled road network: the road graph as flat arrays, and cameras placed on them.

One compilation serves the simulator, the coverage analysis and the route engine's path
cache (:func:`roads_from_graph`, memoised per graph). Nodes get an index ``0..N-1`` in
ascending OSM id; edges an index in ``(u, v, key)`` order. Ragged per-trip sequences (nodes
of a path, its edges) are :class:`Ragged`. A camera sits at a point of its road: on the
directed edge the registry snapped it to and, on a two-way road, on the reverse edge too
(:class:`CameraSites`).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import csr_matrix

from tracing import settings
from tracing.errors import SimulationError
from tracing.vehicles import VehicleClass, class_speed_kph, edge_allowed

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MIN_EDGE_COST_S = 1e-3
"""Edge costs are at least this: scipy's csgraph reads an explicit 0 as "no edge"."""


@dataclass(frozen=True, slots=True)
class Ragged:
    """Variable-length rows: row ``i`` is ``values[offsets[i]:offsets[i + 1]]``."""

    values: npt.NDArray[Any]
    offsets: IntArray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> IntArray:
        """Length of every row."""
        return np.diff(self.offsets)

    def row(self, i: int) -> npt.NDArray[Any]:
        """Row ``i``."""
        return self.values[self.offsets[i]:self.offsets[i + 1]]

    @property
    def row_of_value(self) -> IntArray:
        """Row index of every value."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.lengths)

    def take(self, rows: IntArray) -> Ragged:
        """The rows ``rows``, in that order."""
        lengths = self.lengths[rows]
        offsets = np.zeros(len(rows) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        within = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1], lengths)
        return Ragged(self.values[np.repeat(self.offsets[:-1][rows], lengths) + within], offsets)


def ragged_from_lengths(values: npt.NDArray[Any], lengths: IntArray) -> Ragged:
    """Rows of the given lengths over ``values``."""
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] != len(values):
        raise ValueError(f"lengths sum to {offsets[-1]}, not {len(values)}")
    return Ragged(values, offsets)


@dataclass(frozen=True, slots=True, eq=False)
class Roads:
    """Nodes and directed edges of a road graph, with free-flow travel times."""

    node_ids: IntArray
    x: FloatArray
    y: FloatArray
    edge_u: IntArray
    edge_v: IntArray
    edge_key: IntArray
    travel_time: FloatArray
    length: FloatArray
    main: BoolArray
    highway: npt.NDArray[np.object_]
    name: npt.NDArray[np.object_]
    geometry: npt.NDArray[np.object_]
    pair_keys: IntArray
    """Sorted distinct ``u * N + v`` of the edges (node pairs joined by an edge)."""
    speed_kph: FloatArray | None = None
    """Free-flow speed of every edge (the graph's ``speed_kph``)."""
    tags: dict[str, npt.NDArray[np.object_]] | None = None
    """The OSM tags of the vehicle-class rules, per edge (see tracing.vehicles)."""

    def class_travel_time(self, vehicle_class: VehicleClass) -> FloatArray:
        """Free-flow travel time of every edge for ``vehicle_class`` (its speeds), infinite
        where the class may not drive (motorbikes on expressways, ``motorroad=yes``, …)."""
        if self.speed_kph is None or self.tags is None:
            return self.travel_time
        c = self.tags
        allowed = edge_allowed(c["highway"], c["motorcycle"], c["motorroad"], c["hgv"],
                               c["hgv:conditional"], vehicle_class,
                               motor_vehicle=c["motor_vehicle"])
        speed = class_speed_kph(self.speed_kph, self.highway.tolist(), vehicle_class)
        known = np.isfinite(speed) & (speed > 0)
        time = np.where(known, self.length / np.where(known, speed, 1.0) * 3.6,
                        self.travel_time)
        return np.where(allowed, np.maximum(time, MIN_EDGE_COST_S), np.inf)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    def edge_index(self, u: npt.ArrayLike, v: npt.ArrayLike, key: npt.ArrayLike) -> IntArray:
        """Edge indices of OSM ``(u, v, key)`` triples; -1 where there is no such edge."""
        uu, vv, kk = (np.asarray(a, dtype=np.int64) for a in (u, v, key))
        edges = {(int(a), int(b), int(k)): i for i, (a, b, k) in enumerate(zip(
            self.node_ids[self.edge_u], self.node_ids[self.edge_v], self.edge_key, strict=True))}
        return np.array([edges.get((int(a), int(b), int(k)), -1)
                         for a, b, k in zip(uu, vv, kk, strict=True)], dtype=np.int64)

    def pair_position(self, a: IntArray, b: IntArray) -> IntArray:
        """Position in :attr:`pair_keys` of each node pair (a[i], b[i]); they must be edges."""
        keys = a.astype(np.int64) * self.n_nodes + b.astype(np.int64)
        pos = np.searchsorted(self.pair_keys, keys)
        return pos.astype(np.int64)


def _first(value: object) -> str:
    if isinstance(value, list | tuple):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


_COMPILED: weakref.WeakKeyDictionary[nx.MultiDiGraph, tuple[int, Roads]] = (
    weakref.WeakKeyDictionary())


def roads_from_graph(graph: nx.MultiDiGraph) -> Roads:
    """Flat arrays of an osmnx-style graph (edges need ``travel_time`` and ``length``),
    compiled once per graph object (again if its edge count changes)."""
    found = _COMPILED.get(graph)
    if found is not None and found[0] == graph.number_of_edges():
        return found[1]
    roads = _compile(graph)
    _COMPILED[graph] = (graph.number_of_edges(), roads)
    return roads


def _compile(graph: nx.MultiDiGraph) -> Roads:
    if graph.number_of_edges() == 0:
        raise SimulationError("the road graph has no edges")
    node_ids = np.array(sorted(graph.nodes), dtype=np.int64)
    x = np.array([graph.nodes[n]["x"] for n in node_ids], dtype=float)
    y = np.array([graph.nodes[n]["y"] for n in node_ids], dtype=float)
    rows = sorted(graph.edges(keys=True, data=True), key=lambda e: (e[0], e[1], e[2]))
    try:
        travel = np.array([float(d["travel_time"]) for *_, d in rows])
        length = np.array([float(d["length"]) for *_, d in rows])
    except KeyError as exc:
        raise SimulationError(f"road graph edges need {exc.args[0]!r} (load_network sets it)"
                              ) from exc
    if not (np.isfinite(travel).all() and (travel >= 0).all()):
        raise SimulationError("road graph has edges with a negative or missing travel_time")
    u = np.searchsorted(node_ids, np.array([r[0] for r in rows], dtype=np.int64))
    v = np.searchsorted(node_ids, np.array([r[1] for r in rows], dtype=np.int64))
    highway = np.array([_first(d.get("highway")) for *_, d in rows], dtype=object)
    n = len(node_ids)
    return Roads(
        node_ids=node_ids, x=x, y=y, edge_u=u.astype(np.int64), edge_v=v.astype(np.int64),
        edge_key=np.array([r[2] for r in rows], dtype=np.int64),
        travel_time=np.maximum(travel, MIN_EDGE_COST_S), length=length,
        main=np.isin(highway, list(settings.MAIN_ROAD_CLASSES)), highway=highway,
        name=np.array([_first(d.get("name")) or None for *_, d in rows], dtype=object),
        geometry=np.array([d.get("geometry") for *_, d in rows], dtype=object),
        pair_keys=np.unique(u.astype(np.int64) * n + v.astype(np.int64)),
        speed_kph=np.array([float(d.get("speed_kph", np.nan)) for *_, d in rows]),
        tags={tag: _column([d.get(tag) for *_, d in rows]) for tag in CLASS_TAGS},
    )


CLASS_TAGS = ("highway", "motorcycle", "motor_vehicle", "motorroad", "hgv", "hgv:conditional")
"""Edge tags the vehicle-class rules read."""


def _column(values: list[Any]) -> npt.NDArray[np.object_]:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@dataclass(frozen=True, slots=True, eq=False)
class CostVariant:
    """One driver type: edge costs, the edge used for each node pair, the CSR matrix."""

    cost: FloatArray
    pair_edge: IntArray
    """Edge index (cheapest of parallel edges) for each entry of ``Roads.pair_keys``."""
    matrix: csr_matrix


def cost_variant(roads: Roads, cost: FloatArray) -> CostVariant:
    """The variant of edge costs ``cost`` (one per edge, > 0)."""
    n = roads.n_nodes
    keys = roads.edge_u * n + roads.edge_v
    order = np.lexsort((cost, keys))
    first = np.ones(len(order), bool)
    first[1:] = keys[order][1:] != keys[order][:-1]
    chosen = order[first]  # cheapest edge per pair, in pair_keys order
    matrix = csr_matrix((cost[chosen], (roads.edge_u[chosen], roads.edge_v[chosen])),
                        shape=(n, n))
    return CostVariant(cost=cost, pair_edge=chosen.astype(np.int64), matrix=matrix)


def cost_variants(roads: Roads, rng: np.random.Generator, *, count: int) -> list[CostVariant]:
    """``count`` driver types. Variant 0 is plain travel time (the fastest path); the others
    add lognormal per-edge noise and a preference for or against main roads."""
    variants = [cost_variant(roads, roads.travel_time)]
    for i in range(1, count):
        noise = rng.lognormal(0.0, settings.SIM_EDGE_COST_SIGMA, len(roads.travel_time))
        minor = np.where(roads.main, 1.0, settings.SIM_MINOR_ROAD_COST[i])
        cost = np.maximum(roads.travel_time * noise * minor, MIN_EDGE_COST_S)
        variants.append(cost_variant(roads, cost))
    return variants


def position_on_edge(roads: Roads, edge: int, lon: float, lat: float) -> float:
    """Where along ``edge`` (0 = start, 1 = end) the point lies nearest; 0.5 without geometry."""
    line = roads.geometry[edge]
    if line is None or not isinstance(line, shapely.LineString) or line.length == 0:
        return 0.5
    return float(line.project(shapely.Point(lon, lat), normalized=True))


def cheapest_pair_edges(roads: Roads, cost: FloatArray | None = None) -> IntArray:
    """Per entry of ``roads.pair_keys``: the edge of least ``cost`` (default travel time)
    joining that node pair."""
    return cost_variant(roads, roads.travel_time if cost is None else cost).pair_edge


@dataclass(frozen=True, slots=True, eq=False)
class CameraSites:
    """Cameras placed on the compiled roads.

    ``edge`` is the directed edge the registry snapped the camera to, ``position`` where
    along it the camera stands (0 = start, 1 = end). ``reverse`` is the edge carrying the
    other direction of the same road (-1: none), ``reverse_position`` the camera's place
    along it: the reverse edge of a two-way road, or the other carriageway of a divided one.
    A camera reading both directions (``both``) sees the vehicles there too.
    """

    ids: tuple[str, ...]
    edge: IntArray
    reverse: IntArray
    position: FloatArray
    reverse_position: FloatArray
    both: BoolArray

    def __len__(self) -> int:
        return len(self.ids)

    def sites(self) -> tuple[IntArray, IntArray, FloatArray, BoolArray]:
        """Every (camera, edge, position, oncoming) where a camera reads traffic."""
        two = np.flatnonzero(self.both & (self.reverse >= 0))
        camera = np.concatenate([np.arange(len(self.ids)), two]).astype(np.int64)
        edge = np.concatenate([self.edge, self.reverse[two]]).astype(np.int64)
        position = np.concatenate([self.position, self.reverse_position[two]])
        return camera, edge, position, np.arange(len(edge)) >= len(self.ids)


def edge_lines(roads: Roads, edges: IntArray) -> npt.NDArray[np.object_]:
    """The LineString of each edge (a straight line between its nodes where it has none)."""
    lines = roads.geometry[edges].copy()
    missing = np.flatnonzero([g is None for g in lines])
    if len(missing):
        u, v = roads.edge_u[edges[missing]], roads.edge_v[edges[missing]]
        lines[missing] = shapely.linestrings(
            np.stack([np.c_[roads.x[u], roads.y[u]], np.c_[roads.x[v], roads.y[v]]], axis=1))
    return lines


def _reverse_edges(roads: Roads, edges: IntArray) -> IntArray:
    """The fastest edge from each edge's head back to its tail (-1 where the road is
    one-way)."""
    n = roads.n_nodes
    pair = cheapest_pair_edges(roads)
    keys = roads.edge_v[edges] * n + roads.edge_u[edges]
    pos = np.minimum(np.searchsorted(roads.pair_keys, keys), len(roads.pair_keys) - 1)
    found = (roads.pair_keys[pos] == keys) & (roads.edge_u[edges] != roads.edge_v[edges])
    return np.where(found, pair[pos], -1).astype(np.int64)


def _bearing(lines: npt.NDArray[np.object_], at: FloatArray) -> FloatArray:
    """Compass bearing (degrees, planar on lon/lat) of each line around its point ``at``
    (a normalised position)."""
    a = shapely.line_interpolate_point(lines, np.clip(at - 0.02, 0, 1), normalized=True)
    b = shapely.line_interpolate_point(lines, np.clip(at + 0.02, 0, 1), normalized=True)
    dx = shapely.get_x(b) - shapely.get_x(a)
    dy = shapely.get_y(b) - shapely.get_y(a)
    return np.asarray(np.degrees(np.arctan2(dx, dy)) % 360.0)


def opposite_sites(roads: Roads, edges: IntArray, lon: FloatArray, lat: FloatArray
                   ) -> tuple[IntArray, FloatArray]:
    """Per camera on ``edges`` at (lon, lat): the edge carrying the other direction of its
    road and the camera's position along it. The reverse edge of a two-way road; else the
    nearest edge within OPPOSITE_CARRIAGEWAY_M whose direction there is opposite (within
    45° of it), the other carriageway of a divided road; -1 where there is none."""
    edges = np.asarray(edges, np.int64)
    reverse = _reverse_edges(roads, edges)
    points: npt.NDArray[np.object_] = np.asarray(
        shapely.points(np.asarray(lon, float), np.asarray(lat, float)), dtype=object)
    position = np.zeros(len(edges))
    two_way = reverse >= 0
    if two_way.any():
        position[two_way] = shapely.line_locate_point(
            edge_lines(roads, reverse[two_way]), points[two_way], normalized=True)
    divided = np.flatnonzero(~two_way)
    if len(divided):
        found, at = _other_carriageway(roads, edges[divided], points[divided])
        reverse[divided], position[divided] = found, at
    return reverse, position


def _other_carriageway(roads: Roads, edges: IntArray, points: npt.NDArray[np.object_]
                       ) -> tuple[IntArray, FloatArray]:
    own = edge_lines(roads, edges)
    heading = _bearing(own, shapely.line_locate_point(own, points, normalized=True))
    every = edge_lines(roads, np.arange(len(roads.edge_u)))
    tree = shapely.STRtree(every)
    radius = settings.OPPOSITE_CARRIAGEWAY_M / 111_000
    which, candidate = tree.query(points, predicate="dwithin", distance=radius)
    found, at = np.full(len(edges), -1, np.int64), np.zeros(len(edges))
    if not len(which):
        return found, at
    where = shapely.line_locate_point(every[candidate], points[which], normalized=True)
    turn = np.abs((_bearing(every[candidate], where) - heading[which] + 180.0) % 360.0 - 180.0)
    distance = shapely.distance(every[candidate], points[which])
    ok = (turn >= 135.0) & (candidate != edges[which])
    order = np.lexsort((distance, which))
    for i in order[ok[order]]:
        if found[which[i]] < 0:
            found[which[i]], at[which[i]] = candidate[i], where[i]
    return found, at


def camera_sites(roads: Roads, ids: Sequence[str], edges: IntArray, lon: FloatArray,
                 lat: FloatArray, both: BoolArray) -> CameraSites:
    """Sites of cameras snapped to ``edges`` (edge indices of ``roads``, all valid)."""
    edges = np.asarray(edges, np.int64)
    position = np.array([position_on_edge(roads, int(e), float(x), float(y))
                         for e, x, y in zip(edges, lon, lat, strict=True)])
    reverse, reverse_position = opposite_sites(roads, edges, lon, lat)
    return CameraSites(ids=tuple(str(i) for i in ids), edge=edges, reverse=reverse,
                       position=position, reverse_position=reverse_position,
                       both=np.asarray(both, bool))
