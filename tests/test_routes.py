"""Route reconstruction on a hand-built graph where the best path and alternatives are known."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from tracing import diskcache, settings
from tracing.errors import RouteError
from tracing.routes import (
    ScoringModel,
    Sighting,
    build_path_cache,
    load_path_cache,
    reconstruct_route,
    route_csv,
    route_geojson,
    route_kml,
)
from tracing.routes.candidates import pair_paths, passed_cameras
from tracing.routes.pathcache import PathCache
from tracing.routes.scoring import probabilities
from tracing.routes.sightings import collapse_repeats, read_reads_csv, split_trips
from tracing.travel import impossible

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
FAST = [2, 3, 7]
MIDDLE = [2, 4, 7]
SLOW = [2, 5, 6, 7]


def small_graph() -> nx.MultiDiGraph:
    """Camera A watches 1→2, camera B 7→8. From 2 to 7: 2-3-7 (100 s, a main road),
    2-4-7 (102 s, a main road), 2-5-6-7 (180 s, back streets). Nodes 9→10 are not
    connected to the rest."""
    g = nx.MultiDiGraph(crs="EPSG:4326")
    xy = {1: (0, 0), 2: (1, 0), 3: (2, 1), 4: (2, 0), 5: (1.5, -1), 6: (2.5, -1), 7: (3, 0),
          8: (4, 0), 9: (0, 5), 10: (1, 5)}
    for n, (x, y) in xy.items():
        g.add_node(n, x=106.7 + x / 100, y=10.8 + y / 100)
    edges = [(1, 2, 20, "primary"), (2, 3, 50, "primary"), (3, 7, 50, "primary"),
             (2, 4, 51, "primary"), (4, 7, 51, "primary"), (2, 5, 60, "residential"),
             (5, 6, 60, "residential"), (6, 7, 60, "residential"), (7, 8, 20, "primary"),
             (9, 10, 20, "primary")]
    for u, v, tt, highway in edges:
        g.add_edge(u, v, 0, travel_time=float(tt), length=10.0 * tt, highway=highway)
    return g


def registry(*, camera_c: str | None = None) -> pd.DataFrame:
    """Cameras A (1→2), B (7→8), D (9→10, unreachable) and optionally C on 3→7."""
    rows = [("A", 1, 2, "up"), ("B", 7, 8, "up"), ("D", 9, 10, "up")]
    if camera_c is not None:
        rows.append(("C", 3, 7, camera_c))
    g = small_graph()
    return pd.DataFrame([{
        "id": i, "is_lpr": True, "status": status, "edge_u": u, "edge_v": v, "edge_key": 0,
        "lon": (g.nodes[u]["x"] + g.nodes[v]["x"]) / 2,
        "lat": (g.nodes[u]["y"] + g.nodes[v]["y"]) / 2} for i, u, v, status in rows])


@pytest.fixture(scope="module")
def graph() -> nx.MultiDiGraph:
    return small_graph()


@pytest.fixture(scope="module")
def cache(graph: nx.MultiDiGraph) -> PathCache:
    return build_path_cache(graph, registry())


def seen(camera: str, seconds: float, read_id: str = "") -> Sighting:
    return Sighting(camera_id=camera, ts=T0 + timedelta(seconds=seconds), read_id=read_id)


def interior(nodes: tuple[int, ...]) -> list[int]:
    return list(nodes[1:-1])


def test_candidates_are_the_three_known_paths_fastest_first(cache: PathCache) -> None:
    paths = pair_paths(cache, cache.camera_index["A"], cache.camera_index["B"])
    got = [[int(cache.node_ids[n]) for n in p.nodes] for p in paths]
    assert got == [[1, *FAST, 8], [1, *MIDDLE, 8], [1, *SLOW, 8]]
    # free-flow time between the two cameras' points (mid-edge): 10 + 100 + 10
    assert paths[0].free_flow_s == pytest.approx(120.0)
    assert paths[0].length_m == pytest.approx(1200.0)


def test_best_path_and_alternatives_with_probabilities(graph: nx.MultiDiGraph,
                                                       cache: PathCache) -> None:
    route = reconstruct_route(graph, [seen("A", 0, "r1"), seen("B", 140, "r2")], cache=cache,
                              k=3, plate="51F-123.45")
    (leg,) = route.legs
    assert [interior(c.osm_nodes) for c in leg.candidates] == [FAST, MIDDLE, SLOW]
    probs = [c.probability for c in leg.candidates]
    assert sum(probs) == pytest.approx(1.0)
    assert probs == sorted(probs, reverse=True) and probs[0] > 0.5
    assert [c.rank for c in leg.candidates] == [0, 1, 2]
    best = leg.candidates[0]
    assert best.times[0] < leg.start.ts < best.times[1]
    assert best.times[-2] < leg.end.ts < best.times[-1]
    # free-flow times from camera A's point scaled by observed / free-flow = 140 / 120
    assert [(t - leg.start.ts).total_seconds() for t in best.times] == pytest.approx(
        [s * 140 / 120 for s in (-10, 10, 60, 110, 130)], abs=1e-6)
    assert list(best.geometry.coords) == [(graph.nodes[n]["x"], graph.nodes[n]["y"])
                                          for n in (1, *FAST, 8)]
    assert leg.flags == ()
    assert route.summary.distance_m == pytest.approx(1200.0)
    assert route.summary.legs == 1 and route.summary.trips == 1


def test_k_limits_the_candidates(graph: nx.MultiDiGraph, cache: PathCache) -> None:
    route = reconstruct_route(graph, [seen("A", 0), seen("B", 140)], cache=cache, k=1)
    assert len(route.legs[0].candidates) == 1
    assert route.legs[0].candidates[0].probability == pytest.approx(1.0)
    with pytest.raises(RouteError, match="k=0"):
        reconstruct_route(graph, [seen("A", 0), seen("B", 140)], cache=cache, k=0)


def test_negative_evidence_changes_the_ranking(graph: nx.MultiDiGraph) -> None:
    sightings = [seen("A", 0), seen("B", 150)]
    watched = build_path_cache(graph, registry(camera_c="up"))
    leg = reconstruct_route(graph, sightings, cache=watched).legs[0]
    assert interior(leg.candidates[0].osm_nodes) == MIDDLE
    assert leg.candidates[1].missed_cameras == ("C",)
    broken = build_path_cache(graph, registry(camera_c="down"))
    leg = reconstruct_route(graph, sightings, cache=broken).legs[0]
    assert interior(leg.candidates[0].osm_nodes) == FAST
    assert leg.candidates[0].missed_cameras == ()


def test_observed_time_reveals_a_slower_path(graph: nx.MultiDiGraph, cache: PathCache) -> None:
    model = ScoringModel(detour_penalty=0.0, time_mu=0.0, time_sigma=0.1, slow_share=0.01,
                         minor_road_penalty=0.0)
    leg = reconstruct_route(graph, [seen("A", 0), seen("B", 200)], cache=cache,
                            model=model).legs[0]
    assert interior(leg.candidates[0].osm_nodes) == SLOW


def test_impossible_travel_splits_the_plate_into_tracks(graph: nx.MultiDiGraph,
                                                        cache: PathCache) -> None:
    """A to B needs at least 100 s (end node 2 to end node 7): 10 s apart (+ 30 s of clock
    slack < half of 100 s) is two vehicles."""
    clone = reconstruct_route(graph, [seen("A", 0), seen("B", 10)], cache=cache)
    assert clone.legs == () and clone.tracks == 2 and clone.track_of_sighting == (0, 1)
    assert any("2 vehicles" in n for n in clone.notes)
    same_time = reconstruct_route(graph, [seen("A", 0), seen("B", 0)], cache=cache)
    assert same_time.tracks == 2
    assert impossible(19.0, 100.0, 100.0) and not impossible(21.0, 100.0, 100.0)
    assert not impossible(5.0, 100.0, 0.0), "clocks may swap reads seconds apart"


def test_long_gap_is_a_stop_and_a_longer_one_a_new_trip(graph: nx.MultiDiGraph,
                                                        cache: PathCache) -> None:
    stop = reconstruct_route(graph, [seen("A", 0), seen("B", 1500)], cache=cache)
    assert "long_gap" in stop.legs[0].flags and stop.summary.stops == 1
    split = reconstruct_route(graph, [seen("A", 0), seen("B", 5 * 3600)], cache=cache)
    assert split.legs == () and split.trip_of_sighting == (0, 1)


def test_bad_input_gives_clear_errors_or_partial_results(graph: nx.MultiDiGraph,
                                                         cache: PathCache) -> None:
    with pytest.raises(RouteError, match="no sightings"):
        reconstruct_route(graph, [], cache=cache)
    with pytest.raises(RouteError, match="unknown cameras: X"):
        reconstruct_route(graph, [seen("X", 0)], cache=cache)
    one = reconstruct_route(graph, [seen("A", 0)], cache=cache)
    assert one.legs == () and "only one sighting" in one.notes[0]
    mixed = reconstruct_route(graph, [seen("B", 140), seen("X", 50), seen("A", 0)], cache=cache)
    assert len(mixed.legs) == 1 and mixed.legs[0].start.camera_id == "A"
    assert any("X" in n for n in mixed.notes) and any("time order" in n for n in mixed.notes)
    apart = reconstruct_route(graph, [seen("A", 0), seen("D", 100)], cache=cache)
    assert apart.legs == () and any("not connected" in n for n in apart.notes)
    with pytest.raises(RouteError, match="another road graph"):
        reconstruct_route(nx.MultiDiGraph(), [seen("A", 0)], cache=cache)


def test_repeats_collapse_and_trips_split() -> None:
    chain = collapse_repeats([seen("A", 0, "1"), seen("A", 1, "2"), seen("B", 100, "3"),
                              seen("A", 900, "4")])
    assert [(s.camera_id, s.reads) for s in chain] == [("A", 2), ("B", 1), ("A", 1)]
    trips = split_trips(chain, lambda a, b: 100.0, split_s=600)
    assert trips == [0, 0, 1]
    assert split_trips(chain, lambda a, b: None) == [0, 1, 2]


def test_probabilities_softmax() -> None:
    p = probabilities(pd.Series([0.0, 0.0]).to_numpy())
    assert list(p) == [0.5, 0.5]
    assert probabilities(pd.Series([], dtype=float).to_numpy()).size == 0


def test_cache_is_stored_and_rebuilt_only_on_change(graph: nx.MultiDiGraph,
                                                    tmp_path: Path) -> None:
    first = load_path_cache(graph, registry(), cache_dir=tmp_path)
    stored = diskcache.cache_file(tmp_path, "routes", first.key)
    assert stored.is_file()
    written = stored.stat().st_mtime_ns
    again = load_path_cache(graph, registry(), cache_dir=tmp_path)
    assert again.key == first.key and again.camera_ids == first.camera_ids
    assert (again.forward_dist == first.forward_dist).all()
    assert stored.stat().st_mtime_ns == written, "nothing new: not written again"
    grown = load_path_cache(graph, registry(camera_c="up"), cache_dir=tmp_path)
    assert grown.key == first.key and grown.camera_ids == (*first.camera_ids, "C")
    assert (grown.forward_dist[:, :3] == first.forward_dist).all(), "old trees kept"
    fresh = build_path_cache(graph, registry(camera_c="up"))
    c_new, c_fresh = grown.camera_index["C"], fresh.camera_index["C"]
    assert (grown.forward_dist[:, c_new] == fresh.forward_dist[:, c_fresh]).all()
    assert len(list(tmp_path.glob("routes-*.npz"))) == 1
    fewer = load_path_cache(graph, registry(), cache_dir=tmp_path)
    assert "C" not in fewer.camera_index and len(fewer.camera_ids) == 4


def test_exports(graph: nx.MultiDiGraph, cache: PathCache) -> None:
    route = reconstruct_route(graph, [seen("A", 0, "r1"), seen("B", 140, "r2")], cache=cache,
                              plate="51F-123.45")
    doc = json.loads(route_geojson(route))
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 3
    props = doc["features"][0]["properties"]
    assert props["osm_nodes"] == [1, *FAST, 8] and props["rank"] == 0 and props["leg"] == 0
    assert datetime.fromisoformat(props["depart"]).tzinfo is not None
    kml = ET.fromstring(route_kml(route, positions={"A": (106.7, 10.8)}))
    assert len(kml.findall(".//{http://www.opengis.net/kml/2.2}Placemark")) == 4
    lines = route_csv(route).splitlines()
    assert lines[0].startswith("trip,leg,rank") and len(lines) == 4
    assert "+07:00" in lines[1]


def test_reads_csv(tmp_path: Path) -> None:
    path = tmp_path / "reads.csv"
    path.write_text("plate,camera_id,ts\n51F-123.45,A,2026-03-02T08:00:00+07:00\n"
                    "51F12345,B,2026-03-02T08:02:00+07:00\n30A-111.11,B,2026-03-02T08:03:00Z\n")
    got = read_reads_csv(path, "51F-12345")
    assert [s.camera_id for s in got] == ["A", "B"]
    assert got[0].ts == T0
    bad = tmp_path / "bad.csv"
    bad.write_text("plate,camera\n")
    with pytest.raises(RouteError, match="lacks columns"):
        read_reads_csv(bad, "51F-12345")
    naive = tmp_path / "naive.csv"
    naive.write_text("plate,camera_id,ts\n51F-123.45,A,2026-03-02T08:00:00\n")
    with pytest.raises(RouteError, match=r"time zone|offset"):
        read_reads_csv(naive, "51F-12345")


def test_stored_candidates_equal_a_fresh_search(graph: nx.MultiDiGraph) -> None:
    watched = build_path_cache(graph, registry(camera_c="up"))
    a, b = watched.camera_index["A"], watched.camera_index["B"]
    stored = pair_paths(watched, a, b)
    fresh = pair_paths(watched, a, b, pool=settings.ROUTE_POOL + 1)
    assert len(stored) == 3 and len(fresh) == len(stored)
    for s, f in zip(stored, fresh, strict=True):
        assert s.nodes.tolist() == f.nodes.tolist() and s.edges.tolist() == f.edges.tolist()
        assert (s.free_flow_s, s.length_m, s.minor_s) == pytest.approx(
            (f.free_flow_s, f.length_m, f.minor_s))
    passed = [passed_cameras(watched, s)[0] for s in stored]
    assert passed == [(watched.camera_index["C"],), (), ()]
