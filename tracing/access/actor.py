"""Who acts, in which role, and why: what every sensitive library operation takes.

The library owns its rules: watchlist and geofence changes, alert decisions and a camera
registry replacement take an :class:`Actor` (as ``who``), check the role's permission
(:mod:`tracing.access.roles`) before touching anything — a refusal is itself written to the
audit log (``denied``) — and write their audit entry in the same transaction as the change,
so a change is never stored without its entry. Pages only collect input and render.

A plain name instead of an Actor is accepted for the system's own processes (the demo
builder, services, benchmarks): those are neither checked nor audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TypeAlias

import duckdb

from tracing.access import audit
from tracing.access.roles import PERMISSIONS, Role, allowed, check_role
from tracing.errors import AccessError
from tracing.store import Store

DENIED: Final = "denied"
"""Audit action of an operation refused for want of a permission."""


@dataclass(frozen=True)
class Actor:
    """A logged-in user acting for a reason (checked: :func:`audit.check_reason`)."""

    name: str
    role: Role
    reason: str

    def __post_init__(self) -> None:
        name = self.name.strip() if isinstance(self.name, str) else ""
        if not name or len(name) > audit.MAX_WHO_LENGTH:
            raise AccessError(f"an actor needs a user name (1–{audit.MAX_WHO_LENGTH} "
                              f"characters), got {self.name!r}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "role", check_role(self.role))
        object.__setattr__(self, "reason", audit.check_reason(self.reason))


Who: TypeAlias = "str | Actor"


def name_of(who: Who) -> str:
    """The user name of ``who`` (an Actor's, or the name given)."""
    return who.name if isinstance(who, Actor) else who


def permit(store: Store, who: Who, permission: str, action: str,
           params: Mapping[str, object]) -> None:
    """Nothing when ``who`` may do ``action``; AccessError after writing a ``denied`` audit
    entry when it is an Actor whose role lacks ``permission``."""
    if not isinstance(who, Actor) or allowed(who.role, permission):
        return
    audit.record(store, who=who.name, action=DENIED, reason=who.reason,
                 params={"action": action, "permission": permission, **params})
    raise AccessError(f"not allowed: the {who.role} role may not {PERMISSIONS[permission]}")


def record_change(con: duckdb.DuckDBPyConnection, who: Who, action: str,
                  params: Mapping[str, object]) -> None:
    """The audit entry of a change, in the change's transaction (an Actor only)."""
    if isinstance(who, Actor):
        audit.record_in(con, who=who.name, action=action, params=params, reason=who.reason)
