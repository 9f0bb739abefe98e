"""Camera-to-camera free-flow travel times and road distances on the road graph.

"Could the vehicle read at camera A at t0 have been at camera B at t?" needs the least time
any drive from A to B takes. A read places the vehicle somewhere on A's road, in either
direction, so the bound is the shortest free-flow time between any end node of A's edge
and any end node of B's edge: a lower bound of every real drive, which is what the
impossible-travel rule (:mod:`tracing.travel`) needs. Road distances are the same bound on
edge ``length``. Both come from the route engine's path cache (one compiled network, one
disk cache), so Find, the alerts and trace judge travel on the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd

from tracing import settings
from tracing.errors import RouteError, SearchError
from tracing.routes.pathcache import PathCache, load_path_cache

__all__ = ["Reachability", "load_reachability", "reachability_from_graph", "reachability_of"]

Floats = npt.NDArray[np.float64]


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


def reachability_of(cache: PathCache) -> Reachability:
    """The bounds between the cache's active cameras."""
    rows = np.array(sorted(cache.camera_index.values(), key=lambda i: cache.camera_ids[i]),
                    np.int64)
    return Reachability(tuple(cache.camera_ids[i] for i in rows),
                        cache.bound_s[np.ix_(rows, rows)], cache.bound_m[np.ix_(rows, rows)])


def load_reachability(graph: nx.MultiDiGraph, cameras: pd.DataFrame, *,
                      cache_dir: Path | None = settings.CACHE_DIR) -> Reachability:
    """Bounds of ``cameras`` on ``graph`` (from the path cache, built as needed)."""
    try:
        return reachability_of(load_path_cache(graph, cameras, cache_dir=cache_dir,
                                               pairs=False))
    except RouteError as exc:
        raise SearchError(str(exc)) from exc


def reachability_from_graph(graph: nx.MultiDiGraph, cameras: pd.DataFrame) -> Reachability:
    """Compute the bounds for cameras (columns id, status, edge_u, edge_v, edge_key, lon,
    lat) on ``graph``, nothing cached."""
    return load_reachability(graph, cameras, cache_dir=None)
