"""A stored plate's route (:func:`tracing.routes.stored.trace_route`): one chain for the
Trace page and an alert's recent path, each look checked and audited as its purpose."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import networkx as nx
import pytest

from tests.test_search import CAMERAS, READS, T0, line_graph
from tracing.access import audit
from tracing.access.actor import Actor
from tracing.errors import AccessError
from tracing.reads import PlateRead
from tracing.routes import PathCache, build_path_cache
from tracing.routes.stored import trace_route
from tracing.store import Store
from tracing.vehicles import VehicleClass

PLATE = "51A-123.45"


@pytest.fixture(scope="module")
def graph() -> nx.MultiDiGraph:
    return line_graph()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "stored.duckdb")
    s.replace_cameras(CAMERAS)
    s.ingest_reads([PlateRead(f"r{i}", cam, T0 + timedelta(seconds=dt), plate, 0.9, kind)
                    for i, (plate, cam, dt, kind) in enumerate(READS)])
    return s


def caches(graph: nx.MultiDiGraph, asked: list[VehicleClass]
           ) -> Callable[[VehicleClass], PathCache]:
    """Path caches of ``graph`` by vehicle class, noting the classes asked for in ``asked``."""

    def cache(vehicle: VehicleClass) -> PathCache:
        asked.append(vehicle)
        return build_path_cache(graph, CAMERAS, vehicle_class=vehicle)

    return cache


def test_a_trace_is_the_plates_route_audited_once(store: Store, graph: nx.MultiDiGraph) -> None:
    asked: list[VehicleClass] = []
    who = Actor("ann", "investigator", "case 2026-1")
    traced = trace_route(store, graph, caches(graph, asked), "51a12345", who=who, k=2)
    assert traced.plate == PLATE and traced.route is not None and asked == ["car"]
    assert [s.camera_id for s in traced.route.sightings] == ["A", "C"]
    assert set(traced.read_ids) == {"r0", "r1"} and len(traced.route.legs) == 1
    logged = audit.entries(store, who="ann")
    assert list(logged["action"]) == ["trace"] and PLATE in logged["params"].iloc[0]


def test_too_few_sightings_give_no_route(store: Store, graph: nx.MultiDiGraph) -> None:
    asked: list[VehicleClass] = []
    lone = trace_route(store, graph, caches(graph, asked), PLATE, who="system:test",
                       end=T0 + timedelta(seconds=60), min_sightings=2)
    none = trace_route(store, graph, caches(graph, asked), "99Z-999.99", who="system:test")
    assert lone.route is None and lone.read_ids == ("r0",)
    assert none.route is None and none.read_ids == () and not asked


def test_an_alerts_recent_path_needs_alerts_view_not_trace(store: Store,
                                                           graph: nx.MultiDiGraph) -> None:
    analyst = Actor("ana", "analyst", "alert #1 evidence")
    with pytest.raises(AccessError, match="may not reconstruct"):
        trace_route(store, graph, caches(graph, []), PLATE, who=analyst)
    recent = trace_route(store, graph, caches(graph, []), PLATE, who=analyst, k=1,
                         start=T0, end=T0 + timedelta(hours=1), purpose="alert_path")
    assert recent.route is not None
    logged = audit.entries(store, who="ana")
    assert list(logged["action"]) == ["alert.path", "denied"]  # newest first
    assert T0.isoformat() in logged["params"].iloc[0]
    supervisor = Actor("sue", "supervisor", "alert #1 evidence")
    with pytest.raises(AccessError):
        trace_route(store, graph, caches(graph, []), PLATE, who=supervisor,
                    purpose="alert_path")
