"""Group commit: an event is acknowledged only once it is on disk, many events per fsync.

Request handlers :meth:`GroupCommitter.submit` their accepted reads and wait for the
future. One thread takes everything queued (up to ``max_events``), writes the crop files
(temporary name, fsync, rename, fsync of their folders), then the reads as one spool file
(:meth:`tracing.store.Spool.write`: fsync'd and renamed), and only then resolves the
futures. Under load each round carries the events that arrived during the previous one, so
fsyncs per second stay flat while events per fsync grow. The queue is bounded
(``max_queued`` events): beyond it :class:`BusyError` is raised at once and the receiver
answers 503, so memory never grows without bound.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from tracing import settings
from tracing.files import replace_file
from tracing.live.accept import Accepted
from tracing.store.spool import Spool, fsync_dir

logger = logging.getLogger(__name__)

GATHER_S: Final = 0.010
"""Least time between two commits: the requests of a round share one spool file. A file
costs ~3 ms of CPU whatever its size (creating it and two fsyncs are most of it), so at
1,000 requests/s rounds of 4 ms spent half a core on files; 10 ms rounds a fifth."""
MAX_QUEUED: Final = 20_000
"""Events waiting for the disk beyond which new requests are answered 503."""


class BusyError(Exception):
    """The commit queue is full: the request is refused (503) and nothing of it is kept."""


@dataclass(slots=True)
class _Pending:
    accepted: Sequence[Accepted]
    done: Future[None] = field(default_factory=Future)


class GroupCommitter:
    """The one writer of a receiver's reads and crops (start it, then submit)."""

    def __init__(self, spool: Spool, crops_dir: Path = settings.CROPS_DIR, *,
                 max_events: int = settings.LIVE_COMMIT_MAX_EVENTS,
                 max_queued: int = MAX_QUEUED, gather_s: float = GATHER_S) -> None:
        self.spool, self.crops_dir = spool, Path(crops_dir)
        self.max_events, self.max_queued, self.gather_s = max_events, max_queued, gather_s
        self._queue: deque[_Pending] = deque()
        self._queued = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self.commits = 0
        self.committed = 0

    @property
    def queued(self) -> int:
        """Events waiting for the disk."""
        return self._queued

    def start(self) -> GroupCommitter:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Commit what is queued, then stop the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join()

    def submit(self, accepted: Sequence[Accepted]) -> Future[None]:
        """Queue reads for the disk; the future completes once they are durable (or fails
        with the write's error). :class:`BusyError` when the queue is full."""
        pending = _Pending(accepted)
        with self._cond:
            if self._stopping:
                raise BusyError("the receiver is stopping")
            if self._queued + len(accepted) > self.max_queued:
                raise BusyError(f"{self._queued} events are waiting for the disk")
            self._queue.append(pending)
            self._queued += len(accepted)
            self._cond.notify()
        return pending.done

    def _run(self) -> None:
        last = float("-inf")
        while True:
            time.sleep(max(0.0, last + self.gather_s - time.monotonic()))
            group = self._take()
            last = time.monotonic()
            if group is None:
                return
            try:
                self._write(group)
            except Exception as exc:  # every waiter must hear of any failure
                logger.error("group commit of %s events failed: %s",
                             sum(len(p.accepted) for p in group), exc)
                for pending in group:
                    pending.done.set_exception(exc)
            else:
                for pending in group:
                    pending.done.set_result(None)

    def _take(self) -> list[_Pending] | None:
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait()
            if not self._queue:
                return None
            group: list[_Pending] = []
            events = 0
            while self._queue and (not group or events + len(self._queue[0].accepted)
                                   <= self.max_events):
                pending = self._queue.popleft()
                group.append(pending)
                events += len(pending.accepted)
            self._queued -= events
            return group

    def _write(self, group: list[_Pending]) -> None:
        accepted = [a for pending in group for a in pending.accepted]
        folders = {self._write_crop(ref, data) for a in accepted for ref, data in a.crops}
        for folder in folders:
            fsync_dir(folder)
        if accepted:
            self.spool.write([a.read for a in accepted])
        self.commits += 1
        self.committed += len(accepted)

    def _write_crop(self, ref: str, data: bytes) -> Path:
        return replace_file(self.crops_dir / ref, data, durable=True).parent
