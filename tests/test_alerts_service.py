"""The alert service: live alerts through the service loop, the webhook (retries against a
local HTTP server, failing URLs, bad configuration), and restart safety with a real
``kill -9`` of the ``python -m tracing alerts`` process."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.alerts_support import new_store, reads
from tracing import settings
from tracing.alerts import add_watch, list_alerts
from tracing.alerts.engine import AlertEngine
from tracing.alerts.service import run_alert_service
from tracing.alerts.webhook import Webhook, WebhookSender
from tracing.errors import WebhookError
from tracing.store import Spool, Store

PLATE = "51A-123.45"


class _Receiver(BaseHTTPRequestHandler):
    """Answers 500 to the first ``failures`` POSTs, then 204; keeps what it got."""

    failures = 0
    received: ClassVar[list[tuple[dict[str, object], str | None]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((body, self.headers.get("Authorization")))
        failing = len(type(self).received) <= type(self).failures
        self.send_response(500 if failing else 204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"failures": 2, "received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook?key=q", handler
    finally:
        server.shutdown()
        server.server_close()


def _until(check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _store_with_alert(path: Path) -> Store:
    store = new_store(path)
    add_watch(store, PLATE, match_kind="exact", reason="stolen", priority=1, who="an")
    engine = AlertEngine(store)
    engine.step()
    store.ingest(reads((PLATE, "A", 0)))
    assert len(engine.step().alerts) == 1
    return store


def _outbox(store: Store) -> tuple[int, bool, bool, str | None]:
    with store.reader() as con:
        row = con.execute("SELECT attempts, delivered_at IS NOT NULL, failed_at IS NOT NULL, "
                          "last_error FROM alert_outbox").fetchone()
    assert row is not None
    return int(row[0]), bool(row[1]), bool(row[2]), row[3]


def test_webhook_retries_until_delivered(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                         receiver: tuple[str, type[_Receiver]]) -> None:
    url, handler = receiver
    store = _store_with_alert(tmp_path / "s.duckdb")
    hook = Webhook(url, token="s3cret-token", backoff_s=(0.05, 0.1))
    sender = WebhookSender(store, hook)
    with caplog.at_level(logging.WARNING, logger="tracing.alerts.webhook"):
        for _ in range(3):
            time.sleep(0.15)
            sender.deliver_due()
    assert _outbox(store) == (3, True, False, None)
    assert len(handler.received) == 3
    body, auth = handler.received[-1]
    assert auth == "Bearer s3cret-token"
    assert body["plate"] == PLATE and body["kind"] == "watchlist" and body["reason"] == "stolen"
    assert str(body["ts"]).startswith("2026-03-02T01:00:00")
    assert "HTTP 500" in caplog.text and "s3cret" not in caplog.text and "key=q" not in caplog.text
    sender.deliver_due()
    assert len(handler.received) == 3  # delivered alerts are not sent again


def test_failing_url_gives_up_and_keeps_the_alert(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    store = _store_with_alert(tmp_path / "s.duckdb")
    hook = Webhook("http://127.0.0.1:9/unreachable", max_attempts=2, backoff_s=(0.0, 0.0),
                   timeout_s=2.0)
    sender = WebhookSender(store, hook)
    with caplog.at_level(logging.WARNING, logger="tracing.alerts.webhook"):
        sender.deliver_due()
        sender.deliver_due()
    attempts, delivered, failed, error = _outbox(store)
    assert (attempts, delivered, failed) == (2, False, True) and error
    assert "giving up" in caplog.text
    assert sender.deliver_due() == 0
    assert len(list_alerts(store)) == 1


@pytest.mark.parametrize(("url", "options", "message"), [
    ("ftp://example.org/x", {}, "must be http"),
    ("not a url", {}, "must be http"),
    ("http://user:pw@127.0.0.1/x", {"timeout_s": 0.0}, "timeout"),
    ("http://127.0.0.1/x", {"token": "a\nb"}, "line break"),
])
def test_bad_webhook_settings(url: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(WebhookError, match=message) as caught:
        Webhook(url, **options)  # type: ignore[arg-type]
    assert "pw" not in str(caught.value)


def test_service_raises_alerts_live_and_sends_them(tmp_path: Path,
                                                   receiver: tuple[str, type[_Receiver]]
                                                   ) -> None:
    url, handler = receiver
    handler.failures = 0
    store = new_store(tmp_path / "s.duckdb")
    add_watch(store, PLATE, match_kind="exact", reason="stolen", priority=1, who="an")
    stop = threading.Event()
    thread = threading.Thread(target=run_alert_service, args=(store,), kwargs={
        "stop_event": stop, "webhook": Webhook(url), "poll_s": 0.01}, daemon=True)
    thread.start()
    try:
        _until(lambda: _checkpoint_exists(store))
        started = time.monotonic()
        store.ingest(reads((PLATE, "A", 0), ("30A-555.55", "A", 1)))
        _until(lambda: len(list_alerts(store)) == 1)
        assert time.monotonic() - started < 5.0
        _until(lambda: len(handler.received) == 1)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def _checkpoint_exists(store: Store) -> bool:
    with store.reader() as con:
        row = con.execute("SELECT count(*) FROM alert_checkpoint").fetchone()
    return bool(row and row[0])


def _service(db: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "TRACING_ALERT_WEBHOOK_URL": ""}
    return subprocess.Popen(
        [sys.executable, "-m", "tracing", "alerts", "--db", str(db), "--no-travel",
         "--poll-s", "0.01"], cwd=settings.REPO_ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_kill_9_and_restart_skip_no_read_and_double_no_alert(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    store = new_store(db)
    add_watch(store, "51A-1*", match_kind="wildcard", reason="fleet", priority=2, who="an")
    batches = [reads(*[(f"51A-{100 + b:03d}.{i:02d}", "A", b + i / 100) for i in range(10)],
                     prefix=f"b{b}-") for b in range(16)]
    service = _service(db)
    try:
        _until(lambda: _checkpoint_exists(store), 60)
        for number, batch in enumerate(batches):
            store.ingest(batch)
            if number == 6:  # mid-stream, while the engine works
                service.send_signal(signal.SIGKILL)
                service.communicate(timeout=10)
                assert service.returncode == -signal.SIGKILL
                service = _service(db)
        _until(lambda: len(list_alerts(store, limit=1000)) >= 160, 60)
        time.sleep(0.5)  # anything still to come would show now
    finally:
        service.send_signal(signal.SIGTERM)
        out, err = service.communicate(timeout=30)
    assert service.returncode == 0, err
    assert "alert service stopped" in out
    with store.reader() as con:
        doubles = con.execute("SELECT read_id FROM alerts GROUP BY read_id "
                              "HAVING count(*) > 1").fetchall()
        seen = con.execute("SELECT reads_seen FROM alert_checkpoint").fetchone()
        alerted = {r[0] for r in con.execute("SELECT read_id FROM alerts").fetchall()}
        stored = {r[0] for r in con.execute("SELECT read_id FROM reads").fetchall()}
    assert doubles == [] and alerted == stored and len(stored) == 160
    assert seen == (160,)


def test_service_that_loads_the_spool_itself(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    add_watch(store, PLATE, match_kind="exact", reason="stolen", priority=1, who="an")
    spool = Spool(tmp_path / "spool")
    stop = threading.Event()
    thread = threading.Thread(target=run_alert_service, args=(store,), kwargs={
        "stop_event": stop, "spool": spool, "poll_s": 0.01}, daemon=True)
    thread.start()
    try:
        _until(lambda: _checkpoint_exists(store))
        spool.write(reads((PLATE, "C", 0), ("30A-555.55", "C", 1)))
        _until(lambda: len(list_alerts(store)) == 1)
        assert spool.pending() == [] and store.count_reads() == 2
    finally:
        stop.set()
        thread.join(10)
