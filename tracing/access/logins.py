"""Login throttling and the aggregated audit of failed logins (in memory, per store).

Three things keep a flood of failed logins from costing the store anything:

- a **source** (browser address) with :data:`settings.LOGIN_SOURCE_MAX_FAILURES` failures
  within :data:`settings.LOGIN_LOCKOUT_MINUTES` is refused, unchecked, until that window
  has passed;
- an **unknown name** is locked after :data:`settings.LOGIN_MAX_FAILURES` failures like a
  real account (whose lock is kept in the ``users`` table), with the same message, so the
  lock-out does not tell whether an account exists;
- failed logins of unknown names and refused attempts are **not written one by one**: they
  are counted here and written as one ``login.failed.summary`` entry per
  :data:`settings.LOGIN_AUDIT_EVERY_S` (with the next attempt after that time). Failed
  logins of real accounts are written each (at most LOGIN_MAX_FAILURES per lock-out).

Password hashes are computed in :data:`settings.LOGIN_HASH_SLOTS` worker threads of low
scheduling priority (:func:`hashing`): a flood uses at most that many cores, and only what
ingest and queries leave idle. State is per process: a restart forgets the counts (not the
accounts' locks).
"""

from __future__ import annotations

import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, TypeVar
from zoneinfo import ZoneInfo

from tracing import settings

SUMMARY_ACTION: Final = "login.failed.summary"
SUMMARY_WHO: Final = "system:login"
WRONG: Final = "wrong user name or password"
LISTED: Final = 20
"""Names and sources listed by count in a summary entry (the rest are counted together)."""
HASH_NICENESS: Final = 10
"""How much lower than the process the hashing threads are scheduled (Linux niceness)."""
T = TypeVar("T")


def _lower_priority() -> None:
    """Lower the calling thread's scheduling priority (Linux: per thread; elsewhere a no-op)."""
    with suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICENESS)


_HASHING: Final = ThreadPoolExecutor(settings.LOGIN_HASH_SLOTS, thread_name_prefix="hash",
                                     initializer=_lower_priority)


def hashing(work: Callable[[], T]) -> T:
    """Run a password hash or verification on a hashing thread and wait for its result."""
    return _HASHING.submit(work).result()


def locked_message(until: datetime) -> str:
    """The refusal of a locked name or source: the same words whether the account exists."""
    local = until.astimezone(ZoneInfo(settings.LOCAL_TZ)).strftime("%H:%M")
    return (f"too many failed logins: locked until {local}; try again then, or ask an "
            "administrator to reset the account")


@dataclass
class _Failures:
    """Failures of one name or source: how many since ``first``, and a lock."""

    first: datetime
    count: int = 0
    until: datetime | None = None


@dataclass
class _Summary:
    """What has not been written to the audit log yet."""

    since: datetime | None = None
    unknown: int = 0
    refused: int = 0
    names: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)


class Throttle:
    """Failure counts of names and sources, and the pending summary (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: OrderedDict[str, _Failures] = OrderedDict()
        self._sources: OrderedDict[str, _Failures] = OrderedDict()
        self._summary = _Summary()

    def refused_until(self, name: str, source: str, when: datetime, *,
                      known: bool) -> datetime | None:
        """Until when an attempt is refused unchecked: the source's lock, or (for a name
        without an account) the name's; None when it may be checked."""
        with self._lock:
            locks = [self._lock_of(self._sources, source, when)]
            if not known:
                locks.append(self._lock_of(self._names, name, when))
        found = [until for until in locks if until is not None]
        return max(found) if found else None

    def failed(self, name: str, source: str, when: datetime, *, known: bool) -> None:
        """Count a failed check (of a real account when ``known``)."""
        window = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        with self._lock:
            self._count(self._sources, source, when, settings.LOGIN_SOURCE_MAX_FAILURES,
                        window=window)
            if not known:
                self._count(self._names, name, when, settings.LOGIN_MAX_FAILURES, window=None)
                self._note(name, source, when, unknown=1)

    def refused(self, name: str, source: str, when: datetime) -> None:
        """Count an attempt refused unchecked (for the summary)."""
        with self._lock:
            self._note(name, source, when, refused=1)

    def succeeded(self, name: str) -> None:
        """A successful login clears the name's count (not the source's)."""
        with self._lock:
            self._names.pop(name, None)

    def summary_due(self, when: datetime, *, force: bool = False) -> dict[str, object] | None:
        """The parameters of a summary entry when one is due (and forget them), else None."""
        every = timedelta(seconds=settings.LOGIN_AUDIT_EVERY_S)
        with self._lock:
            pending = self._summary
            if pending.since is None or (not force and when - pending.since < every):
                return None
            self._summary = _Summary()
        return {"since": pending.since.isoformat(), "until": when.isoformat(),
                "unknown_name_failures": pending.unknown, "refused_unchecked": pending.refused,
                "names": _top(pending.names), "sources": _top(pending.sources)}

    def _note(self, name: str, source: str, when: datetime, *, unknown: int = 0,
              refused: int = 0) -> None:
        pending = self._summary
        pending.since = pending.since or when
        pending.unknown += unknown
        pending.refused += refused
        if name in pending.names or len(pending.names) < settings.LOGIN_THROTTLE_KEYS:
            pending.names[name] += 1
        if source in pending.sources or len(pending.sources) < settings.LOGIN_THROTTLE_KEYS:
            pending.sources[source] += 1

    @staticmethod
    def _lock_of(table: OrderedDict[str, _Failures], key: str,
                 when: datetime) -> datetime | None:
        entry = table.get(key)
        if entry is None or entry.until is None:
            return None
        if entry.until > when:
            return entry.until
        del table[key]  # the lock has passed: counting starts again
        return None

    @staticmethod
    def _count(table: OrderedDict[str, _Failures], key: str, when: datetime, limit: int, *,
               window: timedelta | None) -> None:
        entry = table.get(key)
        if entry is None or (window is not None and when - entry.first > window):
            entry = table[key] = _Failures(when)
        table.move_to_end(key)
        entry.count += 1
        if entry.count >= limit:
            entry.until = when + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        while len(table) > settings.LOGIN_THROTTLE_KEYS:
            table.popitem(last=False)


def _top(counts: Counter[str]) -> dict[str, int]:
    listed = dict(counts.most_common(LISTED))
    rest = sum(counts.values()) - sum(listed.values())
    return {**listed, "(others)": rest} if rest else listed


_THROTTLES: dict[Path, Throttle] = {}
_THROTTLES_LOCK: Final = threading.Lock()


def throttle_for(db: Path) -> Throttle:
    """This process's throttle of the store at ``db``."""
    key = Path(db).resolve()
    with _THROTTLES_LOCK:
        return _THROTTLES.setdefault(key, Throttle())
