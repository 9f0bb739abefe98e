"""Traffic simulator on a hand-built 12 x 12 grid city: config, plates, routes, reads, truth.

The grid (about 3.6 km across) has residential streets, one primary avenue east–west and
one north–south, a one-way street, a parallel edge (key 1) on the avenue, a city outline
that the avenues cross (the gateways), four wards and plate-reading cameras on the avenues.
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from shapely.geometry import box

from tracing import cameras, network, settings
from tracing.errors import SimulationError, TracingError
from tracing.plates import normalize_plate, parse_plate
from tracing.simulate import (
    RunSummary,
    Simulation,
    SimulationConfig,
    default_truth_dir,
    load_truth,
    parse_start,
    run_simulation,
    simulate,
    write_truth,
)
from tracing.simulate import fleet as fl
from tracing.simulate.sensors import misread
from tracing.store import Store

N = 12
STEP = 0.003
X0, Y0 = 106.75, 10.80
AVENUE = 6
ICT = timezone(timedelta(hours=7))
START = datetime(2026, 3, 2, 0, 0, tzinfo=ICT)


def node(i: int, j: int) -> int:
    return 1000 + i * N + j


def grid_graph() -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph(crs=settings.WGS84)
    for i in range(N):
        for j in range(N):
            graph.add_node(node(i, j), x=X0 + j * STEP, y=Y0 + i * STEP, street_count=4)
    metres = STEP * 111_320.0

    def road(a: int, b: int, highway: str, *, oneway: bool = False) -> None:
        graph.add_edge(a, b, length=metres, highway=highway, oneway=oneway)
        if not oneway:
            graph.add_edge(b, a, length=metres, highway=highway, oneway=oneway)

    for i in range(N):
        for j in range(N - 1):
            road(node(i, j), node(i, j + 1), "primary" if i == AVENUE else "residential",
                 oneway=i == 2)
    for j in range(N):
        for i in range(N - 1):
            road(node(i, j), node(i + 1, j), "primary" if j == AVENUE else "residential")
    graph.add_edge(node(AVENUE, 3), node(AVENUE, 4), length=metres * 1.05, highway="secondary")
    graph.add_edge(node(2, N - 1), node(3, N - 1), length=metres, highway="residential")
    return network.apply_speeds(graph)


def outline() -> Any:
    return box(X0 + 1.5 * STEP, Y0 + 1.5 * STEP, X0 + 9.5 * STEP, Y0 + 9.5 * STEP)


def wards() -> gpd.GeoDataFrame:
    mid_x, mid_y = X0 + 5.5 * STEP, Y0 + 5.5 * STEP
    lo_x, lo_y, hi_x, hi_y = outline().bounds
    boxes = [box(lo_x, lo_y, mid_x, mid_y), box(mid_x, lo_y, hi_x, mid_y),
             box(lo_x, mid_y, mid_x, hi_y), box(mid_x, mid_y, hi_x, hi_y)]
    return gpd.GeoDataFrame({"ward": ["SW", "SE", "NW", "NE"],
                             "Pop_2019": [10_000, 20_000, 30_000, 40_000]},
                            geometry=boxes, crs=settings.WGS84)


CAMERA_EDGES = {
    "east-1": (node(AVENUE, 2), node(AVENUE, 3), 0),
    "east-2": (node(AVENUE, 8), node(AVENUE, 9), 0),
    "west-1": (node(AVENUE, 9), node(AVENUE, 8), 0),
    "west-2": (node(AVENUE, 4), node(AVENUE, 3), 0),
    "north-1": (node(2, AVENUE), node(3, AVENUE), 0),
    "north-2": (node(8, AVENUE), node(9, AVENUE), 0),
    "south-1": (node(9, AVENUE), node(8, AVENUE), 0),
    "south-2": (node(4, AVENUE), node(3, AVENUE), 0),
    "parallel": (node(AVENUE, 3), node(AVENUE, 4), 1),
    "plain-east": (node(AVENUE, 5), node(AVENUE, 6), 0),
    "lpr-down": (node(AVENUE, 6), node(AVENUE, 7), 0),
}
NOT_READING = {"plain-east": "not LPR", "lpr-down": "down"}


def registry() -> gpd.GeoDataFrame:
    graph = grid_graph()
    rows = []
    for cam, (u, v, k) in CAMERA_EDGES.items():
        lon = (graph.nodes[u]["x"] + graph.nodes[v]["x"]) / 2
        lat = (graph.nodes[u]["y"] + graph.nodes[v]["y"]) / 2
        rows.append({"id": cam, "lon": lon, "lat": lat, "is_lpr": cam != "plain-east",
                     "status": "down" if cam == "lpr-down" else "up",
                     "edge_u": u, "edge_v": v, "edge_key": k})
    return cameras.validate_registry(pd.DataFrame(rows), area=box(X0 - 1, Y0 - 1, X0 + 1, Y0 + 1))


def run(**options: Any) -> Simulation:
    config = SimulationConfig.for_hours(start=options.pop("start", START),
                                        hours=options.pop("hours", 24.0),
                                        zone_nodes_per_ward=6, **options)
    return simulate(GRAPH, REGISTRY, wards=WARDS, outline=OUTLINE, config=config)


GRAPH = grid_graph()
REGISTRY = registry()
WARDS = wards()
OUTLINE = outline()


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return run(trips=4000, seed=3)


# --- parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "message"), [
    ({"detection_rate": -0.1}, "detection_rate"),
    ({"detection_rate": 1.5}, "detection_rate"),
    ({"ocr_error_rate": -0.01}, "ocr_error_rate"),
    ({"duplicate_rate": 2.0}, "duplicate_rate"),
    ({"trips": -5}, "trips"),
    ({"seed": -1}, "seed"),
    ({"end": START - timedelta(hours=1)}, "not after its start"),
    ({"end": START}, "not after its start"),
    ({"start": datetime(2026, 3, 2)}, "no UTC offset"),
    ({"end": START + timedelta(days=400)}, "longer than"),
    ({"route_variants": 0}, "route_variants"),
])
def test_bad_parameters_raise_a_clear_error(options: dict[str, Any], message: str) -> None:
    options.setdefault("start", START)
    with pytest.raises(SimulationError, match=message) as info:
        SimulationConfig(**options)
    assert isinstance(info.value, TracingError)


@pytest.mark.parametrize("hours", [0, -3, float("nan")])
def test_hours_must_be_positive(hours: float) -> None:
    with pytest.raises(SimulationError, match="hours must be a positive number"):
        SimulationConfig.for_hours(start=START, hours=hours)


def test_start_needs_an_offset() -> None:
    assert parse_start("2026-03-02T06:00:00+07:00") == datetime(2026, 3, 2, 6, tzinfo=ICT)
    with pytest.raises(SimulationError, match="no UTC offset"):
        parse_start("2026-03-02T06:00:00")
    with pytest.raises(SimulationError, match="not an ISO 8601"):
        parse_start("yesterday")


def test_default_config_is_the_demo_day() -> None:
    assert default_truth_dir(settings.DEMO_DB) == settings.DEMO_TRUTH_DIR
    config = SimulationConfig()
    assert config.start.isoformat() == settings.SIM_DEFAULT_START
    assert config.hours == settings.SIM_DEFAULT_HOURS
    assert config.fingerprint == SimulationConfig().fingerprint
    assert config.fingerprint != SimulationConfig(seed=1).fingerprint
    assert config.fingerprint != SimulationConfig(ocr_error_rate=0.05).fingerprint


# --- plates ---------------------------------------------------------------------------------


def test_every_generated_plate_parses_and_is_unique() -> None:
    rng = np.random.default_rng(0)
    roles = fl.draw_roles(rng, 5000, gateways=True)
    kinds = fl.draw_kinds(rng, roles)
    colours = fl.draw_colours(rng, roles, kinds)
    provinces = fl.draw_provinces(rng, roles, kinds)
    plates, codes = fl.draw_plates(rng, kinds, colours, provinces, set())
    assert len(set(plates)) == len(plates)
    for plate, kind, colour, code in zip(plates, kinds, colours, codes, strict=True):
        parsed = parse_plate(plate)
        assert parsed.text == plate == normalize_plate(plate)
        assert parsed.province == code
        if colour == "red":
            assert parsed.kind == "military"
        else:
            assert parsed.kind == ("motorbike" if kind == "motorbike" else "car")
    share = np.mean(kinds == "motorbike")
    assert 0.7 < share < 0.85
    assert set(colours) == {"white", "yellow", "blue", "red"}
    assert np.mean([c in {"41", *map(str, range(50, 60))} for c in codes]) > 0.6


def test_misreads_follow_the_confusions_and_never_repeat_the_plate() -> None:
    rng = np.random.default_rng(1)
    kinds: dict[str, int] = {}
    for plate in ["59-X1 123.45", "51A-800.26", "TM-12-34", "61G-157.19"] * 200:
        raw, kind = misread(plate, rng)
        assert raw != plate
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "substitute":
            [(a, b)] = [(x, y) for x, y in zip(plate, raw, strict=True) if x != y]
            assert any(a in group and b in group for group in settings.SIM_OCR_CONFUSIONS)
        else:
            assert abs(len(raw) - len(plate)) == 1
    assert kinds["substitute"] > kinds["drop"] > 0 and kinds["extra"] > 0


# --- routes -------------------------------------------------------------------------------------


def test_same_seed_same_reads_other_seed_other_reads(sim: Simulation) -> None:
    again = run(trips=4000, seed=3)
    assert again.reads_table().equals(sim.reads_table())
    other = run(trips=4000, seed=4)
    assert not other.reads_table().equals(sim.reads_table())


def test_trip_count_and_period(sim: Simulation) -> None:
    counts = sim.counts
    assert counts["trips"] - counts["planted_trips"] == 4000
    horizon = sim.config.hours * 3600
    assert (sim.trips.depart >= 0).all() and (sim.trips.depart < horizon).all()
    assert sim.reads_table().num_rows == counts["reads"] > 0


def test_every_trip_follows_edges_of_the_graph(sim: Simulation) -> None:
    roads = sim.roads
    for t in range(len(sim.trips)):
        nodes = roads.node_ids[sim.trips.nodes.row(t)]
        edges = sim.trips.edges.row(t)
        times = sim.trips.offsets.row(t)
        assert len(edges) == len(nodes) - 1 == len(times) - 1
        assert (np.diff(times) >= 0).all()
        for (a, b), e in zip(itertools.pairwise(nodes), edges, strict=True):
            assert GRAPH.has_edge(a, b, key=int(roads.edge_key[e]))
            assert roads.node_ids[roads.edge_u[e]] == a and roads.node_ids[roads.edge_v[e]] == b


def test_routes_differ_from_the_fastest_path(sim: Simulation) -> None:
    background = sim.fleet.role[sim.trips.vehicle] != "planted"
    assert set(np.unique(sim.trips.variant[background])) == set(range(settings.SIM_ROUTE_VARIANTS))
    differ = 0
    for t in np.flatnonzero(background & (sim.trips.via_node < 0))[:300]:
        nodes = sim.roads.node_ids[sim.trips.nodes.row(t)].tolist()
        fastest = nx.shortest_path(GRAPH, nodes[0], nodes[-1], weight="travel_time")
        differ += nodes != fastest
    assert differ > 30
    via = sim.trips.via_node >= 0
    rate = settings.SIM_DETOUR_RATE + settings.SIM_STOP_RATE
    assert abs(via[background].mean() - rate) < 0.02
    assert (sim.trips.dwell_s[via] > 0).any() and (sim.trips.dwell_s[via] == 0).any()


def test_vehicles_chain_their_trips(sim: Simulation) -> None:
    trips = sim.trips
    by_vehicle = pd.DataFrame({"v": trips.vehicle, "depart": trips.depart,
                               "arrive": trips.arrive, "first": trips.nodes.values[
                                   trips.nodes.offsets[:-1]],
                               "last": trips.nodes.values[trips.nodes.offsets[1:] - 1]})
    by_vehicle = by_vehicle[sim.fleet.role[by_vehicle.v] != "planted"].sort_values(["v", "depart"])
    same = by_vehicle.v.to_numpy()[1:] == by_vehicle.v.to_numpy()[:-1]
    assert (by_vehicle.depart.to_numpy()[1:][same] >= by_vehicle.arrive.to_numpy()[:-1][same]).all()
    assert same.mean() > 0.5  # most vehicles make several trips
    home = by_vehicle.groupby("v").first()
    residents = np.isin(sim.fleet.role[home.index], ["commuter", "errand"])
    assert (sim.zones.sources[sim.fleet.home_row[home.index[residents]]]
            == home["first"].to_numpy()[residents]).mean() > 0.9


# --- reads --------------------------------------------------------------------------------------


def test_reads_only_at_lpr_cameras_on_the_path_in_their_direction(sim: Simulation) -> None:
    roads, trips, found = sim.roads, sim.trips, sim.passes
    table = sim.reads_table().to_pandas()
    assert set(table.camera_id) <= set(CAMERA_EDGES) - set(NOT_READING)
    assert "parallel" in set(table.camera_id)
    for r in range(len(sim.reads)):
        p = sim.reads.pass_index[r]
        trip, step = found.trip[p], found.step[p]
        e = trips.edges.row(trip)[step]
        u, v, k = CAMERA_EDGES[table.camera_id[r]]
        assert (roads.node_ids[roads.edge_u[e]], roads.node_ids[roads.edge_v[e]],
                roads.edge_key[e]) == (u, v, k)
        t_in = trips.depart[trip] + trips.offsets.row(trip)[step]
        t_out = trips.depart[trip] + trips.offsets.row(trip)[step + 1]
        assert t_in - 1e-6 <= found.t[p] <= t_out + 1e-6
    # every traversal of a reading camera's edge is a pass
    watched = {sim.roads.edge_index([u], [v], [k])[0] for c, (u, v, k) in CAMERA_EDGES.items()
               if c not in NOT_READING}
    traversals = sum(np.isin(trips.edges.row(t), list(watched)).sum() for t in range(len(trips)))
    assert traversals >= len(found) > 0.95 * traversals  # the rest fall outside the period


def test_read_rate_and_ocr_error_rate_match_the_configuration() -> None:
    for detection, ocr, duplicates in [(0.9, 0.07, 0.02), (0.6, 0.25, 0.1)]:
        sim = run(trips=3000, seed=5, detection_rate=detection, ocr_error_rate=ocr,
                  duplicate_rate=duplicates, planted=False)
        assert abs(sim.detected.mean() - detection) < 0.025
        first = ~sim.reads.duplicate
        misread = np.array([k is not None for k in sim.reads.ocr_error])
        assert abs(misread[first].mean() - ocr) < 0.02
        assert abs(sim.reads.duplicate.sum() / first.sum() - duplicates) < 0.015
        table = sim.reads_table().to_pandas()
        valid = [_parses(p) for p in table.plate_raw]
        assert all(valid[i] for i in np.flatnonzero(~misread))
        assert sim.counts["invalid_plates"] == len(valid) - sum(valid) > 0
        assert table.read_id.is_unique


def _parses(raw: str) -> bool:
    try:
        parse_plate(raw)
    except TracingError:
        return False
    return True


def test_read_times_carry_camera_clock_skew(sim: Simulation) -> None:
    first = ~sim.reads.duplicate
    offset = sim.reads.t[first] - sim.passes.t[sim.reads.pass_index[first]]
    camera = sim.passes.camera[sim.reads.pass_index[first]]
    assert np.allclose(offset, sim.cameras.skew_s[camera])
    assert 0 < np.abs(sim.cameras.skew_s).max() <= 3 * settings.SIM_CLOCK_SKEW_S
    first_time = dict(zip(sim.reads.pass_index[first], sim.reads.t[first], strict=True))
    later = sim.reads.t[~first] - [first_time[p] for p in sim.reads.pass_index[~first]]
    lo, hi = settings.SIM_DUPLICATE_DELAY_S
    assert ((later >= lo) & (later <= hi)).all()


# --- planted cases ------------------------------------------------------------------------------


def _reads_of(sim: Simulation, vehicle: int) -> pd.DataFrame:
    table = sim.reads_table().to_pandas()
    table["vehicle"] = sim.trips.vehicle[sim.passes.trip[sim.reads.pass_index]]
    return table[table.vehicle == vehicle].sort_values("ts")


def test_planted_cases_are_present_and_true(sim: Simulation) -> None:
    cases = {c["case"]: c for c in sim.cases}
    assert set(cases) == {"watchlist_gateway", "cloned_plate", "convoy", "parked", "seen_twice"}
    assert not sim.skipped
    table = sim.reads_table().to_pandas().set_index("read_id")
    for case in cases.values():
        assert case["read_ids"] and set(case["read_ids"]) <= set(table.index)
        assert all(table.loc[r, "plate_raw"] in case["plates"] for r in case["read_ids"])

    gateway = cases["watchlist_gateway"]
    trip = gateway["trip_ids"][0]
    u, v, _ = gateway["gateway_edge"]
    assert sim.roads.node_ids[sim.trips.nodes.row(trip)[:2]].tolist() == [u, v]
    assert not OUTLINE.contains(_point(u)) and OUTLINE.contains(_point(v))
    assert gateway["entered_at"] <= gateway["first_pass_at"]
    assert gateway["first_camera"] in set(_reads_of(sim, gateway["vehicle_ids"][0]).camera_id)

    clone = cases["cloned_plate"]
    assert len(set(clone["plates"])) == 1 and len(set(clone["vehicle_ids"])) == 2
    first = [_reads_of(sim, v).iloc[0] for v in clone["vehicle_ids"]]
    hours = abs((first[1].ts - first[0].ts).total_seconds()) / 3600
    assert clone["distance_km"] / hours > 40  # faster than any vehicle in the city

    convoy = cases["convoy"]
    lead, follow = (_reads_of(sim, v) for v in convoy["vehicle_ids"])
    assert lead.camera_id.tolist() == follow.camera_id.tolist() == convoy["cameras"]
    assert len(convoy["cameras"]) >= 2
    gaps = (follow.ts.to_numpy() - lead.ts.to_numpy()) / np.timedelta64(1, "s")
    assert ((gaps >= 4) & (gaps <= 31)).all()  # 5-30 s, give or take the clock skew

    parked = cases["parked"]
    t1, t2 = parked["trip_ids"]
    assert sim.trips.depart[t2] - sim.trips.arrive[t1] >= 5 * 3600
    assert sim.trips.nodes.row(t1)[-1] == sim.trips.nodes.row(t2)[0]

    twice = cases["seen_twice"]
    assert len(_reads_of(sim, twice["vehicle_ids"][0])) == 2 == len(twice["read_ids"])


def _point(osm_id: int) -> Any:
    from shapely.geometry import Point

    return Point(GRAPH.nodes[osm_id]["x"], GRAPH.nodes[osm_id]["y"])


def test_a_short_period_keeps_what_fits() -> None:
    sim = run(trips=300, seed=2, hours=2.0, start=START + timedelta(hours=8))
    assert sim.counts["trips"] - sim.counts["planted_trips"] == 300
    assert "parked" in {c["case"] for c in sim.cases}  # parks for half the time left
    assert (sim.passes.t < 2 * 3600).all()


def test_unreadable_registry_is_refused() -> None:
    frame = pd.DataFrame(REGISTRY.drop(columns="geometry"))
    frame["is_lpr"] = False
    config = SimulationConfig.for_hours(start=START, hours=1, trips=10)
    with pytest.raises(SimulationError, match="no working plate-reading camera"):
        simulate(GRAPH, frame, wards=WARDS, outline=OUTLINE, config=config)


# --- truth ----------------------------------------------------------------------------------


def test_truth_round_trip(sim: Simulation, tmp_path: Path) -> None:
    write_truth(sim, tmp_path / "truth")
    truth = load_truth(tmp_path / "truth")
    assert truth.manifest["format_version"] == 1
    assert truth.manifest["config"]["seed"] == 3
    assert len(truth.trips) == len(sim.trips) and len(truth.reads) == len(sim.reads)
    assert len(truth.vehicles) == len(sim.fleet)
    row = truth.trips.iloc[7]
    nodes = list(row.nodes)
    assert len(row.edge_keys) == len(nodes) - 1 and len(row.times) == len(nodes)
    for (a, b), k in zip(itertools.pairwise(nodes), row.edge_keys, strict=True):
        assert GRAPH.has_edge(a, b, key=int(k))
    assert pd.Timestamp(row.times[0], tz="UTC") == row.depart
    assert pd.Timestamp(row.times[-1], tz="UTC") == row.arrive
    reads = truth.reads.merge(truth.vehicles[["vehicle_id", "plate"]], on="vehicle_id",
                              suffixes=("", "_vehicle"))
    assert (reads.plate == reads.plate_vehicle).all()
    clean = reads[reads.ocr_error.isna()]
    assert (clean.plate_raw == clean.plate).all()
    assert (truth.reads.valid == [_parses(p) for p in truth.reads.plate_raw]).all()
    assert set(truth.passes.detected.unique()) == {True, False}
    assert truth.case("convoy")["vehicle_ids"] == next(
        c for c in sim.cases if c["case"] == "convoy")["vehicle_ids"]
    stored = pa.Table.from_pandas(truth.reads[["read_id"]])
    assert stored.column("read_id").to_pylist() == sim.read_ids.tolist()


def test_load_truth_refuses_other_folders(tmp_path: Path) -> None:
    with pytest.raises(SimulationError, match="not a simulation truth folder"):
        load_truth(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "other", "format_version": 9}')
    (tmp_path / "planted.json").write_text("{}")
    with pytest.raises(SimulationError, match="format 'other'"):
        load_truth(tmp_path)


def test_km_sanity() -> None:
    """The grid's avenue is about 3.7 km: gives the clone test its scale."""
    assert math.isclose((N - 1) * STEP * 111.32, 3.67, abs_tol=0.01)


def test_several_days_bring_the_same_vehicles_back() -> None:
    sim = run(trips=3000, seed=6, hours=72.0, planted=False)
    day = (sim.trips.depart // 86_400).astype(int)
    assert set(day) == {0, 1, 2}
    days_per_vehicle = pd.Series(day).groupby(sim.trips.vehicle).nunique()
    assert (days_per_vehicle == 3).mean() > 0.5
    local = (sim.trips.depart % 86_400) / 3600  # the period starts at local midnight
    counts = np.bincount(local.astype(int), minlength=24)
    assert counts[7] > 3 * counts[3] and counts[17] > 3 * counts[3]  # morning, evening peaks


def test_without_gateways_everyone_lives_in_the_city() -> None:
    everything = box(X0 - STEP, Y0 - STEP, X0 + N * STEP, Y0 + N * STEP)
    config = SimulationConfig.for_hours(start=START, hours=24, trips=500, seed=1,
                                        zone_nodes_per_ward=4)
    sim = simulate(GRAPH, REGISTRY, wards=WARDS, outline=everything, config=config)
    assert not set(sim.fleet.role) & {"visitor", "through"}
    assert "watchlist_gateway" in sim.skipped
    assert {c["case"] for c in sim.cases} >= {"cloned_plate", "convoy", "parked"}


# --- store ------------------------------------------------------------------------------


def test_run_writes_store_and_truth_idempotently_and_refuses_overlaps(tmp_path: Path) -> None:
    registry_csv = cameras.write_registry(REGISTRY, tmp_path / "cameras.csv")
    db = tmp_path / "grid.duckdb"

    def go(seed: int, start: datetime = START) -> RunSummary:
        config = SimulationConfig.for_hours(start=start, hours=6, trips=300, seed=seed,
                                            zone_nodes_per_ward=4)
        return run_simulation(db, config=config, cameras_path=registry_csv, graph=GRAPH,
                              wards=WARDS, outline=OUTLINE)

    first = go(1)
    assert first.truth_dir == tmp_path / "grid-truth"
    assert first.ingest.inserted + first.ingest.rejected == first.simulation.counts["reads"]
    assert first.ingest.rejected == first.simulation.counts["invalid_plates"]
    again = go(1)
    assert again.ingest.inserted == 0 and again.ingest.duplicates == first.ingest.inserted
    with Store(db) as store:
        assert store.count_reads() == first.ingest.inserted
    with pytest.raises(SimulationError, match="already holds simulated reads of another run"):
        go(2)
    later = go(2, START + timedelta(days=1))  # another day may join the same store
    assert later.ingest.inserted > 0
    truth = load_truth(tmp_path / "grid-truth")
    assert truth.manifest["fingerprint"] == later.simulation.fingerprint
    assert truth.manifest["ingest"]["inserted"] == later.ingest.inserted
