"""Command line: ``python -m tracing COMMAND`` (``--help`` lists the commands)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tracing import settings
from tracing.errors import TracingError

logger = logging.getLogger("tracing")


def build_data(args: argparse.Namespace) -> str:
    """Rebuild data/ (boundaries, road network, camera registry) from ../shared/data."""
    import osmnx as ox

    from tracing import boundaries, cameras, network

    boundaries.build_boundaries()
    counts = network.build_network_artifacts()
    edges = ox.graph_to_gdfs(network.load_network(), nodes=False)
    registry = cameras.import_portal_cameras(settings.PORTAL_CAMERAS_CSV, edges)
    settings.CAMERAS_DIR.mkdir(parents=True, exist_ok=True)
    cameras.write_registry(registry, settings.CAMERAS_DIR / "thuduc_cameras.csv")
    return f"network {counts}; registry {len(registry)} cameras, {int(registry.is_lpr.sum())} LPR"


def demo(args: argparse.Namespace) -> str:
    """Create (or migrate) the demo database and load the shipped camera registry."""
    from tracing import cameras
    from tracing.store import Store

    registry = cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv")
    with Store(args.db) as store:
        store.replace_cameras(registry)
    return f"demo database {args.db}: {len(registry)} cameras"


def ingest(args: argparse.Namespace) -> str:
    """Ingest a CSV or Parquet file of plate reads (idempotent; bad rows go to rejects)."""
    from tracing.store import Store

    with Store(args.db) as store:
        return str(store.ingest(args.file))


def ingest_service(args: argparse.Namespace) -> str:
    """Load the spool into the database until interrupted (the single writer)."""
    from tracing.store import Store, run_ingest_service

    with contextlib.suppress(KeyboardInterrupt), Store(args.db) as store:
        run_ingest_service(store, args.spool, poll_s=args.poll_s)
    return "ingest service stopped"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tracing", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Callable[[argparse.Namespace], str]) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=(handler.__doc__ or "").strip().splitlines()[0])
        sub.set_defaults(handler=handler)
        return sub

    command("build-data", build_data)
    command("demo", demo).add_argument("--db", type=Path, default=settings.DEMO_DB)
    sub = command("ingest", ingest)
    sub.add_argument("--db", type=Path, default=settings.DEMO_DB)
    sub.add_argument("file", type=Path)
    sub = command("ingest-service", ingest_service)
    sub.add_argument("--db", type=Path, default=settings.DEMO_DB)
    sub.add_argument("--spool", type=Path, default=settings.SPOOL_DIR)
    sub.add_argument("--poll-s", type=float, default=1.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors of the library print as one clear line, exit code 2."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        print(args.handler(args))
    except TracingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
