"""``python -m tracing serve`` on 127.0.0.1: receiver, owner and app in one command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.live_support import event, free_port, live_store, post, until


def _get(url: str) -> requests.Response | None:
    try:
        return requests.get(url, timeout=2)
    except requests.ConnectionError:
        return None


def test_serve_receives_loads_and_serves_the_app(tmp_path: Path) -> None:
    live = live_store(tmp_path)
    key = live.keys["gate"]
    live.store.close()
    port, app_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tracing", "serve", "--db", str(live.store.path), "--spool",
         str(tmp_path / "spool"), "--port", str(port), "--app-port", str(app_port),
         "--no-travel"], env={**os.environ, "TRACING_VAR": str(tmp_path / "var")})
    base = f"http://127.0.0.1:{port}"
    try:
        until(lambda: (r := _get(f"{base}/health")) is not None and r.json()["owner"]["fresh"],
              90)
        until(lambda: (r := _get(f"http://127.0.0.1:{app_port}/_stcore/health")) is not None
              and r.ok, 60)
        assert post(base, key, event()).status_code == 200
        until(lambda: (r := _get(f"{base}/health")) is not None
              and r.json()["owner"].get("reads_loaded") == 1, 30)
        assert "tracing_owner_up 1.0" in requests.get(f"{base}/metrics", timeout=5).text
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
