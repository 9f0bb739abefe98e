"""The ``python -m tracing trace`` command: a plate's routes as GeoJSON (a stable contract)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from tracing import settings
from tracing.errors import RouteError
from tracing.routes.evidence import CameraActivity
from tracing.routes.export import route_geojson
from tracing.routes.model import FLAG_TEXT, Route, Sighting
from tracing.routes.pathcache import load_path_cache
from tracing.routes.reconstruct import reconstruct_route
from tracing.routes.sightings import read_reads_csv
from tracing.vehicles import class_of_plate

logger = logging.getLogger(__name__)


def store_sightings(db: Path, plate: str) -> tuple[list[Sighting], CameraActivity | None]:
    """Every read of ``plate`` in the store at ``db`` (which must exist), and which cameras
    produced reads around them (the console acts as a system process: not audited)."""
    from tracing.access.command import CLI
    from tracing.routes.stored import stored_sightings
    from tracing.store import Store

    if not Path(db).is_file():
        raise RouteError(f"database not found: {db}")
    with Store(db) as store:
        seen = stored_sightings(store, plate, who=CLI)
    return seen.sightings, seen.activity


def csv_sightings(reads: Path, plate: str) -> tuple[list[Sighting], CameraActivity]:
    """The plate's reads of a READS.csv, and camera activity from all its reads."""
    sightings = read_reads_csv(reads, plate)
    every = pd.read_csv(reads, dtype={"camera_id": str}, usecols=["camera_id", "ts"])
    times = pd.to_datetime(every["ts"], format="ISO8601", utc=True, errors="coerce")
    known = times.notna()
    return sightings, CameraActivity.from_reads(every["camera_id"][known], times[known])


def run_trace(*, plate: str, db: Path | None, reads: Path | None, cameras: Path, k: int,
              out: Path) -> str:
    """Reconstruct ``plate``'s routes, write them to ``out``; a one-paragraph summary."""
    from tracing import cameras as registry_io
    from tracing import network

    if not 1 <= k <= settings.ROUTE_MAX_K:
        raise RouteError(f"--k {k} is not in 1..{settings.ROUTE_MAX_K}")
    if not Path(cameras).is_file():
        raise RouteError(f"camera registry not found: {cameras}")
    if reads is not None and not Path(reads).is_file():
        raise RouteError(f"reads file not found: {reads}")
    sightings, activity = (csv_sightings(reads, plate) if reads is not None
                           else store_sightings(db or settings.DEMO_DB, plate))
    if not sightings:
        raise RouteError(f"plate {plate!r} has no reads in {reads or db or settings.DEMO_DB}")
    if len(sightings) == 1:
        s = sightings[0]
        raise RouteError(f"no route for {plate!r}: one sighting only (camera {s.camera_id} "
                         f"at {s.ts.isoformat()})")
    registry = registry_io.read_registry(Path(cameras))
    graph = network.load_network()
    vehicle = class_of_plate(plate)
    cache = load_path_cache(graph, registry, vehicle_class=vehicle)
    route = reconstruct_route(graph, sightings, cache=cache, k=k, plate=plate,
                              activity=activity, front_plate=vehicle != "motorbike")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(route_geojson(route), encoding="utf-8")
    return describe(route, out)


def describe(route: Route, out: Path | None = None) -> str:
    """A short text summary of a route (notes and flags in words)."""
    s = route.summary
    vehicles = f", {route.tracks} vehicles" if route.tracks > 1 else ""
    lines = [f"{route.plate}: {s.sightings} sightings{vehicles}, {s.trips} trips, {s.legs} legs, "
             f"{s.distance_m / 1000:.1f} km on the best paths, {s.stops} stops"
             + (f"; written to {out}" if out is not None else "")]
    lines += [f"note: {note}" for note in route.notes]
    lines += [f"{n} legs {flag}: {FLAG_TEXT.get(flag, flag)}" for flag, n in s.flagged.items()]
    return "\n".join(lines)
