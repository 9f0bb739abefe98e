"""Camera path cache: shortest-path trees from and to every camera's point on its road.

A read places a vehicle at the camera's point on its road, travelling in either direction
where the road is two-way and the camera reads both directions (the registry's
``directions``, default ``both``). Each camera's forward tree therefore starts at that point
(a virtual source joined to the head of its edge and, reading both ways, to the head of the
reverse edge, each at the remaining part of the edge's time), and its backward tree ends
there. Candidate paths of a camera pair come from these trees
(:mod:`tracing.routes.candidates`), with the direction chosen by the paths' times.

Every camera of the registry that stands on the graph is in the cache, plate-reading or
not: a camera that produced a read evidently reads plates. ``bound_s`` / ``bound_m`` hold
the direction-free lower bounds between cameras (least time / road distance between any end
nodes of the two edges) that the one impossible-travel rule (:mod:`tracing.travel`) uses.

The cache is keyed by the road graph and the routing settings only. Cameras are added to a
stored cache incrementally (a new camera costs its own trees and its pairs, about a second),
and a registry only selects which of the stored cameras are active (:meth:`PathCache.view`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from tracing import diskcache, settings
from tracing.errors import RouteError
from tracing.roads import (
    Roads,
    camera_sites,
    cheapest_pair_edges,
    opposite_sites,
    roads_from_graph,
)
from tracing.vehicles import VehicleClass

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

CACHE_FORMAT: Final = 5
MIN_COST_S: Final = 1e-3
"""csgraph reads an explicit 0 as "no edge"."""
KIND: Final = "routes"

_STORED: Final = (
    "node_ids", "camera_osm", "camera_bound_ends", "camera_position", "camera_reverse_road",
    "camera_reverse_position", "camera_both", "forward_pred", "forward_dist", "backward_pred",
    "backward_dist", "site_forward_pred", "site_forward_dist", "site_backward_pred",
    "site_backward_dist", "bound_s", "bound_m", "pair_a", "pair_b", "pair_offsets", "path_offsets",
    "path_nodes", "path_free", "path_length", "path_minor")
_NARROW: Final = ("path_nodes",)
"""Index arrays stored as int32 (half the file) and widened when read."""


def _empty_int(*shape: int) -> IntArray:
    return np.zeros(shape, np.int64)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PathCache:
    """Routing arrays of one graph, the trees and bounds of its cameras, and the candidate
    paths of camera pairs.

    Nodes are indexed ``0..N-1`` (``node_ids`` holds the OSM ids); routing edges are the
    fastest edge of each node pair. Trees have shape (costs, cameras, nodes). Camera fields
    cover every camera the cache holds; ``active``, ``camera_lpr``, ``camera_up`` and
    ``camera_index`` are the registry's view of them.
    """

    key: str
    roads: Roads
    vehicle_class: VehicleClass
    node_ids: IntArray
    edge_u: IntArray
    edge_v: IntArray
    edge_tt: FloatArray
    """Free-flow time of each routing edge for the vehicle class."""
    edge_base_tt: FloatArray
    """Free-flow time of each routing edge at the road speeds (the bounds' time)."""
    edge_open: BoolArray
    """The vehicle class may drive the edge (paths use only these)."""
    edge_len: FloatArray
    edge_main: BoolArray
    road_edge: IntArray
    """Per routing edge: the edge of the compiled roads it is."""
    camera_ids: tuple[str, ...]
    camera_osm: IntArray
    camera_bound_ends: IntArray
    """Per camera: end nodes of the registry's own edge and of the other direction's edge
    (-1: none), which the class-free bounds use."""
    """Per camera: the registry's edge (OSM u, v, key): with the position, its identity."""
    camera_edge: IntArray
    camera_reverse: IntArray
    """Per camera: the routing edge of the other direction of its road (-1: none)."""
    camera_reverse_road: IntArray
    """The same as an edge of the compiled roads (stored)."""
    camera_position: FloatArray
    camera_reverse_position: FloatArray
    camera_both: BoolArray
    forward_pred: npt.NDArray[np.int32]
    forward_dist: npt.NDArray[np.float32]
    backward_pred: npt.NDArray[np.int32]
    backward_dist: npt.NDArray[np.float32]
    site_forward_pred: npt.NDArray[np.int32]
    """Travel-time trees of each direction a camera reads on its own, shape (2, cameras,
    nodes): 0 its registry direction, 1 the other (no predecessors, infinite distances when
    it reads one). Tree 0 of ``forward_pred`` is their per-node best."""
    site_forward_dist: npt.NDArray[np.float32]
    site_backward_pred: npt.NDArray[np.int32]
    site_backward_dist: npt.NDArray[np.float32]
    bound_s: FloatArray
    bound_m: FloatArray
    pair_a: IntArray = field(default_factory=lambda: _empty_int(0))
    pair_b: IntArray = field(default_factory=lambda: _empty_int(0))
    pair_offsets: IntArray = field(default_factory=lambda: _empty_int(1))
    """Pair ``i`` (cameras pair_a[i] → pair_b[i]) owns paths pair_offsets[i]:[i + 1]."""
    path_offsets: IntArray = field(default_factory=lambda: _empty_int(1))
    path_nodes: IntArray = field(default_factory=lambda: _empty_int(0))
    """Node indices of every stored path, from the far end of the first camera's edge to the
    far end of the second's (ragged by ``path_offsets``; edges follow from the nodes)."""
    path_free: FloatArray = field(default_factory=lambda: np.zeros(0))
    path_length: FloatArray = field(default_factory=lambda: np.zeros(0))
    path_minor: FloatArray = field(default_factory=lambda: np.zeros(0))
    active: BoolArray = field(default_factory=lambda: np.zeros(0, bool))
    camera_lpr: BoolArray = field(default_factory=lambda: np.zeros(0, bool))
    """Per camera: the registry expects it to read plates (coverage, negative evidence)."""
    camera_up: BoolArray = field(default_factory=lambda: np.zeros(0, bool))
    """Per camera: the registry's status is ``up``."""
    camera_index: dict[str, int] = field(default_factory=dict)
    edge_cameras: dict[int, tuple[int, ...]] = field(default_factory=dict)
    """Per routing edge: the active cameras that read traffic on it from behind (rear
    plates: the edge the registry snapped them to)."""
    oncoming_cameras: dict[int, tuple[int, ...]] = field(default_factory=dict)
    """Per routing edge: the active cameras reading both directions that see its traffic
    coming towards them (front plates only: motorbikes carry none)."""
    pair_index: dict[tuple[int, int], int] = field(default_factory=dict)
    memo: dict[tuple[int, int, int], Any] = field(default_factory=dict)
    pair_keys: IntArray = field(default_factory=lambda: _empty_int(0))
    vertices: FloatArray = field(default_factory=lambda: np.zeros((0, 2)))
    vertex_offsets: IntArray = field(default_factory=lambda: _empty_int(1))

    def __post_init__(self) -> None:
        n = len(self.node_ids)
        object.__setattr__(self, "pair_keys", self.edge_u * n + self.edge_v)
        object.__setattr__(self, "pair_index", {
            (int(a), int(b)): i for i, (a, b) in enumerate(zip(self.pair_a, self.pair_b,
                                                                strict=True))})
        if len(self.vertices) == 0 and len(self.road_edge):
            vertices, offsets = _vertices(self.roads, self.road_edge)
            object.__setattr__(self, "vertices", vertices)
            object.__setattr__(self, "vertex_offsets", offsets)

    def __repr__(self) -> str:
        return (f"PathCache(key={self.key!r}, nodes={len(self.node_ids)}, "
                f"edges={len(self.edge_u)}, cameras={int(self.active.sum())} active of "
                f"{len(self.camera_ids)}, pairs={len(self.pair_a)})")

    def edges_of(self, nodes: IntArray) -> IntArray:
        """Routing edge indices between consecutive node indices of a path."""
        keys = nodes[:-1] * len(self.node_ids) + nodes[1:]
        return np.searchsorted(self.pair_keys, keys).astype(np.int64)

    def matches(self, graph: nx.MultiDiGraph) -> bool:
        """Cheap check that the cache was built from a graph of this size."""
        return bool(graph.number_of_nodes() == len(self.node_ids))

    def expected(self, camera: int) -> bool:
        """Whether the registry expects ``camera`` to read plates and says it is up."""
        return bool(self.camera_lpr[camera] and self.camera_up[camera])

    def camera_ends(self, camera: int) -> tuple[int, int]:
        """Tail and head node of the camera's edge."""
        e = int(self.camera_edge[camera])
        return int(self.edge_u[e]), int(self.edge_v[e])


def _vertices(roads: Roads, edges: IntArray) -> tuple[FloatArray, IntArray]:
    """All (lon, lat) vertices of ``edges``, edge after edge, and each edge's offset (a
    straight line between the end nodes where an edge has no geometry)."""
    geometry = roads.geometry[edges].copy()
    missing = np.flatnonzero([g is None for g in geometry])
    if len(missing):
        u, v = roads.edge_u[edges[missing]], roads.edge_v[edges[missing]]
        geometry[missing] = shapely.linestrings(
            np.stack([np.c_[roads.x[u], roads.y[u]], np.c_[roads.x[v], roads.y[v]]], axis=1))
    vertices, index = shapely.get_coordinates(geometry, return_index=True)
    offsets = np.zeros(len(edges) + 1, np.int64)
    np.cumsum(np.bincount(index, minlength=len(edges)), out=offsets[1:])
    return vertices, offsets


# --- Registry -> cameras -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Wanted:
    """The registry's cameras on the graph: identity and view fields."""

    ids: tuple[str, ...]
    osm: IntArray
    bound_osm: IntArray
    """The registry's own edges' (u, v) OSM nodes (before any move to an open road)."""
    bound_key: IntArray
    road_edge: IntArray
    lon: FloatArray
    lat: FloatArray
    both: BoolArray
    lpr: BoolArray
    up: BoolArray


def _wanted(roads: Roads, registry: pd.DataFrame | gpd.GeoDataFrame, open_edges: BoolArray
            ) -> _Wanted:
    needed = {"id", "status", "edge_u", "edge_v", "edge_key", "lon", "lat"}
    missing = sorted(needed - set(registry.columns))
    if missing:
        raise RouteError(f"the camera registry lacks columns {missing}")
    frame = pd.DataFrame(registry[registry["edge_u"].notna()]).copy()
    frame["id"] = frame["id"].astype(str)
    frame = frame.sort_values("id", kind="stable").reset_index(drop=True)
    osm = frame[["edge_u", "edge_v", "edge_key"]].to_numpy(np.int64).reshape(-1, 3)
    edges = roads.edge_index(osm[:, 0], osm[:, 1], osm[:, 2])
    if (edges < 0).any():
        logger.warning("%s cameras watch edges not in the graph (ignored): %s",
                       int((edges < 0).sum()), frame["id"][edges < 0].tolist()[:5])
    keep = edges >= 0
    frame = frame[keep].reset_index(drop=True)
    lpr = frame["is_lpr"].astype(bool) if "is_lpr" in frame else pd.Series(True, frame.index)
    both = (frame["directions"].astype(str).str.strip().str.lower() != "one"
            if "directions" in frame else pd.Series(True, frame.index))
    lon, lat = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    bound_osm, bound_key = osm[keep][:, :2], osm[keep][:, 2]
    edges = _open_edges(roads, edges[keep], lon, lat, open_edges)
    osm = np.stack([roads.node_ids[roads.edge_u[edges]], roads.node_ids[roads.edge_v[edges]],
                    roads.edge_key[edges]], axis=1)
    return _Wanted(ids=tuple(frame["id"]), osm=osm, bound_osm=bound_osm, bound_key=bound_key,
                   road_edge=edges,
                   lon=lon, lat=lat,
                   both=both.to_numpy(bool), lpr=lpr.to_numpy(bool),
                   up=(frame["status"].astype(str) == "up").to_numpy(bool))


def _open_edges(roads: Roads, edges: IntArray, lon: FloatArray, lat: FloatArray,
                open_edges: BoolArray) -> IntArray:
    """The cameras' edges, a camera on a road the vehicle class may not use (a motorbike
    on an expressway carriageway) moved to the nearest road it may use within
    ROUTE_RESNAP_M (the service road beside it), if any."""
    closed = np.flatnonzero(~open_edges[edges])
    candidates = np.flatnonzero(open_edges & np.array([g is not None for g in roads.geometry]))
    if not len(closed) or not len(candidates):
        return edges
    tree = shapely.STRtree(roads.geometry[candidates])
    points = shapely.points(lon[closed], lat[closed])
    found, nearest = tree.query_nearest(points, max_distance=settings.ROUTE_RESNAP_M / 111_000)
    out = edges.copy()
    first = np.unique(found, return_index=True)[1]
    out[closed[found[first]]] = candidates[nearest[first]]
    return out


def _signatures(ids: Iterable[str], osm: IntArray, position: FloatArray, both: BoolArray
                ) -> list[tuple[str, int, int, int, float, bool]]:
    return [(str(i), int(o[0]), int(o[1]), int(o[2]), round(float(p), 5), bool(b))
            for i, o, p, b in zip(ids, osm, position, both, strict=True)]


def view(cache: PathCache, wanted: _Wanted) -> PathCache:
    """The cache as a registry sees it: its cameras active, with their is_lpr and status."""
    sites = camera_sites(cache.roads, wanted.ids, wanted.road_edge, wanted.lon, wanted.lat,
                         wanted.both)
    stored = {s: i for i, s in enumerate(_signatures(
        cache.camera_ids, cache.camera_osm, cache.camera_position, cache.camera_both))}
    c = len(cache.camera_ids)
    active, lpr, up = np.zeros(c, bool), np.zeros(c, bool), np.zeros(c, bool)
    index: dict[str, int] = {}
    for j, sig in enumerate(_signatures(wanted.ids, wanted.osm, sites.position, wanted.both)):
        i = stored.get(sig)
        if i is not None:
            active[i], lpr[i], up[i] = True, wanted.lpr[j], wanted.up[j]
            index[sig[0]] = i
    return dataclasses.replace(cache, active=active, camera_lpr=lpr, camera_up=up,
                               camera_index=index, memo={},
                               edge_cameras=_by_edge(cache.camera_edge, active),
                               oncoming_cameras=_by_edge(cache.camera_reverse,
                                                         active & cache.camera_both))


def _by_edge(edges: IntArray, cameras: BoolArray) -> dict[int, tuple[int, ...]]:
    out: dict[int, list[int]] = {}
    for i in np.flatnonzero(cameras & (edges >= 0)):
        out.setdefault(int(edges[i]), []).append(int(i))
    return {e: tuple(c) for e, c in out.items()}


# --- Build ---------------------------------------------------------------------------------


def _routing_key(roads: Roads, class_tt: FloatArray, vehicle_class: str) -> str:
    return diskcache.content_key(
        f"{KIND}:{CACHE_FORMAT}:{settings.ROUTE_MINOR_ROAD_FACTOR}:{vehicle_class}",
        roads.node_ids, roads.edge_u, roads.edge_v, roads.edge_key, roads.travel_time,
        class_tt, roads.length, roads.main)


def empty_cache(graph: nx.MultiDiGraph, vehicle_class: VehicleClass = "car") -> PathCache:
    """The routing arrays of ``graph`` for ``vehicle_class`` with no camera yet."""
    roads = roads_from_graph(graph)
    pair = cheapest_pair_edges(roads)
    class_tt = roads.class_travel_time(vehicle_class)
    base = np.maximum(roads.travel_time[pair], MIN_COST_S)
    open_ = np.isfinite(class_tt[pair])
    n_costs = len(_costs(base, roads.main[pair]))
    n = roads.n_nodes
    return PathCache(
        key=_routing_key(roads, class_tt, vehicle_class), roads=roads,
        vehicle_class=vehicle_class, node_ids=roads.node_ids,
        edge_u=roads.edge_u[pair], edge_v=roads.edge_v[pair],
        edge_tt=np.where(open_, np.maximum(class_tt[pair], MIN_COST_S), base),
        edge_base_tt=base, edge_open=open_, edge_len=roads.length[pair],
        edge_main=roads.main[pair], road_edge=pair, camera_ids=(),
        camera_osm=_empty_int(0, 3), camera_bound_ends=_empty_int(0, 4),
        camera_edge=_empty_int(0), camera_reverse=_empty_int(0),
        camera_reverse_road=_empty_int(0), camera_position=np.zeros(0),
        camera_reverse_position=np.zeros(0), camera_both=np.zeros(0, bool),
        forward_pred=np.zeros((n_costs, 0, n), np.int32),
        forward_dist=np.zeros((n_costs, 0, n), np.float32),
        backward_pred=np.zeros((n_costs, 0, n), np.int32),
        backward_dist=np.zeros((n_costs, 0, n), np.float32),
        site_forward_pred=np.zeros((2, 0, n), np.int32),
        site_forward_dist=np.zeros((2, 0, n), np.float32),
        site_backward_pred=np.zeros((2, 0, n), np.int32),
        site_backward_dist=np.zeros((2, 0, n), np.float32),
        bound_s=np.zeros((0, 0)), bound_m=np.zeros((0, 0)))


def _costs(tt: FloatArray, main: BoolArray) -> list[FloatArray]:
    """The search costs: travel time, and travel time with minor roads slower."""
    tt = np.maximum(tt, MIN_COST_S)
    return [tt, np.where(main, tt, tt * settings.ROUTE_MINOR_ROAD_FACTOR)]


def _road_open(cache: PathCache) -> BoolArray:
    """Per edge of the compiled roads: the cache's vehicle class may drive it."""
    return np.isfinite(cache.roads.class_travel_time(cache.vehicle_class))


def _routing_edge(cache: PathCache, road_edges: IntArray) -> IntArray:
    n = len(cache.node_ids)
    keys = cache.roads.edge_u[road_edges] * n + cache.roads.edge_v[road_edges]
    return np.searchsorted(cache.pair_keys, keys).astype(np.int64)


def _with_virtual(matrix: csr_matrix, targets: list[int], costs: list[float]) -> csr_matrix:
    """``matrix`` (N×N) plus a node N with edges to ``targets`` at ``costs``."""
    n = matrix.shape[0]
    indptr = np.concatenate([matrix.indptr, [matrix.indptr[-1] + len(targets)]])
    return csr_matrix((np.concatenate([matrix.data, np.maximum(costs, MIN_COST_S)]),
                       np.concatenate([matrix.indices, targets]), indptr), shape=(n + 1, n + 1))


def _tree(matrix: csr_matrix, targets: list[int], costs: list[float]
          ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Shortest-path tree from a virtual node joined to ``targets``: predecessors (-1 at the
    roots, the nodes joined to the virtual one) and distances over the N real nodes."""
    n = matrix.shape[0]
    dist, pred = dijkstra(_with_virtual(matrix, targets, costs), directed=True, indices=n,
                          return_predecessors=True)
    pred = np.where(pred[:n] == n, -1, pred[:n])
    return pred.astype(np.int32), dist[:n].astype(np.float32)


def _site_trees(matrix: csr_matrix, targets: list[int], costs: list[float]
                ) -> npt.NDArray[np.float64]:
    """Predecessors and distances (2, sites=2, nodes) of the tree of each direction alone
    (the second empty when the camera reads one direction)."""
    n = matrix.shape[0]
    out = np.empty((2, 2, n))
    out[0, 1], out[1, 1] = -9999, np.inf
    for site, (target, cost) in enumerate(zip(targets, costs, strict=True)):
        pred, dist = _tree(matrix, [target], [cost])
        out[0, site], out[1, site] = pred, dist
    return out


def _best_of(sites: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int32],
                                                      npt.NDArray[np.float32]]:
    """The per-node best of the two direction trees (sites: pred/dist, site, camera, node):
    a shortest-path tree from either direction (a node's predecessor took the same or a
    better branch, so walking it back stays shortest)."""
    pred, dist = sites[0], sites[1]
    second = dist[1] < dist[0]
    return (np.where(second, pred[1], pred[0]).astype(np.int32),
            np.where(second, dist[1], dist[0]).astype(np.float32))


def _bound_rows(matrix: csr_matrix, ends: IntArray, sources: IntArray) -> FloatArray:
    """Least cost from any end node of each source camera to any end of every camera
    (``ends``: camera × 4 node indices, -1 padding)."""
    out = np.zeros((len(sources), len(ends)))
    for row, c in enumerate(sources):
        dist = dijkstra(matrix, directed=True, indices=ends[c][ends[c] >= 0], min_only=True)
        out[row] = np.where(ends >= 0, dist[np.maximum(ends, 0)], np.inf).min(axis=1)
    return out


def add_cameras(cache: PathCache, wanted: _Wanted, rows: IntArray) -> PathCache:
    """``cache`` with the cameras ``rows`` of ``wanted`` added: their trees and bounds."""
    if len(rows) == 0:
        return cache
    sites = camera_sites(cache.roads, [wanted.ids[r] for r in rows], wanted.road_edge[rows],
                         wanted.lon[rows], wanted.lat[rows], wanted.both[rows])
    edge = _routing_edge(cache, sites.edge)
    reverse = _routing_reverse(cache, sites.reverse)
    n = len(cache.node_ids)
    costs = _costs(cache.edge_tt, cache.edge_main)
    sides = list(zip(edge, reverse, sites.position, sites.reverse_position, sites.both,
                     strict=True))
    o = cache.edge_open
    grown_trees: dict[str, Any] = {}
    mixed: list[list[Any]] = [[], [], [], []]
    for k, cost in enumerate(costs):
        forward = csr_matrix((cost[o], (cache.edge_u[o], cache.edge_v[o])), shape=(n, n))
        backward = forward.T.tocsr()
        if k == 0:
            f_sites = np.stack([_site_trees(forward, *_exits(cache, cost, *side))
                                for side in sides], axis=2)
            b_sites = np.stack([_site_trees(backward, *_entries(cache, cost, *side))
                                for side in sides], axis=2)
            trees = [*_best_of(f_sites), *_best_of(b_sites)]
            for direction, site_trees in (("forward", f_sites), ("backward", b_sites)):
                for kind, index, dtype in (("pred", 0, np.int32), ("dist", 1, np.float32)):
                    field_name = f"site_{direction}_{kind}"
                    grown_trees[field_name] = np.concatenate(
                        [getattr(cache, field_name), site_trees[index].astype(dtype)], axis=1)
        else:
            f = [_tree(forward, *_exits(cache, cost, *side)) for side in sides]
            g = [_tree(backward, *_entries(cache, cost, *side)) for side in sides]
            trees = [np.stack([t[0] for t in f]), np.stack([t[1] for t in f]),
                     np.stack([t[0] for t in g]), np.stack([t[1] for t in g])]
        for slot, tree in enumerate(trees):
            mixed[slot].append(tree)
    for name, stacked in zip(("forward_pred", "forward_dist", "backward_pred", "backward_dist"),
                             mixed, strict=True):
        grown_trees[name] = np.concatenate([getattr(cache, name), np.stack(stacked)], axis=1)
    grown = dataclasses.replace(
        cache, camera_ids=cache.camera_ids + sites.ids,
        camera_osm=np.concatenate([cache.camera_osm, wanted.osm[rows]]),
        camera_bound_ends=np.concatenate([cache.camera_bound_ends,
                                          _bound_ends(cache, wanted, rows)]),
        camera_edge=np.concatenate([cache.camera_edge, edge]),
        camera_reverse=np.concatenate([cache.camera_reverse, reverse]),
        camera_reverse_road=np.concatenate([cache.camera_reverse_road, sites.reverse]),
        camera_position=np.concatenate([cache.camera_position, sites.position]),
        camera_reverse_position=np.concatenate([cache.camera_reverse_position,
                                                sites.reverse_position]),
        camera_both=np.concatenate([cache.camera_both, sites.both]),
        **grown_trees,
        active=np.zeros(0, bool), memo={}, vertices=cache.vertices,
        vertex_offsets=cache.vertex_offsets)
    return _grow_bounds(grown, len(cache.camera_ids))


def _exits(cache: PathCache, cost: FloatArray, e: int, r: int, p: float, rp: float,
           both: bool) -> tuple[list[int], list[float]]:
    """Where a vehicle read at a camera's point leaves its road: the head of its edge at the
    rest of the edge's cost, and (both directions) the head of the other direction's edge."""
    targets, costs = [int(cache.edge_v[e])], [(1 - p) * float(cost[e])]
    if both and r >= 0:
        targets.append(int(cache.edge_v[r]))
        costs.append((1 - rp) * float(cost[r]))
    return targets, costs


def _entries(cache: PathCache, cost: FloatArray, e: int, r: int, p: float, rp: float,
             both: bool) -> tuple[list[int], list[float]]:
    """Where a vehicle reaching a camera's point enters its road (see :func:`_exits`)."""
    targets, costs = [int(cache.edge_u[e])], [p * float(cost[e])]
    if both and r >= 0:
        targets.append(int(cache.edge_u[r]))
        costs.append(rp * float(cost[r]))
    return targets, costs


def _routing_reverse(cache: PathCache, road_edges: IntArray) -> IntArray:
    """Routing edges of the other directions' road edges; -1 where none or closed to the
    cache's vehicle class."""
    edge = _routing_edge(cache, np.maximum(road_edges, 0))
    return np.where((road_edges >= 0) & cache.edge_open[edge], edge, -1)


def _bound_ends(cache: PathCache, wanted: _Wanted, rows: IntArray) -> IntArray:
    """End nodes of the registry's edges and of their other direction (class-free)."""
    roads = cache.roads
    registry_edge = roads.edge_index(wanted.bound_osm[rows, 0], wanted.bound_osm[rows, 1],
                                     wanted.bound_key[rows])
    other, _ = opposite_sites(roads, registry_edge, wanted.lon[rows], wanted.lat[rows])
    ends = np.stack([roads.edge_u[registry_edge], roads.edge_v[registry_edge],
                     roads.edge_u[np.maximum(other, 0)], roads.edge_v[np.maximum(other, 0)]],
                    axis=1)
    ends[other < 0, 2:] = -1
    return ends.astype(np.int64)


def _grow_bounds(cache: PathCache, old: int) -> PathCache:
    """Bounds of the cameras from index ``old`` on: their rows (forward searches) and
    columns (backward searches), the others' entries kept."""
    n = len(cache.node_ids)
    ends = cache.camera_bound_ends
    new = np.arange(old, len(cache.camera_ids))
    out = []
    for weight, current in ((cache.edge_base_tt, cache.bound_s),
                            (cache.edge_len, cache.bound_m)):
        forward = csr_matrix((np.maximum(weight, 1e-6), (cache.edge_u, cache.edge_v)),
                             shape=(n, n))
        bound = np.zeros((len(ends), len(ends)))
        bound[:old, :old] = current
        bound[new] = _bound_rows(forward, ends, new)
        bound[:, new] = _bound_rows(forward.T.tocsr(), ends, new).T
        np.fill_diagonal(bound, 0.0)
        out.append(bound)
    return dataclasses.replace(cache, bound_s=out[0], bound_m=out[1], memo={},
                               vertices=cache.vertices, vertex_offsets=cache.vertex_offsets)


def _missing(cache: PathCache, wanted: _Wanted) -> IntArray:
    sites = camera_sites(cache.roads, wanted.ids, wanted.road_edge, wanted.lon, wanted.lat,
                         wanted.both)
    stored = set(_signatures(cache.camera_ids, cache.camera_osm, cache.camera_position,
                             cache.camera_both))
    sigs = _signatures(wanted.ids, wanted.osm, sites.position, wanted.both)
    return np.array([j for j, s in enumerate(sigs) if s not in stored], np.int64)


def _complete(cache: PathCache, wanted: _Wanted, *, pairs: bool) -> tuple[PathCache, bool]:
    """The cache with every wanted camera and (``pairs``) the candidates of every active
    pair; True when anything was added."""
    from tracing.routes.candidates import add_pairs

    missing = _missing(cache, wanted)
    cache = view(add_cameras(cache, wanted, missing), wanted)
    changed = len(missing) > 0
    if pairs:
        active = np.flatnonzero(cache.active)
        todo = [(int(a), int(b)) for a in active for b in active
                if (int(a), int(b)) not in cache.pair_index]
        if todo:
            cache, changed = view(add_pairs(cache, todo), wanted), True
    return cache, changed


def build_path_cache(graph: nx.MultiDiGraph, registry: pd.DataFrame | gpd.GeoDataFrame, *,
                     pairs: bool = True, vehicle_class: VehicleClass = "car") -> PathCache:
    """The cache of every camera of ``registry`` on ``graph`` (nothing read or written)."""
    return load_path_cache(graph, registry, cache_dir=None, pairs=pairs,
                           vehicle_class=vehicle_class)


def load_path_cache(graph: nx.MultiDiGraph, registry: pd.DataFrame | gpd.GeoDataFrame, *,
                    cache_dir: Path | None = settings.CACHE_DIR, pairs: bool = True,
                    vehicle_class: VehicleClass = "car") -> PathCache:
    """The cache of this graph for ``vehicle_class`` (its roads and speeds; buses route as
    cars) with the registry's cameras active: read from ``cache_dir``, completed with the
    cameras (and, with ``pairs``, the camera pairs) it lacks, and stored again when
    anything was added (``cache_dir=None``: built, never stored)."""
    started = time.perf_counter()
    base = empty_cache(graph, "car" if vehicle_class == "bus" else vehicle_class)
    wanted = _wanted(base.roads, registry, _road_open(base))
    if not wanted.ids:
        raise RouteError("no camera of the registry watches an edge of the road graph")
    path = None if cache_dir is None else diskcache.cache_file(cache_dir, KIND, base.key)
    stored = None if path is None else diskcache.read_arrays(path, (*_STORED, "camera_ids"))
    if stored is not None and np.array_equal(stored["node_ids"], base.node_ids):
        base = _from_stored(base, stored)
    cache, changed = _complete(base, wanted, pairs=pairs)
    if changed and path is not None and cache_dir is not None:
        diskcache.write_arrays(path, _to_stored(cache))
        diskcache.prune(cache_dir, KIND, keep=settings.ROUTE_CACHES_KEPT)
    if changed:
        logger.info("path cache of %s cameras, %s pairs ready in %.1f s", len(cache.camera_ids),
                    len(cache.pair_a), time.perf_counter() - started)
    return cache


_DERIVED_FIRST: Final = ("forward_pred", "forward_dist", "backward_pred", "backward_dist")
"""Stored without tree 0, which is the best of the two site trees (derived when read)."""


def _to_stored(cache: PathCache) -> diskcache.Arrays:
    out = {name: getattr(cache, name) for name in _STORED}
    for name in _DERIVED_FIRST:
        out[name] = out[name][1:]
    for name in _NARROW:
        out[name] = out[name].astype(np.int32)
    out["camera_ids"] = np.array(cache.camera_ids, dtype=str)
    return out


def _from_stored(base: PathCache, stored: diskcache.Arrays) -> PathCache:
    arrays: dict[str, Any] = {
        name: stored[name].astype(np.int64) if name in _NARROW else stored[name]
        for name in _STORED if name != "node_ids"}
    ids = tuple(str(c) for c in stored["camera_ids"])
    for direction in ("forward", "backward"):
        sites = np.stack([arrays[f"site_{direction}_pred"], arrays[f"site_{direction}_dist"]])
        pred, dist = _best_of(sites)
        arrays[f"{direction}_pred"] = np.concatenate([pred[None], arrays[f"{direction}_pred"]])
        arrays[f"{direction}_dist"] = np.concatenate([dist[None], arrays[f"{direction}_dist"]])
    osm = arrays["camera_osm"].reshape(-1, 3)
    arrays["camera_bound_ends"] = arrays["camera_bound_ends"].reshape(-1, 4)
    road_edge = base.roads.edge_index(osm[:, 0], osm[:, 1], osm[:, 2])
    if (road_edge < 0).any():
        return base
    edge = _routing_edge(base, road_edge)
    reverse = _routing_reverse(base, arrays["camera_reverse_road"])
    return dataclasses.replace(base, camera_ids=ids, camera_edge=edge, camera_reverse=reverse,
                               vertices=base.vertices, vertex_offsets=base.vertex_offsets,
                               **arrays)
