"""``python -m tracing alerts``: the alert service of one database, until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from tracing import settings
from tracing.alerts.service import run_alert_service
from tracing.alerts.webhook import Webhook
from tracing.search.reachability import Reachability
from tracing.store import Spool, Store

logger = logging.getLogger(__name__)


def reachability(store: Store) -> Reachability:
    """Camera-to-camera drive-time bounds for impossible travel (cached on disk)."""
    from tracing import cameras, network
    from tracing.search import load_reachability

    return load_reachability(network.load_network(), cameras.load_registry(store))


def webhook_of(url: str | None) -> Webhook | None:
    """The alert webhook: ``url``, else ``TRACING_ALERT_WEBHOOK_URL``; its token only from
    ``TRACING_ALERT_WEBHOOK_TOKEN`` (never the command line). None when neither is set."""
    url = url if url is not None else settings.WEBHOOK_URL
    return Webhook(url, token=settings.WEBHOOK_TOKEN) if url else None


def run_alerts(*, db: Path, webhook_url: str | None, travel: bool, spool: Path | None = None,
               poll_s: float = settings.ALERT_POLL_S) -> str:
    """Run the service (loading ``spool`` too when given; webhook: :func:`webhook_of`)."""
    webhook = webhook_of(webhook_url)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with Store(db) as store:
        reach = reachability(store) if travel else None
        logger.info("alert service on %s (impossible travel %s, webhook %s)", db,
                    "on" if reach else "off", webhook.safe_url if webhook else "none")
        report = run_alert_service(store, stop_event=stop, reach=reach, webhook=webhook,
                                   spool=None if spool is None else Spool(spool),
                                   poll_s=poll_s)
    return f"alert service stopped: {report}"
