"""The ingest service: the one loop that moves spool files into the store.

Run one per database (``python -m tracing.store --db var/demo.duckdb``). It holds
the write lease only while loading; between batches it hands the file to waiting readers.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Protocol

from tracing import settings
from tracing.errors import StoreError
from tracing.store.ingest import IngestReport
from tracing.store.spool import Spool
from tracing.store.store import Store

logger = logging.getLogger(__name__)


class StopEvent(Protocol):
    """What the loop needs of a stop flag (threading.Event, multiprocessing.Event)."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def run_ingest_service(db: Store | Path | str, spool: Spool | Path | str, *,
                       poll_s: float = settings.SPOOL_POLL_S,
                       stop_event: StopEvent | None = None,
                       max_rows: int = settings.INGEST_MAX_SPOOL_ROWS) -> IngestReport:
    """Load spool files until ``stop_event`` is set; return what was loaded in total.

    Waits ``poll_s`` when the spool is empty or the store is busy; never gives up on a
    busy store (the next round retries) and never loses a file.
    """
    store = db if isinstance(db, Store) else Store(db)
    spool = spool if isinstance(spool, Spool) else Spool(spool)
    stop: StopEvent = stop_event if stop_event is not None else threading.Event()
    total = IngestReport()
    while not stop.is_set():
        try:
            report = store.load_spool(spool, max_rows=max_rows)
        except StoreError as exc:
            logger.warning("ingest service: %s; retrying in %s s", exc, poll_s)
            stop.wait(poll_s)
            continue
        total += report
        if report.rows:
            logger.info("ingest service: %s", report)
        if not spool.pending():
            stop.wait(poll_s)
    logger.info("ingest service stopped: %s", total)
    return total
