"""Route reconstruction: the most plausible routes of a vehicle between its sightings.

Public API::

    cache = load_path_cache(graph, registry)          # built once, stored in CACHE_DIR
    route = reconstruct_route(graph, sightings, cache=cache, k=3)
    text = route_geojson(route)                       # the `trace` CLI contract
"""

from __future__ import annotations

from tracing.routes.export import route_csv, route_geojson, route_kml
from tracing.routes.model import (
    FLAG_TEXT,
    CandidatePath,
    Route,
    RouteLeg,
    RouteSummary,
    Sighting,
)
from tracing.routes.pathcache import PathCache, build_path_cache, load_path_cache
from tracing.routes.reconstruct import reconstruct_route
from tracing.routes.scoring import ScoringModel
from tracing.routes.sightings import read_reads_csv, sightings_from_table

__all__ = [
    "FLAG_TEXT",
    "CandidatePath",
    "PathCache",
    "Route",
    "RouteLeg",
    "RouteSummary",
    "ScoringModel",
    "Sighting",
    "build_path_cache",
    "load_path_cache",
    "read_reads_csv",
    "reconstruct_route",
    "route_csv",
    "route_geojson",
    "route_kml",
    "sightings_from_table",
]
