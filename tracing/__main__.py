"""Command line: ``python -m tracing COMMAND`` (``--help`` lists the commands)."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tracing import settings
from tracing.access.command import add_access_commands
from tracing.cli import Parser, Result, add_command, run, stop_on_signals
from tracing.live.command import add_live_commands

if TYPE_CHECKING:
    from tracing.simulate import RunSummary


def build_data(args: argparse.Namespace) -> Result:
    """Rebuild data/ (boundaries, road network, camera registry) from ../shared/data."""
    import osmnx as ox

    from tracing import boundaries, cameras, network

    boundaries.build_boundaries()
    counts = network.build_network_artifacts()
    edges = ox.graph_to_gdfs(network.load_network(), nodes=False)
    registry = cameras.import_portal_cameras(settings.PORTAL_CAMERAS_CSV, edges)
    settings.CAMERAS_DIR.mkdir(parents=True, exist_ok=True)
    cameras.write_registry(registry, settings.CAMERAS_DIR / "thuduc_cameras.csv")
    lpr = int(registry.is_lpr.sum())
    return Result(f"built data/: road network of {counts['nodes']:,} nodes, {counts['edges']:,} "
                  f"edges, {counts['length_km']:,} km; registry of {len(registry)} cameras, "
                  f"{lpr} LPR", {"network": counts, "cameras": len(registry), "lpr_cameras": lpr})


def demo(args: argparse.Namespace) -> Result:
    """Create the demo database: the shipped registry, a simulated day, the path cache, the
    gateway fences and the planted watchlisted car with its alerts."""
    from tracing import boundaries, cameras, network
    from tracing.alerts.demo import seed_demo
    from tracing.routes import load_path_cache
    from tracing.simulate import SimulationConfig, default_truth_dir, run_simulation
    from tracing.store import Store

    registry = cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv")
    with Store(args.db) as store:
        store.replace_cameras(registry)
    config = SimulationConfig.for_hours(hours=settings.SIM_DEFAULT_HOURS, trips=args.trips,
                                        seed=args.seed, both_directions=True)
    truth = args.truth or default_truth_dir(args.db)
    with _progress_bar() as progress:
        summary = run_simulation(args.db, truth, config=config, progress=progress)
    graph = network.load_network()
    with Store(args.db) as store:  # the app traces from the store's registry: warm its trees
        known = cameras.load_registry(store)
        cache = load_path_cache(graph, known, pairs=False)
        load_path_cache(graph, known, pairs=False, vehicle_class="motorbike")
        planted = json.loads((Path(truth) / "planted.json").read_text(encoding="utf-8"))
        alerts = seed_demo(store, graph, boundaries.load_outline(), planted["cases"])
    return Result(f"demo database {args.db}: {len(registry)} cameras\n{summary}\n"
                  f"camera-pair path cache {cache.key}\n{alerts}",
                  {"db": args.db, "cameras": len(registry), "simulation": _run_data(summary),
                   "path_cache": cache.key, "alerts": alerts})


def simulate(args: argparse.Namespace) -> Result:
    """Simulate traffic: plate reads into a store, ground truth into a folder beside it."""
    from tracing.simulate import SimulationConfig, parse_start, run_simulation

    start = parse_start(args.start)
    options = {"trips": args.trips, "seed": args.seed, "detection_rate": args.detection_rate,
               "ocr_error_rate": args.ocr_error_rate, "duplicate_rate": args.duplicate_rate,
               "planted": not args.no_planted, "both_directions": args.both_directions,
               "all_cameras_read": args.all_cameras_read,
               "heading_error_rate": args.heading_errors, "unmarked_rate": args.unmarked,
               "class_restrictions": not args.no_class_restrictions}
    if args.end is not None:
        config = SimulationConfig(start=start, end=parse_start(args.end), **options)
    else:
        config = SimulationConfig.for_hours(start=start, hours=args.hours, **options)
    with _progress_bar() as progress:
        summary = run_simulation(args.db, args.truth, config=config, cameras_path=args.cameras,
                                 progress=progress)
    return Result(str(summary), _run_data(summary))


def _run_data(summary: RunSummary) -> dict[str, Any]:
    """A simulation run for ``--json``: its counts, period, ingest report and folders."""
    config = summary.simulation.config
    return {"counts": summary.simulation.counts, "start": config.start, "hours": config.hours,
            "seed": config.seed, "ingest": summary.ingest, "db": summary.db,
            "truth": summary.truth_dir, "seconds": round(summary.seconds, 1)}


_STAGES: Final = {"network": 8, "prepare": 4, "routes": 40, "trips": 14, "planted": 2,
                  "reads": 6, "store": 14, "truth": 12}
"""Share of a run's time per stage (percent), for the progress bar."""


@contextlib.contextmanager
def _progress_bar() -> Iterator[Callable[[str, float], None]]:
    """A tqdm bar on stderr fed by the simulator's ``progress(stage, fraction)`` calls; it
    appears with the first call, so errors found before any work print alone."""
    from tqdm import tqdm

    bases = dict(zip(_STAGES, itertools.accumulate([0, *_STAGES.values()]), strict=False))
    bars: list[tqdm] = []

    def progress(stage: str, fraction: float) -> None:
        if not bars:
            bars.append(tqdm(total=100, file=sys.stderr, unit="%", desc="simulate",
                             bar_format="{desc:<18}{percentage:3.0f}%|{bar}| {elapsed}"))
        bar = bars[0]
        done = bases.get(stage, 0) + _STAGES.get(stage, 0) * min(max(fraction, 0.0), 1.0)
        bar.set_description_str(f"simulate: {stage}", refresh=False)
        bar.update(max(0.0, min(done, 100.0) - bar.n))

    try:
        yield progress
    finally:
        for bar in bars:
            bar.close()


def ingest(args: argparse.Namespace) -> Result:
    """Ingest a CSV or Parquet file of plate reads (idempotent; bad rows go to rejects)."""
    from tracing.store import Store

    with Store(args.db) as store:
        report = store.ingest(args.file)
    return Result(f"ingested {report}", report)


def ingest_service(args: argparse.Namespace) -> Result:
    """Load the spool into the database until SIGINT/SIGTERM (the single loader)."""
    from tracing.store import Store, run_ingest_service

    with stop_on_signals() as stop, Store(args.db) as store:
        total = run_ingest_service(store, args.spool, poll_s=args.poll_s, stop_event=stop)
    return Result(f"ingest service stopped: {total}", total)


def alerts(args: argparse.Namespace) -> str:
    """Raise alerts on reads as they arrive, until SIGINT/SIGTERM (one per database)."""
    from tracing.alerts.command import run_alerts

    return run_alerts(db=args.db, webhook_url=args.webhook, travel=not args.no_travel,
                      spool=args.spool, poll_s=args.poll_s)


def trace(args: argparse.Namespace) -> Result:
    """Reconstruct a plate's most plausible routes between its sightings (GeoJSON)."""
    from tracing.routes.command import run_trace

    text = run_trace(plate=args.plate, db=args.db, reads=args.reads, cameras=args.cameras,
                     k=args.k, out=args.out)
    doc = json.loads(args.out.read_text(encoding="utf-8"))
    return Result(text, {"plate": doc["plate"], "tracks": doc["tracks"], "notes": doc["notes"],
                         "out": args.out, "paths": [f["properties"] for f in doc["features"]]})


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m tracing", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Callable[[argparse.Namespace], object]) -> Parser:
        return add_command(commands, name, handler)

    command("build-data", build_data)
    sub = command("demo", demo)
    sub.add_argument("--db", type=Path, default=settings.DEMO_DB)
    sub.add_argument("--truth", type=Path, default=None,
                     help="ground-truth folder (default: <db name>-truth beside the database)")
    sub.add_argument("--trips", type=int, default=settings.SIM_DEFAULT_TRIPS,
                     help="background trips of the simulated demo day (default %(default)s)")
    sub.add_argument("--seed", type=int, default=0)
    sub = command("simulate", simulate)
    sub.add_argument("--db", type=Path, required=True, help="store to ingest the reads into")
    sub.add_argument("--truth", type=Path, default=None,
                     help="ground-truth folder (default: <db name>-truth beside the database)")
    sub.add_argument("--start", default=settings.SIM_DEFAULT_START,
                     help="ISO 8601 start with UTC offset (default %(default)s)")
    period = sub.add_mutually_exclusive_group()
    period.add_argument("--hours", type=float, default=settings.SIM_DEFAULT_HOURS,
                        help="length of the period (default %(default)s)")
    period.add_argument("--end", default=None, help="ISO 8601 end with UTC offset")
    sub.add_argument("--trips", type=int, default=settings.SIM_DEFAULT_TRIPS,
                     help="background trips departing in the period (default %(default)s)")
    sub.add_argument("--seed", type=int, default=0,
                     help="random seed: the same arguments give the same reads (default 0)")
    sub.add_argument("--detection-rate", type=float, default=settings.SIM_DETECTION_RATE,
                     help="share of camera passes read (default %(default)s)")
    sub.add_argument("--ocr-error-rate", type=float, default=settings.SIM_OCR_ERROR_RATE,
                     help="share of reads with a wrong plate text (default %(default)s)")
    sub.add_argument("--duplicate-rate", type=float, default=settings.SIM_DUPLICATE_RATE,
                     help="share of reads reported twice (default %(default)s)")
    sub.add_argument("--cameras", type=Path, default=settings.CAMERAS_DIR / "thuduc_cameras.csv",
                     help="camera registry (CSV or GeoJSON; default the shipped one)")
    sub.add_argument("--no-planted", action="store_true", help="leave out the planted cases")
    sub.add_argument("--both-directions", action="store_true",
                     help="cameras also read oncoming traffic (front plates; not motorbikes)")
    sub.add_argument("--all-cameras-read", action="store_true",
                     help="every registry camera reads plates, marked is_lpr or not")
    sub.add_argument("--heading-errors", type=float, default=0.0,
                     help="share of reading cameras the stored registry puts on the reverse "
                          "direction (default 0)")
    sub.add_argument("--unmarked", type=float, default=0.0,
                     help="share of reading cameras the stored registry does not mark is_lpr "
                          "(default 0)")
    sub.add_argument("--no-class-restrictions", action="store_true",
                     help="let motorbikes use expressways (the old simulator)")
    sub = command("ingest", ingest)
    sub.add_argument("--db", type=Path, default=settings.DEMO_DB)
    sub.add_argument("file", type=Path)
    sub = command("ingest-service", ingest_service)
    sub.add_argument("--db", type=Path, default=settings.DEMO_DB)
    sub.add_argument("--spool", type=Path, default=settings.SPOOL_DIR)
    sub.add_argument("--poll-s", type=float, default=1.0)
    sub = command("alerts", alerts)
    sub.add_argument("--db", type=Path, default=settings.DEMO_DB)
    sub.add_argument("--webhook", default=None,
                     help="URL receiving each alert as JSON (default $TRACING_ALERT_WEBHOOK_URL;"
                          " token from $TRACING_ALERT_WEBHOOK_TOKEN)")
    sub.add_argument("--no-travel", action="store_true",
                     help="skip impossible-travel checks (no road graph loaded)")
    sub.add_argument("--spool", type=Path, default=None,
                     help="also load this spool (lowest latency; run no ingest-service on it)")
    sub.add_argument("--poll-s", type=float, default=settings.ALERT_POLL_S,
                     help="how often to look for new reads (default %(default)s s)")
    sub = command("trace", trace)
    sub.add_argument("--plate", required=True, help="licence plate (any spelling)")
    source = sub.add_mutually_exclusive_group()
    source.add_argument("--db", type=Path, default=None,
                        help=f"store holding the reads (default {settings.DEMO_DB})")
    source.add_argument("--reads", type=Path, default=None,
                        help="READS.csv: plate, camera_id, ts (ISO 8601 with offset), "
                             "optional confidence, read_id")
    sub.add_argument("--cameras", type=Path, default=settings.CAMERAS_DIR / "thuduc_cameras.csv",
                     help="camera registry in its export format (default the shipped one)")
    sub.add_argument("--k", type=int, default=settings.ROUTE_K,
                     help="candidate paths per leg (default %(default)s)")
    sub.add_argument("--out", type=Path, required=True, help="GeoJSON file to write")
    add_access_commands(commands)
    add_live_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command (see :mod:`tracing.cli`); the exit code."""
    return run(_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
