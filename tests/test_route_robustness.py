"""Route reconstruction beyond the registry's assumptions: reads in either direction of a
two-way road, cameras the registry does not mark plate-reading, cameras that were down,
vehicle classes, and one impossible-travel rule shared by trace, Find and the alerts.

Hand-built graph (two-way unless said): nodes 1–5 west to east on one street, 60 s per
block; camera A on 2→3, camera B on 4→5 (both mid-block), camera C on 3→4.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tracing.alerts import add_watch, list_alerts
from tracing.alerts.engine import AlertEngine
from tracing.reads import PlateRead
from tracing.routes import PathCache, Sighting, build_path_cache, reconstruct_route
from tracing.routes.evidence import CameraActivity
from tracing.search import clone_pairs, find_clones, plate_tracks, reachability_of
from tracing.store import Store
from tracing.travel import impossible, split_tracks

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
PLATE = "51A-123.45"


def street(block_s: float = 60.0) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph(crs="EPSG:4326")
    for n in range(1, 6):
        g.add_node(n, x=106.70 + 0.01 * n, y=10.80)
    for n in range(1, 5):
        for u, v in ((n, n + 1), (n + 1, n)):
            g.add_edge(u, v, 0, travel_time=block_s, length=1000.0, highway="primary")
    return g


def registry(graph: nx.MultiDiGraph, **overrides: dict[str, object]) -> pd.DataFrame:
    rows = []
    for cid, (u, v) in {"A": (2, 3), "B": (4, 5), "C": (3, 4)}.items():
        row: dict[str, object] = {
            "id": cid, "is_lpr": True, "status": "up", "edge_u": u, "edge_v": v,
            "edge_key": 0, "directions": "both",
            "lon": (graph.nodes[u]["x"] + graph.nodes[v]["x"]) / 2, "lat": 10.80}
        row.update(overrides.get(cid, {}))
        rows.append(row)
    return pd.DataFrame(rows)


def seen(camera: str, seconds: float, read_id: str = "") -> Sighting:
    return Sighting(camera_id=camera, ts=T0 + timedelta(seconds=seconds),
                    read_id=read_id or f"{camera}{seconds:g}")


@pytest.fixture(scope="module")
def graph() -> nx.MultiDiGraph:
    return street()


@pytest.fixture(scope="module")
def cache(graph: nx.MultiDiGraph) -> PathCache:
    return build_path_cache(graph, registry(graph))


def test_a_read_in_the_opposite_direction_needs_no_loop(graph: nx.MultiDiGraph,
                                                         cache: PathCache) -> None:
    """Westbound: read at B (snapped eastbound 4→5), then at A (snapped 2→3)."""
    route = reconstruct_route(graph, [seen("B", 0), seen("A", 130)], cache=cache)
    (leg,) = route.legs
    best = leg.candidates[0]
    assert list(best.osm_nodes) == [5, 4, 3, 2]
    assert len(set(best.osm_nodes)) == len(best.osm_nodes), "no loop"
    assert best.free_flow_s == pytest.approx(30 + 60 + 30)
    assert leg.flags == () and route.tracks == 1


def test_a_one_direction_camera_forces_the_turn_and_flags_it(graph: nx.MultiDiGraph) -> None:
    one_way_reader = build_path_cache(graph, registry(graph, B={"directions": "one"}))
    leg = reconstruct_route(graph, [seen("B", 0), seen("A", 300)], cache=one_way_reader).legs[0]
    nodes = list(leg.candidates[0].osm_nodes)
    assert nodes[:3] == [4, 5, 4], "read eastbound, so it left east and came back"
    assert "turn_back" in leg.flags


def test_a_camera_not_marked_plate_reading_still_places_its_reads(
        graph: nx.MultiDiGraph) -> None:
    unmarked = build_path_cache(graph, registry(graph, B={"is_lpr": False}))
    route = reconstruct_route(graph, [seen("A", 0), seen("B", 130)], cache=unmarked)
    assert len(route.legs) == 1 and not route.notes
    assert list(route.legs[0].candidates[0].osm_nodes) == [2, 3, 4, 5]


def test_negative_evidence_only_from_cameras_that_were_working(
        graph: nx.MultiDiGraph) -> None:
    """A then B passes C: C counts against the path only while it produced reads."""
    unmarked = build_path_cache(graph, registry(graph, C={"is_lpr": False}))
    legs = [seen("A", 0), seen("B", 130)]
    by_registry = reconstruct_route(graph, legs, cache=unmarked).legs[0]
    assert by_registry.candidates[0].missed_cameras == ()
    busy = CameraActivity.from_reads(["C", "A"], pd.Series([T0, T0]))
    working = reconstruct_route(graph, legs, cache=unmarked, activity=busy).legs[0]
    assert working.candidates[0].missed_cameras == ("C",)
    silent = CameraActivity.from_reads(["C"], pd.Series([T0 - timedelta(hours=5)]))
    down = reconstruct_route(graph, legs, cache=unmarked, activity=silent).legs[0]
    assert down.candidates[0].missed_cameras == ()


def test_motorbikes_see_no_oncoming_camera(graph: nx.MultiDiGraph, cache: PathCache) -> None:
    """Westbound B → A passes C's road against C's direction: a car's front plate could be
    read there, a motorbike has none."""
    legs = [seen("B", 0), seen("A", 130)]
    car = reconstruct_route(graph, legs, cache=cache).legs[0]
    assert car.candidates[0].missed_cameras == ("C",)
    bike = reconstruct_route(graph, legs, cache=cache, front_plate=False).legs[0]
    assert bike.candidates[0].missed_cameras == ()


def expressway() -> nx.MultiDiGraph:
    """1 → 2 → 3 (camera edges, primary); from 2 to 3 a motorway 2-4-3 (fast) and a
    trunk road 2-5-3 (slow)."""
    g = nx.MultiDiGraph(crs="EPSG:4326")
    xy = {1: (0, 0), 2: (1, 0), 3: (3, 0), 4: (2, 1), 5: (2, -1), 6: (4, 0)}
    for n, (x, y) in xy.items():
        g.add_node(n, x=106.70 + x / 100, y=10.80 + y / 100)
    for u, v, tt, highway in [(1, 2, 20, "primary"), (2, 4, 30, "motorway"),
                              (4, 3, 30, "motorway"), (2, 5, 60, "trunk"), (5, 3, 60, "trunk"),
                              (3, 6, 20, "primary")]:
        g.add_edge(u, v, 0, travel_time=float(tt), length=20.0 * tt, highway=highway,
                   speed_kph=72.0)
    return g


def test_a_motorbike_never_takes_the_motorway() -> None:
    g = expressway()
    reg = pd.DataFrame([{"id": c, "is_lpr": True, "status": "up", "edge_u": u, "edge_v": v,
                         "edge_key": 0, "lon": (g.nodes[u]["x"] + g.nodes[v]["x"]) / 2,
                         "lat": (g.nodes[u]["y"] + g.nodes[v]["y"]) / 2}
                        for c, u, v in (("A", 1, 2), ("B", 3, 6))])
    sightings = [seen("A", 0), seen("B", 200)]
    car = reconstruct_route(g, sightings, cache=build_path_cache(g, reg))
    assert list(car.legs[0].candidates[0].osm_nodes) == [1, 2, 4, 3, 6]
    bike_cache = build_path_cache(g, reg, vehicle_class="motorbike")
    bike = reconstruct_route(g, sightings, cache=bike_cache, front_plate=False)
    assert all(4 not in c.osm_nodes for c in bike.legs[0].candidates)
    assert list(bike.legs[0].candidates[0].osm_nodes) == [1, 2, 5, 3, 6]
    assert (bike_cache.bound_s == build_path_cache(g, reg).bound_s).all(), \
        "one impossible-travel bound whatever the class"


@pytest.fixture
def store(tmp_path: Path, graph: nx.MultiDiGraph) -> Store:
    s = Store(tmp_path / "rule.duckdb")
    s.replace_cameras(registry(graph).drop(columns=["directions"]))
    return s


def test_trace_find_and_alerts_share_one_impossible_travel_verdict(store: Store) -> None:
    """Blocks of 200 s: A to B needs ≥ 200 s (end node 3 to 4). A at 0 s, B at 80 s
    (80 + 30 s of clock slack ≥ half of 200 s: possible), B at 600 s, A at 605 s (5 + 30 <
    100: impossible)."""
    graph = street(block_s=200.0)
    cache = build_path_cache(graph, registry(graph))
    times = {"r0": ("A", 0), "r1": ("B", 80), "r2": ("B", 600), "r3": ("A", 605)}
    reach = reachability_of(cache)
    add_watch(store, PLATE, match_kind="exact", reason="test", priority=1, who="an")
    engine = AlertEngine(store, reach=reach)
    engine.step()
    store.ingest_reads([PlateRead(r, c, T0 + timedelta(seconds=s), PLATE, 0.9)
                        for r, (c, s) in times.items()])
    engine.step()
    alerts = list_alerts(store)
    travel = alerts[alerts["kind"] == "impossible_travel"]
    pairs = find_clones(store, reach, plate=PLATE, who="system:test")
    route = reconstruct_route(graph, [seen(c, s, r) for r, (c, s) in times.items()],
                              cache=cache)
    assert [(p.read_a, p.read_b) for p in pairs] == [("r2", "r3")]
    assert set(travel["read_id"]) == {"r3"}
    reads = store.reads_of_plate(PLATE).to_pandas()
    tracks = dict(zip(reads["read_id"], plate_tracks(reads, reach), strict=True))
    assert route.tracks == 2 == len(set(tracks.values()))
    by_read = {s.read_id: t for s, t in zip(route.sightings, route.track_of_sighting,
                                            strict=True)}
    assert by_read == tracks
    assert all("impossible_travel" not in leg.flags for leg in route.legs)


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.floats(0, 3600)), min_size=1, max_size=12))
def test_every_track_is_drivable_and_one_vehicle_is_never_split(
        reads: list[tuple[int, float]]) -> None:
    least = np.array([[0, 60, 600, 900], [60, 0, 500, 800], [600, 500, 0, 300],
                      [900, 800, 300, 0]], float)
    reads = sorted(reads, key=lambda r: r[1])
    rows = np.array([r[0] for r in reads])
    t = np.array([r[1] for r in reads])
    tracks = split_tracks(t, rows, least)
    for track in set(tracks.tolist()):
        i = np.flatnonzero(tracks == track)
        gaps, a, b = np.diff(t[i]), rows[i][:-1], rows[i][1:]
        assert not impossible(gaps, least[a, b], least[b, a]).any()
    drivable = not impossible(np.diff(t), least[rows[:-1], rows[1:]],
                              least[rows[1:], rows[:-1]]).any()
    assert (tracks.max() == 0) == drivable


def test_clone_pairs_and_tracks_agree_on_a_drivable_plate(cache: PathCache) -> None:
    reach = reachability_of(cache)
    reads = pd.DataFrame({"read_id": ["x", "y"], "plate": ["P", "P"], "camera_id": ["A", "B"],
                          "ts": [T0, T0 + timedelta(seconds=200)]})
    assert clone_pairs(reads, reach) == () and plate_tracks(reads, reach).tolist() == [0, 0]


def test_a_long_gap_leg_has_a_prism_shaded_by_the_longest_stay(graph: nx.MultiDiGraph,
                                                                cache: PathCache) -> None:
    """A → B takes 120 s free flow; seen 15 min apart the vehicle could have stayed ~13 min
    on the street between them, less towards node 1 (a detour back west and again)."""
    from tracing.routes import route_geojson
    from tracing.routes.prism import leg_prism, node_stay_s

    route = reconstruct_route(graph, [seen("A", 0), seen("B", 900)], cache=cache)
    (leg,) = route.legs
    assert "long_gap" in leg.flags and leg.prism
    a, b = cache.camera_index["A"], cache.camera_index["B"]
    prism = leg_prism(cache, a, b, 900.0)
    node = {int(n): i for i, n in enumerate(cache.node_ids)}
    on_the_way, behind = node_stay_s(cache, a, b, 900, node[3]), node_stay_s(cache, a, b, 900,
                                                                              node[1])
    assert on_the_way > behind > 0
    assert on_the_way == pytest.approx(900 + 30 - 0.8 * 120)
    assert prism.rank_of(on_the_way) == 0.0
    assert 0 < prism.rank_of(behind) < 1
    doc = json.loads(route_geojson(route, prisms=True))
    bands = [f for f in doc["features"] if f["properties"].get("kind") == "prism"]
    assert bands and all(f["geometry"]["type"] == "MultiLineString" for f in bands)
    assert not any(f["properties"].get("kind") == "prism"
                   for f in json.loads(route_geojson(route))["features"])
    short = reconstruct_route(graph, [seen("A", 0), seen("B", 130)], cache=cache).legs[0]
    assert short.prism is None


def divided_road() -> nx.MultiDiGraph:
    """A divided road: northbound 1 → 2 → 3 and, 22 m east, southbound 6 → 5 → 4 (60 s a
    block), joined by U-turn links 3 → 6 and 4 → 1 at its ends."""
    g = nx.MultiDiGraph(crs="EPSG:4326")
    xy = {1: (0, 0), 2: (0, 1), 3: (0, 2), 6: (0.02, 2), 5: (0.02, 1), 4: (0.02, 0)}
    for n, (x, y) in xy.items():
        g.add_node(n, x=106.70 + x / 100, y=10.80 + y / 100)
    for u, v, tt in [(1, 2, 60), (2, 3, 60), (6, 5, 60), (5, 4, 60), (3, 6, 5), (4, 1, 5)]:
        g.add_edge(u, v, 0, travel_time=float(tt), length=18.0 * tt, highway="trunk")
    return g


def test_a_camera_over_one_carriageway_reads_the_other_one_too() -> None:
    g = divided_road()
    reg = pd.DataFrame([{"id": c, "is_lpr": True, "status": "up", "edge_u": u, "edge_v": v,
                         "edge_key": 0, "lon": 106.70, "lat": 10.80 + y / 100}
                        for c, u, v, y in (("A", 1, 2, 0.5), ("B", 2, 3, 1.5))])
    cache = build_path_cache(g, reg)
    southbound = reconstruct_route(g, [seen("B", 0), seen("A", 60)], cache=cache)
    best = southbound.legs[0].candidates[0]
    assert list(best.osm_nodes) == [6, 5, 4] and best.free_flow_s == pytest.approx(60.0)
    assert southbound.legs[0].flags == ()
    one_way = build_path_cache(g, reg.assign(directions="one"))
    forced = reconstruct_route(g, [seen("B", 0), seen("A", 300)], cache=one_way).legs[0]
    assert list(forced.candidates[0].osm_nodes) == [2, 3, 6, 5, 4, 1, 2]
    assert "turn_back" in forced.flags, "read northbound at both: a U-turn loop between"
