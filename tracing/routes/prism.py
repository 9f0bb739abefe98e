"""Where could the vehicle have been? The space–time prism of a leg.

Between a read at camera A at t0 and at camera B at t1 the vehicle could have been on any
road it can reach from A's point and still get to B's point by t1. With the cache's trees
(free-flow times of the vehicle class, from A's point and to B's point) an edge (u, v)
belongs to the prism when

    (dist_A(u) + tt(u, v) + dist_B(v)) × ROUTE_PRISM_SPEED_FACTOR ≤ t1 − t0 + TRAVEL_CLOCK_SLACK_S

(the factor allows driving faster than free flow, the slack clock disagreement), and the
difference is the longest the vehicle could have stayed there: the prism's shading. Long
stays are possible near the direct path, short ones at the prism's rim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import shapely

from tracing import settings
from tracing.routes.pathcache import PathCache

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

BANDS_S: Final = (0.0, 300.0, 900.0, 1800.0, 3600.0)
"""Lower bounds of the shading bands (longest possible stay, s)."""


@dataclass(frozen=True, slots=True, eq=False)
class PrismBand:
    """Roads where the vehicle could have stayed between ``stay_min_s`` and ``stay_max_s``
    (None: no upper bound)."""

    stay_min_s: float
    stay_max_s: float | None
    length_m: float
    geometry: shapely.MultiLineString


@dataclass(frozen=True, slots=True, eq=False)
class Prism:
    """Edges (routing edge indices of a cache) the vehicle could have used between two
    sightings and the longest it could have stayed on each (s); the road geometry of the
    cache by reference, so the shaded bands are drawn only when asked for."""

    edges: IntArray
    stay_s: FloatArray
    edge_len: FloatArray
    vertices: FloatArray
    vertex_offsets: IntArray

    def __len__(self) -> int:
        return len(self.edges)

    @property
    def length_m(self) -> float:
        """Road length of the prism (m)."""
        return float(self.edge_len[self.edges].sum())

    def rank_of(self, stay_s: float) -> float:
        """Share of the prism's road length where a longer stay was possible than
        ``stay_s`` (0: nowhere ranks higher)."""
        total = self.length_m
        above = float(self.edge_len[self.edges[self.stay_s > stay_s]].sum())
        return above / total if total > 0 else 0.0

    def bands(self) -> tuple[PrismBand, ...]:
        """The prism's roads grouped by how long the vehicle could have stayed (BANDS_S)."""
        out = []
        for low, high in zip(BANDS_S, (*BANDS_S[1:], np.inf), strict=True):
            band = self.edges[(self.stay_s >= low) & (self.stay_s < high)]
            if len(band):
                out.append(PrismBand(stay_min_s=low, stay_max_s=None if np.isinf(high) else high,
                                     length_m=float(self.edge_len[band].sum()),
                                     geometry=self._lines(band)))
        return tuple(out)

    def _lines(self, edges: IntArray) -> shapely.MultiLineString:
        start, stop = self.vertex_offsets[edges], self.vertex_offsets[edges + 1]
        counts = stop - start
        within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        coords = self.vertices[np.repeat(start, counts) + within]
        lines = shapely.linestrings(coords, indices=np.repeat(np.arange(len(edges)), counts))
        multi: shapely.MultiLineString = shapely.multilinestrings(lines)
        return multi


def leg_prism(cache: PathCache, a: int, b: int, observed_s: float) -> Prism:
    """The prism between camera ``a`` and camera ``b`` (cache indices) ``observed_s`` apart."""
    budget = max(observed_s, 0.0) + settings.TRAVEL_CLOCK_SLACK_S
    f = cache.forward_dist[0, a].astype(np.float64)
    g = cache.backward_dist[0, b].astype(np.float64)
    need = (f[cache.edge_u] + cache.edge_tt + g[cache.edge_v]) * settings.ROUTE_PRISM_SPEED_FACTOR
    inside = np.flatnonzero(cache.edge_open & (need <= budget))
    return Prism(edges=inside.astype(np.int64), stay_s=budget - need[inside],
                 edge_len=cache.edge_len, vertices=cache.vertices,
                 vertex_offsets=cache.vertex_offsets)


def node_stay_s(cache: PathCache, a: int, b: int, observed_s: float, node: int) -> float:
    """Longest possible stay at a node (cache index) by the prism's rule (negative: the node
    lies outside the prism)."""
    budget = max(observed_s, 0.0) + settings.TRAVEL_CLOCK_SLACK_S
    need = float(cache.forward_dist[0, a, node]) + float(cache.backward_dist[0, b, node])
    return budget - need * settings.ROUTE_PRISM_SPEED_FACTOR
