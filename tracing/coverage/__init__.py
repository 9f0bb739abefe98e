"""Coverage of the camera network for supervisors: where it is blind and where to add cameras.

One module per concept: :mod:`.trips` (the demand-model trip sample and which directed edges
today's plate-reading cameras watch), :mod:`.roads` (road length watched, unobserved
corridors), :mod:`.gateways` (boundary-crossing roads), :mod:`.observability` (trips seen by
≥ 1 and ≥ 2 cameras), :mod:`.health` (silent or degraded cameras) and :mod:`.planner` (where
to put the next cameras).
"""

from tracing.coverage.analysis import Analysis, analyse, edge_wards
from tracing.coverage.gateways import Gateways, find_gateways
from tracing.coverage.health import CameraHealth, camera_health, hourly_activity
from tracing.coverage.observability import Observability, observability
from tracing.coverage.planner import (
    Plan,
    baseline_sites,
    candidate_edges,
    incidence,
    newly_observed,
    plan_frame,
    plan_geojson,
    plan_sites,
)
from tracing.coverage.roads import RoadCoverage, road_coverage
from tracing.coverage.trips import TripSample, sample_trips, watched_edges

__all__ = [
    "Analysis",
    "CameraHealth",
    "Gateways",
    "Observability",
    "Plan",
    "RoadCoverage",
    "TripSample",
    "analyse",
    "baseline_sites",
    "camera_health",
    "candidate_edges",
    "edge_wards",
    "find_gateways",
    "hourly_activity",
    "incidence",
    "newly_observed",
    "observability",
    "plan_frame",
    "plan_geojson",
    "plan_sites",
    "road_coverage",
    "sample_trips",
    "watched_edges",
]
