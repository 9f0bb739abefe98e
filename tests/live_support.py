"""Shared pieces of the live-feed tests: a store with devices, a receiver on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import requests
import uvicorn

from tests.alerts_support import new_store
from tracing.access.actor import Actor
from tracing.live import devices
from tracing.live.receiver import ReceiverConfig, create_app
from tracing.store import Store

ADMIN = Actor("ada", "admin", "connect the gateway cameras")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def jpeg(width: int = 64, height: int = 24) -> bytes:
    ok, data = cv2.imencode(".jpg", np.full((height, width, 3), 200, np.uint8))
    assert ok
    return bytes(data.tobytes())


@dataclass
class Live:
    """A store with cameras A–D, device keys, and where a receiver writes."""

    store: Store
    root: Path
    keys: dict[str, str]

    @property
    def config(self) -> ReceiverConfig:
        return ReceiverConfig(spool_dir=self.root / "spool", crops_dir=self.root / "crops",
                              keys_file=self.root / "devices.json",
                              owner_status=self.root / "owner.json")

    def publish(self) -> None:
        devices.publish_keys(self.store, self.config.keys_file)


def live_store(root: Path) -> Live:
    """Devices: ``gate`` (json, cameras A and B), ``hik`` (hikvision, channel 1 → C),
    ``dahua`` (dahua, camera D, local time in Asia/Ho_Chi_Minh)."""
    store = new_store(root / "live.duckdb")
    keys = {
        "gate": devices.create_device(store, "gate", vendor="json", cameras=["A", "B"],
                                      who=ADMIN),
        "hik": devices.create_device(store, "hik", vendor="hikvision", cameras=[],
                                     channels={"1": "C"}, who=ADMIN),
        "dahua": devices.create_device(store, "dahua", vendor="dahua", cameras=["D"],
                                       time_zone="Asia/Ho_Chi_Minh", who=ADMIN),
    }
    live = Live(store, root, keys)
    live.publish()
    return live


@contextmanager
def running(config: ReceiverConfig) -> Iterator[str]:
    """A receiver in a thread of this process; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    until(lambda: _up(url))
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=1).status_code in {200, 503}
    except requests.ConnectionError:
        return False


def until(check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def event(**fields: Any) -> dict[str, Any]:
    """A generic JSON event (camera A, plate 51F-123.45) with ``fields`` changed."""
    return {"plate": "51F-123.45", "ts": "2026-03-02T08:00:00+07:00", "camera_id": "A",
            "event_id": "e1", "confidence": 0.93, **fields}


def post(url: str, key: str, body: Any, path: str = "/v1/events",
         **kwargs: Any) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
               **kwargs.pop("headers", {})}
    return requests.post(url + path, data=data, headers=headers, timeout=10, **kwargs)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
