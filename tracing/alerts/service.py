"""The alert service: runs the engine as reads arrive, beside the app and the ingest service.

Processes around one database::

    python -m tracing ingest-service --db var/demo.duckdb   # the only loader of the spool
    python -m tracing alerts --db var/demo.duckdb           # this loop (one per database)
    streamlit run app.py                                    # reads alerts, acks, watchlists

All three reach the file through their own store lease (:mod:`tracing.store.lease`). The
alert service does not poll the database: every commit that stores reads touches
``<db>.reads`` (:attr:`tracing.store.Store.reads_signal`); the loop checks that file's time
every ``poll_s`` and runs an engine step when it changed (and every ``idle_check_s`` in any
case), so it takes the store only when there is work, at most one round per ``poll_s``. A
step that finds a backlog is followed at once by the next. Stop it with SIGTERM or SIGINT
(``stop_event``); kill -9 is safe too: the next start resumes from the committed checkpoint.

For the lowest latency the service can load the spool itself (``alerts --spool DIR``,
instead of running ``ingest-service``: still one loader): loading and evaluating then
happen back to back in one process, without handing the file between two processes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tracing import settings
from tracing.alerts.engine import AlertEngine, EngineConfig
from tracing.alerts.webhook import Webhook, WebhookSender
from tracing.errors import StoreError
from tracing.search.reachability import Reachability
from tracing.store import Spool, Store
from tracing.store.service import StopEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServiceReport:
    """What a run of the service did."""

    steps: int
    reads: int
    alerts: int

    def __str__(self) -> str:
        return f"{self.reads} reads evaluated in {self.steps} steps, {self.alerts} alerts"


def _signal_time(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _load(store: Store, spool: Spool | None) -> int:
    """Load pending spool files (when this service is the loader); the reads stored.
    Errors are logged."""
    if spool is None or not spool.pending():
        return 0
    try:
        report = store.load_spool(spool)
    except StoreError as exc:
        logger.warning("alert service: spool not loaded (%s); retrying", exc)
        return 0
    logger.debug("alert service: loaded %s", report)
    return report.rows


def run_alert_service(store: Store, *, stop_event: StopEvent,
                      reach: Reachability | None = None, webhook: Webhook | None = None,
                      config: EngineConfig | None = None, spool: Spool | None = None,
                      poll_s: float = settings.ALERT_POLL_S,
                      idle_check_s: float = settings.ALERT_IDLE_CHECK_S,
                      progress: Callable[[int, int], None] | None = None) -> ServiceReport:
    """Evaluate new reads until ``stop_event`` is set (see the module docstring); with a
    ``spool``, load it first in every round (then run no ingest service on it).
    ``progress(reads loaded, alerts raised)`` is called after each round that did either."""
    engine = AlertEngine(store, reach=reach, config=config)
    sender = WebhookSender(store, webhook).start() if webhook is not None else None
    steps = reads = alerts = 0
    seen, last_step = -1, float("-inf")
    try:
        while not stop_event.is_set():
            loaded = _load(store, spool)
            signal = _signal_time(store.reads_signal)
            if signal == seen and time.monotonic() - last_step < idle_check_s:
                if loaded and progress is not None:
                    progress(loaded, 0)
                stop_event.wait(poll_s)
                continue
            try:
                report = engine.step()
            except StoreError as exc:
                logger.warning("alert service: %s; retrying in %s s", exc, poll_s)
                stop_event.wait(poll_s)
                continue
            seen, last_step = (-1 if report.more else signal), time.monotonic()
            steps, reads, alerts = steps + 1, reads + report.reads, alerts + len(report.alerts)
            if progress is not None and (loaded or report.alerts):
                progress(loaded, len(report.alerts))
            if report.alerts:
                logger.info("alert service: %s alerts from %s reads", len(report.alerts),
                            report.reads)
                if sender is not None:
                    sender.wake()
            if not report.more:
                stop_event.wait(poll_s)  # one round per poll_s while reads keep coming
    finally:
        if sender is not None:
            sender.stop()
    return ServiceReport(steps, reads, alerts)
