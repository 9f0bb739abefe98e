"""Command line of access control: ``users``, ``audit`` and ``retention`` subcommands of
``python -m tracing`` (the operator at the server console acts as ``system:cli``: an
administrator for account changes, audited with ``--reason``)."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import Any, Final

from tracing import settings
from tracing.access import roles
from tracing.errors import AuditError

CLI: Final = "system:cli"


def users_command(args: argparse.Namespace) -> str:
    """Manage accounts: add, reset-password, list, roles."""
    import pandas as pd

    from tracing.access import users
    from tracing.access.actor import Actor
    from tracing.store import Store

    if args.action == "roles":
        return pd.DataFrame(roles.permission_table()).to_string(index=False)
    with Store(args.db) as store:
        if args.action == "list":
            return users.list_users(store).to_string(index=False)
        console = Actor(CLI, "admin", args.reason)
        if args.action == "add":
            secret = users.add_user(store, args.name, args.role, who=console)
            return (f"user {args.name.strip().lower()} ({args.role}) added; one-time password "
                    f"(change at first login): {secret}")
        secret = users.reset_password(store, args.name, who=console)
        return f"new one-time password of {args.name.strip().lower()}: {secret}"


def audit_command(args: argparse.Namespace) -> str:
    """Check the audit log's hash chain (exit 2 and every problem when it was tampered with)."""
    from tracing.access import audit
    from tracing.store import Store

    with Store(args.db) as store:
        report = audit.verify(store)
    if not report.ok:
        raise AuditError(str(report))
    return str(report)


def retention_command(args: argparse.Namespace) -> str:
    """Purge reads and crops older than the retention period (cases and alerts are kept)."""
    from tracing.access import retention
    from tracing.store import Store

    with Store(args.db) as store:
        if args.every_hours is None:
            return str(retention.purge(store, reason=args.reason, crops_dir=args.crops,
                                       dry_run=args.dry_run, who=CLI))
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        runs = retention.purge_every(store, args.every_hours, stop, crops_dir=args.crops)
        return f"retention schedule stopped after {runs} purge(s)"


def add_access_commands(commands: Any) -> None:
    """Add ``users``, ``audit`` and ``retention`` to the CLI's subparsers."""
    sub = commands.add_parser("users", help="manage accounts: add, reset-password, list, roles")
    sub.set_defaults(handler=users_command)
    actions = sub.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add an account with a one-time password")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=roles.ROLES)
    reset = actions.add_parser("reset-password", help="new one-time password, account unlocked")
    reset.add_argument("name")
    for parser in (add, reset):
        parser.add_argument("--reason", default="account administration at the console")
    listing = actions.add_parser("list", help="accounts with role, lock and one-time state")
    actions.add_parser("roles", help="print the role × permission table")
    sub = commands.add_parser("audit", help="verify the audit log's hash chain")
    sub.set_defaults(handler=audit_command)
    verify = sub.add_subparsers(dest="action", required=True).add_parser(
        "verify", help="recompute the chain; name edited and removed entries")
    sub = commands.add_parser("retention", help="purge reads and crops past retention")
    sub.set_defaults(handler=retention_command)
    purge = sub.add_subparsers(dest="action", required=True).add_parser(
        "purge", help="delete reads and crops older than the retention period")
    when = purge.add_mutually_exclusive_group()
    when.add_argument("--dry-run", action="store_true", help="only count what would go")
    when.add_argument("--every-hours", type=float, default=None,
                      help="keep running: purge now and every N hours until SIGINT/SIGTERM")
    purge.add_argument("--reason", default="scheduled retention purge")
    purge.add_argument("--crops", default=settings.CROPS_DIR, type=Path,
                       help="crop image folder (default %(default)s)")
    for parser in (add, reset, listing, verify, purge):
        parser.add_argument("--db", default=settings.DEMO_DB, type=Path,
                            help="the store (default %(default)s)")
