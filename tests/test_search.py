"""Search, linking, clones, convoy and stakeout on a hand-built road and a small store.

Road: nodes 1–6 in a line, two-way edges of 1 km and 60 s. Cameras A on (1, 2), B on (3, 4),
C on (5, 6): free-flow bounds A→B 60 s, A→C 180 s / 3 km.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import networkx as nx
import pandas as pd
import pytest
import shapely

from tracing.errors import SearchError
from tracing.reads import PlateRead
from tracing.search import (
    Place,
    Reachability,
    SearchFilters,
    clone_pairs,
    decide,
    find_clones,
    find_convoy,
    link_reads,
    load_reachability,
    plate_tracks,
    reachability_from_graph,
    reads_of_plates,
    search_plates,
    stakeout,
)
from tracing.search.export import reads_csv, reads_geojson
from tracing.store import Store

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
SYSTEM = "system:test"
"""Who the tests act as: a system process, neither checked nor audited."""
CAMERAS = pd.DataFrame({
    "id": ["A", "B", "C"], "code": ["CAM A", "CAM B", "CAM C"], "name": ["a", "b", "c"],
    "lon": [106.715, 106.735, 106.755], "lat": [10.8, 10.8, 10.8], "ward": ["W1", "W1", "W2"],
    "is_lpr": [True, True, True], "status": ["up"] * 3,
    "edge_u": [1, 3, 5], "edge_v": [2, 4, 6], "edge_key": [0, 0, 0],
})
READS = [  # plate, camera, seconds after T0, class
    ("51A-123.45", "A", 0, "car"), ("51A-123.45", "C", 300, "car"),
    ("51A-723.45", "B", 150, "car"),          # misread of the target, on the way
    ("51A-123.46", "C", 20, "car"),           # a near plate where the target cannot be
    ("51A-123.47", "A", 3 * 3600, "car"),     # far in time: listed, not linked
    ("51A-128.45", "A", 5, "motorbike"), ("51A-128.45", "B", 155, "motorbike"),
    ("51A-128.45", "C", 305, "motorbike"),    # another car, in convoy with the target
    ("60A-111.11", "A", 0, "car"), ("60A-111.11", "C", 20, "car"),  # a cloned plate
]


def line_graph() -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    for n in range(1, 7):
        graph.add_node(n, x=106.70 + 0.01 * n, y=10.8)
    for n in range(1, 6):
        graph.add_edge(n, n + 1, 0, length=1000.0, travel_time=60.0)
        graph.add_edge(n + 1, n, 0, length=1000.0, travel_time=60.0)
    return graph


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store(tmp_path_factory.mktemp("search") / "search.duckdb")
    s.replace_cameras(CAMERAS)
    s.ingest_reads([PlateRead(f"r{i}", cam, T0 + timedelta(seconds=dt), plate, 0.9, kind,
                              "white", f"crop/{i}.jpg")
                    for i, (plate, cam, dt, kind) in enumerate(READS)])
    return s


@pytest.fixture(scope="module")
def reach() -> Reachability:
    return reachability_from_graph(line_graph(), CAMERAS)


def test_reachability_bounds(reach: Reachability, tmp_path: Path) -> None:
    assert reach.travel_s("A", "B") == 60.0
    assert reach.travel_s("A", "C") == 180.0
    assert reach.travel_s("C", "A") == 180.0
    assert reach.distance_m("A", "C") == 3000.0
    assert reach.travel_s("A", "nope") is None
    first = load_reachability(line_graph(), CAMERAS, cache_dir=tmp_path)
    again = load_reachability(line_graph(), CAMERAS, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("routes-*.npz"))) == 1, "the path cache holds the bounds"
    assert again.camera_ids == first.camera_ids
    assert (again.seconds == first.seconds).all()


def test_exact_compact_and_fuzzy_search(store: Store) -> None:
    exact = search_plates(store, "51a12345", mode="exact", who=SYSTEM)
    assert [c.plate for c in exact.candidates] == ["51A-123.45"]
    best = exact.candidates[0]
    assert best.n_reads == 2 and best.cameras == ("A", "C")
    assert best.first_seen == T0 and best.crop_refs[0].startswith("crop/")
    fuzzy = search_plates(store, "51A-123.45", who=SYSTEM)
    assert fuzzy.mode == "fuzzy"
    assert [c.plate for c in fuzzy.candidates][:2] == ["51A-123.45", "51A-723.45"]
    assert {c.plate for c in fuzzy.candidates} == {"51A-123.45", "51A-723.45", "51A-123.46",
                                                   "51A-123.47", "51A-128.45"}
    assert fuzzy.candidates[1].distance == 0.5
    tight = search_plates(store, "51A-123.45", limit=0.5, who=SYSTEM)
    assert [c.plate for c in tight.candidates] == ["51A-123.45", "51A-723.45"]


def test_wildcard_search(store: Store) -> None:
    result = search_plates(store, "51A-12*", who=SYSTEM)
    assert result.mode == "wildcard"
    assert result.candidates[0].plate == "51A-128.45"  # most reads first
    assert {c.plate for c in result.candidates} == {"51A-123.45", "51A-123.46", "51A-123.47",
                                                    "51A-128.45"}
    assert [c.plate for c in search_plates(store, "6?A*", who=SYSTEM).candidates] == ["60A-111.11"]
    capped = search_plates(store, "5*", max_candidates=2, who=SYSTEM)
    assert capped.truncated and len(capped.candidates) == 2


def test_filters(store: Store) -> None:
    def plates(**kw: object) -> set[str]:
        return {c.plate for c in search_plates(store, "51A-12*",
                                               filters=SearchFilters(**kw), who=SYSTEM).candidates}  # type: ignore[arg-type]

    assert plates(start=T0 + timedelta(hours=1)) == {"51A-123.47"}
    assert plates(end=T0 + timedelta(seconds=10)) == {"51A-123.45", "51A-128.45"}
    assert plates(cameras={"C"}) == {"51A-123.45", "51A-123.46", "51A-128.45"}
    assert plates(wards={"W2"}) == plates(cameras={"C"})
    area = shapely.box(106.73, 10.79, 106.74, 10.81)
    assert plates(area=area) == {"51A-128.45"}
    assert plates(vehicle_classes={"motorbike"}) == {"51A-128.45"}
    assert plates(plate_colours={"yellow"}) == set()
    assert plates(cameras=set()) == set()
    with pytest.raises(SearchError, match="time zone"):
        SearchFilters(start=datetime(2026, 3, 2))
    with pytest.raises(SearchError, match="not after"):
        SearchFilters(start=T0, end=T0)


@pytest.mark.parametrize("evil", ["'; DROP TABLE reads; --", "A' OR '1'='1", "W1\" OR 1=1"])
def test_injection_shaped_input(store: Store, evil: str) -> None:
    filters = SearchFilters(cameras={evil}, wards={evil}, vehicle_classes={evil},
                            plate_colours={evil})
    assert search_plates(store, "51A-12*", filters=filters, who=SYSTEM).candidates == ()
    assert reads_of_plates(store, [evil], who=SYSTEM).empty
    assert search_plates(store, evil + "51A", mode="wildcard", who=SYSTEM).candidates == ()
    with pytest.raises(SearchError):
        find_convoy(store, evil, who=SYSTEM)
    hits = stakeout(store, [Place(evil, filters), Place("b", SearchFilters(cameras={"A"}))],
                    min_places=1, who=SYSTEM)
    assert {h.places for h in hits} == {("b",)}
    assert store.count_reads() == len(READS)


def test_linking_explains(store: Store, reach: Reachability) -> None:
    result = link_reads(store, "51A12345", reach, who=SYSTEM)
    by_plate = {k.plate: k for k in result.links}
    assert [k.plate for k in result.linked] == ["51A-723.45"]
    assert "on the way" in by_plate["51A-723.45"].why
    assert "impossible" in by_plate["51A-123.46"].why and not by_plate["51A-123.46"].linked
    far = by_plate["51A-123.47"]
    assert not far.linked and 0 < far.score < 0.5 and "no read" in far.why
    assert "another vehicle" in by_plate["51A-128.45"].why
    decided = decide(result, {"r2": "rejected", "r4": "accepted"})
    assert [k.read_id for k in decided.linked] == ["r4"]
    with pytest.raises(SearchError):
        decide(result, {"r2": "maybe"})  # type: ignore[dict-item]
    with pytest.raises(SearchError):
        link_reads(store, "not a plate", reach, who=SYSTEM)
    assert link_reads(store, "99A-999.99", reach, who=SYSTEM).links == ()


def test_clones(store: Store, reach: Reachability) -> None:
    pairs = find_clones(store, reach, who=SYSTEM)
    assert [p.plate for p in pairs] == ["60A-111.11"]
    pair = pairs[0]
    assert (pair.camera_a, pair.camera_b, pair.gap_s) == ("A", "C", 20.0)
    assert pair.distance_m == 3000.0 and pair.min_travel_s == 180.0
    assert pair.implied_kph == pytest.approx(540.0)
    assert find_clones(store, reach, plate="51A-123.45", who=SYSTEM) == ()
    slow = pd.DataFrame({"read_id": ["x", "y"], "plate": ["P", "P"], "camera_id": ["A", "C"],
                         "ts": [T0, T0 + timedelta(seconds=100)]})
    assert clone_pairs(slow, reach) == ()  # 100 s + slack ≥ half of 180 s
    assert plate_tracks(slow, reach).tolist() == [0, 0]
    fast = slow.assign(ts=[T0, T0 + timedelta(seconds=20)])
    assert plate_tracks(fast, reach).tolist() == [0, 1], "two vehicles, one plate"


def test_convoy(store: Store) -> None:
    members = find_convoy(store, "51A-123.45", window_s=30, who=SYSTEM)
    assert [(m.plate, m.shared_cameras) for m in members] == [("51A-128.45", 2)]
    assert members[0].mean_gap_s == pytest.approx(5.0)
    assert find_convoy(store, "51A-123.45", window_s=3, who=SYSTEM) == ()
    assert [m.plate for m in find_convoy(store, "51A-123.45", window_s=30, min_cameras=1,
                                         filters=SearchFilters(cameras={"A"}), who=SYSTEM)] == [
        "60A-111.11", "51A-128.45"]
    with pytest.raises(SearchError):
        find_convoy(store, "51A-123.45", window_s=0, who=SYSTEM)


def test_stakeout(store: Store) -> None:
    minute = timedelta(minutes=1)
    first = Place("A at 8:00", SearchFilters(cameras={"A"}, start=T0 - minute, end=T0 + minute))
    second = Place("C at 8:05", SearchFilters(wards={"W2"}, start=T0 + 4 * minute,
                                              end=T0 + 6 * minute))
    hits = stakeout(store, [first, second], who=SYSTEM)
    assert {h.plate for h in hits} == {"51A-123.45", "51A-128.45"}
    assert all(h.places == ("A at 8:00", "C at 8:05") for h in hits)
    hits = stakeout(store, [first, second], who=SYSTEM, min_places=1)
    assert "60A-111.11" in {h.plate for h in hits}
    with pytest.raises(SearchError):
        stakeout(store, [first], who=SYSTEM)
    with pytest.raises(SearchError):
        stakeout(store, [first, Place("anywhere", SearchFilters())], who=SYSTEM)


def test_exports(store: Store) -> None:
    reads = reads_of_plates(store, ["51A-123.45"], who=SYSTEM)
    assert list(reads["code"]) == ["CAM A", "CAM C"]
    assert "+07:00" in reads_csv(reads)
    geo = reads_geojson(reads)
    assert '"Point"' in geo and "CAM C" in geo


def test_reads_swapped_by_clock_skew_are_not_clones() -> None:
    graph = nx.MultiDiGraph()
    corners = {1: (106.700, 10.800), 2: (106.701, 10.800), 3: (106.701, 10.801),
               4: (106.700, 10.801)}  # a square block, 111 m a side
    graph.add_nodes_from((n, {"x": x, "y": y}) for n, (x, y) in corners.items())
    graph.add_edge(1, 2, 0, length=100.0, travel_time=10.0)
    graph.add_edge(2, 3, 0, length=20000.0, travel_time=1000.0)
    graph.add_edge(3, 4, 0, length=100.0, travel_time=10.0)
    graph.add_edge(4, 1, 0, length=100.0, travel_time=10.0)
    cams = pd.DataFrame({"id": ["A", "B"], "edge_u": [1, 3], "edge_v": [2, 4], "edge_key": 0,
                         "lon": [106.7005, 106.7005], "lat": [10.800, 10.801], "status": "up"})
    reach = reachability_from_graph(graph, cams)
    assert (reach.travel_s("A", "B"), reach.travel_s("B", "A")) == (1000.0, 10.0)
    reads = pd.DataFrame({"read_id": ["x", "y"], "plate": ["P", "P"], "camera_id": ["A", "B"],
                          "ts": [T0, T0 + timedelta(seconds=5)]})
    assert clone_pairs(reads, reach) == ()
    later = reads.assign(ts=[T0, T0 + timedelta(seconds=60)])
    assert len(clone_pairs(later, reach)) == 1
