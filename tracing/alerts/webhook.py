"""The outbound webhook: each alert POSTed as JSON to a configured URL, in a background
thread that never holds up the engine or ingest.

The thread looks for alerts not yet delivered (``alert_outbox`` keeps each one's attempts,
next try, last error, delivery or giving up), raised in the last ``max_age_s`` (so a webhook
configured later does not replay months of alerts), and is woken by the engine after each
commit. Failures (connection refused, timeouts, non-2xx answers) are logged and retried with
exponential backoff up to ``max_attempts``; the alert itself is stored either way. The
token goes in a header and is never logged; URLs are logged without credentials or query.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

import pandas as pd

from tracing import settings
from tracing.alerts.common import fetch, optional, records, to_datetime, utc_now
from tracing.alerts.records import list_alerts
from tracing.errors import StoreError, TracingError, WebhookError
from tracing.store import Store

logger = logging.getLogger(__name__)

BATCH: Final = 50
"""Alerts sent per round (then the outbox is updated in one transaction)."""
POLL_S: Final = 1.0
"""How often the sender looks for due alerts without being woken."""


@dataclass(frozen=True, slots=True)
class Webhook:
    """Where and how to send alerts; checked on creation (WebhookError)."""

    url: str
    token: str = field(default="", repr=False)
    header: str = settings.WEBHOOK_TOKEN_HEADER
    timeout_s: float = settings.WEBHOOK_TIMEOUT_S
    max_attempts: int = settings.WEBHOOK_MAX_ATTEMPTS
    backoff_s: tuple[float, float] = settings.WEBHOOK_BACKOFF_S
    max_age_s: float = settings.WEBHOOK_MAX_AGE_S

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise WebhookError(f"webhook URL {self.safe_url!r} must be http(s)://host/…")
        if any(c in self.token for c in "\r\n"):
            raise WebhookError("the webhook token holds a line break")
        if not 0 < self.timeout_s <= 60 or self.max_attempts < 1:
            raise WebhookError(f"webhook timeout {self.timeout_s!r} must lie in (0, 60] s and "
                               f"attempts {self.max_attempts!r} be at least 1")

    @property
    def safe_url(self) -> str:
        """The URL without user, password, query or fragment (for logs)."""
        parts = urlsplit(self.url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"

    def delay_s(self, attempts: int) -> float:
        """Wait before the next try after ``attempts`` failures."""
        first, largest = self.backoff_s
        return float(min(first * 2 ** max(attempts - 1, 0), largest))

    def post(self, payload: dict[str, Any]) -> str | None:
        """Send one alert; None on success, else what went wrong (no secret in it)."""
        body = json.dumps(payload, ensure_ascii=False, default=str).encode()
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        if self.token:
            request.add_header(self.header, f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                status = int(answer.status)
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return f"{type(exc).__name__}: {reason}"
        return None if 200 <= status < 300 else f"HTTP {status}"


def alert_payload(row: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of one alert (a row of :func:`tracing.alerts.list_alerts`)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        value = optional(value)
        if isinstance(value, pd.Timestamp | datetime):
            stamp = to_datetime(value)
            value = None if stamp is None else stamp.isoformat()
        elif hasattr(value, "item"):
            value = value.item()
        out[key] = value
    return out


class WebhookSender:
    """Background thread delivering alerts; :meth:`wake` after new alerts, :meth:`stop`."""

    def __init__(self, store: Store, webhook: Webhook) -> None:
        self.store = store
        self.webhook = webhook
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-webhook", daemon=True)

    def start(self) -> WebhookSender:
        """Start delivering (the token is never logged, the URL without secrets)."""
        logger.info("alert webhook: %s%s", self.webhook.safe_url,
                    " with a token" if self.webhook.token else "")
        self._thread.start()
        return self

    def wake(self) -> None:
        """New alerts are stored: look now."""
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the current round and stop."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.deliver_due()
            except (StoreError, TracingError) as exc:
                logger.warning("alert webhook: store unavailable (%s); retrying", exc)
                sent = 0
            except Exception:  # the sender must not die; the alerts stay stored
                logger.exception("alert webhook: unexpected failure; retrying")
                sent = 0
            if sent < BATCH:
                self._wake.wait(POLL_S)
                self._wake.clear()

    def deliver_due(self) -> int:
        """Send the alerts that are due now (one round); how many were tried."""
        due = self._due()
        if due.empty:
            return 0
        alerts = list_alerts(self.store, ids=[int(i) for i in due["alert_id"]], limit=BATCH)
        rows = {int(r["id"]): r for r in records(alerts)}
        outcome = []
        for item in records(due):
            alert_id, attempts = int(item["alert_id"]), int(item["attempts"]) + 1
            error = (self.webhook.post(alert_payload(rows[alert_id])) if alert_id in rows
                     else "alert no longer stored")
            outcome.append((alert_id, attempts, error))
            self._log(alert_id, attempts, error)
        self._record(outcome)
        return len(outcome)

    def _due(self) -> pd.DataFrame:
        horizon = utc_now() - timedelta(seconds=self.webhook.max_age_s)
        with self.store.reader() as con:
            return fetch(con, f"""
                SELECT a.id AS alert_id, coalesce(o.attempts, 0) AS attempts
                FROM alerts a LEFT JOIN alert_outbox o ON o.alert_id = a.id
                WHERE a.raised_at >= ? AND o.delivered_at IS NULL AND o.failed_at IS NULL
                  AND (o.next_at IS NULL OR o.next_at <= now())
                ORDER BY a.id LIMIT {BATCH}""", [horizon])  # noqa: S608 - constant limit

    def _log(self, alert_id: int, attempts: int, error: str | None) -> None:
        if error is None:
            logger.debug("alert webhook: alert %s delivered", alert_id)
        elif attempts >= self.webhook.max_attempts:
            logger.error("alert webhook %s: alert %s not delivered after %s attempts (%s); "
                         "giving up", self.webhook.safe_url, alert_id, attempts, error)
        else:
            logger.warning("alert webhook %s: alert %s failed (attempt %s of %s: %s); retry in "
                           "%.0f s", self.webhook.safe_url, alert_id, attempts,
                           self.webhook.max_attempts, error, self.webhook.delay_s(attempts))

    def _record(self, outcome: list[tuple[int, int, str | None]]) -> None:
        now = utc_now()
        rows = []
        for alert_id, attempts, error in outcome:
            done = error is None
            failed = not done and attempts >= self.webhook.max_attempts
            retry = now + timedelta(seconds=self.webhook.delay_s(attempts))
            rows.append([alert_id, attempts, retry, error, now if done else None,
                         now if failed else None])
        with self.store.writer() as con:
            con.execute("DELETE FROM alert_outbox WHERE list_contains(?, alert_id)",
                        [[r[0] for r in rows]])
            con.executemany("INSERT INTO alert_outbox (alert_id, attempts, next_at, last_error, "
                            "delivered_at, failed_at) VALUES (?, ?, ?, ?, ?, ?)", rows)
