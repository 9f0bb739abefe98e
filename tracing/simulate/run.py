"""Orchestration: graph + cameras + wards → vehicles, trips, passes and reads; store + truth.

:func:`simulate` is pure (no files): it returns a :class:`Simulation`.
:func:`run_simulation` loads the shipped inputs, simulates, ingests the reads into a store
through :meth:`tracing.store.Store.ingest` (in batches) and writes the ground truth.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from tracing import boundaries, settings
from tracing.errors import SimulationError
from tracing.plates import normalize_plates
from tracing.roads import (
    BoolArray,
    CostVariant,
    FloatArray,
    IntArray,
    Roads,
    cost_variant,
    cost_variants,
    roads_from_graph,
)
from tracing.simulate import demand, routing
from tracing.simulate.config import SimulationConfig
from tracing.simulate.fleet import Fleet, concat_fleets
from tracing.simulate.planted import Planted, plant
from tracing.simulate.routing import Progress, Router, TripSet
from tracing.simulate.sensors import (
    Cameras,
    Passes,
    Reads,
    SensorRates,
    lpr_cameras,
    passes,
    registry_as_known,
    sense,
)
from tracing.simulate.zones import Zones, build_zones
from tracing.store import IngestReport, Store

logger = logging.getLogger(__name__)

INGEST_BATCH_ROWS: Final = 50_000
"""Reads per call of Store.ingest (one transaction each)."""
_STREAMS: Final = ("zones", "costs", "fleet", "routes", "times", "cameras", "sensors",
                   "planted", "registry")
"""Independent random streams (numpy SeedSequence children), so that changing one part's
parameters (e.g. the OCR error rate) leaves the others' draws alone."""


@dataclass(frozen=True, slots=True, eq=False)
class Simulation:
    """Everything one run produced: vehicles (id = index), trips (id = index), passes of
    LPR cameras, reads (with their read_ids), planted cases and counts."""

    config: SimulationConfig
    roads: Roads
    zones: Zones
    cameras: Cameras
    fleet: Fleet
    trips: TripSet
    passes: Passes
    detected: BoolArray
    reads: Reads
    read_ids: npt.NDArray[np.object_]
    cases: list[dict[str, Any]]
    skipped: dict[str, str]
    counts: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)

    fingerprint: str = ""
    """Digest of the parameters, the inputs and the simulator's code (see
    :func:`run_fingerprint`): read_ids and ``source`` carry it."""
    registry: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The camera registry as the centre knows it (with the configured errors)."""
    registry_errors: dict[str, list[str]] = field(default_factory=dict)
    """Cameras the known registry has wrong: ``heading`` (reverse direction), ``unmarked``
    (reads plates, not marked is_lpr)."""

    @property
    def source(self) -> str:
        """The ``source`` of every read in the store."""
        return f"sim:{self.config.seed}:{self.fingerprint}"

    def read_times_us(self) -> npt.NDArray[np.int64]:
        """Reported read times as microseconds since the Unix epoch (UTC)."""
        start_us = int(self.config.start.timestamp() * 1_000_000)
        return start_us + np.round(self.reads.t * 1e6).astype(np.int64)

    def reads_table(self) -> pa.Table:
        """The reads as the store ingests them (columns of :mod:`tracing.reads`)."""
        vehicle = self.trips.vehicle[self.passes.trip[self.reads.pass_index]]
        camera = self.passes.camera[self.reads.pass_index]
        return pa.table({
            "read_id": pa.array(self.read_ids, pa.string()),
            "camera_id": pa.array(self.cameras.ids[camera], pa.string()),
            "ts": pa.array(self.read_times_us(), pa.timestamp("us", tz="UTC")),
            "plate_raw": pa.array(self.reads.plate_raw, pa.string()),
            "confidence": pa.array(self.reads.confidence, pa.float64()),
            "vehicle_class": pa.array(self.fleet.kind[vehicle], pa.string()),
            "plate_colour": pa.array(self.fleet.colour[vehicle], pa.string()),
            "source": pa.array(np.full(len(self.reads), self.source, dtype=object), pa.string()),
        })

    def summary(self) -> str:
        """One line: what was simulated."""
        c = self.counts
        return (f"simulated {c['trips']:,} trips of {c['vehicles']:,} vehicles "
                f"({c['planted_cases']} planted cases) from {self.config.start.isoformat()} "
                f"for {self.config.hours:g} h: {c['reads']:,} reads at {c['lpr_cameras']} LPR "
                f"cameras ({c['passes']:,} passes, {c['misreads']:,} misread, "
                f"{c['invalid_plates']:,} not a valid plate, {c['duplicates']:,} duplicates)")


# --- simulate ----------------------------------------------------------------------------------


def _streams(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(_STREAMS, children, strict=True)}


def _local_hour(config: SimulationConfig) -> float:
    local = config.start.astimezone(ZoneInfo(settings.LOCAL_TZ))
    return local.hour + local.minute / 60 + (local.second + local.microsecond / 1e6) / 3600


def _via_rows(router: Router, zones: Zones, origin: IntArray, dest: IntArray,
              rng: np.random.Generator) -> IntArray:
    """An intermediate ward row for each trip, whose detour costs at most
    ``SIM_DETOUR_MAX_RATIO`` times the direct route (else the cheapest detour)."""
    rows = zones.ward_rows
    out = np.empty(len(origin), np.int64)
    for lo in range(0, len(origin), 10_000):
        o, d = origin[lo:lo + 10_000], dest[lo:lo + 10_000]
        via = router.dist[np.ix_(o, zones.sources[rows])] + router.dist[np.ix_(rows, d)].T
        direct = router.dist[o, d][:, None]
        bad = (zones.sources[rows][None, :] == zones.sources[o][:, None]) | (
            zones.sources[rows][None, :] == d[:, None])
        via[bad] = np.inf
        ok = via <= settings.SIM_DETOUR_MAX_RATIO * direct
        score = np.where(ok, rng.random(via.shape), -1.0)
        pick = np.where(ok.any(axis=1), score.argmax(axis=1), via.argmin(axis=1))
        out[lo:lo + 10_000] = rows[pick]
    return out


def route_plan(router: Router, zones: Zones, plan: demand.TripPlan, fleet: Fleet,
               config: SimulationConfig, rng: np.random.Generator,
               rng_times: np.random.Generator) -> TripSet:
    """Route and time planned trips (departures as planned; see :func:`schedule`)."""
    n = len(plan)
    driver = rng.integers(0, config.route_variants, n)
    variant = driver.copy()  # the router's variant: the class-restricted copy for motorbikes
    if len(router.variants) > config.route_variants:
        variant += np.where(fleet.kind[plan.vehicle] == "motorbike", config.route_variants, 0)
    u = rng.random(n)
    via = u < config.detour_rate + config.stop_rate
    stop = u < config.stop_rate
    via_idx = np.flatnonzero(via)
    via_row = np.full(n, -1, np.int64)
    via_row[via_idx] = _via_rows(router, zones, plan.origin_row[via_idx], plan.dest_node[via_idx],
                                 rng)
    first_dest = np.where(via, zones.sources[np.maximum(via_row, 0)], plan.dest_node)
    first = routing.walk(router, variant, plan.origin_row, first_dest)
    second = routing.walk(router, variant[via_idx], via_row[via_idx], plan.dest_node[via_idx])
    nodes = routing.join(first, second, via)
    edges = routing.edges_of(router, nodes, variant)
    kind_factor = np.array([settings.SIM_KIND_TIME_FACTOR[str(k)]
                            for k in fleet.kind[plan.vehicle]])
    speed = kind_factor * rng_times.lognormal(0.0, settings.SIM_TRIP_SPEED_SIGMA, n)
    offsets = routing.node_offsets(router.roads, edges, plan.planned,
                                   local_hour0=_local_hour(config), speed_factor=speed,
                                   rng=rng_times)
    lo, hi = settings.SIM_STOP_MINUTES
    dwell = np.where(stop, rng_times.uniform(lo * 60.0, hi * 60.0, n), 0.0)
    at = np.where(stop, first.lengths - 1, -1)
    offsets = routing.add_dwell(offsets, at, dwell)
    return TripSet(vehicle=plan.vehicle, depart=plan.planned.copy(), nodes=nodes, edges=edges,
                   offsets=offsets, variant=driver, purpose=plan.purpose,
                   via_node=np.where(via, zones.sources[np.maximum(via_row, 0)], -1),
                   dwell_s=dwell)


def schedule(plan: demand.TripPlan, trips: TripSet) -> FloatArray:
    """Departures: a vehicle leaves at its planned time (scheduled trips) but never before
    ``gap`` after arriving from its previous trip. ``plan`` is sorted by vehicle."""
    n = len(plan)
    duration = trips.arrive - trips.depart
    start_of = np.ones(n, bool)
    start_of[1:] = plan.vehicle[1:] != plan.vehicle[:-1]
    group_start = np.maximum.accumulate(np.where(start_of, np.arange(n), 0))
    position = np.arange(n) - group_start
    depart = plan.planned.copy()
    arrive = depart + duration
    for k in range(1, int(position.max(initial=0)) + 1):
        idx = np.flatnonzero(position == k)
        earliest = arrive[idx - 1] + plan.gap[idx]
        depart[idx] = np.where(plan.scheduled[idx], np.maximum(plan.planned[idx], earliest),
                               earliest)
        arrive[idx] = depart[idx] + duration[idx]
    return depart


def _background(router: Router, zones: Zones, config: SimulationConfig,
                rngs: dict[str, np.random.Generator], used: set[str]) -> tuple[Fleet, TripSet]:
    """The background fleet and its first ``config.trips`` trips departing in the period."""
    grav = demand.gravity(zones, router.dist)
    fleet, plan = demand.plan_demand(zones, grav, rngs["fleet"], trips=config.trips,
                                     start=config.start, end=config.period_end, used=used)
    plan = plan.take(np.flatnonzero(zones.sources[plan.origin_row] != plan.dest_node))
    trips = route_plan(router, zones, plan, fleet, config, rngs["routes"], rngs["times"])
    depart = schedule(plan, trips)
    horizon = (config.period_end - config.start).total_seconds()
    inside = (depart >= 0) & (depart < horizon)
    keep = np.flatnonzero(inside & (np.cumsum(inside) <= config.trips))
    trips = TripSet(vehicle=trips.vehicle, depart=depart, nodes=trips.nodes, edges=trips.edges,
                    offsets=trips.offsets, variant=trips.variant, purpose=trips.purpose,
                    via_node=trips.via_node, dwell_s=trips.dwell_s).take(keep)
    used_vehicles, new_id = np.unique(trips.vehicle, return_inverse=True)
    fleet = Fleet(*(getattr(fleet, name)[used_vehicles] for name in Fleet.__dataclass_fields__))
    trips = TripSet(vehicle=new_id.astype(np.int64), depart=trips.depart, nodes=trips.nodes,
                    edges=trips.edges, offsets=trips.offsets, variant=trips.variant,
                    purpose=trips.purpose, via_node=trips.via_node, dwell_s=trips.dwell_s)
    if len(trips) < config.trips:
        logger.warning("only %s of %s trips depart in the period", len(trips), config.trips)
    return fleet, trips


def simulate(graph: nx.MultiDiGraph, registry: pd.DataFrame | gpd.GeoDataFrame, *,
             wards: gpd.GeoDataFrame, outline: boundaries.Outline,
             config: SimulationConfig, progress: Progress | None = None) -> Simulation:
    """Simulate ``config`` on a road graph with a camera registry (no files written)."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 3)
        clock = now
        if progress is not None:
            progress(stage, 1.0)

    rngs = _streams(config.seed)
    roads = roads_from_graph(graph)
    cameras = lpr_cameras(registry, roads, rngs["cameras"], skew_s=config.clock_skew_s,
                          both_directions=config.both_directions,
                          all_read=config.all_cameras_read)
    known, errors = registry_as_known(registry, roads, cameras, rngs["registry"],
                                      heading_error_rate=config.heading_error_rate,
                                      unmarked_rate=config.unmarked_rate)
    zones = build_zones(roads, wards, outline, rngs["zones"], per_ward=config.zone_nodes_per_ward)
    lap("prepare")
    router = routing.build_router(roads, _variants(roads, config, rngs["costs"]), zones.sources,
                                  progress=progress)
    lap("routes")
    used: set[str] = set()
    fleet, trips = _background(router, zones, config, rngs, used)
    lap("trips")
    horizon = (config.period_end - config.start).total_seconds()
    planted: Planted | None = None
    if config.planted:
        planted = plant(roads, router, zones, cameras, rngs["planted"], start=config.start,
                        horizon=horizon, days=demand.day_starts(config.start, config.period_end),
                        local_hour0=_local_hour(config), first_vehicle=len(fleet), used=used)
        fleet = concat_fleets([fleet, planted.fleet])
        n_background = len(trips)
        trips = routing.concat_trips([trips, planted.trips])
    else:
        n_background = len(trips)
    order = np.lexsort((trips.vehicle, trips.depart))
    trips = trips.take(order)
    trip_id = np.empty(len(order), np.int64)
    trip_id[order] = np.arange(len(order))
    lap("planted")
    fingerprint = run_fingerprint(config, roads, cameras, zones)
    found, detected, reads, read_ids = _sense_reads(config, cameras, fleet, trips,
                                                    len(roads.edge_u), rngs["sensors"],
                                                    fingerprint)
    lap("reads")
    cases = _case_records(planted, trip_id, n_background, fleet, found, reads, read_ids)
    counts = _counts(config, cameras, fleet, trips, found, detected, reads, cases)
    sim = Simulation(config=config, roads=roads, zones=zones, cameras=cameras, fleet=fleet,
                     trips=trips, passes=found, detected=detected, reads=reads, read_ids=read_ids,
                     cases=cases, skipped=dict(planted.skipped) if planted else {},
                     counts=counts, timings=timings, fingerprint=fingerprint,
                     registry=known, registry_errors=errors)
    logger.info("%s", sim.summary())
    return sim


def _variants(roads: Roads, config: SimulationConfig, rng: np.random.Generator
              ) -> list[CostVariant]:
    """The driver types; with class restrictions each again for motorbikes, whose
    forbidden roads cost SIM_FORBIDDEN_COST_FACTOR times more (never taken where another
    way exists)."""
    variants = cost_variants(roads, rng, count=config.route_variants)
    if not config.class_restrictions:
        return variants
    closed = ~np.isfinite(roads.class_travel_time("motorbike"))
    factor = np.where(closed, settings.SIM_FORBIDDEN_COST_FACTOR, 1.0)
    return variants + [cost_variant(roads, v.cost * factor) for v in variants]


def run_fingerprint(config: SimulationConfig, roads: Roads, cameras: Cameras,
                    zones: Zones) -> str:
    """12 hex digits that change with the parameters, the road graph, the cameras, the
    zones and the simulator's code (its source files, the SIM_ settings, numpy's version):
    the same run twice gives the same read_ids, a different run never reuses one."""
    digest = hashlib.sha256(config.fingerprint.encode())
    for array in (roads.node_ids, roads.edge_u, roads.edge_v, roads.edge_key,
                  roads.travel_time, cameras.edge, cameras.position, cameras.skew_s,
                  zones.sources, zones.weight):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update("\x1f".join(map(str, cameras.ids)).encode())
    digest.update(_code_digest().encode())
    return digest.hexdigest()[:12]


@functools.cache
def _code_digest() -> str:
    digest = hashlib.sha256(np.__version__.encode())
    for path in [*sorted(Path(__file__).parent.glob("*.py")),
                 Path(__file__).parent.parent / "plates.py"]:
        digest.update(path.read_bytes())
    knobs = {k: repr(getattr(settings, k)) for k in sorted(dir(settings)) if k.startswith("SIM_")}
    digest.update(json.dumps(knobs, sort_keys=True).encode())
    return digest.hexdigest()


def _sense_reads(config: SimulationConfig, cameras: Cameras, fleet: Fleet, trips: TripSet,
                 n_edges: int, rng: np.random.Generator, fingerprint: str
                 ) -> tuple[Passes, BoolArray, Reads, npt.NDArray[np.object_]]:
    """Passes in the period, which were detected, the reads (ordered by reported time) and
    their read_ids."""
    horizon = config.hours * 3600.0
    found = passes(cameras, n_edges, trips.edges, trips.offsets, trips.depart)
    window = (found.t >= 0) & (found.t < horizon)
    found = Passes(*(getattr(found, name)[window] for name in Passes.__dataclass_fields__))
    vehicle = trips.vehicle[found.trip]
    rates = SensorRates(config.detection_rate, config.ocr_error_rate, config.duplicate_rate)
    detected, reads = sense(found, cameras, fleet.plate[vehicle], fleet.role[vehicle] == "planted",
                            rates, rng, front_plate=fleet.kind[vehicle] != "motorbike")
    camera_ids = cameras.ids[found.camera[reads.pass_index]].astype(str)
    order = np.lexsort((reads.duplicate, reads.pass_index, camera_ids, reads.t))
    reads = Reads(*(getattr(reads, name)[order] for name in Reads.__dataclass_fields__))
    prefix = f"sim-{fingerprint}-"
    read_ids = np.array([f"{prefix}{i:09d}" for i in range(len(reads))], dtype=object)
    return found, detected, reads, read_ids


def _case_records(planted: Planted | None, trip_id: IntArray, n_background: int,
                  fleet: Fleet, found: Passes, reads: Reads,
                  read_ids: npt.NDArray[np.object_]) -> list[dict[str, Any]]:
    """planted.json entries: global vehicle and trip ids, plates, read_ids."""
    if planted is None:
        return []
    read_trip = found.trip[reads.pass_index]
    out = []
    for case in planted.cases:
        ids = [int(trip_id[n_background + t]) for t in case.trips]
        out.append({
            "case": case.case, "description": case.description,
            "vehicle_ids": list(case.vehicles),
            "plates": [str(fleet.plate[v]) for v in case.vehicles],
            "trip_ids": ids,
            "read_ids": [str(r) for r in read_ids[np.isin(read_trip, ids)]],
            **case.details,
        })
    return out


def _counts(config: SimulationConfig, cameras: Cameras, fleet: Fleet, trips: TripSet,
            found: Passes, detected: BoolArray, reads: Reads,
            cases: list[dict[str, Any]]) -> dict[str, Any]:
    plates, _ = normalize_plates(pa.array(reads.plate_raw, pa.string()))
    misread = np.array([k is not None for k in reads.ocr_error], bool)
    days = config.hours / 24.0
    kinds = pd.Series(fleet.kind).value_counts().to_dict()
    return {
        "vehicles": len(fleet), "vehicles_by_kind": {str(k): int(v) for k, v in kinds.items()},
        "trips": len(trips), "planted_trips": int(np.sum(fleet.role[trips.vehicle] == "planted")),
        "planted_cases": len(cases), "lpr_cameras": len(cameras), "passes": len(found),
        "detected_passes": int(detected.sum()), "reads": len(reads),
        "misreads": int(misread.sum()), "invalid_plates": int(plates.null_count),
        "duplicates": int(reads.duplicate.sum()),
        "reads_per_lpr_camera_day": round(len(reads) / max(len(cameras), 1) / days, 1),
    }


# --- store and truth ---------------------------------------------------------------------------


def read_batches(sim: Simulation, rows: int = INGEST_BATCH_ROWS) -> Iterator[pa.Table]:
    """The reads in batches for :meth:`Store.ingest`."""
    table = sim.reads_table()
    for lo in range(0, table.num_rows, rows):
        yield table.slice(lo, rows)


def default_truth_dir(db: Path) -> Path:
    """Where the truth of a database goes by default: ``<db stem>-truth`` beside it."""
    return db.with_name(f"{db.stem}-truth")


def check_locations(db: Path, truth_dir: Path) -> None:
    """The truth folder must be a folder beside the database, not the database itself."""
    db, truth_dir = Path(db).resolve(), Path(truth_dir).resolve()
    if truth_dir == db or db.is_relative_to(truth_dir):
        raise SimulationError(f"the truth folder {truth_dir} must not hold the database {db}: "
                              "put it beside the database")
    if truth_dir.exists() and not truth_dir.is_dir():
        raise SimulationError(f"truth folder {truth_dir} exists and is not a folder")


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What :func:`run_simulation` did."""

    simulation: Simulation
    ingest: IngestReport
    db: Path
    truth_dir: Path
    seconds: float

    def __str__(self) -> str:
        report = self.ingest
        return (f"{self.simulation.summary()}; store {self.db}: {report.inserted:,} inserted, "
                f"{report.duplicates:,} already there, {report.rejected:,} to rejects; truth "
                f"{self.truth_dir}; {self.seconds:.1f} s")


def run_simulation(db: Path, truth_dir: Path | None = None, *,
                   config: SimulationConfig | None = None,
                   cameras_path: Path = settings.CAMERAS_DIR / "thuduc_cameras.csv",
                   graph: nx.MultiDiGraph | None = None,
                   wards: gpd.GeoDataFrame | None = None,
                   outline: boundaries.Outline | None = None,
                   progress: Progress | None = None) -> RunSummary:
    """Simulate, ingest the reads into the store at ``db`` and write the truth folder.

    ``graph``, ``wards`` and ``outline`` default to the shipped network and boundaries.
    The store gets the camera registry when it has none; otherwise every registry camera
    must already be in it (the reads name them). A store holding reads of another
    simulation for an overlapping period is refused.
    """
    from tracing import cameras as camera_registry
    from tracing import network
    from tracing.simulate.truth import write_truth

    started = time.perf_counter()
    config = SimulationConfig() if config is None else config
    truth_dir = default_truth_dir(Path(db)) if truth_dir is None else Path(truth_dir)
    check_locations(Path(db), truth_dir)
    if not Path(cameras_path).is_file():
        raise SimulationError(f"camera registry file not found: {cameras_path}")
    registry = camera_registry.read_registry(Path(cameras_path))
    graph = network.load_network() if graph is None else graph
    if progress is not None:
        progress("network", 1.0)
    sim = simulate(graph, registry,
                   wards=boundaries.load_wards() if wards is None else wards,
                   outline=boundaries.load_outline() if outline is None else outline,
                   config=config, progress=progress)
    clock = time.perf_counter()
    report = IngestReport()
    with Store(db) as store:
        _ensure_cameras(store, sim.registry)
        _refuse_other_runs(store, sim)
        done = 0
        for batch in read_batches(sim):
            report = report + store.ingest(batch, source=sim.source)
            done += batch.num_rows
            if progress is not None:
                progress("store", done / max(len(sim.reads), 1))
    sim.timings["store"] = round(time.perf_counter() - clock, 3)
    clock = time.perf_counter()
    write_truth(sim, truth_dir, ingest=report, cameras_path=Path(cameras_path))
    sim.timings["truth"] = round(time.perf_counter() - clock, 3)
    if progress is not None:
        progress("truth", 1.0)
    return RunSummary(sim, report, Path(db), truth_dir, time.perf_counter() - started)


def _refuse_other_runs(store: Store, sim: Simulation) -> None:
    """Refuse a store holding reads of another simulation for an overlapping period: two
    simulated days on top of each other would make every trace wrong."""
    with store.reader() as con:
        rows = con.execute(
            "SELECT source, count(*) FROM reads WHERE source LIKE 'sim:%' AND source <> ? "
            "AND ts >= ? AND ts < ? GROUP BY source ORDER BY source",
            [sim.source, sim.config.start, sim.config.period_end]).fetchall()
    if rows:
        others = ", ".join(f"{source} ({count:,} reads)" for source, count in rows[:3])
        raise SimulationError(
            f"the store {store.path} already holds simulated reads of another run in this "
            f"period: {others}; use a new database (for the demo: make clean, then make run)")


def _ensure_cameras(store: Store, registry: pd.DataFrame) -> None:
    with store.reader() as con:
        stored = {str(r[0]) for r in con.execute("SELECT id FROM cameras").fetchall()}
    if not stored:
        store.replace_cameras(registry)
        return
    missing = sorted(set(registry["id"].astype(str)) - stored)
    if missing:
        raise SimulationError(
            f"the store {store.path} holds another camera registry: {len(missing)} cameras "
            f"of the simulated registry are missing (e.g. {missing[:3]}); use a new database")


__all__ = ["RunSummary", "Simulation", "run_simulation", "simulate"]
