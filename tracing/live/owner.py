"""The owner: the one long-running process that holds the database while reads stream in.

It loads the spool and runs the alert engine back to back (the alert service with its
spool, :func:`tracing.alerts.service.run_alert_service`), publishes the device keys for the
receiver (at start and every few seconds, so a registry or device change made elsewhere
reaches it), and writes its status for ``/metrics`` every second
(:func:`tracing.live.metrics.write_owner_status`). In ``python -m tracing serve`` the app
runs in this same process: its queries share the owner's warm connection instead of
taking the file from it (see the README's "Store and concurrency design").
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from tracing import settings
from tracing.alerts.engine import EngineConfig
from tracing.alerts.service import ServiceReport, run_alert_service
from tracing.alerts.webhook import Webhook
from tracing.errors import TracingError
from tracing.live import metrics
from tracing.live.devices import publish_keys
from tracing.search.reachability import Reachability
from tracing.store import Spool, Store
from tracing.store.service import StopEvent

logger = logging.getLogger(__name__)

STATUS_EVERY_S: Final = 1.0
PUBLISH_EVERY_S: Final = 5.0


@dataclass
class _Counters:
    started: float = field(default_factory=time.time)
    reads_loaded: int = 0
    alerts_raised: int = 0

    def add(self, loaded: int, alerts: int) -> None:
        self.reads_loaded += loaded
        self.alerts_raised += alerts


def run_owner(store: Store, spool: Spool, *, stop_event: StopEvent,
              reach: Reachability | None = None, webhook: Webhook | None = None,
              config: EngineConfig | None = None, keys_file: Path | None = None,
              status_file: Path = metrics.OWNER_STATUS,
              poll_s: float = settings.LIVE_OWNER_POLL_S) -> ServiceReport:
    """Own ``store`` until ``stop_event`` is set: load ``spool``, raise alerts, publish
    keys and status."""
    counters = _Counters()
    publisher = threading.Thread(target=_publish_loop, name="owner-status", daemon=True,
                                 args=(store, spool, counters, stop_event, keys_file,
                                       status_file))
    publisher.start()
    try:
        return run_alert_service(store, stop_event=stop_event, reach=reach, webhook=webhook,
                                 config=config, spool=spool, progress=counters.add,
                                 poll_s=poll_s)
    finally:
        publisher.join(timeout=5)


def _publish_loop(store: Store, spool: Spool, counters: _Counters, stop: StopEvent,
                  keys_file: Path | None, status_file: Path) -> None:
    last_publish = float("-inf")
    while not stop.is_set():
        try:
            if time.monotonic() - last_publish >= PUBLISH_EVERY_S:
                publish_keys(store, keys_file)
                last_publish = time.monotonic()
            metrics.write_owner_status(_status(store, spool, counters), status_file)
        except (OSError, TracingError) as exc:
            logger.warning("owner: status not published: %s", exc)
        stop.wait(STATUS_EVERY_S)


def _status(store: Store, spool: Spool, counters: _Counters) -> dict[str, object]:
    rows, age = spool.backlog()
    with store.reader() as con:
        latency = con.execute(
            "SELECT quantile_cont(s, 0.5), quantile_cont(s, 0.99) FROM ("
            " SELECT epoch(raised_at) - epoch(read_ts) AS s FROM alerts"
            " WHERE read_ts IS NOT NULL AND raised_at >= to_timestamp(?)"
            " ORDER BY id DESC LIMIT 200)", [counters.started]).fetchone()
    p50, p99 = latency if latency else (None, None)
    return {"started": counters.started, "reads_loaded": counters.reads_loaded,
            "alerts_raised": counters.alerts_raised, "spool_backlog_rows": rows,
            "ingest_lag_s": round(age, 3), "alert_latency_p50_s": p50,
            "alert_latency_p99_s": p99}
