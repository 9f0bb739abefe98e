"""Benchmark of the live centre (issue 16), on loopback only, bounded in time.

Run from the repository root: ``python bench/live.py [SECONDS]`` (default 60). Setup: a
fresh store with the shipped cameras and 100 devices (generic JSON), each bound to one
camera, everything under a temporary ``TRACING_VAR``.

1. **Throughput and durability**: ``python -m tracing receiver`` and ``python -m tracing
   owner`` run as deployed; a load process posts 1,000 events/s, one event per HTTP
   request (keep-alive connections), from the 100 devices for SECONDS. A third of the way
   in the receiver is killed with SIGKILL and restarted; two thirds in, the owner. A
   request that fails is re-sent with the same event id until acknowledged.
   ``ack_p99_ms``: request sent → 200 received, over the acknowledged requests;
   ``lost_acked``: acknowledged read ids missing from the store at the end;
   ``duplicates``: stored reads beyond one per (camera, time, plate).
2. **Alerts and lookups while reads stream in**: the owner runs in this process as in
   ``python -m tracing serve`` (where the app shares its process), the receiver beside
   it; 200 events/s stream in for 30 s. Every second a new plate matching a watch entry is
   posted at a camera inside a fence: ``alert_p99_ms``, post → alert in the alerts table.
   Meanwhile an investigator looks up plates already read, every 50 ms, through the app's
   code path (``reads_of_plates`` with an Actor: checked, and its audit entry committed
   before the read): ``lookup_p99_ms``; ``lookup_read_p99_ms``: the same plate's reads
   again without the audit entry (the query alone).
3. **Bad input**: each class of bad request is posted and must get a 4xx with a reason and
   leave the spool unchanged: ``bad_inputs_tried`` / ``bad_inputs_refused``.

Last line ``RESULT live …``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEVICES = 100
RATE = 1000
STREAM_RATE = 200
STREAM_S = 30
WATCH = "88A-9*"


def _plate(rng: random.Random) -> str:
    return f"{rng.randint(50, 79)}{rng.choice('ABCDEFGHK')}-{rng.randint(100, 999)}." \
           f"{rng.randint(10, 99)}"


# --- the load process -------------------------------------------------------------------------

async def _request(stream: tuple[asyncio.StreamReader, asyncio.StreamWriter], key: str,
                   body: bytes) -> tuple[int, bytes]:
    reader, writer = stream
    writer.write(b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                 + key.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n\r\n" + body)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def _device(port: int, key: str, camera: str, name: str, rate: float, seconds: float,
                  out: dict[str, Any], seed: int) -> None:
    rng = random.Random(seed)
    stream = None
    start = time.monotonic() + rng.random() / rate
    for n in range(int(seconds * rate)):
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        body = json.dumps({"plate": _plate(rng), "camera_id": camera, "event_id": f"{name}-{n}",
                           "ts": datetime.now(UTC).isoformat(), "confidence": 0.9}).encode()
        while True:
            try:
                if stream is None:
                    stream = await asyncio.open_connection("127.0.0.1", port)
                sent = time.perf_counter()
                status, answer = await _request(stream, key, body)
            except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
                stream = None
                out["errors"] += 1
                await asyncio.sleep(0.1)
                continue
            if status == 200:
                out["latency"].append(time.perf_counter() - sent)
                out["acked"].extend(json.loads(answer)["read_ids"])
                break
            out["refused"][str(status)] = out["refused"].get(str(status), 0) + 1
            await asyncio.sleep(0.2)


async def _load(port: int, devices: list[dict[str, str]], rate: float, seconds: float
                ) -> dict[str, Any]:
    out: dict[str, Any] = {"latency": [], "acked": [], "errors": 0, "refused": {}}
    per_device = rate / len(devices)
    await asyncio.gather(*(_device(port, d["key"], d["camera"], d["id"], per_device, seconds,
                                   out, i) for i, d in enumerate(devices)))
    return out


def load_main(args: list[str]) -> None:
    """``--load PORT DEVICES_JSON RATE SECONDS OUT``: the load process."""
    import uvloop

    port, devices, rate, seconds, out = (int(args[0]), json.loads(Path(args[1]).read_text()),
                                         float(args[2]), float(args[3]), Path(args[4]))
    result = uvloop.run(_load(port, devices, rate, seconds))
    out.write_text(json.dumps(result))


# --- processes ---------------------------------------------------------------------------------

@dataclass
class Bench:
    root: Path
    seconds: float

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "TRACING_VAR": str(self.root / "var"), "PYTHONUNBUFFERED": "1"}

    @property
    def db(self) -> Path:
        return self.root / "var" / "live.duckdb"

    def receiver(self, port: int) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-m", "tracing", "receiver", "--port",
                                    str(port), "--db", str(self.db)], env=self.env, cwd=ROOT)
        _wait_up(port)
        return process

    def owner(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "tracing", "owner", "--db", str(self.db),
                                 "--no-travel"], env=self.env, cwd=ROOT)

    def load(self, port: int, devices: list[dict[str, str]], rate: float,
             seconds: float) -> tuple[subprocess.Popen[bytes], Path]:
        spec, out = self.root / f"devices-{port}.json", self.root / f"load-{port}.json"
        spec.write_text(json.dumps(devices))
        return subprocess.Popen([sys.executable, __file__, "--load", str(port), str(spec),
                                 str(rate), str(seconds), str(out)], cwd=ROOT), out


def _wait_up(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"receiver on port {port} did not start")


def _port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- setup -----------------------------------------------------------------------------------

def setup(bench: Bench) -> list[dict[str, str]]:
    os.environ["TRACING_VAR"] = str(bench.root / "var")
    from tracing import cameras, settings
    from tracing.access.actor import Actor
    from tracing.alerts import add_watch, create_fence, point_fence
    from tracing.live import devices
    from tracing.store import Store

    registry = cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv")
    admin = Actor("bench", "admin", "benchmark of the live centre")
    with Store(bench.db) as store:
        store.replace_cameras(registry)
        ids = registry["id"].astype(str).tolist()
        made = [{"id": f"dev-{i:03d}", "camera": ids[i % len(ids)],
                 "key": devices.create_device(store, f"dev-{i:03d}", vendor="json",
                                              cameras=[ids[i % len(ids)]], who=admin)}
                for i in range(DEVICES)]
        made.append({"id": "hik-gate", "camera": ids[0], "key": devices.create_device(
            store, "hik-gate", vendor="hikvision", cameras=[ids[0]], who=admin)})
        gate = registry.iloc[0]
        create_fence(store, "gateway under test", point_fence(float(gate.lon), float(gate.lat),
                                                              150.0), who=admin, kind="gateway")
        add_watch(store, WATCH, match_kind="wildcard", reason="bench suspects", priority=1,
                  who=admin)
        devices.publish_keys(store)
    return made


# --- phase 1: throughput and kills --------------------------------------------------------------

def throughput(bench: Bench, made: list[dict[str, str]]) -> dict[str, float]:
    from tracing.store import Spool, Store

    port = _port()
    owner, receiver = bench.owner(), bench.receiver(port)
    load, out = bench.load(port, made[:DEVICES], RATE, bench.seconds)
    time.sleep(bench.seconds / 3)
    receiver.send_signal(signal.SIGKILL)
    receiver.wait()
    receiver = bench.receiver(port)
    time.sleep(bench.seconds / 3)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    owner = bench.owner()
    load.wait()
    spool = Spool(bench.root / "var" / "spool")
    deadline = time.monotonic() + 120
    while spool.pending() and time.monotonic() < deadline:
        time.sleep(0.2)
    for process in (receiver, owner):
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    result = json.loads(out.read_text())
    acked = set(result["acked"])
    with Store(bench.db) as store, store.reader() as con:
        stored = {str(r[0]) for r in con.execute(
            "SELECT read_id FROM reads WHERE source LIKE 'live:dev-%'").fetchall()}
        row = con.execute("SELECT count(*) - count(DISTINCT (camera_id, ts, plate_raw))"
                          " FROM reads").fetchone()
    latency = np.array(result["latency"]) * 1000
    print(f"throughput: {len(acked)} acked in {bench.seconds:.0f} s, errors {result['errors']}"
          f", refused {result['refused']}, ack p50 {np.percentile(latency, 50):.1f} ms",
          flush=True)
    return {"events_per_s": round(len(acked) / bench.seconds, 1),
            "ack_p50_ms": round(float(np.percentile(latency, 50)), 1),
            "ack_p99_ms": round(float(np.percentile(latency, 99)), 1),
            "lost_acked": len(acked - stored), "duplicates": int(row[0]) if row else -1,
            "retried_requests": int(result["errors"])}


# --- phase 2: alerts and lookups ----------------------------------------------------------------

def streaming(bench: Bench, made: list[dict[str, str]]) -> dict[str, float]:
    from tracing.access.actor import Actor
    from tracing.live.owner import run_owner
    from tracing.search import reads_of_plates
    from tracing.search.query import select_reads
    from tracing.store import Spool, Store

    port = _port()
    store = Store(bench.db)
    stop = threading.Event()
    owner = threading.Thread(target=run_owner, args=(store, Spool(bench.root / "var" / "spool")),
                             kwargs={"stop_event": stop}, daemon=True)
    owner.start()
    receiver = bench.receiver(port)
    load, _out = bench.load(port, made[1:21], STREAM_RATE, STREAM_S)
    plates = _known_plates(store)
    investigator = Actor("ivy", "investigator", "bench: case 2026-0001")
    lookups: list[float] = []
    reading: list[float] = []
    alerts: list[float] = []
    rng = random.Random(7)
    gate = made[0]
    deadline = time.monotonic() + STREAM_S - 2
    next_probe = time.monotonic() + 2
    n = 0
    while time.monotonic() < deadline:
        plate = rng.choice(plates)
        started = time.perf_counter()
        reads_of_plates(store, [plate], who=investigator)
        lookups.append(time.perf_counter() - started)
        again = time.perf_counter()
        select_reads(store, [plate], None)
        reading.append(time.perf_counter() - again)
        if time.monotonic() >= next_probe:
            alerts.append(_probe(store, port, gate, n))
            next_probe, n = time.monotonic() + 1.0, n + 1
        time.sleep(max(0.0, 0.05 - (time.perf_counter() - started)))
    load.wait()
    receiver.send_signal(signal.SIGTERM)
    receiver.wait(timeout=30)
    stop.set()
    owner.join(timeout=30)
    store.close()
    lookup_ms, alert_ms = np.array(lookups) * 1000, np.array(alerts) * 1000
    print(f"streaming: {len(lookups)} lookups p50 {np.percentile(lookup_ms, 50):.1f} ms; "
          f"{len(alerts)} alerts p50 {np.percentile(alert_ms, 50):.0f} ms", flush=True)
    return {"alert_p50_ms": round(float(np.percentile(alert_ms, 50)), 1),
            "alert_p99_ms": round(float(np.percentile(alert_ms, 99)), 1),
            "lookup_p50_ms": round(float(np.percentile(lookup_ms, 50)), 1),
            "lookup_p99_ms": round(float(np.percentile(lookup_ms, 99)), 1),
            "lookup_read_p99_ms": round(float(np.percentile(np.array(reading) * 1000, 99)), 1),
            "lookups": len(lookups), "alerts_timed": len(alerts)}


def _known_plates(store: Any) -> list[str]:
    """Plates already read (waiting for the first streamed reads when there are none)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with store.reader() as con:
            plates = [str(r[0]) for r in con.execute(
                "SELECT DISTINCT plate FROM reads USING SAMPLE 2000 ROWS").fetchall()]
        if plates:
            return plates
        time.sleep(0.2)
    raise RuntimeError("no read was loaded within 20 s")


def _probe(store: Any, port: int, gate: dict[str, str], n: int) -> float:
    """Post a watched plate at the gateway camera; seconds until its alert is stored."""
    plate = f"88A-9{n // 100 % 10}{n // 10 % 10}.{n % 10}{n % 7}"
    sent = time.perf_counter()
    answer = requests.post(f"http://127.0.0.1:{port}/v1/events", timeout=10,
                           headers={"Authorization": f"Bearer {gate['key']}"},
                           json={"plate": plate, "camera_id": gate["camera"],
                                 "event_id": f"probe-{n}", "ts": datetime.now(UTC).isoformat()})
    assert answer.status_code == 200, answer.text
    while time.perf_counter() - sent < 30:
        with store.reader() as con:
            row = con.execute("SELECT count(*) FROM alerts WHERE read_id = ?",
                              [f"json:{gate['camera']}:probe-{n}"]).fetchone()
        if row and row[0]:
            return time.perf_counter() - sent
        time.sleep(0.01)
    return float("inf")


# --- phase 3: bad input -----------------------------------------------------------------------

def bad_inputs(bench: Bench, made: list[dict[str, str]]) -> dict[str, int]:
    from tracing import settings
    from tracing.store import Spool

    port = _port()
    receiver = bench.receiver(port)
    spool = Spool(bench.root / "var" / "spool")
    device, other, hik = made[0], made[1], made[DEVICES]
    now = datetime.now(UTC)
    good = {"plate": "51F-123.45", "camera_id": device["camera"], "event_id": "bad-1",
            "ts": now.isoformat()}
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
            '"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><EventNotificationAlert>'
            '&lol2;</EventNotificationAlert>')
    cases: list[tuple[str, str, dict[str, str], bytes]] = [
        ("wrong credential", "/v1/events", {"Authorization": "Bearer tdk_nope"},
         json.dumps(good).encode()),
        ("another device's camera", "/v1/events", {},
         json.dumps({**good, "camera_id": other["camera"]}).encode()),
        ("malformed JSON", "/v1/events", {}, b'{"plate": "51F-123.45", "ts": '),
        ("malformed XML", "/v1/hikvision", {"Content-Type": "application/xml",
                                             "Authorization": f"Bearer {hik['key']}"},
         b"<EventNotificationAlert><ANPR>"),
        ("XML entity bomb", "/v1/hikvision", {"Content-Type": "application/xml",
                                              "Authorization": f"Bearer {hik['key']}"},
         bomb.encode()),
        ("oversized body", "/v1/events", {}, b" " * (settings.LIVE_MAX_BODY_BYTES + 10)),
        ("oversized image", "/v1/events", {}, json.dumps({**good, "plate_image": base64.b64encode(
            b"\xff\xd8\xff" + bytes(settings.LIVE_MAX_IMAGE_BYTES)).decode()}).encode()),
        ("non-image bytes", "/v1/events", {}, json.dumps({**good, "plate_image": base64.b64encode(
            b"MZ\x90\x00 not a picture").decode()}).encode()),
        ("naive timestamp", "/v1/events", {}, json.dumps({**good, "ts": "2026-12-01T08:00:00"}
                                                         ).encode()),
        ("absurd timestamp", "/v1/events", {}, json.dumps(
            {**good, "ts": "9999-12-31T20:00:00+00:00"}).encode()),
        ("future timestamp", "/v1/events", {}, json.dumps(
            {**good, "ts": (now + timedelta(days=3)).isoformat()}).encode()),
        ("unknown camera", "/v1/events", {}, json.dumps({**good, "camera_id": "no-such-cam"}
                                                        ).encode()),
    ]
    before = [p.name for p in spool.pending()]
    refused = 0
    for name, path, headers, body in cases:
        answer = requests.post(f"http://127.0.0.1:{port}{path}", data=body, timeout=30,
                               headers={"Authorization": f"Bearer {device['key']}",
                                        "Content-Type": "application/json", **headers})
        reason = answer.json().get("error", "") if answer.content else ""
        ok = 400 <= answer.status_code < 500 and bool(reason)
        refused += ok
        print(f"bad input {name}: {answer.status_code} {reason[:90]}", flush=True)
    unchanged = [p.name for p in spool.pending()] == before
    receiver.send_signal(signal.SIGTERM)
    receiver.wait(timeout=30)
    return {"bad_inputs_tried": len(cases), "bad_inputs_refused": refused if unchanged else 0}


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        bench = Bench(Path(tmp), seconds)
        made = setup(bench)
        result = {**throughput(bench, made), **streaming(bench, made),
                  **bad_inputs(bench, made)}
    print("RESULT live " + " ".join(f"{k}={v}" for k, v in result.items()))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        load_main(sys.argv[2:])
    else:
        main()
