"""Who acts, in which role, and why: what every sensitive library operation takes.

The library owns its rules. Every sensitive operation takes an :class:`Actor` (as ``who``)
and checks the role's permission (:mod:`tracing.access.roles`) before touching anything — a
refusal is itself written to the audit log (``denied``):

- a change (watchlist, geofence, alert decision, case, registry, account) writes its audit
  entry in the same transaction as the change (:func:`record_change`), so a change is never
  stored without its entry;
- a look (search, trace: :func:`record_look`) writes and commits its entry before anything
  is read; an actor's :class:`Looks` memo (one per app session) makes the same look asked
  again — Streamlit reruns a page on every click — one entry;
- an export (:func:`exported`) writes its entry before the file is made, one per download.

A failed audit write means no change, no result and no file. Pages only collect input and
render. A plain name instead of an Actor is accepted for the system's own processes (the demo
builder, services, benchmarks, the console's trace): those are neither checked nor audited.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeAlias

import duckdb

from tracing.access import audit
from tracing.access.roles import PERMISSIONS, Role, allowed, check_role
from tracing.errors import AccessError
from tracing.store import Store

DENIED: Final = "denied"
"""Audit action of an operation refused for want of a permission."""


class Looks:
    """The looks one session has audited already (keys of who, action, parameters and
    reason). Carried by an :class:`Actor`; a key is kept only once its entry is committed."""

    def __init__(self) -> None:
        self._written: set[str] = set()
        self._lock = threading.Lock()

    def once(self, key: str, write: Callable[[], object]) -> None:
        """Run ``write`` unless the entry ``key`` was written before."""
        with self._lock:
            if key not in self._written:
                write()
                self._written.add(key)


@dataclass(frozen=True)
class Actor:
    """A logged-in user acting for a reason (checked: :func:`audit.check_reason`).

    ``looks``: the session's memo of audited looks (None: every look is written). It is no
    part of the actor's value: two actors with the same name, role and reason are equal.
    """

    name: str
    role: Role
    reason: str
    looks: Looks | None = field(default=None, compare=False, repr=False)

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
    _record(store, who, DENIED, {"action": action, "permission": permission, **params})
    raise AccessError(f"not allowed: the {who.role} role may not {PERMISSIONS[permission]}")


def record_change(con: duckdb.DuckDBPyConnection, who: Who, action: str,
                  params: Mapping[str, object]) -> None:
    """The audit entry of a change, in the change's transaction (an Actor only)."""
    if isinstance(who, Actor):
        audit.record_in(con, who=who.name, action=action, params=params, reason=who.reason)


def record_look(store: Store, who: Who, permission: str, action: str,
                params: Mapping[str, object]) -> None:
    """Check ``who`` may look (:func:`permit`) and commit the look's audit entry before the
    caller reads anything; once per session when the actor carries :class:`Looks`."""
    permit(store, who, permission, action, params)
    if isinstance(who, Actor):
        key = json.dumps([who.name, who.role, who.reason, action, dict(params)],
                         sort_keys=True, default=str, ensure_ascii=False)
        (who.looks or Looks()).once(key, lambda: _record(store, who, action, params))


def exported(store: Store, who: Who, permission: str, action: str,
             params: Mapping[str, object], render: Callable[[], str]) -> bytes:
    """The file ``render`` makes (UTF-8), once ``who`` is checked and the export's audit
    entry committed (each download is one entry, whatever the session's memo)."""
    permit(store, who, permission, action, params)
    if isinstance(who, Actor):
        _record(store, who, action, params)
    return render().encode("utf-8")


def _record(store: Store, who: Actor, action: str, params: Mapping[str, object]) -> int:
    return audit.record(store, who=who.name, action=action, params=params, reason=who.reason)
