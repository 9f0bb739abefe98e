"""What the live centre measures, in Prometheus' text format (the receiver's ``/metrics``).

The receiver counts events accepted and requests refused per device, and times each
acknowledgement; at scrape time it reads the spool backlog and the owner's status file.
The owner process (:mod:`tracing.live.owner`), which holds the database, writes that file
(:func:`write_owner_status`) every second: reads loaded, ingest lag, alert latency. A file
keeps the owner and the receiver independent: either can be restarted alone.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from tracing import settings
from tracing.files import replace_file

if TYPE_CHECKING:
    from tracing.live.receiver import Receiver

OWNER_STATUS: Final = settings.LIVE_DIR / "owner.json"
"""The owner's status file (written atomically every second)."""
OWNER_FRESH_S: Final = 10.0
"""An owner status older than this means the owner is not running."""
OWNER_GAUGES: Final = {
    "reads_loaded": "Reads the owner loaded from the spool since it started",
    "ingest_lag_s": "Age of the oldest read waiting in the spool when last loaded",
    "alerts_raised": "Alerts the owner's engine raised since it started",
    "alert_latency_p50_s": "Median seconds from a read's own time (camera clock) to its "
                           "alert (last 200)",
    "alert_latency_p99_s": "99th percentile of the same",
}


class ReceiverMetrics:
    """The receiver's counters and the gauges read at scrape time."""

    def __init__(self, receiver: Receiver) -> None:
        self.registry = CollectorRegistry()
        self._events = Counter("tracing_events_received", "Events accepted and stored",
                               ["device"], registry=self.registry)
        self._refused = Counter("tracing_requests_refused", "Requests refused",
                                ["device", "status"], registry=self.registry)
        self._ack = Histogram("tracing_ack_seconds", "Request received → acknowledged durable",
                              buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
                              registry=self.registry)
        self.registry.register(_Gauges(receiver))

    def accepted(self, device: str, events: int, seconds: float) -> None:
        self._events.labels(device).inc(events)
        self._ack.observe(seconds)

    def refused(self, device: str, status: int) -> None:
        self._refused.labels(device, str(status)).inc()


class _Gauges(Collector):
    def __init__(self, receiver: Receiver) -> None:
        self._receiver = receiver

    def collect(self) -> Iterator[GaugeMetricFamily]:
        rows, age = self._receiver.backlog(fresh=True)
        yield GaugeMetricFamily("tracing_spool_backlog_rows", "Reads waiting in the spool",
                                value=rows)
        yield GaugeMetricFamily("tracing_spool_oldest_pending_seconds",
                                "Age of the oldest spool file not yet loaded", value=age)
        yield GaugeMetricFamily("tracing_commit_queue_events", "Events waiting for the disk",
                                value=self._receiver.committer.queued)
        owner = read_owner_status(self._receiver.config.owner_status)
        yield GaugeMetricFamily("tracing_owner_up", "1 when the owner's status is fresh",
                                value=1.0 if owner.get("fresh") else 0.0)
        for name, text in OWNER_GAUGES.items():
            value = owner.get(name)
            if isinstance(value, int | float):
                yield GaugeMetricFamily(f"tracing_owner_{name}", text, value=float(value))


def write_owner_status(status: Mapping[str, Any], path: Path = OWNER_STATUS) -> None:
    """Replace the owner's status file (with its pid and the time)."""
    replace_file(path, json.dumps({**status, "pid": os.getpid(), "updated": time.time()}
                                  ).encode())


def read_owner_status(path: Path = OWNER_STATUS) -> dict[str, Any]:
    """The owner's last status with ``fresh`` (written less than 10 s ago); ``{"fresh":
    False}`` when there is none or it cannot be read."""
    try:
        status = dict(json.loads(path.read_text(encoding="utf-8")))
        age = time.time() - float(status["updated"])
    except (OSError, ValueError, KeyError, TypeError):
        return {"fresh": False}
    return {**status, "age_s": round(age, 1), "fresh": age < OWNER_FRESH_S}
