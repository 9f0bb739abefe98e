"""Coverage library on hand-built graphs with known answers; health rules on synthetic
counts; the greedy planner against brute force."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from tracing import coverage as cv
from tracing import settings
from tracing.coverage.observability import longest_gaps
from tracing.errors import CoverageError
from tracing.roads import Roads, ragged_from_lengths, roads_from_graph


def _graph(nodes: dict[int, tuple[float, float]],
           roads: list[tuple[int, int, str, str]]) -> nx.MultiDiGraph:
    """Two-way roads between nodes at (lon, lat); length from the coordinates."""
    g = nx.MultiDiGraph(crs=settings.WGS84)
    for n, (x, y) in nodes.items():
        g.add_node(n, x=x, y=y)
    for a, b, name, highway in roads:
        (xa, ya), (xb, yb) = nodes[a], nodes[b]
        length = math.hypot(xa - xb, ya - yb) * 111_000.0
        for u, v in ((a, b), (b, a)):
            g.add_edge(u, v, 0, length=length, travel_time=length / 10.0, name=name,
                       highway=highway)
    return g


def _edge(roads: Roads, u: int, v: int) -> int:
    return int(roads.edge_index([u], [v], [0])[0])


@pytest.fixture
def line() -> Roads:
    """A — B — C — D on one street, 1 km apart (0.009009° × 111 km)."""
    step = 1.0 / 111.0
    nodes = {1: (106.7, 10.8), 2: (106.7 + step, 10.8), 3: (106.7 + 2 * step, 10.8),
             4: (106.7 + 3 * step, 10.8)}
    return roads_from_graph(_graph(nodes, [(1, 2, "Main", "primary"), (2, 3, "Main", "primary"),
                                           (3, 4, "Main", "primary")]))


def test_coverage_and_observability_on_a_line(line: Roads) -> None:
    cams = np.zeros(len(line.edge_u), np.int64)
    cams[_edge(line, 2, 3)] = 1  # eastbound only
    ward = pd.Series(["W"] * len(line.edge_u))
    rc = cv.road_coverage(line, cams, ward)
    assert rc.total_km == pytest.approx(6.0, rel=1e-6)
    assert rc.watched_km == pytest.approx(1.0, rel=1e-6)
    assert rc.by_class.loc["primary", "share"] == pytest.approx(1 / 6)
    # both corridors around the watched pair remain: A–B and C–D, 1 km each
    assert sorted(rc.corridors["length_km"].round(3)) == [1.0, 1.0]
    e = {(u, v): _edge(line, u, v) for u, v in [(1, 2), (2, 3), (3, 4), (4, 3), (3, 2), (2, 1)]}
    trips = ragged_from_lengths(np.array([e[1, 2], e[2, 3], e[3, 4],
                                          e[4, 3], e[3, 2], e[2, 1], e[1, 2]]),
                                np.array([3, 3, 1]))
    obs = cv.observability(trips, cams, line.length, np.array([0, 0, -1]), ("W",))
    assert obs.cameras.tolist() == [1, 0, 0]
    assert obs.seen_1 == pytest.approx(1 / 3) and obs.seen_2 == 0.0
    assert obs.longest_gap_m.round().tolist() == [1000.0, 3000.0, 1000.0]
    assert obs.worst_gap_m == pytest.approx(3000.0)
    assert obs.by_ward.loc["W", "trips"] == 2
    assert obs.by_ward.loc["(enters at a gateway)", "seen_1"] == 0.0


def test_two_cameras_and_gap_between_them(line: Roads) -> None:
    cams = np.zeros(len(line.edge_u), np.int64)
    cams[_edge(line, 1, 2)] = 1
    cams[_edge(line, 3, 4)] = 2
    trip = ragged_from_lengths(np.array([_edge(line, 1, 2), _edge(line, 2, 3),
                                         _edge(line, 3, 4)]), np.array([3]))
    obs = cv.observability(trip, cams, line.length, np.array([0]), ("W",))
    assert obs.cameras.tolist() == [3] and obs.seen_2 == 1.0
    assert longest_gaps(trip, cams, line.length).round().tolist() == [1000.0]


def test_gateways_on_a_small_polygon() -> None:
    """A road enters the square at the west and leaves at the east; a side street stays in."""
    nodes = {1: (-0.5, 0.5), 2: (0.5, 0.5), 3: (1.5, 0.5), 4: (0.5, 0.8)}
    g = _graph(nodes, [(1, 2, "West Rd", "trunk"), (2, 3, "East Rd", "primary"),
                       (2, 4, "Side", "residential")])
    roads = roads_from_graph(g)
    square = shapely.box(0.0, 0.0, 1.0, 1.0)
    cams = np.zeros(len(roads.edge_u), np.int64)
    cams[_edge(roads, 1, 2)] = 1  # inbound on West Rd only
    flow = np.arange(len(roads.edge_u), dtype=np.int64) + 1
    gw = cv.find_gateways(roads, square, cams, flow)
    table = gw.table.set_index(["road", "direction"])
    assert len(gw.table) == 4
    assert bool(table.loc[("West Rd", "inbound"), "covered"])
    assert not bool(table.loc[("West Rd", "outbound"), "covered"])
    assert not gw.table.loc[gw.table["road"] == "East Rd", "covered"].any()
    assert table.loc[("West Rd", "inbound"), "trips"] == flow[_edge(roads, 1, 2)]
    assert table.loc[("West Rd", "inbound"), "lon"] == pytest.approx(0.0)
    assert len(gw.uncovered) == 3
    assert 0 < gw.traffic_share_covered < 1
    cand = cv.candidate_edges(roads, gw.table["edge"].to_numpy())
    assert cand[_edge(roads, 2, 1)] and cand[_edge(roads, 1, 2)]  # gateways
    assert cand[_edge(roads, 4, 2)] and not cand[_edge(roads, 2, 4)]  # approach of node 2


def test_watched_edges_counts_live_lpr_cameras(line: Roads) -> None:
    reg = pd.DataFrame({"is_lpr": [True, True, False, True],
                        "status": ["up", "down", "up", "up"],
                        "edge_u": [2, 2, 2, 2], "edge_v": [3, 3, 3, 3], "edge_key": [0] * 4})
    cams = cv.watched_edges(line, reg)
    assert cams.sum() == 2 and cams[_edge(line, 2, 3)] == 2


# --- health ----------------------------------------------------------------------------------

NOW = datetime(2026, 3, 16, 0, 0, tzinfo=UTC)


def _hours(camera: str, reads: list[int], *, confidence: float | list[float] = 0.9,
           rejects: list[int] | None = None) -> pd.DataFrame:
    hours = pd.date_range(end=NOW - timedelta(hours=1), periods=len(reads), freq="h")
    conf = confidence if isinstance(confidence, list) else [confidence] * len(reads)
    frame = pd.DataFrame({"camera_id": camera, "hour": hours, "reads": reads,
                          "confidence": conf, "rejects": rejects or [0] * len(reads),
                          "last_ts": hours + pd.Timedelta(minutes=50)})
    return frame[(frame["reads"] > 0) | (frame["rejects"] > 0)]


def test_health_rules_on_synthetic_counts() -> None:
    days = 14 * 24
    healthy = _hours("ok", [20] * (days + 24))
    silent = _hours("quiet", [20] * (days + 18) + [0] * 6)
    dropped = _hours("drop", [20] * (days + 4) + [3] * 20)
    blurry = _hours("blur", [20] * (days + 24),
                    confidence=[0.9] * (days + 12) + [0.6] * 12)
    rejecting = _hours("rej", [20] * (days + 24), rejects=[0] * (days + 22) + [30, 30])
    hourly = pd.concat([healthy, silent, dropped, blurry, rejecting], ignore_index=True)
    health = cv.camera_health(hourly, now=NOW, cameras=["ok", "never"])
    assert health.checked == 6
    issues = {(r.camera_id, r.issue) for r in health.issues.itertuples()}
    assert issues == {("quiet", "silent"), ("never", "silent"), ("drop", "rate_drop"),
                      ("blur", "low_confidence"), ("rej", "rejects")}
    since = health.issues.set_index(["camera_id", "issue"])["since"]
    assert pd.Timestamp(since["quiet", "silent"]) == pd.Timestamp(NOW) - pd.Timedelta(
        hours=6, minutes=10)
    assert pd.Timestamp(since["drop", "rate_drop"]) == pd.Timestamp(NOW) - pd.Timedelta(hours=20)
    assert pd.Timestamp(since["blur", "low_confidence"]) == pd.Timestamp(NOW) - pd.Timedelta(
        hours=12)
    assert pd.isna(since["never", "silent"])


def test_a_camera_quiet_every_night_is_not_silent() -> None:
    day = [0] * 6 + [20] * 18
    hourly = _hours("night", (day * 15)[:-2])  # the last 2 h of the day are quiet anyway
    assert cv.camera_health(hourly, now=NOW).issues.empty


# --- planner --------------------------------------------------------------------------------


def _brute_force(matrix: np.ndarray, seen: np.ndarray, k: int) -> int:
    best = 0
    for sites in itertools.combinations(range(matrix.shape[1]), k):
        best = max(best, int(((matrix[:, list(sites)].sum(axis=1) > 0) & ~seen).sum()))
    return best


def _csr(dense: np.ndarray) -> cv.planner.csr_matrix:
    return cv.planner.csr_matrix(dense.astype(np.int32))


def test_greedy_planner_against_brute_force() -> None:
    rng = np.random.default_rng(7)
    worst = 1.0
    exact = 0
    for _ in range(30):
        dense = (rng.random((40, 8)) < 0.2).astype(np.int32)
        seen = rng.random(40) < 0.2
        plan = cv.plan_sites(_csr(dense), seen, np.ones(8, bool), k=3)
        opt = _brute_force(dense, seen, 3)
        assert plan.added == cv.newly_observed(_csr(dense), seen, plan.sites)
        assert list(plan.gains) == sorted(plan.gains, reverse=True)  # submodular: decreasing
        worst = min(worst, plan.added / opt if opt else 1.0)
        exact += plan.added == opt
    assert worst >= 1 - 1 / math.e
    assert exact >= 20


def test_planner_respects_candidates_overlap_and_k() -> None:
    # sites 0 and 1 see the same 3 trips, site 2 sees 2 others: best pair is {0 or 1, 2}
    dense = np.array([[1, 1, 0], [1, 1, 0], [1, 1, 0], [0, 0, 1], [0, 0, 1]])
    plan = cv.plan_sites(_csr(dense), np.zeros(5, bool), np.ones(3, bool), k=2)
    assert plan.sites.tolist() == [0, 2] and plan.gains.tolist() == [3, 2]
    assert (plan.before, plan.after, plan.trips) == (0, 5, 5)
    only = cv.plan_sites(_csr(dense), np.zeros(5, bool), np.array([False, True, False]), k=3)
    assert only.sites.tolist() == [1]  # stops when nothing more can be gained
    with pytest.raises(CoverageError):
        cv.plan_sites(_csr(dense), np.zeros(5, bool), np.ones(3, bool), k=-1)


def test_plan_export_and_baseline(line: Roads) -> None:
    e = [_edge(line, 1, 2), _edge(line, 2, 3), _edge(line, 3, 4)]
    trips = ragged_from_lengths(np.array([e[0], e[1], e[2], e[1], e[2], e[2]]),
                                np.array([3, 2, 1]))
    m = cv.incidence(trips, len(line.edge_u))
    plan = cv.plan_sites(m, np.zeros(3, bool), np.ones(len(line.edge_u), bool), k=1)
    assert plan.sites.tolist() == [e[2]] and plan.added == 3
    frame = cv.plan_frame(line, plan)
    assert frame.loc[0, "edge_u"] == 3 and frame.loc[0, "edge_v"] == 4
    assert frame.loc[0, "road"] == "Main"
    geo = gpd.read_file(cv.plan_geojson(frame))
    assert len(geo) == 1 and int(geo.loc[0, "new_trips"]) == 3
    base = cv.baseline_sites(line, m, k=5, min_approaches=2)  # nodes 2 and 3 are "crossings"
    assert sorted(base.tolist()) == sorted([e[0], e[1]])  # busiest approach of each


def test_hourly_activity_from_a_store(tmp_path: Path) -> None:
    from tracing import cameras
    from tracing.coverage.health import latest_read
    from tracing.reads import PlateRead
    from tracing.store import Store

    registry = cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv")
    cam = str(registry.loc[registry["is_lpr"], "id"].iloc[0])
    t0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    reads = [PlateRead(f"r{i}", cam, t0 + timedelta(minutes=25 * i), f"51A-123.{i:02d}", 0.8)
             for i in range(5)]
    reads.append(PlateRead("bad", cam, t0 + timedelta(minutes=5), "NOT A PLATE", 0.2))
    with Store(tmp_path / "h.duckdb") as store:
        store.replace_cameras(registry)
        store.ingest_reads(reads)
        now = latest_read(store)
        assert now == t0 + timedelta(minutes=100)
        hourly = cv.hourly_activity(store, now=now)
    assert hourly["reads"].tolist() == [3, 2]
    assert hourly["rejects"].tolist() == [1, 0]
    assert hourly["hour"].iloc[0] == pd.Timestamp(t0)
    assert hourly["confidence"].iloc[0] == pytest.approx(0.8)
