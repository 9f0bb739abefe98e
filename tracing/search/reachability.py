"""Camera-to-camera free-flow travel times and road distances on the road graph.

"Could the vehicle read at camera A at t0 have been at camera B at t?" needs the least time
any drive from A to B takes. A read places the vehicle somewhere on A's watched edge, in
either direction (a camera also reads oncoming traffic), so the bound used is the shortest
free-flow time between any end node of A's edge and any end node of B's edge: a lower bound
of every real drive, which is what an impossible-travel test must use. Road distances are
the same bound on edge ``length``.

One multi-source Dijkstra (scipy, both end nodes as sources) per camera and weight; the
matrices are cached under ``settings.CACHE_DIR`` keyed by a digest of the graph's arrays
and the cameras' edges. Kept apart from the routes' path cache on purpose (small, only
bounds, no paths) so the two can be merged later.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from tracing import settings
from tracing.errors import SearchError

logger = logging.getLogger(__name__)

__all__ = ["Reachability", "load_reachability", "reachability_from_graph"]

Floats = npt.NDArray[np.float64]
CACHE_FORMAT: Final = 1


@dataclass(frozen=True, slots=True, eq=False)
class Reachability:
    """Lower bounds between cameras: ``seconds[i, j]`` free-flow time and ``metres[i, j]``
    road distance from camera ``camera_ids[i]`` to ``camera_ids[j]`` (inf: no road)."""

    camera_ids: tuple[str, ...]
    seconds: Floats
    metres: Floats

    def index(self, camera_id: str) -> int | None:
        """Row of a camera, None when it has no watched edge in the graph."""
        return _positions(self.camera_ids).get(camera_id)

    def travel_s(self, a: str, b: str) -> float | None:
        """Least free-flow seconds from camera a to b (None when either is unknown)."""
        i, j = self.index(a), self.index(b)
        return None if i is None or j is None else float(self.seconds[i, j])

    def distance_m(self, a: str, b: str) -> float | None:
        """Least road metres from camera a to b (None when either is unknown)."""
        i, j = self.index(a), self.index(b)
        return None if i is None or j is None else float(self.metres[i, j])

    def rows(self, camera_ids: pd.Series) -> npt.NDArray[np.int64]:
        """Rows of many cameras (-1 for unknown ones)."""
        lookup = _positions(self.camera_ids)
        return np.array([lookup.get(str(c), -1) for c in camera_ids], np.int64)


_POSITIONS: dict[tuple[str, ...], dict[str, int]] = {}


def _positions(ids: tuple[str, ...]) -> dict[str, int]:
    found = _POSITIONS.get(ids)
    if found is None:
        found = {camera: i for i, camera in enumerate(ids)}
        _POSITIONS[ids] = found
    return found


def _csr(graph: nx.MultiDiGraph, weight: str, order: dict[Any, int]) -> csr_matrix:
    """Sparse adjacency with the least ``weight`` of parallel edges."""
    rows, cols, vals = [], [], []
    for u, v, data in graph.edges(data=True):
        rows.append(order[u])
        cols.append(order[v])
        vals.append(max(float(data.get(weight, np.inf)), 1e-6))
    frame = pd.DataFrame({"r": rows, "c": cols, "w": vals}).groupby(["r", "c"]).min()
    index = frame.index.to_frame()
    n = len(order)
    return csr_matrix((frame["w"].to_numpy(), (index["r"].to_numpy(), index["c"].to_numpy())),
                      shape=(n, n))


def _camera_nodes(cameras: pd.DataFrame, order: dict[Any, int]) -> list[tuple[str, int, int]]:
    found = []
    for row in cameras.itertuples():
        u, v = getattr(row, "edge_u", None), getattr(row, "edge_v", None)
        if pd.isna(u) or pd.isna(v):
            continue
        iu, iv = order.get(int(u)), order.get(int(v))
        if iu is not None and iv is not None:
            found.append((str(row.id), iu, iv))
    return found


def _bounds(adjacency: csr_matrix, nodes: list[tuple[str, int, int]]) -> Floats:
    out = np.full((len(nodes), len(nodes)), np.inf)
    targets_u = np.array([u for _, u, _ in nodes])
    targets_v = np.array([v for _, _, v in nodes])
    for i, (_, u, v) in enumerate(nodes):
        dist = dijkstra(adjacency, directed=True, indices=[u, v], min_only=True)
        out[i] = np.minimum(dist[targets_u], dist[targets_v])
        out[i, i] = 0.0
    return out


def reachability_from_graph(graph: nx.MultiDiGraph, cameras: pd.DataFrame) -> Reachability:
    """Compute the bounds for cameras (columns id, edge_u, edge_v) on ``graph``."""
    order = {node: i for i, node in enumerate(graph.nodes)}
    nodes = _camera_nodes(cameras, order)
    if not nodes:
        raise SearchError("no camera has a watched edge in the road graph")
    seconds = _bounds(_csr(graph, "travel_time", order), nodes)
    metres = _bounds(_csr(graph, "length", order), nodes)
    return Reachability(tuple(n[0] for n in nodes), seconds, metres)


def _digest(graph: nx.MultiDiGraph, cameras: pd.DataFrame) -> str:
    h = hashlib.sha256(f"reachability-{CACHE_FORMAT}".encode())
    h.update(f"{graph.number_of_nodes()}/{graph.number_of_edges()}".encode())
    times = np.fromiter((float(d.get("travel_time", -1.0)) for *_, d in graph.edges(data=True)),
                        np.float64)
    ends = np.fromiter((hash((u, v)) for u, v in graph.edges()), np.int64)
    h.update(times.tobytes())
    h.update(ends.tobytes())
    h.update(cameras[["id", "edge_u", "edge_v"]].astype(str).to_csv(index=False).encode())
    return h.hexdigest()[:20]


def load_reachability(graph: nx.MultiDiGraph, cameras: pd.DataFrame, *,
                      cache_dir: Path | None = settings.CACHE_DIR) -> Reachability:
    """Bounds of ``cameras`` on ``graph``, from the cache when it holds them."""
    path = None if cache_dir is None else cache_dir / f"reach-{_digest(graph, cameras)}.npz"
    if path is not None and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                return Reachability(tuple(str(c) for c in data["ids"]), data["seconds"],
                                    data["metres"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            logger.warning("reachability cache %s unreadable (%s): rebuilding", path, exc)
    reach = reachability_from_graph(graph, cameras)
    if path is not None:
        _save(path, reach)
    return reach


def _save(path: Path, reach: Reachability) -> None:
    """Write atomically (a temporary name per process); a read-only cache is only logged."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, ids=np.array(reach.camera_ids), seconds=reach.seconds,
                 metres=reach.metres)
        tmp.replace(path)
    except OSError as exc:
        logger.warning("reachability not cached in %s: %s", path, exc)
        return
    logger.info("reachability of %s cameras cached in %s", len(reach.camera_ids), path)
