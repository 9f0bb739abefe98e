"""Command line of the live centre: ``receiver``, ``owner``, ``serve`` and ``devices``.

The operator at the server console acts as ``system:cli`` with the admin role; device
changes made here are checked and audited like the admin page's.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any, Final

from tracing import settings
from tracing.cli import Result, existing, stop_on_signals, table

logger = logging.getLogger(__name__)

CLI: Final = "system:cli"


def receiver_command(args: argparse.Namespace) -> str:
    """Receive plate events from the cameras over HTTP until SIGINT/SIGTERM."""
    import uvicorn

    from tracing.live.devices import keys_file
    from tracing.live.receiver import ReceiverConfig, create_app

    app = create_app(ReceiverConfig(spool_dir=args.spool, crops_dir=args.crops,
                                    keys_file=args.keys or keys_file(args.db)))
    uvicorn.run(app, host=args.host, port=args.port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False, limit_concurrency=args.max_connections,
                timeout_keep_alive=30, ssl_certfile=args.ssl_certfile,
                ssl_keyfile=args.ssl_keyfile)
    return "receiver stopped"


def owner_command(args: argparse.Namespace) -> Result:
    """Hold the database: load the spool, raise alerts, publish keys and status."""
    from tracing.alerts.command import reachability, webhook_of
    from tracing.live.owner import run_owner
    from tracing.store import Spool, Store

    with stop_on_signals() as stop, Store(args.db) as store:
        reach = None if args.no_travel else reachability(store)
        report = run_owner(store, Spool(args.spool), stop_event=stop, reach=reach,
                           webhook=webhook_of(args.webhook))
    return Result(f"owner stopped: {report}", report)


def serve_command(args: argparse.Namespace) -> str:
    """The live centre in one command: receiver, owner, stream workers and the app."""
    from tracing.live.serve import Serve

    return Serve(db=args.db, spool=args.spool, host=args.host, port=args.port,
                 app_port=args.app_port, workers=not args.no_workers,
                 travel=not args.no_travel).run()


def devices_command(args: argparse.Namespace) -> Result:
    """Manage device keys: add, rotate, revoke, list."""
    import pandas as pd

    from tracing.access.actor import Actor
    from tracing.live import devices
    from tracing.store import Store

    with Store(args.db if args.action == "add" else existing(args.db)) as store:
        if args.action == "list":
            return table(pd.DataFrame(devices.device_table(store)), "no devices")
        who = Actor(CLI, "admin", args.reason)
        if args.action == "add":
            key = devices.create_device(store, args.id, vendor=args.vendor, cameras=args.camera,
                                        channels=dict(args.channel), time_zone=args.time_zone,
                                        who=who)
            return Result(f"device {args.id} added; its key (shown once, keep it secret): {key}",
                          {"device": args.id, "key": key})
        if args.action == "rotate":
            key = devices.rotate_key(store, args.id, who=who)
            return Result(f"new key of device {args.id} (the old one no longer works): {key}",
                          {"device": args.id, "key": key})
        devices.revoke_device(store, args.id, who=who)
        return Result(f"device {args.id} revoked", {"device": args.id, "revoked": True})


def _channel(text: str) -> tuple[str, str]:
    """``CHANNEL=CAMERA_ID`` of ``--channel`` as a pair."""
    channel, sep, camera = text.partition("=")
    if not sep or not channel.strip() or not camera.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: write CHANNEL=CAMERA_ID")
    return channel.strip(), camera.strip()


def add_live_commands(commands: Any) -> None:
    """Add ``receiver``, ``owner``, ``serve`` and ``devices`` to the CLI's subparsers."""
    sub = commands.add_parser("receiver", help="receive plate events from cameras over HTTP")
    sub.set_defaults(handler=receiver_command)
    _listen(sub)
    sub.add_argument("--spool", type=Path, default=settings.SPOOL_DIR)
    sub.add_argument("--crops", type=Path, default=settings.CROPS_DIR)
    sub.add_argument("--db", type=Path, default=settings.DEMO_DB,
                     help="the store whose device keys to accept: read from <db>.devices.json"
                          ", published by the owner (the receiver never opens the database)")
    sub.add_argument("--keys", type=Path, default=None, help="another keys file")
    sub.add_argument("--max-connections", type=int, default=2000,
                     help="concurrent connections before 503 (default %(default)s)")
    sub.add_argument("--ssl-certfile", default=None, help="serve HTTPS with this certificate")
    sub.add_argument("--ssl-keyfile", default=None, help="… and this private key")
    sub = commands.add_parser("owner", help="hold the database: load the spool, raise alerts")
    sub.set_defaults(handler=owner_command)
    _owner(sub)
    sub = commands.add_parser("serve", help="run the live centre: receiver, owner, workers, app")
    sub.set_defaults(handler=serve_command)
    _owner(sub)
    _listen(sub)
    sub.add_argument("--app-port", type=int, default=8501)
    sub.add_argument("--no-workers", action="store_true", help="run no stream workers")
    _devices(commands.add_parser("devices", help="device keys: add, rotate, revoke, list"))


def _listen(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--host", default=settings.LIVE_HOST,
                     help="receiver bind address (default %(default)s)")
    sub.add_argument("--port", type=int, default=settings.LIVE_PORT,
                     help="receiver port (default %(default)s)")


def _owner(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--db", type=Path, default=settings.DEMO_DB)
    sub.add_argument("--spool", type=Path, default=settings.SPOOL_DIR)
    sub.add_argument("--webhook", default=None,
                     help="URL receiving each alert (default $TRACING_ALERT_WEBHOOK_URL)")
    sub.add_argument("--no-travel", action="store_true",
                     help="skip impossible-travel alerts (no road graph loaded)")


def _devices(sub: argparse.ArgumentParser) -> None:
    sub.set_defaults(handler=devices_command)
    actions = sub.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="a new device key bound to cameras")
    add.add_argument("id", help="device name, e.g. nvr-gate-3")
    add.add_argument("--vendor", required=True, choices=("json", "hikvision", "dahua"))
    add.add_argument("--camera", action="append", default=[],
                     help="registry camera id it may post for (repeat)")
    add.add_argument("--channel", action="append", default=[], type=_channel,
                     help="CHANNEL=CAMERA_ID: an NVR channel's camera (repeat)")
    add.add_argument("--time-zone", default=None,
                     help="zone of timestamps it sends without an offset, e.g. Asia/Ho_Chi_Minh")
    rotate = actions.add_parser("rotate", help="a new key; the old one stops working")
    revoke = actions.add_parser("revoke", help="the key stops working; the record stays")
    for parser in (rotate, revoke):
        parser.add_argument("id")
    listing = actions.add_parser("list", help="devices, bindings, history (no keys)")
    for parser in (add, rotate, revoke):
        parser.add_argument("--reason", default="device administration at the console")
    for parser in (add, rotate, revoke, listing):
        parser.add_argument("--db", type=Path, default=settings.DEMO_DB)

