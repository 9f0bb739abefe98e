"""The receiver on 127.0.0.1: device keys, acknowledged means durable, idempotent resends,
refusals with reasons, backpressure, health and metrics, and a kill -9 with restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.live_support import (
    ADMIN,
    Live,
    b64,
    event,
    free_port,
    jpeg,
    live_store,
    post,
    running,
    until,
)
from tracing import settings
from tracing.access import audit
from tracing.access.actor import Actor
from tracing.errors import AccessError, DeviceError
from tracing.live import devices
from tracing.store import Spool, Store


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    state = live_store(tmp_path)
    yield state
    state.store.close()


@pytest.fixture
def url(live: Live) -> Iterator[str]:
    with running(live.config) as base:
        yield base


def _load(live: Live) -> list[tuple[object, ...]]:
    live.store.load_spool(Spool(live.config.spool_dir))
    with live.store.reader() as con:
        return con.execute("SELECT read_id, camera_id, plate, crop_ref, source FROM reads"
                           " ORDER BY read_id").fetchall()


def test_an_acknowledged_event_is_on_disk_and_a_resend_is_stored_once(live: Live,
                                                                       url: str) -> None:
    body = event(plate_image=b64(jpeg()), scene_image=b64(jpeg(320, 240)))
    first = post(url, live.keys["gate"], body)
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 1, "read_ids": ["json:A:e1"]}
    assert Spool(live.config.spool_dir).backlog()[0] == 1  # on disk before the answer
    assert post(url, live.keys["gate"], body).status_code == 200
    rows = _load(live)
    assert len(rows) == 1
    read_id, camera, plate, crop, source = rows[0]
    assert (read_id, camera, plate, source) == ("json:A:e1", "A", "51F-123.45", "live:gate")
    assert str(crop).startswith("live/A/2026-03-02/") and str(crop).endswith("-plate.jpg")
    assert (live.config.crops_dir / str(crop)).read_bytes() == jpeg()
    assert (live.config.crops_dir / str(crop).replace("-plate", "-scene")).is_file()


def test_a_batch_and_basic_auth(live: Live, url: str) -> None:
    batch = {"events": [event(event_id=f"b{i}", camera_id="AB"[i % 2]) for i in range(5)]}
    auth = requests.auth.HTTPBasicAuth("gate", live.keys["gate"])
    answer = requests.post(f"{url}/v1/events", json=batch, auth=auth, timeout=10)
    assert answer.status_code == 200 and answer.json()["accepted"] == 5
    assert len(_load(live)) == 5
    wrong_name = requests.auth.HTTPBasicAuth("hik", live.keys["gate"])
    assert requests.post(f"{url}/v1/events", json=batch, auth=wrong_name,
                         timeout=10).status_code == 401


@pytest.mark.parametrize(("body", "headers", "status", "reason"), [
    (event(), {"Authorization": "Bearer tdk_wrong"}, 401, "unknown, rotated or revoked"),
    (event(), {"Authorization": ""}, 401, "no device key"),
    (event(camera_id="C"), {}, 403, "not bound to device 'gate'"),
    (b'{"plate": "51F-123.45", "ts": ', {}, 400, "invalid event JSON"),
    (event(ts="2026-03-02T08:00:00"), {}, 422, "without a UTC offset"),
    (event(ts="2400-01-01T00:00:00+00:00"), {}, 422, "ahead of the clock"),
    (event(ts="2026-03-02T08:00:00+15:00"), {}, 422, "UTC offset beyond"),
    (event(plate_image=b64(b"not a picture")), {}, 400, "not a JPEG or PNG"),
    (event(plate_image="@@@"), {}, 400, "not valid base64"),
    (event(confidence=7), {}, 400, "confidence"),
    ({"events": [event(), event(camera_id="C")]}, {}, 403, "event 2 of 2"),
], ids=["wrong-key", "no-key", "other-camera", "malformed", "naive", "absurd", "offset",
        "non-image", "base64", "confidence", "batch-all-or-nothing"])
def test_bad_input_is_refused_with_a_reason_and_nothing_is_kept(
        live: Live, url: str, body: object, headers: dict[str, str], status: int,
        reason: str) -> None:
    answer = post(url, live.keys["gate"], body, headers=headers)
    assert answer.status_code == status, answer.text
    assert reason in answer.json()["error"]
    assert _load(live) == []


def test_size_limits_and_the_vendor_endpoint(live: Live, url: str) -> None:
    huge = b"{" + b" " * (settings.LIVE_MAX_BODY_BYTES + 1) + b"}"
    assert post(url, live.keys["gate"], huge).status_code == 413
    picture = b64(b"\xff\xd8\xff" + bytes(settings.LIVE_MAX_IMAGE_BYTES + 1))
    assert post(url, live.keys["gate"], event(plate_image=picture)).status_code == 400
    wrong = post(url, live.keys["gate"], event(), path="/v1/hikvision")
    assert wrong.status_code == 400 and "/v1/events" in wrong.json()["error"]


def test_naive_local_time_uses_the_devices_zone(live: Live, url: str) -> None:
    key = devices.create_device(live.store, "local", vendor="json", cameras=["B"],
                                time_zone="Asia/Ho_Chi_Minh", who=ADMIN)
    live.publish()
    body = event(camera_id="B", ts="2026-03-02T08:00:00")
    until(lambda: post(url, key, body).status_code == 200, 5)
    _load(live)
    with live.store.reader() as con:
        row = con.execute("SELECT epoch(ts) FROM reads").fetchone()
    assert row is not None and row[0] == datetime(2026, 3, 2, 1, 0, tzinfo=UTC).timestamp()


def test_revoked_and_rotated_keys_stop_working(live: Live, url: str) -> None:
    assert post(url, live.keys["gate"], event()).status_code == 200
    new = devices.rotate_key(live.store, "gate", who=ADMIN)
    devices.publish_keys(live.store, live.config.keys_file)
    until(lambda: post(url, live.keys["gate"], event()).status_code == 401, 5)
    assert post(url, new, event(event_id="e2")).status_code == 200
    devices.revoke_device(live.store, "gate", who=ADMIN)
    devices.publish_keys(live.store, live.config.keys_file)
    until(lambda: post(url, new, event(event_id="e3")).status_code == 401, 5)
    actions = audit.entries(live.store)["action"].tolist()
    assert {"device.create", "device.rotate", "device.revoke"} <= set(actions)


def test_backlog_over_the_limit_answers_503_with_retry_after(live: Live) -> None:
    from dataclasses import replace

    config = replace(live.config, backlog_max_rows=0)
    with running(config) as base:
        assert post(base, live.keys["gate"], event()).status_code == 200
        time.sleep(0.6)  # the backlog is measured every 0.5 s
        answer = post(base, live.keys["gate"], event(event_id="e2"))
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == str(settings.LIVE_RETRY_AFTER_S)
        assert requests.get(f"{base}/health", timeout=5).status_code == 503
    assert [r[0] for r in _load(live)] == ["json:A:e1"]


def test_health_metrics_and_openapi(live: Live, url: str) -> None:
    post(url, live.keys["gate"], event())
    post(url, "tdk_wrong", event())
    health = requests.get(f"{url}/health", timeout=5).json()
    assert health["spool_backlog_rows"] == 1 and health["devices"] == 3
    assert health["status"] == "degraded"  # no owner is running
    text = requests.get(f"{url}/metrics", timeout=5).text
    assert 'tracing_events_received_total{device="gate"} 1.0' in text
    assert 'tracing_requests_refused_total{device="unknown",status="401"} 1.0' in text
    assert "tracing_spool_backlog_rows 1.0" in text
    schema = requests.get(f"{url}/openapi.json", timeout=5).json()
    assert {"/v1/events", "/v1/hikvision", "/v1/dahua"} <= set(schema["paths"])
    assert "JsonEvent" in schema["components"]["schemas"]


def test_device_rules_are_the_librarys(live: Live) -> None:
    analyst = Actor("ann", "analyst", "try to add a camera")
    with pytest.raises(AccessError):
        devices.create_device(live.store, "x", vendor="json", cameras=["A"], who=analyst)
    assert "denied" in audit.entries(live.store)["action"].tolist()
    for bad, message in ((dict(vendor="axis"), "vendor"), (dict(cameras=["Z"]), "unknown camera"),
                         (dict(cameras=[]), "at least one camera"),
                         (dict(time_zone="Mars/Base"), "time zone")):
        options: dict[str, object] = {"vendor": "json", "cameras": ["A"], **bad}
        with pytest.raises(DeviceError, match=message):
            devices.create_device(live.store, "y", who=ADMIN, **options)  # type: ignore[arg-type]
    with pytest.raises(DeviceError, match="exists"):
        devices.create_device(live.store, "gate", vendor="json", cameras=["A"], who=ADMIN)
    with pytest.raises(DeviceError, match="letters"):
        devices.create_device(live.store, "../x", vendor="json", cameras=["A"], who=ADMIN)
    listed = devices.device_table(live.store)
    assert [d["id"] for d in listed] == ["dahua", "gate", "hik"]
    assert all("key_hash" not in d for d in listed)


def test_kill_9_of_the_receiver_loses_no_acknowledged_event(live: Live) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "tracing", "receiver", "--port", str(port), "--spool",
            str(live.config.spool_dir), "--crops", str(live.config.crops_dir), "--keys",
            str(live.config.keys_file)]
    base = f"http://127.0.0.1:{port}"
    acked: list[str] = []
    for round_ in range(2):
        process = subprocess.Popen(argv, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            until(lambda: _answers(base))
            for i in range(20):
                answer = post(base, live.keys["gate"], event(event_id=f"k{round_}-{i}"))
                if answer.status_code == 200:
                    acked.extend(answer.json()["read_ids"])
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
    stored = {str(r[0]) for r in _load(live)}
    assert len(acked) == 40 and set(acked) <= stored


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/health", timeout=1).ok
    except requests.ConnectionError:
        return False


def test_hikvision_and_dahua_posts_through_the_receiver(live: Live, url: str) -> None:
    from tests.test_live_vendors import anpr_post, fixture

    body = anpr_post(fixture("hikvision_anpr.xml"), ("licensePlatePicture.jpg", jpeg()),
                     ("detectionPicture.jpg", jpeg(320, 240)))
    answer = requests.post(f"{url}/v1/hikvision", data=body, timeout=10, headers={
        "Authorization": f"Bearer {live.keys['hik']}",
        "Content-Type": "multipart/form-data; boundary=boundary"})
    assert answer.status_code == 200, answer.text
    auth = requests.auth.HTTPBasicAuth("dahua", live.keys["dahua"])
    answer = requests.post(f"{url}/NotificationInfo/TollgateInfo", auth=auth, timeout=10,
                           data=fixture("dahua_tollgate.json"),
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 200 and answer.json()["Result"] is True, answer.text
    rows = {r[1]: r for r in _load(live)}
    assert set(rows) == {"C", "D"} and rows["C"][4] == "live:hik"
    assert str(rows["C"][3]).endswith("-plate.jpg")
    with live.store.reader() as con:
        when = con.execute("SELECT epoch(ts) FROM reads WHERE camera_id = 'D'").fetchone()
    local = datetime(2024, 5, 10, 14, 3, 22, 417000, tzinfo=UTC) - timedelta(hours=7)
    assert when is not None and when[0] == pytest.approx(local.timestamp())


def test_the_owner_loads_raises_the_alert_and_publishes(live: Live, url: str) -> None:
    import threading

    from tests.alerts_support import box
    from tracing.alerts import add_watch, create_fence, list_alerts
    from tracing.live.metrics import read_owner_status
    from tracing.live.owner import run_owner

    create_fence(live.store, "west gate", box(106.760), who=ADMIN, kind="gateway")
    add_watch(live.store, "51F-123.45", match_kind="exact", reason="stolen car", priority=1,
              who=ADMIN)
    live.config.keys_file.unlink()
    stop = threading.Event()
    owner = threading.Thread(target=run_owner, args=(live.store, Spool(live.config.spool_dir)),
                             kwargs={"stop_event": stop, "status_file": live.config.owner_status,
                                     "keys_file": live.config.keys_file})
    owner.start()
    try:
        until(lambda: live.config.keys_file.is_file())  # the owner publishes the keys
        until(lambda: post(url, live.keys["gate"], event()).status_code == 200)
        until(lambda: len(list_alerts(live.store)) == 1)
        until(lambda: read_owner_status(live.config.owner_status).get("reads_loaded") == 1)
        assert requests.get(f"{url}/health", timeout=5).json()["status"] == "ok"
    finally:
        stop.set()
        owner.join(timeout=20)


def test_admin_page_adds_rotates_and_revokes_a_device(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.alerts_support import CAMERAS
    from tests.apptest import open_page
    from tracing import cameras

    db = tmp_path / "page.duckdb"
    with Store(db) as store:
        store.replace_cameras(cameras.validate_registry(CAMERAS, source="test"))
    at = open_page("app_pages/admin.py", db, monkeypatch)
    at.text_input(key="admin_reason").input("connect gate B").run()
    next(t for t in at.text_input if t.label == "Device id").input("gate-b")
    next(m for m in at.multiselect if m.label.startswith("Cameras")).set_value(["B"])
    next(b for b in at.button if b.label == "Add device").click().run()
    assert not at.exception, at.exception
    key = next(s.value for s in at.success if "gate-b" in s.value).split("`")[1]
    with Store(db) as store:
        device = devices.load_keys(devices.keys_file(db)).device(key)
        assert device is not None and device.cameras == frozenset({"B"})
        assert list(audit.entries(store, action="device.create")["reason"]) == ["connect gate B"]
    next(r for r in at.radio if r.label == "Device change").set_value("Revoke")
    next(b for b in at.button if b.label == "Apply to device").click().run()
    assert devices.load_keys(devices.keys_file(db)).device(key) is None
