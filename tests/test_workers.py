"""Stream workers and their heartbeats: files written and read back (corrupt ones
tolerated, passwords masked), the live/failing/dead judgement, a refused stream backing off,
an MJPEG stream on 127.0.0.1 read frame by frame into the spool, and the CLI."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from recognition.__main__ import main
from recognition.consensus import Observation, Tracker
from recognition.decode import Reading
from recognition.pipeline import Detection, Frame
from recognition.synth import write_video
from recognition.workers import (
    Backoff,
    FrameRecogniser,
    StreamCamera,
    WorkerConfig,
    run_group,
    run_workers,
)
from tests.live_streams import closed_port, jpegs, mjpeg_camera
from tracing import cameras, settings
from tracing.live.heartbeats import (
    Heartbeat,
    judge,
    mask_url,
    read_heartbeats,
    stream_table,
    write_heartbeat,
)
from tracing.plates import parse_plate
from tracing.store import Spool

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PLATE = parse_plate("51A-123.45")


def beat(**changes: object) -> Heartbeat:
    base = Heartbeat("cam-1", "rtsp://admin:***@10.0.0.5/live", "streaming",
                     NOW - timedelta(minutes=5), NOW - timedelta(seconds=3),
                     last_frame_at=NOW - timedelta(seconds=1), frames=1200, frames_per_s=4.9)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def fast(tmp_path: Path, *, timeout_s: float = 3.0) -> WorkerConfig:
    """Short timeouts, backoff from 0.1 s to 0.4 s, a heartbeat every 0.2 s."""
    return WorkerConfig(tmp_path / "spool", tmp_path / "crops", tmp_path / "beats",
                        sample_fps=10.0, timeout_s=timeout_s, heartbeat_s=0.2,
                        backoff_first_s=0.1, backoff_max_s=0.4, healthy_s=30.0)


class PlateEveryTenFrames:
    """Stands in for the recogniser: one plate in frames 0–2 of every ten, then none (so
    its track finishes); records the frames it was given."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []

    def step(self, frame: Frame, tracker: Tracker) -> list[Detection]:
        tracker.advance(frame.index)
        self.frames.append(frame)
        if frame.index % 10 < 3:
            reading = Reading(PLATE, (0.95,) * len(PLATE.compact))
            tracker.add(Observation(frame.index, frame.ts, (0, 0, 120, 40), reading, "white",
                                    np.ascontiguousarray(frame.image[:40, :120])))
        return []


@contextlib.contextmanager
def running(streams: list[StreamCamera], config: WorkerConfig,
            recogniser: FrameRecogniser) -> Iterator[threading.Event]:
    """run_group in a thread until the block ends; it must stop within 5 s."""
    stop = threading.Event()
    thread = threading.Thread(target=run_group, args=(streams, config, stop),
                              kwargs={"recogniser": recogniser}, daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(timeout=5)
        assert not thread.is_alive(), "the worker did not stop"


def wait_for(check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def beat_of(config: WorkerConfig, camera_id: str) -> Heartbeat | None:
    return next((b for b in read_heartbeats(config.heartbeat_dir).beats
                 if b.camera_id == camera_id), None)


def spooled(spool_dir: Path) -> pd.DataFrame:
    tables = [pa.ipc.open_file(p).read_all() for p in Spool(spool_dir).pending()]
    return pa.concat_tables(tables).to_pandas() if tables else pd.DataFrame()


# --- heartbeat files ------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "shown"), [
    ("rtsp://admin:s3cr%40t@10.0.0.5:554/Streaming/Channels/101",
     "rtsp://admin:***@10.0.0.5:554/Streaming/Channels/101"),
    ("http://10.0.0.6/video.cgi?user=admin&password=hunter2&fps=5",
     "http://10.0.0.6/video.cgi?user=admin&password=***&fps=5"),
    ("rtsps://10.0.0.7/live", "rtsps://10.0.0.7/live"),
    ("http://[::1", "***"),
])
def test_stream_urls_are_shown_without_passwords(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_heartbeats_round_trip_and_bad_files_are_reported(tmp_path: Path) -> None:
    good = beat(last_read_at=NOW - timedelta(minutes=1), reads=3, last_error="stream ended")
    assert write_heartbeat(good, tmp_path)
    assert write_heartbeat(beat(camera_id="cam/2 ü"), tmp_path)  # an id unsafe as a file name
    (tmp_path / "half.json").write_text('{"format": 1, "camera_id": "x"')
    (tmp_path / "naive.json").write_text(good.to_json().replace("+00:00", ""))
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "huge.json").write_text(" " * 70_000)
    (tmp_path / ".cam.json.7.1.tmp").write_text("{")  # a write in progress: not looked at
    scan = read_heartbeats(tmp_path)
    assert scan.beats == [good, beat(camera_id="cam/2 ü")]
    assert sorted(p.split(":")[0] for p in scan.problems) == [
        "half.json", "huge.json", "list.json", "naive.json"]
    assert "no time zone" in next(p for p in scan.problems if p.startswith("naive"))
    assert read_heartbeats(tmp_path / "absent") == read_heartbeats(tmp_path / "absent2")


def test_judgement_of_a_stream() -> None:
    assert judge(beat(), NOW).verdict == "live"
    failing = judge(beat(state="reconnecting", last_error="stream ended"), NOW)
    assert failing.verdict == "failing" and "stream ended" in failing.reason
    assert judge(beat(state="connecting", last_frame_at=None,
                      started_at=NOW - timedelta(seconds=20)), NOW).verdict == "failing"
    assert judge(beat(last_frame_at=NOW - timedelta(seconds=30)), NOW).verdict == "failing"
    silent = judge(beat(state="reconnecting", last_frame_at=NOW - timedelta(seconds=61),
                        last_error="refused"), NOW)
    assert silent.verdict == "dead" and silent.reason == "no frame for 61 s: refused"
    never = judge(beat(state="connecting", last_frame_at=None), NOW)
    assert never.verdict == "dead" and "since the start" in never.reason
    gone = judge(beat(updated_at=NOW - timedelta(minutes=10)), NOW)
    assert gone.verdict == "dead" and "no heartbeat for 10 min" in gone.reason
    assert judge(beat(state="stopped"), NOW).reason.startswith("worker stopped at 2026-03-02 07:59")


def test_stream_table_lists_dead_streams_first_with_camera_names() -> None:
    beats = [beat(camera_id="a"), beat(camera_id="b", last_frame_at=NOW - timedelta(hours=2)),
             beat(camera_id="c", state="reconnecting")]
    names = pd.DataFrame({"code": ["A1", "B1"], "name": ["Gate A", "Gate B"]}, index=["a", "b"])
    table = stream_table(beats, NOW, names)
    assert list(table["camera_id"]) == ["b", "c", "a"]
    assert list(table["verdict"]) == ["dead", "failing", "live"]
    assert list(table["name"]) == ["Gate B", "(not in the registry)", "Gate A"]
    assert table.loc[0, "last frame"] == "2026-03-02 06:00:00"  # 23:00 UTC, Asia/Ho_Chi_Minh
    assert stream_table([], NOW).empty


def test_backoff_doubles_up_to_its_cap_and_resets() -> None:
    backoff = Backoff(1.0, 60.0)
    assert [backoff.next() for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    backoff.reset()
    assert backoff.next() == 1


# --- workers --------------------------------------------------------------------------------

def test_a_refused_stream_backs_off_and_reports_its_error(tmp_path: Path) -> None:
    config = fast(tmp_path)
    url = f"rtsp://admin:secret@127.0.0.1:{closed_port()}/live"
    with running([StreamCamera("cam-refused", url)], config, PlateEveryTenFrames()):
        wait_for(lambda: (b := beat_of(config, "cam-refused")) is not None
                 and b.state == "reconnecting", 5)
        time.sleep(1.2)
        now, failing = datetime.now(UTC), beat_of(config, "cam-refused")
    assert failing is not None and failing.frames == 0 and failing.last_frame_at is None
    assert "cannot be opened" in failing.last_error
    # waits of 0.1, 0.2, 0.4, 0.4 s: about 5 attempts in 1.3 s (not 13 at a fixed 0.1 s)
    assert 3 <= failing.reconnects <= 7
    assert judge(failing, now).verdict == "failing"
    stopped = beat_of(config, "cam-refused")
    assert stopped is not None and stopped.state == "stopped"
    text = next(config.heartbeat_dir.glob("*.json")).read_text()
    assert "secret" not in text and "admin:***@127.0.0.1" in text


def test_an_mjpeg_stream_is_read_into_the_spool_and_reconnected(tmp_path: Path) -> None:
    config = fast(tmp_path)
    rng = np.random.default_rng(0)
    frames = jpegs([rng.integers(0, 255, (240, 320, 3), dtype=np.uint8) for _ in range(6)])
    recogniser = PlateEveryTenFrames()
    began = datetime.now(UTC)
    with mjpeg_camera(frames, fps=30, per_connection=24) as url, running(
            [StreamCamera("cam-http", url)], config, recogniser):
        wait_for(lambda: (b := beat_of(config, "cam-http")) is not None and b.reads >= 1
                 and b.reconnects >= 1, 10)
        live = beat_of(config, "cam-http")
        assert live is not None and judge(live, datetime.now(UTC)).verdict in ("live", "failing")
    stopped = beat_of(config, "cam-http")
    assert stopped is not None and stopped.state == "stopped"
    assert stopped.frames > stopped.recognised > 0  # 30 frames/s in, at most 10/s recognised
    assert stopped.last_frame_at is not None and stopped.last_read_at is not None
    assert "stream ended" in stopped.last_error
    reads = spooled(config.spool_dir)
    assert len(reads) == stopped.reads >= 1
    assert set(reads["camera_id"]) == {"cam-http"} and set(reads["plate_raw"]) == {PLATE.text}
    assert set(reads["source"]) == {"stream-worker"}
    assert reads["ts"].min() >= began and reads["ts"].max() <= datetime.now(UTC)
    assert all((config.crops_dir / ref).is_file() for ref in reads["crop_ref"])
    stamps = [f.ts for f in recogniser.frames]
    assert stamps == sorted(stamps) and all(t.tzinfo is UTC for t in stamps)
    assert recogniser.frames[0].image.shape == (240, 320, 3)


def registry_csv(tmp_path: Path, urls: list[str | None]) -> tuple[Path, list[str]]:
    registry = cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv").head(len(urls))
    registry = registry.assign(stream_url=urls)
    path = cameras.write_registry(registry, tmp_path / "registry.csv")
    return path, list(registry["id"].astype(str))


def test_cli_refuses_what_it_cannot_watch(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path, ids = registry_csv(tmp_path, [None, "rtsp://127.0.0.1:9/x"])
    cases = [(["--cameras", str(path), "--camera", ids[0]], "has no stream_url"),
             (["--cameras", str(path), "--camera", "nope"], "is not in the registry"),
             (["--db", str(tmp_path / "absent.duckdb")], "does not exist"),
             (["--cameras", str(tmp_path / "absent.csv")], "does not exist"),
             (["--cameras", str(path), "--spool", str(path / "spool")], "cannot create"),
             (["--cameras", str(path), "--streams-per-process", "0"], "≥ 1")]
    for args, message in cases:
        assert main(["workers", *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and "Traceback" not in err
    path, _ = registry_csv(tmp_path, [None])
    assert main(["workers", "--cameras", str(path)]) == 2
    assert "no camera of the registry has a stream_url" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_reads_plates_from_a_stream_until_sigterm(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The real recogniser (~10 s to load unless loaded by an earlier test)."""
    truth = write_video(tmp_path / "road.mp4", vehicles=2, frames=36, fps=12, seed=4)
    cap = cv2.VideoCapture(str(tmp_path / "road.mp4"))
    images = []
    while (got := cap.read())[0]:
        images.append(got[1])
    spool = tmp_path / "spool"

    def stop_once_read() -> None:
        deadline = time.monotonic() + 120
        while not Spool(spool).pending() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    with mjpeg_camera(jpegs(images), fps=12) as url:
        path, ids = registry_csv(tmp_path, [url, None])
        threading.Thread(target=stop_once_read, daemon=True).start()
        code = main(["workers", "--cameras", str(path), "--spool", str(spool), "--crops",
                     str(tmp_path / "crops"), "--live-dir", str(tmp_path / "live")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert out.out.startswith("stopped: 1 cameras") and "watching 1 camera" in out.err
    reads = spooled(spool)
    assert set(reads["camera_id"]) == {ids[0]}
    assert set(reads["plate_raw"]) <= {v.spec.plate.text for v in truth}


@pytest.mark.slow
def test_cameras_beyond_one_process_run_in_worker_processes(tmp_path: Path) -> None:
    config = fast(tmp_path, timeout_s=1.0)
    streams = [StreamCamera(f"cam-{i}", f"http://127.0.0.1:{closed_port()}/v") for i in (1, 2)]
    stop = threading.Event()
    thread = threading.Thread(target=run_workers, args=(streams, config, stop),
                              kwargs={"streams_per_process": 1}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: {b.camera_id for b in read_heartbeats(config.heartbeat_dir).beats
                          if b.state == "reconnecting"} == {"cam-1", "cam-2"}, 60)
    finally:
        stop.set()
        thread.join(timeout=30)
    beats = read_heartbeats(config.heartbeat_dir).beats
    assert not thread.is_alive()
    assert len({b.pid for b in beats}) == 2 and os.getpid() not in {b.pid for b in beats}
