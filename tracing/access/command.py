"""Command line of access control: ``users``, ``audit`` and ``retention`` subcommands of
``python -m tracing`` (the operator at the server console acts as ``system:cli``: an
administrator for account changes, audited with ``--reason``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Final

from tracing import settings
from tracing.access import roles
from tracing.cli import Result, existing, stop_on_signals, table

CLI: Final = "system:cli"


def users_command(args: argparse.Namespace) -> Result:
    """Manage accounts: add, reset-password, list, roles."""
    import pandas as pd

    from tracing.access import users
    from tracing.access.actor import Actor
    from tracing.store import Store

    if args.action == "roles":
        return table(pd.DataFrame(roles.permission_table()), "no permissions")
    with Store(args.db if args.action == "add" else existing(args.db)) as store:
        if args.action == "list":
            return table(users.list_users(store), f"no users in {args.db}")
        console = Actor(CLI, "admin", args.reason)
        name = args.name.strip().lower()
        if args.action == "add":
            secret = users.add_user(store, args.name, args.role, who=console)
            return Result(f"user {name} ({args.role}) added; one-time password (change at "
                          f"first login): {secret}",
                          {"user": name, "role": args.role, "one_time_password": secret})
        secret = users.reset_password(store, args.name, who=console)
        return Result(f"new one-time password of {name}: {secret}",
                      {"user": name, "one_time_password": secret})


def audit_command(args: argparse.Namespace) -> Result:
    """Check the audit log's hash chain (exit 2 and every problem when it was tampered with)."""
    from tracing.access import audit
    from tracing.store import Store

    with Store(existing(args.db)) as store:
        report = audit.verify(store)
    failed = None if report.ok else str(report).splitlines()[0]
    return Result(str(report), {"ok": report.ok, "entries": report.entries,
                                "problems": report.problems, "head": report.head}, error=failed)


def retention_command(args: argparse.Namespace) -> object:
    """Purge reads and crops older than the retention period (cases and alerts are kept)."""
    from tracing.access import retention
    from tracing.store import Store

    with Store(existing(args.db)) as store:
        if args.every_hours is None:
            return retention.purge(store, reason=args.reason, crops_dir=args.crops,
                                   dry_run=args.dry_run, who=CLI)
        with stop_on_signals() as stop:
            runs = retention.purge_every(store, args.every_hours, stop, crops_dir=args.crops)
        return Result(f"retention schedule stopped after {runs} purge(s)", {"purges": runs})


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
