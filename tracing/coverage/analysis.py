"""The whole coverage analysis of a road graph and camera registry in one call."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix

from tracing import boundaries, settings
from tracing.coverage.gateways import Gateways, find_gateways
from tracing.coverage.observability import Observability, observability
from tracing.coverage.planner import Plan, candidate_edges, incidence, plan_sites
from tracing.coverage.roads import RoadCoverage, road_coverage
from tracing.coverage.trips import TripSample, sample_trips, watched_edges
from tracing.roads import BoolArray, IntArray, Roads


@dataclass(frozen=True, slots=True, eq=False)
class Analysis:
    """Road coverage, gateways and observability of today's network, plus what the
    planner needs (trips × edges ``matrix``, trips ``seen`` today, ``candidates``)."""

    sample: TripSample
    cameras_on_edge: IntArray
    matrix: csr_matrix
    edge_trips: IntArray
    roads: RoadCoverage
    gateways: Gateways
    observability: Observability
    candidates: BoolArray

    @property
    def seen(self) -> BoolArray:
        """Trips today's cameras observe (≥ 1 camera)."""
        return np.asarray(self.observability.cameras >= 1, dtype=bool)

    def plan(self, *, k: int = settings.COVERAGE_PLAN_K) -> Plan:
        """The greedy plan of ``k`` new sites."""
        return plan_sites(self.matrix, self.seen, self.candidates, k=k)

    def with_sites(self, sites: IntArray) -> Observability:
        """Observability of today's network plus one camera on each of ``sites``."""
        cams = self.cameras_on_edge.copy()
        np.add.at(cams, np.asarray(sites, np.int64), 1)
        s = self.sample
        return observability(s.edges, cams, s.roads.length, s.origin_ward, s.zones.ward_names)


def edge_wards(roads: Roads, wards: gpd.GeoDataFrame) -> pd.Series:
    """Ward name of the midpoint of every edge (None outside the wards)."""
    mid = shapely.points((roads.x[roads.edge_u] + roads.x[roads.edge_v]) / 2,
                         (roads.y[roads.edge_u] + roads.y[roads.edge_v]) / 2)
    return boundaries.ward_of(gpd.GeoSeries(mid, crs=settings.WGS84), wards=wards)


def analyse(graph: nx.MultiDiGraph, registry: pd.DataFrame, *, wards: gpd.GeoDataFrame,
            outline: boundaries.Outline, trips: int = settings.COVERAGE_TRIPS,
            seed: int = settings.COVERAGE_SEED) -> Analysis:
    """Sample ``trips`` demand-model trips and measure today's network on them."""
    sample = sample_trips(graph, wards=wards, outline=outline, trips=trips, seed=seed)
    roads = sample.roads
    cams = watched_edges(roads, registry)
    matrix = incidence(sample.edges, len(roads.edge_u))
    edge_trips = np.asarray(matrix.sum(axis=0)).ravel().astype(np.int64)
    gateways = find_gateways(roads, outline, cams, edge_trips)
    obs = observability(sample.edges, cams, roads.length, sample.origin_ward,
                        sample.zones.ward_names)
    return Analysis(
        sample=sample, cameras_on_edge=cams, matrix=matrix, edge_trips=edge_trips,
        roads=road_coverage(roads, cams, edge_wards(roads, wards)), gateways=gateways,
        observability=obs,
        candidates=candidate_edges(roads, gateways.table["edge"].to_numpy(np.int64)))
