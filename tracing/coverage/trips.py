"""The trip sample of the simulator's demand model and the edges cameras watch.

Trips are drawn with the simulator's own demand model (:func:`tracing.simulate.demand.
plan_demand`: ward population, gravity destinations, gateway visitors and through traffic)
and routed on the fastest path (its variant-0 shortest-path trees), so coverage figures and
simulated reads describe the same traffic.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from tracing import boundaries, settings
from tracing.errors import CoverageError
from tracing.roads import IntArray, Ragged, Roads, cost_variant, roads_from_graph
from tracing.simulate import demand, routing
from tracing.simulate.config import parse_start
from tracing.simulate.zones import Zones, build_zones

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, eq=False)
class TripSample:
    """Sampled origin–destination trips as edge paths on ``roads``."""

    roads: Roads
    zones: Zones
    edges: Ragged
    """Edge indices along each trip."""
    origin_ward: IntArray
    """Ward (index into ``zones.ward_names``) where each trip starts; -1: enters at a gateway."""
    purpose: list[str]

    def __len__(self) -> int:
        return len(self.edges)


def sample_trips(graph: nx.MultiDiGraph, *, wards: gpd.GeoDataFrame,
                 outline: boundaries.Outline, trips: int = settings.COVERAGE_TRIPS,
                 seed: int = settings.COVERAGE_SEED) -> TripSample:
    """``trips`` trips of one simulated day, routed on their fastest paths."""
    if trips <= 0:
        raise CoverageError(f"trips must be positive, got {trips}")
    rng = np.random.default_rng(seed)
    roads = roads_from_graph(graph)
    zones = build_zones(roads, wards, outline, rng, per_ward=settings.SIM_ZONE_NODES_PER_WARD)
    router = routing.build_router(roads, [cost_variant(roads, roads.travel_time)],
                                  zones.sources)
    grav = demand.gravity(zones, router.dist)
    start = parse_start(settings.SIM_DEFAULT_START)
    _, plan = demand.plan_demand(zones, grav, rng, trips=trips, start=start,
                                 end=start + timedelta(days=1), used=set())
    reachable = np.isfinite(router.dist[plan.origin_row, plan.dest_node])
    keep = np.flatnonzero((zones.sources[plan.origin_row] != plan.dest_node) & reachable)[:trips]
    plan = plan.take(keep)
    variant = np.zeros(len(plan), np.int64)
    nodes = routing.walk(router, variant, plan.origin_row, plan.dest_node)
    edges = routing.edges_of(router, nodes, variant)
    logger.info("coverage: %s trips sampled, %s edge passes", len(edges), len(edges.values))
    return TripSample(roads=roads, zones=zones, edges=edges,
                      origin_ward=zones.ward[plan.origin_row].astype(np.int64),
                      purpose=[str(p) for p in plan.purpose])


def watched_edges(roads: Roads, registry: pd.DataFrame, *,
                  statuses: frozenset[str] = settings.COVERAGE_LIVE_STATUSES) -> IntArray:
    """Number of live plate-reading cameras watching each directed edge of ``roads``."""
    count = np.zeros(len(roads.edge_u), np.int64)
    if registry.empty:
        return count
    live = registry[registry["is_lpr"].astype(bool)
                    & registry["status"].astype(str).str.lower().isin(statuses)]
    live = live.dropna(subset=["edge_u", "edge_v", "edge_key"])
    if live.empty:
        return count
    idx = roads.edge_index(live["edge_u"].astype(np.int64), live["edge_v"].astype(np.int64),
                           live["edge_key"].astype(np.int64))
    missing = int((idx < 0).sum())
    if missing:
        logger.warning("%s cameras watch an edge that is not in the road graph", missing)
    np.add.at(count, idx[idx >= 0], 1)
    return count
