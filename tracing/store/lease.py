"""Who may open the DuckDB file, and how: a readers–writer lease shared by processes.

DuckDB lets one process open a file read-write, and while it does no other process may
open it at all. Opening is not cheap: ``duckdb.connect`` takes 15–30 ms even for an empty
file (a new database instance), and the first plate lookup in a fresh instance on 10 M
reads takes 80–120 ms (metadata and blocks), against 5–10 ms once warm (measured on the
2-core build machine). So each process keeps **one** DuckDB instance per file (its
*lease*) and shares it between its threads through cursors:

* across processes, the lease is an ``flock`` on ``<db>.lock``: shared for a read-only
  instance, exclusive for a read-write one, so DuckDB's own lock is never contended;
* inside a process, a read-write lease also serves readers (DuckDB's MVCC isolates them);
* a process waiting for the lock holds a shared ``flock`` on ``<db>.want``; a holder's
  watcher thread probes it every ``poll_s`` and hands the lease back as soon as its
  current users finish (and after ``idle_s`` without use), then stays out for
  ``yield_s`` so the waiter gets its turn. No lock errors, only short waits; a wait
  longer than the caller's timeout is a :class:`StoreError` ("store busy").

A read-only instance is never stale: no process can write while it is open.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, Literal

import duckdb

from tracing import settings
from tracing.errors import StoreError

logger = logging.getLogger(__name__)

Mode = Literal["read", "write"]
DATABASE: Final = "store"
"""Name under which the file is attached in each process's DuckDB instance."""
_MAX_SLEEP_S: Final = 0.005


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)


def _try_flock(fd: int, op: int) -> bool:
    try:
        fcntl.flock(fd, op | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def lock_path(db: Path) -> Path:
    """The lease file beside a database."""
    return db.with_name(db.name + ".lock")


def want_path(db: Path) -> Path:
    """The demand-signal file beside a database."""
    return db.with_name(db.name + ".want")


def _open_instance(path: Path, mode: Mode) -> duckdb.DuckDBPyConnection:
    """A DuckDB instance with the store attached as :data:`DATABASE`.

    Attached rather than opened directly, to set the row group size: DuckDB prunes by
    row group, so smaller groups make a plate lookup read less (measured: 2.7 ms instead
    of 10.8 ms for one plate among 5 M reads in 5 sorted batches).
    """
    con = duckdb.connect(":memory:", config={"memory_limit": settings.STORE_MEMORY_LIMIT})
    try:
        target = str(path).replace("'", "''")
        options = ("READ_ONLY" if mode == "read"
                   else f"ROW_GROUP_SIZE {int(settings.STORE_ROW_GROUP_SIZE)}")
        con.execute(f"ATTACH '{target}' AS {DATABASE} ({options})")
        con.execute("SET GLOBAL TimeZone = 'UTC'")  # instants in, instants out
        if mode == "write":
            con.execute("SET GLOBAL disabled_compression_methods = ?",
                        [settings.STORE_INGEST_DISABLED_COMPRESSION])
    except BaseException:
        con.close()
        raise
    return con


class FileLease:
    """The cross-process part: an ``flock`` on ``<db>.lock`` and the demand signal."""

    def __init__(self, db: Path) -> None:
        self._lock = lock_path(db)
        self._want = want_path(db)
        self._fd: int | None = None

    def acquire(self, mode: Mode, *, deadline: float) -> None:
        """Take the lock shared (read) or exclusive (write), waiting until ``deadline``."""
        fd = _open(self._lock)
        op = fcntl.LOCK_SH if mode == "read" else fcntl.LOCK_EX
        try:
            if not _try_flock(fd, op):
                self._wait(fd, op, deadline)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def _wait(self, fd: int, op: int, deadline: float) -> None:
        want = _open(self._want)
        try:
            fcntl.flock(want, fcntl.LOCK_SH)  # holders see someone waits
            delay = 0.0005
            while not _try_flock(fd, op):
                if time.monotonic() >= deadline:
                    raise StoreError(f"store busy: {self._lock.with_suffix('')} is held by "
                                     "another process; try again")
                time.sleep(delay)
                delay = min(delay * 2, _MAX_SLEEP_S)
        finally:
            os.close(want)

    def release(self) -> None:
        """Unlock (explicitly, so a forked child's copy of the fd cannot keep it)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def demanded(self, probe_fd: int) -> bool:
        """Whether another process waits for the lock (holds ``<db>.want`` shared)."""
        if _try_flock(probe_fd, fcntl.LOCK_EX):
            fcntl.flock(probe_fd, fcntl.LOCK_UN)
            return False
        return True

    def open_probe(self) -> int:
        """A descriptor for :meth:`demanded` (one per watcher thread)."""
        return _open(self._want)


class Lease:
    """One process's DuckDB instance on one file, shared by its threads (see module doc)."""

    def __init__(self, path: Path, *, poll_s: float = settings.STORE_POLL_S,
                 idle_s: float = settings.STORE_IDLE_RELEASE_S,
                 yield_s: float = settings.STORE_YIELD_S) -> None:
        self.path = path
        self.write_mutex = threading.Lock()
        """Serialises writers of this process (idempotency checks must not interleave)."""
        self._file = FileLease(path)
        self._cond = threading.Condition()
        self._mode: Mode | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._users = 0
        self._busy = False
        self._upgrades = 0
        self._release_wanted = False
        self._generation = 0
        self._yield_until = 0.0
        self._last_used = time.monotonic()
        self._poll_s, self._idle_s, self._yield_s = poll_s, idle_s, yield_s

    @property
    def mode(self) -> Mode | None:
        """``"read"``/``"write"`` while this process holds the file, else None."""
        return self._mode

    @contextmanager
    def connect(self, mode: Mode, *, deadline: float) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on this process's instance, opened in a mode that allows ``mode``."""
        cursor = self._enter(mode, deadline)
        try:
            yield cursor
        finally:
            try:
                cursor.close()
            finally:
                self._exit()

    def _admits(self, mode: Mode) -> bool:
        if self._busy or self._mode is None or self._release_wanted:
            return False
        return self._mode == "write" or (mode == "read" and self._upgrades == 0)

    def _enter(self, mode: Mode, deadline: float) -> duckdb.DuckDBPyConnection:
        with self._cond:
            upgrading = mode == "write" and self._mode == "read"
            self._upgrades += upgrading
            try:
                self._wait_turn(mode, deadline)
            finally:
                self._upgrades -= upgrading
            if self._admits(mode):
                return self._new_cursor()
        return self._switch(mode, deadline)

    def _wait_turn(self, mode: Mode, deadline: float) -> None:
        """Wait (holding the condition) until ``mode`` is admitted or this thread may switch."""
        while not self._admits(mode):
            now = time.monotonic()
            if self._users == 0 and not self._busy and now >= self._yield_until:
                self._busy = True
                return
            if now >= deadline:
                raise StoreError(f"store busy: {self.path} is in use; try again")
            wake = deadline if now >= self._yield_until else min(deadline, self._yield_until)
            self._cond.wait(max(wake - now, 0.0005))

    def _new_cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the instance, counted as a user (under cond)."""
        assert self._con is not None
        cursor = self._con.cursor()
        try:
            cursor.execute(f"USE {DATABASE}")
        except BaseException:
            cursor.close()
            raise
        self._users += 1
        return cursor

    def _switch(self, mode: Mode, deadline: float) -> duckdb.DuckDBPyConnection:
        """Close whatever this process holds and open the file in ``mode`` (not under cond)."""
        try:
            if self._con is not None:
                yielding = self._release_wanted
                self._close_instance()
                if yielding:  # another process asked first: let it in
                    time.sleep(self._yield_s)
            self._file.acquire(mode, deadline=deadline)
            try:
                con = _open_instance(self.path, mode)
            except duckdb.Error as exc:
                self._file.release()
                raise StoreError(f"cannot open {self.path} ({mode}): {exc}") from exc
        except BaseException:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
            raise
        with self._cond:
            self._con, self._mode, self._busy = con, mode, False
            self._release_wanted = False
            self._generation += 1
            self._start_watcher(self._generation)
            self._cond.notify_all()
            return self._new_cursor()

    def _close_instance(self) -> None:
        """Close the instance, then unlock the file (the caller holds ``_busy``)."""
        con = self._con
        try:
            if con is not None:
                try:
                    con.close()
                finally:
                    self._file.release()
        finally:
            self._con, self._mode = None, None

    def _exit(self) -> None:
        with self._cond:
            self._users -= 1
            self._last_used = time.monotonic()
            release = self._claim_release()
            self._cond.notify_all()
        if release:
            self._release()

    def _claim_release(self) -> bool:
        """Under cond: whether the caller should hand the file back now (and may)."""
        if self._release_wanted and self._users == 0 and not self._busy and self._mode:
            self._busy = True
            return True
        return False

    def _release(self) -> None:
        try:
            self._close_instance()
        finally:
            with self._cond:
                self._busy = False
                self._release_wanted = False
                self._yield_until = time.monotonic() + self._yield_s
                self._cond.notify_all()

    # --- watcher -------------------------------------------------------------------------

    def _start_watcher(self, generation: int) -> None:
        thread = threading.Thread(target=self._watch, args=(generation,), daemon=True,
                                  name=f"store-lease-{self.path.name}")
        thread.start()

    def _watch(self, generation: int) -> None:
        probe = self._file.open_probe()
        try:
            while self._watch_once(generation, probe):
                pass
        except Exception:  # a watcher must never die loudly; the lease still works
            logger.exception("store lease watcher for %s failed", self.path)
        finally:
            os.close(probe)

    def _watch_once(self, generation: int, probe: int) -> bool:
        with self._cond:
            self._cond.wait(self._poll_s)
            if generation != self._generation or self._mode is None:
                return False
        demanded = self._file.demanded(probe)
        with self._cond:
            if generation != self._generation or self._mode is None:
                return False
            idle = self._users == 0 and time.monotonic() - self._last_used > self._idle_s
            if demanded or idle:
                self._release_wanted = True
            release = self._claim_release()
        if release:
            logger.debug("store lease on %s released (%s)", self.path,
                         "another process waits" if demanded else "idle")
            self._release()
            return False
        return True

    def close(self, *, timeout_s: float = settings.STORE_LOCK_TIMEOUT_S) -> None:
        """Hand the file back once the current users finish (StoreError after timeout_s)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._users or self._busy:
                if not self._cond.wait(max(deadline - time.monotonic(), 0.0)):
                    raise StoreError(f"store {self.path} still in use after {timeout_s} s")
            if self._mode is None:
                return
            self._busy = True
        self._release()
        with self._cond:
            self._yield_until = 0.0


_LEASES: dict[Path, Lease] = {}
_LEASES_LOCK = threading.Lock()


def lease_for(path: Path) -> Lease:
    """This process's lease on ``path`` (one per resolved path, shared by every Store)."""
    key = path.resolve()
    with _LEASES_LOCK:
        lease = _LEASES.get(key)
        if lease is None:
            lease = _LEASES[key] = Lease(key)
        return lease


def close_all() -> None:
    """Hand back every lease of this process (at exit, and in tests)."""
    with _LEASES_LOCK:
        leases = list(_LEASES.values())
    for lease in leases:
        try:
            lease.close(timeout_s=5.0)
        except StoreError:
            logger.warning("store %s still in use at exit", lease.path)


def _forget_after_fork() -> None:
    """A forked child must not use (or close) its parent's instances and locks."""
    _LEASES.clear()


os.register_at_fork(after_in_child=_forget_after_fork)
atexit.register(close_all)
