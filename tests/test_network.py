"""Road network: speeds and travel times, OSM tag rules, the committed graph and its cache."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import pytest
from shapely.geometry import box

from tracing import network, settings
from tracing.errors import NetworkError

# --- A hand-built six-node graph ------------------------------------------------------------


def tiny_graph() -> nx.MultiDiGraph:
    """Two routes 1 -> 6 and a one-way pair 6 -> 5 -> 1.

    Residential 1-2-6 (1,000 m at 18 km/h: 200 s) is shorter; primary 1-3-4-6 (1,900 m,
    1,600 m of it tagged 60 km/h, 300 m at the class speed 35 km/h: 127 s) is faster.
    The trunk 6 -> 5 -> 1 is one-way (800 m at 45 km/h: 64 s).
    """
    graph = nx.MultiDiGraph(crs=settings.WGS84)
    for node in range(1, 7):
        graph.add_node(node, x=106.75 + node * 0.001, y=10.85)

    def road(u: int, v: int, length: float, highway: str, **tags: str) -> None:
        graph.add_edge(u, v, length=length, highway=highway, oneway=False, **tags)
        graph.add_edge(v, u, length=length, highway=highway, oneway=False, **tags)

    road(1, 2, 500.0, "residential")
    road(2, 6, 500.0, "residential")
    road(1, 3, 800.0, "primary", maxspeed="60")
    road(3, 4, 800.0, "primary", maxspeed="60")
    road(4, 6, 300.0, "primary")
    graph.add_edge(6, 5, length=400.0, highway="trunk", oneway=True)
    graph.add_edge(5, 1, length=400.0, highway="trunk", oneway=True)
    return graph


def test_fastest_path_uses_travel_time_not_length() -> None:
    graph = network.apply_speeds(tiny_graph())
    assert nx.shortest_path(graph, 1, 6, weight="length") == [1, 2, 6]
    assert nx.shortest_path(graph, 1, 6, weight="travel_time") == [1, 3, 4, 6]
    assert nx.shortest_path(graph, 6, 1, weight="travel_time") == [6, 5, 1]
    assert nx.path_weight(graph, [1, 3, 4, 6], "travel_time") == pytest.approx(
        1600 / (60 / 3.6) + 300 / (35 / 3.6)
    )


def test_one_way_edge_is_not_travelled_backwards() -> None:
    graph = network.apply_speeds(tiny_graph())
    assert not graph.has_edge(1, 5)
    assert 5 not in nx.shortest_path(graph, 1, 6, weight="travel_time")


def test_speed_table_applies_at_load_time() -> None:
    fast_lanes = {**settings.ROAD_SPEEDS_KPH, "residential": 60.0}
    graph = network.apply_speeds(tiny_graph(), road_speeds=fast_lanes)
    assert nx.shortest_path(graph, 1, 6, weight="travel_time") == [1, 2, 6]
    assert graph.edges[1, 2, 0]["speed_kph"] == 60.0


def test_non_positive_speed_is_rejected() -> None:
    with pytest.raises(NetworkError, match="residential"):
        network.apply_speeds(tiny_graph(), road_speeds={"residential": 0.0})


# --- Tag rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("60", 60.0),
        ("60 km/h", 60.0),
        ("60;80", 70.0),
        ("60|80", 70.0),
        ("50 mph", 50 * 1.609344),
        (["50", "60"], 55.0),
        (["50", "none"], 50.0),
        ("7,5", 7.5),
        (40, 40.0),
        ("none", None),
        ("signals", None),
        ("VN:urban", None),
        ("0", None),
        ("", None),
        (None, None),
        (math.nan, None),
        ([], None),
    ],
)
def test_parse_maxspeed(value: object, expected: float | None) -> None:
    assert network.parse_maxspeed(value) == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"highway": "primary", "maxspeed": "60"}, 60.0),
        ({"highway": "primary"}, settings.ROAD_SPEEDS_KPH["primary"]),
        ({"highway": ["secondary", "primary"]}, settings.ROAD_SPEEDS_KPH["secondary"]),
        ({"highway": "busway"}, settings.FALLBACK_SPEED_KPH),
        ({}, settings.FALLBACK_SPEED_KPH),
        ({"highway": "trunk", "maxspeed": ["80", "60"]}, 70.0),
    ],
)
def test_edge_speed(data: dict[str, object], expected: float) -> None:
    assert network.edge_speed_kph(data) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("tags", "drivable"),
    [
        ({"highway": "residential"}, True),
        ({"highway": "footway"}, False),
        ({"highway": "service"}, False),
        ({"highway": "construction"}, False),
        ({"highway": "residential", "service": "alley"}, False),
        ({"highway": "residential", "access": "private"}, False),
        ({"highway": "residential", "access": "no", "motor_vehicle": "yes"}, True),
        ({"highway": "tertiary", "motor_vehicle": "no"}, False),
        ({"highway": "tertiary", "motorcar": "no"}, False),
        ({"highway": "primary", "area": "yes"}, False),
        ({"name": "Võ Văn Ngân"}, False),
    ],
)
def test_is_drivable(tags: dict[str, str], drivable: bool) -> None:
    assert network.is_drivable(tags) is drivable


@pytest.mark.parametrize(
    ("tags", "direction"),
    [
        ({"highway": "primary"}, 0),
        ({"highway": "primary", "oneway": "yes"}, 1),
        ({"highway": "primary", "oneway": "-1"}, -1),
        ({"highway": "primary", "oneway": "yes;no"}, 0),
        ({"highway": "tertiary", "junction": "roundabout"}, 1),
        ({"highway": "motorway"}, 1),
        ({"highway": "motorway", "oneway": "no"}, 0),
    ],
)
def test_oneway_direction(tags: dict[str, str], direction: int) -> None:
    assert network.oneway_direction(tags) == direction


# --- The committed network --------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def committed(cache_dir: Path) -> nx.MultiDiGraph:
    return network.load_network(cache_dir=cache_dir)


def test_committed_network_is_routable(committed: nx.MultiDiGraph) -> None:
    assert len(committed) > 10_000
    assert nx.is_strongly_connected(committed)
    assert committed.graph["crs"] == settings.WGS84
    assert committed.graph["attribution"] == settings.OSM_ATTRIBUTION
    for _, _, data in committed.edges(data=True):
        assert data["travel_time"] > 0
        assert data["length"] >= 0
        assert data["geometry"].geom_type == "LineString"


def test_committed_network_has_the_main_roads(committed: nx.MultiDiGraph) -> None:
    names = {name for *_, name in committed.edges(data="name") if isinstance(name, str)}
    assert {"Xa Lộ Hà Nội", "Võ Văn Ngân", "Kha Vạn Cân", "Mai Chí Thọ"} <= names


def test_edge_geometry_ends_at_its_nodes(committed: nx.MultiDiGraph) -> None:
    for u, v, data in list(committed.edges(data=True))[:2000]:
        first, last = data["geometry"].coords[0], data["geometry"].coords[-1]
        assert first == (committed.nodes[u]["x"], committed.nodes[u]["y"])
        assert last == (committed.nodes[v]["x"], committed.nodes[v]["y"])


def test_warm_load_uses_the_cache(
    committed: nx.MultiDiGraph, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(list(cache_dir.glob("network-*.pickle"))) == 1

    def no_read(*_: object) -> nx.MultiDiGraph:
        raise AssertionError("the artefacts were read although the cache is warm")

    monkeypatch.setattr(network, "read_network", no_read)
    warm = network.load_network(cache_dir=cache_dir)
    assert (len(warm), len(warm.edges)) == (len(committed), len(committed.edges))


def test_other_speeds_get_their_own_cache_entry(
    committed: nx.MultiDiGraph, cache_dir: Path
) -> None:
    slow = {k: v / 2 for k, v in settings.ROAD_SPEEDS_KPH.items()}
    graph = network.load_network(cache_dir=cache_dir, road_speeds=slow)
    assert len(list(cache_dir.glob("network-*.pickle"))) == 2
    u, v, k, data = next(
        (u, v, k, d) for u, v, k, d in committed.edges(keys=True, data=True)
        if d.get("highway") == "residential" and "maxspeed" not in d
    )
    assert graph.edges[u, v, k]["travel_time"] == pytest.approx(2 * data["travel_time"])


def test_edges_frame(committed: nx.MultiDiGraph) -> None:
    edges = network.edges_frame(committed, crs=settings.METRIC_CRS)
    assert len(edges) == len(committed.edges)
    assert list(edges.index.names) == ["u", "v", "key"]
    assert edges.crs == settings.METRIC_CRS
    assert edges["travel_time"].notna().all()


def test_missing_artefacts_raise(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="missing"):
        network.load_network(tmp_path, cache_dir=None)


@pytest.mark.shared_data
def test_build_from_the_pbf_on_a_small_area(tmp_path: Path) -> None:
    around_hcmute = box(106.765, 10.845, 106.778, 10.856)  # Võ Văn Ngân, Linh Chiểu
    graph = network.build_network(outline=around_hcmute, buffer_m=0.0)
    assert nx.is_strongly_connected(graph)
    area = around_hcmute.buffer(1e-9)
    assert all(area.covers(d["geometry"]) for *_, d in graph.edges(data=True) if "geometry" in d)
    assert "Võ Văn Ngân" in {n for *_, n in graph.edges(data="name")}
    counts = network.save_network(graph, tmp_path)
    assert counts["nodes"] == len(graph)
    loaded = network.load_network(tmp_path, cache_dir=None)
    assert (len(loaded), len(loaded.edges)) == (len(graph), len(graph.edges))
