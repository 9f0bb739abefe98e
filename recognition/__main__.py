"""Command line: ``python -m recognition ingest --camera CAMERA_ID SOURCE``,
``python -m recognition workers`` (see :mod:`recognition.workers`),
``python -m recognition train`` (see :mod:`recognition.training`), ``python -m recognition
finetune`` (see :mod:`recognition.finetune`) and ``python -m recognition models list |
activate VERSION | rollback`` (see :mod:`recognition.models`).

SOURCE is a video file, a folder of images, one image, or a stream URL (rtsp://, http://).
Reads go to the spool (``--spool``) and are loaded into the store (``--db``) at the end;
``--no-load`` leaves them in the spool for the ingest service. ``workers`` reads the streams
of the registry's cameras until SIGTERM or Ctrl-C. Output, ``--json`` and errors: see
:mod:`tracing.cli`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from recognition.errors import SourceError
from recognition.models import MODELS_DIR
from tracing import settings
from tracing.cli import Parser, Result, add_command, existing, run

if TYPE_CHECKING:
    import geopandas as gpd

    from recognition.ingest import IngestSummary
    from recognition.models import ModelVersion

CLI = "system:cli"
"""Who the operator at the server console acts as (the admin role, audited)."""


def _start(text: str) -> datetime:
    """``--start``: an ISO 8601 instant with its offset."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    if value.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"start {text!r} has no time zone offset")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m recognition",
                    description="Plate recognition (OpenCV + EasyOCR, offline)")
    sub = parser.add_subparsers(dest="command", required=True)
    ingest = add_command(sub, "ingest", ingest_command)
    ingest.add_argument("source", help="video file, image folder, image file or stream URL")
    ingest.add_argument("--camera", required=True, help="camera id (must be in the registry)")
    ingest.add_argument("--db", type=Path, default=settings.DEMO_DB, help="store file")
    ingest.add_argument("--spool", type=Path, default=settings.SPOOL_DIR, help="spool folder")
    ingest.add_argument("--crops", type=Path, default=settings.CROPS_DIR,
                        help="folder of crop images")
    ingest.add_argument("--every", type=int, default=settings.RECOGNITION_EVERY,
                        help="recognise every N-th frame of a video or stream")
    ingest.add_argument("--start", type=_start, default=None,
                        help="instant of a video's first frame, ISO 8601 with offset")
    ingest.add_argument("--no-load", action="store_true",
                        help="leave the reads in the spool (the ingest service loads them)")
    _workers_parser(sub)
    train = add_command(sub, "train", train_command)
    train.add_argument("--lines", type=int, default=12_000, help="synthetic lines")
    train.add_argument("--epochs", type=int, default=6)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", type=Path, default=None, help="weights file (default: the "
                       "one the recogniser loads, data/models/plate_head.pt)")
    _learning_parsers(sub)
    return parser


def _learning_parsers(sub: argparse._SubParsersAction[Parser]) -> None:
    tune = add_command(sub, "finetune", finetune_command)
    tune.add_argument("--db", type=Path, default=settings.DEMO_DB, help="store file")
    tune.add_argument("--crops", type=Path, default=settings.CROPS_DIR,
                      help="folder of crop images")
    tune.add_argument("--models", type=Path, default=MODELS_DIR, help="model versions folder")
    tune.add_argument("--hold-out", type=float, default=0.2,
                      help="share of the reviewed crops (whole plates) held out to compare")
    tune.add_argument("--synthetic", type=int, default=4000, help="synthetic lines mixed in")
    tune.add_argument("--epochs", type=int, default=4)
    tune.add_argument("--seed", type=int, default=0)
    versions = add_command(sub, "models", versions_command)
    versions.add_argument("action", choices=["list", "activate", "rollback"])
    versions.add_argument("version", nargs="?", help="the version to activate")
    versions.add_argument("--models", type=Path, default=MODELS_DIR,
                          help="model versions folder")


def _workers_parser(sub: argparse._SubParsersAction[Parser]) -> None:
    workers = add_command(sub, "workers", workers_command)
    where = workers.add_mutually_exclusive_group()
    where.add_argument("--db", type=Path, default=settings.DEMO_DB,
                       help="store whose registry names the cameras (read once at start)")
    where.add_argument("--cameras", type=Path, default=None,
                       help="registry CSV or GeoJSON to read instead of the store's")
    workers.add_argument("--camera", action="append", default=[], metavar="ID",
                         help="only this camera (repeatable)")
    workers.add_argument("--spool", type=Path, default=settings.SPOOL_DIR, help="spool folder")
    workers.add_argument("--crops", type=Path, default=settings.CROPS_DIR,
                         help="folder of crop images")
    workers.add_argument("--live-dir", type=Path, default=settings.LIVE_DIR,
                         help="folder of the heartbeats (heartbeats/ inside it)")
    workers.add_argument("--fps", type=float, default=settings.LIVE_SAMPLE_FPS,
                         help="frames recognised per second and camera, at most (0: every frame)")
    workers.add_argument("--streams-per-process", type=int,
                         default=settings.LIVE_STREAMS_PER_PROCESS,
                         help="cameras one process reads; more cameras get more processes")
    workers.add_argument("--timeout", type=float, default=settings.RECOGNITION_STREAM_TIMEOUT_S,
                         help="open and read timeout of a stream (s)")


def workers_command(args: argparse.Namespace) -> Result:
    """Read plates from the video stream of every registry camera with a stream_url."""
    import threading

    from recognition.workers import (
        WorkerConfig,
        quiet_video_logs,
        run_workers,
        stop_on_signals,
        stream_cameras,
    )
    from tracing.live.heartbeats import heartbeat_dir, read_heartbeats

    if args.fps < 0 or args.timeout <= 0 or args.streams_per_process < 1:
        raise SourceError(f"--fps {args.fps:g} must be ≥ 0, --timeout {args.timeout:g} > 0 "
                          f"and --streams-per-process {args.streams_per_process} ≥ 1")
    cameras = stream_cameras(_registry(args), args.camera)
    beats = heartbeat_dir(args.live_dir)
    for folder in (args.spool, args.crops, beats):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SourceError(f"cannot create the folder {folder}: {exc}") from exc
    config = WorkerConfig(spool_dir=args.spool, crops_dir=args.crops, heartbeat_dir=beats,
                          sample_fps=args.fps, timeout_s=args.timeout)
    stop = threading.Event()
    quiet_video_logs()
    processes = -(-len(cameras) // max(1, args.streams_per_process))
    print(f"watching {len(cameras)} camera stream(s) in {processes} process(es); heartbeats "
          f"in {beats}; stop with Ctrl-C or SIGTERM", file=sys.stderr, flush=True)
    with stop_on_signals(stop):
        run_workers(cameras, config, stop, streams_per_process=args.streams_per_process)
    mine = {c.camera_id for c in cameras}
    got = [b for b in read_heartbeats(beats).beats if b.camera_id in mine]
    totals = {"cameras": len(cameras), "frames": sum(b.frames for b in got),
              "recognised": sum(b.recognised for b in got), "reads": sum(b.reads for b in got)}
    return Result("stopped: {cameras} cameras, {frames} frames, {recognised} recognised, "
                  "{reads} reads spooled".format(**totals), totals)


def _registry(args: argparse.Namespace) -> gpd.GeoDataFrame:
    """The registry of ``--cameras``, else of the store ``--db`` (which must exist)."""
    from tracing import cameras
    from tracing.store import Store

    if args.cameras is not None:
        if not args.cameras.is_file():
            raise SourceError(f"registry {args.cameras} does not exist")
        return cameras.read_registry(args.cameras)
    if not args.db.is_file():
        raise SourceError(f"store {args.db} does not exist: give --db or --cameras")
    with Store(args.db) as store:
        return cameras.load_registry(store)


def train_command(args: argparse.Namespace) -> Result:
    """Train the recogniser's sequence head on synthetic plates (offline, ~15 min on 2 cores)."""
    from recognition.training import save_head, train_from_scratch

    out = save_head(train_from_scratch(args.lines, epochs=args.epochs, seed=args.seed,
                                       progress=lambda line: print(line, file=sys.stderr,
                                                                   flush=True)), args.out)
    return Result(f"head weights written to {out}", {"weights": out})


def finetune_command(args: argparse.Namespace) -> Result:
    """Train the active head further on the reviewed (confirmed, corrected) crops of a store."""
    from recognition.finetune import finetune as run
    from tracing.access.actor import Actor
    from tracing.store import Store

    if not args.db.exists():
        raise SourceError(f"store {args.db} does not exist")
    if args.synthetic < 0 or args.epochs < 1:
        raise SourceError("--synthetic must be ≥ 0 and --epochs ≥ 1")
    who = Actor(CLI, "admin", "recogniser fine-tuning on reviewed crops")
    with Store(args.db) as store:
        report = run(store, who=who, crops_dir=args.crops, root=args.models,
                     hold_out=args.hold_out, synthetic=args.synthetic, epochs=args.epochs,
                     seed=args.seed, progress=lambda line: print(line, file=sys.stderr,
                                                                 flush=True))
    return Result(str(report), report, warnings=report.skipped)


def versions_command(args: argparse.Namespace) -> Result:
    """List, activate or roll back model versions."""
    from recognition import models

    if args.action == "list":
        active = models.active_model(args.models).name
        known = models.list_models(args.models)
        return Result("\n".join(("* " if m.name == active else "  ") + m.describe()
                                for m in known),
                      [{"active": m.name == active, **_version(m)} for m in known])
    if args.action == "activate":
        if not args.version:
            raise SourceError("models activate needs a VERSION (see 'models list')")
        chosen = models.activate(args.version, args.models)
        return Result(f"active: {chosen.describe()}", _version(chosen))
    chosen = models.rollback(args.models)
    return Result(f"rolled back; active: {chosen.describe()}", _version(chosen))


def _version(model: ModelVersion) -> dict[str, object]:
    """A model version for ``--json``: its fields and its one-line description."""
    from dataclasses import asdict

    return {**asdict(model), "description": model.describe()}


def ingest_command(args: argparse.Namespace) -> Result:
    """Recognise plates in a source and store the reads."""
    from tqdm import tqdm

    from recognition.ingest import camera_exists, ingest_source
    from tracing.store import Store

    if args.every < 1:
        raise SourceError(f"--every {args.every} must be ≥ 1")
    store = Store(existing(args.db))
    try:
        if not camera_exists(store, args.camera):
            raise SourceError(f"camera {args.camera!r} is not in the registry of {args.db}")
        bar = tqdm(unit="frame", file=sys.stderr, dynamic_ncols=True)

        def opened(total: int | None) -> None:
            bar.total = total
            bar.refresh()

        try:
            summary = ingest_source(
                args.source, camera_id=args.camera, store=None if args.no_load else store,
                spool_dir=args.spool, crops_dir=args.crops, every=args.every, start=args.start,
                on_frame=lambda _f, _d: bar.update(1), on_open=opened)
        finally:
            bar.close()
    finally:
        store.close()
    return Result(summary.line(), _ingested(summary), warnings=summary.problems)


def _ingested(summary: IngestSummary) -> dict[str, object]:
    """A recognition run for ``--json``: counts, the reads, what the store did, problems."""
    return {"source": summary.source, "frames": summary.frames,
            "detections": summary.detections, "plates": len(summary.plates),
            "reads": summary.reads, "stored": summary.report, "problems": summary.problems,
            "seconds": round(summary.seconds, 1)}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command (see :mod:`tracing.cli`); the exit code."""
    return run(_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
