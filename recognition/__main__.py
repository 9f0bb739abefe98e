"""Command line: ``python -m recognition ingest --camera CAMERA_ID SOURCE`` and
``python -m recognition train`` (see :mod:`recognition.training`).

SOURCE is a video file, a folder of images, one image, or a stream URL (rtsp://, http://).
Reads go to the spool (``--spool``) and are loaded into the store (``--db``) at the end;
``--no-load`` leaves them in the spool for the ingest service. Exit 0 with a summary line,
2 with one ``error:`` line on bad input.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from recognition.errors import SourceError
from tracing import settings
from tracing.errors import TracingError

log = logging.getLogger("recognition")


def _start(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"start {text!r} has no time zone offset")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m recognition",
                                     description="Plate recognition (OpenCV + EasyOCR, offline)")
    sub = parser.add_subparsers(dest="command", required=True)
    ingest = sub.add_parser("ingest", help="recognise plates in a source and store the reads")
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
    train = sub.add_parser("train", help="train the recogniser's sequence head on "
                                         "synthetic plates (offline, ~15 min on 2 cores)")
    train.add_argument("--lines", type=int, default=12_000, help="synthetic lines")
    train.add_argument("--epochs", type=int, default=6)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", type=Path, default=None, help="weights file (default: the "
                       "one the recogniser loads, data/models/plate_head.pt)")
    return parser


def train(args: argparse.Namespace) -> str:
    """Run ``train``; return the summary line."""
    from recognition.training import save_head, train_from_scratch

    out = save_head(train_from_scratch(args.lines, epochs=args.epochs, seed=args.seed,
                                       progress=lambda line: print(line, file=sys.stderr,
                                                                   flush=True)), args.out)
    return f"head weights written to {out}"


def ingest(args: argparse.Namespace) -> str:
    """Run ``ingest``; return the summary line."""
    from tqdm import tqdm

    from recognition.ingest import camera_exists, ingest_source
    from tracing.store import Store

    if args.every < 1:
        raise SourceError(f"--every {args.every} must be ≥ 1")
    store = Store(args.db)
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
    for problem in summary.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return summary.line()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        print(ingest(args) if args.command == "ingest" else train(args))
    except TracingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
