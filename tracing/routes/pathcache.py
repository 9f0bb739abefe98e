"""Camera-pair path cache: shortest-path trees from and to every plate-reading camera.

Built once per road graph and camera registry (one forward and one backward single-source
search per camera and cost, with scipy.sparse.csgraph), stored under settings.CACHE_DIR
keyed by a hash of both, and rebuilt only when either changes. Candidate paths of a camera
pair are derived from these trees at query time (see :mod:`tracing.routes.candidates`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
import zipfile
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

from tracing import settings
from tracing.errors import RouteError

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

CACHE_FORMAT: Final = 3
MIN_COST_S: Final = 1e-3
"""csgraph reads an explicit 0 as "no edge"."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PathCache:
    """Routing arrays of one graph and the shortest-path trees of its LPR cameras.

    Nodes are indexed ``0..N-1`` (``node_ids`` holds the OSM ids); edges are the cheapest of
    each (u, v) pair of the graph. Trees have shape (costs, cameras, nodes): forward trees
    start at the head of the camera's edge, backward trees end at its tail.
    """

    key: str
    node_ids: IntArray
    edge_u: IntArray
    edge_v: IntArray
    edge_key: IntArray
    edge_tt: FloatArray
    edge_len: FloatArray
    edge_main: BoolArray
    camera_ids: tuple[str, ...]
    camera_edge: IntArray
    camera_position: FloatArray
    camera_up: BoolArray
    forward_pred: npt.NDArray[np.int32]
    forward_dist: npt.NDArray[np.float32]
    backward_pred: npt.NDArray[np.int32]
    backward_dist: npt.NDArray[np.float32]
    pair_offsets: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Precomputed candidates: pair ``a * C + b`` owns paths ``pair_offsets[p]:[p + 1]``."""
    path_offsets: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    path_nodes: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Node indices of every precomputed path, the first camera edge's tail and the last
    one's head included (ragged by ``path_offsets``)."""
    path_edges: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Edge indices of every precomputed path (path ``r`` owns
    ``path_offsets[r] - r:path_offsets[r + 1] - r - 1``)."""
    path_free: FloatArray = field(default_factory=lambda: np.zeros(0))
    """Per precomputed path: free-flow time between the two cameras' points (s)."""
    path_length: FloatArray = field(default_factory=lambda: np.zeros(0))
    """Per precomputed path: length between the two cameras' points (m)."""
    path_minor: FloatArray = field(default_factory=lambda: np.zeros(0))
    """Per precomputed path: free-flow time on roads outside MAIN_ROAD_CLASSES (s)."""
    camera_offsets: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    path_cameras: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Cameras each precomputed path passes between its two cameras (ragged by
    ``camera_offsets``)."""
    coords: list[npt.NDArray[np.float64]] = field(default_factory=list)
    """Per edge: (lon, lat) vertices, from the graph (not stored in the cache file)."""
    camera_index: dict[str, int] = field(default_factory=dict)
    edge_cameras: dict[int, tuple[int, ...]] = field(default_factory=dict)
    memo: dict[tuple[int, int, int], Any] = field(default_factory=dict)
    """Candidates per camera pair, filled by :func:`tracing.routes.candidates.pair_paths`."""

    pair_keys: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    """``u * N + v`` of every edge (edges are sorted by it)."""

    watched: BoolArray = field(default_factory=lambda: np.zeros(0, bool))
    """Per edge: a camera of the cache watches it."""

    vertices: FloatArray = field(default_factory=lambda: np.zeros((0, 2)))
    """All edges' (lon, lat) vertices, edge after edge (``coords`` flattened)."""
    vertex_offsets: IntArray = field(default_factory=lambda: np.zeros(1, np.int64))
    """Edge ``e`` owns ``vertices[vertex_offsets[e]:vertex_offsets[e + 1]]``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "pair_keys", self.edge_u * len(self.node_ids) + self.edge_v)
        watched = np.zeros(len(self.edge_u), bool)
        watched[self.camera_edge] = True
        object.__setattr__(self, "watched", watched)
        if self.coords:
            object.__setattr__(self, "vertices", np.concatenate(self.coords))
            offsets = np.zeros(len(self.coords) + 1, np.int64)
            np.cumsum([len(c) for c in self.coords], out=offsets[1:])
            object.__setattr__(self, "vertex_offsets", offsets)

    def __repr__(self) -> str:
        return (f"PathCache(key={self.key!r}, nodes={len(self.node_ids)}, "
                f"edges={len(self.edge_u)}, cameras={len(self.camera_ids)})")

    def edges_of(self, nodes: npt.NDArray[np.int64]) -> IntArray:
        """Edge indices between consecutive node indices of a path."""
        keys = nodes[:-1] * len(self.node_ids) + nodes[1:]
        return np.searchsorted(self.pair_keys, keys).astype(np.int64)

    def matches(self, graph: nx.MultiDiGraph) -> bool:
        """Cheap check that the cache was built from a graph of this size."""
        return bool(graph.number_of_nodes() == len(self.node_ids))


# --- Inputs and key ----------------------------------------------------------------------


def _graph_edges(graph: nx.MultiDiGraph) -> pd.DataFrame:
    rows = [(u, v, k, float(d.get("travel_time", 0.0)), float(d.get("length", 0.0)),
             _is_main(d.get("highway")))
            for u, v, k, d in graph.edges(keys=True, data=True)]
    frame = pd.DataFrame(rows, columns=["u", "v", "key", "tt", "length", "main"])
    if frame.empty:
        raise RouteError("the road graph has no edges")
    return frame


def _is_main(highway: Any) -> bool:
    values = highway if isinstance(highway, list) else [highway]
    return any(str(h) in settings.MAIN_ROAD_CLASSES for h in values)


def lpr_cameras(registry: pd.DataFrame | gpd.GeoDataFrame) -> pd.DataFrame:
    """The registry's plate-reading cameras that are snapped to an edge, sorted by id."""
    needed = {"id", "is_lpr", "status", "edge_u", "edge_v", "edge_key", "lon", "lat"}
    missing = sorted(needed - set(registry.columns))
    if missing:
        raise RouteError(f"the camera registry lacks columns {missing}")
    lpr = registry[registry["is_lpr"].astype(bool) & registry["edge_u"].notna()]
    frame = pd.DataFrame(lpr[sorted(needed)]).copy()
    frame["id"] = frame["id"].astype(str)
    return frame.sort_values("id", kind="stable").reset_index(drop=True)


def cache_key(edges: pd.DataFrame, cameras: pd.DataFrame) -> str:
    """20 hex digits hashing the graph's edges, the cameras and the routing settings."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}:{settings.ROUTE_MINOR_ROAD_FACTOR}".encode())
    for column in ("u", "v", "key", "tt", "length", "main"):
        digest.update(np.ascontiguousarray(edges[column].to_numpy()).tobytes())
    text = cameras[["id", "status", "edge_u", "edge_v", "edge_key", "lon", "lat"]].to_csv(
        index=False)
    digest.update(text.encode())
    return digest.hexdigest()[:20]


# --- Build ---------------------------------------------------------------------------------


def _cheapest_pairs(edges: pd.DataFrame, node_ids: IntArray) -> pd.DataFrame:
    frame = edges.assign(ui=np.searchsorted(node_ids, edges["u"].to_numpy(np.int64)),
                         vi=np.searchsorted(node_ids, edges["v"].to_numpy(np.int64)))
    frame = frame[frame["ui"] != frame["vi"]]
    frame = frame.sort_values(["ui", "vi", "tt"], kind="stable")
    return frame.drop_duplicates(["ui", "vi"], keep="first").reset_index(drop=True)


def _trees(matrix: csr_matrix, sources: IntArray) -> tuple[npt.NDArray[np.int32],
                                                            npt.NDArray[np.float32]]:
    dist, pred = dijkstra(matrix, directed=True, indices=sources, return_predecessors=True)
    return pred.astype(np.int32), dist.astype(np.float32)


def _camera_edges(cameras: pd.DataFrame, pairs: pd.DataFrame, node_ids: IntArray,
                  ) -> tuple[IntArray, BoolArray]:
    n = len(node_ids)
    u = np.searchsorted(node_ids, cameras["edge_u"].to_numpy(np.int64))
    v = np.searchsorted(node_ids, cameras["edge_v"].to_numpy(np.int64))
    u, v = np.minimum(u, n - 1), np.minimum(v, n - 1)
    known = (node_ids[u] == cameras["edge_u"].to_numpy(np.int64)) & (
        node_ids[v] == cameras["edge_v"].to_numpy(np.int64))
    keys = (pairs["ui"].to_numpy(np.int64) * n + pairs["vi"].to_numpy(np.int64))
    index = np.minimum(np.searchsorted(keys, u * n + v), len(keys) - 1)
    known &= keys[index] == u * n + v
    return index.astype(np.int64), known


def _positions(cameras: pd.DataFrame, edge_coords: list[npt.NDArray[np.float64]]) -> FloatArray:
    out = np.zeros(len(cameras))
    for i, (coords, lon, lat) in enumerate(zip(edge_coords, cameras["lon"], cameras["lat"],
                                               strict=True)):
        line = shapely.LineString(coords)
        out[i] = line.line_locate_point(shapely.Point(float(lon), float(lat)), normalized=True) \
            if line.length > 0 else 0.5
    return out


def _coords(graph: nx.MultiDiGraph, pairs: pd.DataFrame) -> list[npt.NDArray[np.float64]]:
    nodes = graph.nodes
    out = []
    for u, v, k in zip(pairs["u"], pairs["v"], pairs["key"], strict=True):
        geometry = graph.edges[u, v, k].get("geometry")
        if geometry is not None:
            out.append(np.asarray(geometry.coords, dtype=np.float64))
        else:
            out.append(np.array([[nodes[u]["x"], nodes[u]["y"]], [nodes[v]["x"], nodes[v]["y"]]]))
    return out


def build_path_cache(graph: nx.MultiDiGraph, registry: pd.DataFrame | gpd.GeoDataFrame
                     ) -> PathCache:
    """Build the trees of every plate-reading camera of ``registry`` (no file written)."""
    started = time.perf_counter()
    edges = _graph_edges(graph)
    cameras = lpr_cameras(registry)
    node_ids = np.array(sorted(graph.nodes), dtype=np.int64)
    pairs = _cheapest_pairs(edges, node_ids)
    coords = _coords(graph, pairs)
    camera_edge, known = _camera_edges(cameras, pairs, node_ids)
    if not known.all():
        logger.warning("%s LPR cameras watch edges not in the graph (ignored): %s",
                       int((~known).sum()), cameras["id"][~known].tolist()[:5])
    cameras, camera_edge = cameras[known].reset_index(drop=True), camera_edge[known]
    if cameras.empty:
        raise RouteError("no plate-reading camera of the registry watches an edge of the graph")
    cache = _assemble(graph, pairs, node_ids, cameras, camera_edge, coords,
                      key=cache_key(edges, lpr_cameras(registry)))
    from tracing.routes.candidates import precompute_pairs

    cache = dataclasses.replace(cache, **precompute_pairs(cache))
    logger.info("path cache of %s cameras built in %.1f s", len(cameras),
                time.perf_counter() - started)
    return cache


def _assemble(graph: nx.MultiDiGraph, pairs: pd.DataFrame, node_ids: IntArray,
              cameras: pd.DataFrame, camera_edge: IntArray,
              coords: list[npt.NDArray[np.float64]], *, key: str) -> PathCache:
    n = len(node_ids)
    ui, vi = pairs["ui"].to_numpy(np.int64), pairs["vi"].to_numpy(np.int64)
    tt = np.maximum(pairs["tt"].to_numpy(np.float64), MIN_COST_S)
    main = pairs["main"].to_numpy(bool)
    costs = [tt, np.where(main, tt, tt * settings.ROUTE_MINOR_ROAD_FACTOR)]
    heads, tails = vi[camera_edge], ui[camera_edge]
    fp, fd, bp, bd = [], [], [], []
    for cost in costs:
        matrix = csr_matrix((cost, (ui, vi)), shape=(n, n))
        pred, dist = _trees(matrix, heads)
        fp.append(pred)
        fd.append(dist)
        pred, dist = _trees(matrix.T.tocsr(), tails)
        bp.append(pred)
        bd.append(dist)
    return PathCache(
        key=key, node_ids=node_ids, edge_u=ui, edge_v=vi,
        edge_key=pairs["key"].to_numpy(np.int64), edge_tt=tt,
        edge_len=pairs["length"].to_numpy(np.float64), edge_main=main,
        camera_ids=tuple(cameras["id"]), camera_edge=camera_edge,
        camera_position=_positions(cameras, [coords[e] for e in camera_edge]),
        camera_up=(cameras["status"].astype(str) == "up").to_numpy(bool),
        forward_pred=np.stack(fp), forward_dist=np.stack(fd),
        backward_pred=np.stack(bp), backward_dist=np.stack(bd), coords=coords,
        camera_index={c: i for i, c in enumerate(cameras["id"])},
        edge_cameras=_edge_cameras(camera_edge))


def _edge_cameras(camera_edge: IntArray) -> dict[int, tuple[int, ...]]:
    out: dict[int, list[int]] = {}
    for i, e in enumerate(camera_edge):
        out.setdefault(int(e), []).append(i)
    return {e: tuple(c) for e, c in out.items()}


# --- Store and load ------------------------------------------------------------------------

_ARRAYS: Final = ("node_ids", "edge_u", "edge_v", "edge_key", "edge_tt", "edge_len",
                  "edge_main", "camera_edge", "camera_position", "camera_up",
                  "forward_pred", "forward_dist", "backward_pred", "backward_dist",
                  "pair_offsets", "path_offsets", "path_nodes", "path_edges", "path_free",
                  "path_length", "path_minor", "camera_offsets", "path_cameras")
_NARROW: Final = ("path_nodes", "path_edges", "path_cameras")
"""Index arrays stored as int32 (half the file) and widened when read."""


def cache_path(key: str, cache_dir: Path = settings.CACHE_DIR) -> Path:
    """Where the cache of ``key`` is stored."""
    return Path(cache_dir) / f"routes-{key}.npz"


def save_path_cache(cache: PathCache, cache_dir: Path = settings.CACHE_DIR) -> Path:
    """Write the cache's arrays (atomically: a temporary file renamed into place)."""
    path = cache_path(cache.key, cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        np.savez(handle, camera_ids=np.array(cache.camera_ids, dtype=str),
                 **{name: getattr(cache, name).astype(np.int32) if name in _NARROW
                    else getattr(cache, name) for name in _ARRAYS})
    tmp.replace(path)
    return path


def load_path_cache(graph: nx.MultiDiGraph, registry: pd.DataFrame | gpd.GeoDataFrame, *,
                    cache_dir: Path | None = settings.CACHE_DIR) -> PathCache:
    """The cache of this graph and registry: read from ``cache_dir`` when stored there,
    else built and stored (``cache_dir=None``: always built, never stored)."""
    if cache_dir is None:
        return build_path_cache(graph, registry)
    edges = _graph_edges(graph)
    key = cache_key(edges, lpr_cameras(registry))
    path = cache_path(key, cache_dir)
    if path.is_file():
        try:
            return _read(graph, edges, path, key)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            logger.warning("path cache %s unreadable, rebuilding: %s", path, exc)
    cache = build_path_cache(graph, registry)
    save_path_cache(cache, cache_dir)
    _prune(cache_dir, keep=settings.ROUTE_CACHES_KEPT)
    return cache


def _prune(cache_dir: Path, *, keep: int) -> None:
    """Delete all but the ``keep`` newest path caches (each is tens of MB)."""
    caches = sorted(cache_dir.glob("routes-*.npz"), key=lambda p: p.stat().st_mtime)
    for old in caches[:-keep]:
        old.unlink(missing_ok=True)
        logger.info("path cache %s removed (older than the %s kept)", old.name, keep)


def _read(graph: nx.MultiDiGraph, edges: pd.DataFrame, path: Path, key: str) -> PathCache:
    with np.load(path) as data:
        arrays = {name: data[name].astype(np.int64) if name in _NARROW else data[name]
                  for name in _ARRAYS}
        camera_ids = tuple(str(c) for c in data["camera_ids"])
    pairs = _cheapest_pairs(edges, arrays["node_ids"])
    camera_edge = arrays["camera_edge"]
    return PathCache(key=key, camera_ids=camera_ids, coords=_coords(graph, pairs),
                     camera_index={c: i for i, c in enumerate(camera_ids)},
                     edge_cameras=_edge_cameras(camera_edge), **arrays)
