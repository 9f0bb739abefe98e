"""Ground truth of a simulation: a folder beside the database, never inside it.

Format version 1 (all times are UTC instants; node ids are OSM node ids of the road graph):

``manifest.json``
    ``format`` (``"thuduc-tracing-simulation-truth"``), ``format_version`` (1), ``config``
    (every parameter, ``seed`` included), ``period`` (``start``/``end`` ISO 8601,
    ``timezone``), ``counts`` (vehicles, trips, passes, reads, misreads, invalid plates,
    duplicates, reads per LPR camera and day, …), ``fingerprint`` (digest of parameters,
    inputs and simulator code; in every read_id ``sim-<fingerprint>-<n>`` and in the reads'
    ``source`` ``sim:<seed>:<fingerprint>``), ``ingest`` (what the store did: inserted,
    duplicates, rejected and reasons), ``cameras`` (each simulated LPR camera: ``id``, watched
    ``edge`` [u, v, key], ``position`` along it 0–1, clock ``skew_s``), ``graph`` (nodes,
    edges), ``source`` (the reads' ``source`` in the store), ``timings_s``.
``vehicles.parquet``
    ``vehicle_id``, ``plate`` (canonical), ``plate_compact``, ``kind`` (motorbike, car,
    truck, bus), ``plate_colour``, ``province`` (plate code, "" for military), ``role``
    (commuter, errand, commercial, visitor, through, planted), ``home_node``, ``work_node``
    (null when none), ``case`` (planted case or null).
``trips.parquet`` (one row per trip, ordered by departure)
    ``trip_id``, ``vehicle_id``, ``plate``, ``purpose``, ``depart``, ``arrive``, ``nodes``
    (list<int64>: the OSM node sequence), ``edge_keys`` (list<int64>: key of the edge
    between consecutive nodes, one fewer than nodes), ``times`` (list<timestamp>: when the
    vehicle reaches each node), ``length_m``, ``variant`` (driver type, 0 = fastest path),
    ``via_node`` (detour/stop place or null), ``dwell_s`` (stop length, 0 = none).
``passes.parquet`` (a vehicle passing a working LPR camera in the period)
    ``pass_id``, ``trip_id``, ``vehicle_id``, ``camera_id``, ``ts`` (true time), ``step``
    (index of the camera's edge in the trip's edges), ``detected``.
``reads_truth.parquet`` (one row per read sent to the store)
    ``read_id``, ``pass_id``, ``trip_id``, ``vehicle_id``, ``camera_id``, ``plate`` (true),
    ``plate_raw`` (as sent), ``ocr_error`` (substitute, drop, extra or null), ``valid``
    (``plate_raw`` parses as a plate; invalid ones are in the store's ``rejects``),
    ``duplicate`` (second report of one pass), ``ts_true``, ``ts`` (reported, with the
    camera's clock skew), ``confidence``.
``planted.json``
    ``format_version``, ``cases`` (each: ``case``, ``description``, ``vehicle_ids``,
    ``plates``, ``trip_ids``, ``read_ids`` and case facts such as cameras, times, distance,
    implied speed, gaps, parking times) and ``skipped`` (case → reason).

:func:`load_truth` reads the folder back for evaluation code (pandas frames; list columns
hold numpy arrays, times in them ``datetime64[us]`` in UTC).

Passes and reads cover the period ``[start, end)`` by true pass time (a read's reported time
may lie a few seconds outside it, by the camera's clock skew); a trip departing before the
end is kept whole. Trips that started before the period are not simulated.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tracing import settings
from tracing.errors import SimulationError
from tracing.files import replace_file
from tracing.plates import compact_plate, normalize_plates
from tracing.simulate.routing import TripSet
from tracing.store import IngestReport

logger = logging.getLogger(__name__)

FORMAT: Final = "thuduc-tracing-simulation-truth"
FORMAT_VERSION: Final = 1
MANIFEST: Final = "manifest.json"
PLANTED: Final = "planted.json"
VEHICLES: Final = "vehicles.parquet"
TRIPS: Final = "trips.parquet"
PASSES: Final = "passes.parquet"
READS: Final = "reads_truth.parquet"
TS: Final = pa.timestamp("us", tz="UTC")

if TYPE_CHECKING:
    from tracing.simulate.run import Simulation


@dataclass(frozen=True, slots=True, eq=False)
class Truth:
    """A truth folder read back: the manifest, four tables and the planted cases."""

    manifest: dict[str, Any]
    vehicles: pd.DataFrame
    trips: pd.DataFrame
    passes: pd.DataFrame
    reads: pd.DataFrame
    planted: list[dict[str, Any]]

    def case(self, name: str) -> dict[str, Any]:
        """The planted case ``name`` (SimulationError when it was not planted)."""
        for case in self.planted:
            if case["case"] == name:
                return case
        raise SimulationError(f"no planted case {name!r} in this truth")


def _times(start_us: int, seconds: np.ndarray) -> pa.Array:
    return pa.array(start_us + np.round(np.asarray(seconds) * 1e6).astype(np.int64), TS)


def _list(values: pa.Array, offsets: np.ndarray) -> pa.ListArray:
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32), pa.int32()), values)


def _nullable(values: np.ndarray) -> pa.Array:
    return pa.array(values, pa.int64(), mask=values < 0)


def vehicles_table(sim: Simulation) -> pa.Table:
    """``vehicles.parquet``."""
    fleet = sim.fleet
    n = len(fleet)
    case = np.full(n, None, dtype=object)
    for record in sim.cases:
        for v in record["vehicle_ids"]:
            case[v] = record["case"]
    node_ids = sim.roads.node_ids
    sources = sim.zones.sources
    home = np.where(fleet.home_row >= 0, node_ids[sources[np.maximum(fleet.home_row, 0)]], -1)
    work = np.where(fleet.work_row >= 0, node_ids[sources[np.maximum(fleet.work_row, 0)]], -1)
    return pa.table({
        "vehicle_id": pa.array(np.arange(n), pa.int64()),
        "plate": pa.array(fleet.plate, pa.string()),
        "plate_compact": pa.array([compact_plate(str(p)) for p in fleet.plate], pa.string()),
        "kind": pa.array(fleet.kind, pa.string()),
        "plate_colour": pa.array(fleet.colour, pa.string()),
        "province": pa.array(fleet.province, pa.string()),
        "role": pa.array(fleet.role, pa.string()),
        "home_node": _nullable(home.astype(np.int64)),
        "work_node": _nullable(work.astype(np.int64)),
        "case": pa.array(case, pa.string()),
    })


def trips_table(sim: Simulation, start_us: int) -> pa.Table:
    """``trips.parquet``."""
    trips: TripSet = sim.trips
    roads = sim.roads
    times = trips.offsets.values + np.repeat(trips.depart, trips.offsets.lengths)
    length = np.add.reduceat(roads.length[trips.edges.values], trips.edges.offsets[:-1]) if len(
        trips.edges.values) else np.zeros(len(trips))
    length = np.where(trips.edges.lengths > 0, length, 0.0)
    return pa.table({
        "trip_id": pa.array(np.arange(len(trips)), pa.int64()),
        "vehicle_id": pa.array(trips.vehicle, pa.int64()),
        "plate": pa.array(sim.fleet.plate[trips.vehicle], pa.string()),
        "purpose": pa.array(trips.purpose, pa.string()),
        "depart": _times(start_us, trips.depart),
        "arrive": _times(start_us, trips.arrive),
        "nodes": _list(pa.array(roads.node_ids[trips.nodes.values], pa.int64()),
                       trips.nodes.offsets),
        "edge_keys": _list(pa.array(roads.edge_key[trips.edges.values], pa.int64()),
                           trips.edges.offsets),
        "times": _list(_times(start_us, times), trips.offsets.offsets),
        "length_m": pa.array(np.round(length, 1), pa.float64()),
        "variant": pa.array(trips.variant, pa.int8()),
        "via_node": _nullable(np.where(trips.via_node >= 0,
                                       roads.node_ids[np.maximum(trips.via_node, 0)], -1)),
        "dwell_s": pa.array(np.round(trips.dwell_s, 3), pa.float64()),
    })


def passes_table(sim: Simulation, start_us: int) -> pa.Table:
    """``passes.parquet``."""
    found = sim.passes
    return pa.table({
        "pass_id": pa.array(np.arange(len(found)), pa.int64()),
        "trip_id": pa.array(found.trip, pa.int64()),
        "vehicle_id": pa.array(sim.trips.vehicle[found.trip], pa.int64()),
        "camera_id": pa.array(sim.cameras.ids[found.camera], pa.string()),
        "ts": _times(start_us, found.t),
        "step": pa.array(found.step, pa.int32()),
        "detected": pa.array(sim.detected, pa.bool_()),
        "oncoming": pa.array(found.oncoming, pa.bool_()),
    })


def reads_table(sim: Simulation, start_us: int) -> pa.Table:
    """``reads_truth.parquet``."""
    reads, found = sim.reads, sim.passes
    trip = found.trip[reads.pass_index]
    vehicle = sim.trips.vehicle[trip]
    plates, _ = normalize_plates(pa.array(reads.plate_raw, pa.string()))
    return pa.table({
        "read_id": pa.array(sim.read_ids, pa.string()),
        "pass_id": pa.array(reads.pass_index, pa.int64()),
        "trip_id": pa.array(trip, pa.int64()),
        "vehicle_id": pa.array(vehicle, pa.int64()),
        "camera_id": pa.array(sim.cameras.ids[found.camera[reads.pass_index]], pa.string()),
        "plate": pa.array(sim.fleet.plate[vehicle], pa.string()),
        "plate_raw": pa.array(reads.plate_raw, pa.string()),
        "ocr_error": pa.array(reads.ocr_error, pa.string()),
        "valid": plates.is_valid(),
        "duplicate": pa.array(reads.duplicate, pa.bool_()),
        "ts_true": _times(start_us, found.t[reads.pass_index]),
        "ts": _times(start_us, reads.t),
        "confidence": pa.array(reads.confidence, pa.float64()),
    })


def manifest(sim: Simulation, *, ingest: IngestReport | None, cameras_path: Path | None
             ) -> dict[str, Any]:
    """``manifest.json`` content."""
    cams, roads = sim.cameras, sim.roads
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "config": sim.config.as_dict(),
        "period": {"start": sim.config.start.isoformat(),
                   "end": sim.config.period_end.isoformat(), "timezone": settings.LOCAL_TZ},
        "counts": sim.counts,
        "ingest": None if ingest is None else {
            "inserted": ingest.inserted, "duplicates": ingest.duplicates,
            "rejected": ingest.rejected, "reasons": dict(ingest.reasons)},
        "source": sim.source, "fingerprint": sim.fingerprint,
        "cameras": {
            "registry": None if cameras_path is None else cameras_path.name,
            "lpr": [{"id": str(cams.ids[i]),
                     "edge": [int(roads.node_ids[roads.edge_u[e]]),
                              int(roads.node_ids[roads.edge_v[e]]), int(roads.edge_key[e])],
                     "position": round(float(cams.position[i]), 4),
                     "skew_s": float(cams.skew_s[i]), "both_directions": bool(cams.both[i])}
                    for i, e in enumerate(cams.edge)],
            "registry_errors": sim.registry_errors},
        "graph": {"nodes": roads.n_nodes, "edges": len(roads.edge_u)},
        "timings_s": sim.timings,
        "files": [VEHICLES, TRIPS, PASSES, READS, PLANTED],
    }


def _write_json(data: dict[str, Any], path: Path) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=1, default=str)
    replace_file(path, (text + "\n").encode("utf-8"))


def _write_table(table: pa.Table, path: Path) -> None:
    replace_file(path, lambda handle: pq.write_table(table, handle, compression="zstd"))




def write_truth(sim: Simulation, directory: Path, *, ingest: IngestReport | None = None,
                cameras_path: Path | None = None) -> Path:
    """Write the truth folder (created if needed; the files of an older run are replaced)."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise SimulationError(f"truth folder {directory} exists and is not a folder")
    directory.mkdir(parents=True, exist_ok=True)
    start_us = int(sim.config.start.timestamp() * 1_000_000)
    _write_table(vehicles_table(sim), directory / VEHICLES)
    _write_table(trips_table(sim, start_us), directory / TRIPS)
    _write_table(passes_table(sim, start_us), directory / PASSES)
    _write_table(reads_table(sim, start_us), directory / READS)
    _write_json({"format_version": FORMAT_VERSION, "cases": sim.cases, "skipped": sim.skipped},
                directory / PLANTED)
    _write_json(manifest(sim, ingest=ingest, cameras_path=cameras_path), directory / MANIFEST)
    logger.info("truth written to %s", directory)
    return directory


def load_truth(directory: Path) -> Truth:
    """Read a truth folder written by :func:`write_truth` (SimulationError if it is not one)."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise SimulationError(f"{directory} is not a simulation truth folder (no {MANIFEST})")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        planted = json.loads((directory / PLANTED).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SimulationError(f"cannot read the truth in {directory}: {exc}") from exc
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise SimulationError(
            f"{path}: format {meta.get('format')!r} version {meta.get('format_version')!r}; "
            f"this software reads {FORMAT!r} version {FORMAT_VERSION}")
    try:
        tables = {name: pq.read_table(directory / name).to_pandas()
                  for name in (VEHICLES, TRIPS, PASSES, READS)}
    except (OSError, pa.ArrowException) as exc:
        raise SimulationError(f"cannot read the truth tables in {directory}: {exc}") from exc
    return Truth(meta, tables[VEHICLES], tables[TRIPS], tables[PASSES], tables[READS],
                 list(planted.get("cases", [])))
