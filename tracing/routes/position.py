"""Where a vehicle probably was at a moment: along the most probable path of its leg."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import networkx as nx
import numpy as np

from tracing.routes.model import RouteLeg


def position_at(graph: nx.MultiDiGraph, legs: Iterable[RouteLeg], when: datetime
                ) -> tuple[float, float] | None:
    """Estimated (lat, lon) at ``when`` on the best path of the first leg under way then,
    interpolated between the path's nodes by their pass times; None when no leg with a
    path spans ``when``."""
    for leg in legs:
        best = leg.best
        if best is None or not leg.start.ts <= when <= leg.end.ts:
            continue
        seconds = np.array([(t - leg.start.ts).total_seconds() for t in best.times])
        lon = np.array([graph.nodes[n]["x"] for n in best.osm_nodes])
        lat = np.array([graph.nodes[n]["y"] for n in best.osm_nodes])
        at = (when - leg.start.ts).total_seconds()
        return float(np.interp(at, seconds, lat)), float(np.interp(at, seconds, lon))
    return None
