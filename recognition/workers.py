"""Stream workers: plate reading for registry cameras that send video but read no plates.

Every camera with a ``stream_url`` (RTSP or HTTP) gets a capture thread: it opens the
stream with OpenCV's FFmpeg backend (open and read timeouts), reads every frame, keeps the
newest one at most ``sample_fps`` times a second, and on a failed open, the end of the
stream or a read error reconnects after a wait that doubles from 1 s to 60 s (back to 1 s
after a healthy connection). One recognition loop per process takes the cameras' newest
frames in turn through the video path (:meth:`recognition.pipeline.Recogniser.step`, its
tracking and consensus), so a slow recogniser skips frames instead of falling behind.
Finished tracks become reads (camera id, wall-clock UTC capture instant, crop under
``crops_dir``) written through :class:`tracing.store.Spool`: a worker never opens the
database. Each camera's heartbeat (:mod:`tracing.live.heartbeats`) is written every
``heartbeat_s`` and on every change of state. :func:`run_workers` runs
``streams_per_process`` cameras per process, more processes for the rest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import cv2
import geopandas as gpd
import numpy as np
import numpy.typing as npt

from recognition.consensus import Track, Tracker
from recognition.errors import SourceError
from recognition.ingest import plates_of_tracks, to_reads
from recognition.pipeline import Detection, Frame, Recogniser
from recognition.sources import open_capture
from tracing import settings
from tracing.errors import IngestError, TracingError
from tracing.live.heartbeats import Heartbeat, State, mask_url, write_heartbeat
from tracing.reads import PlateRead
from tracing.store import Spool

__all__ = ["Backoff", "FrameRecogniser", "StreamCamera", "WorkerConfig", "quiet_video_logs",
           "run_group", "run_workers", "stop_on_signals", "stream_cameras"]

log = logging.getLogger(__name__)
Image = npt.NDArray[np.uint8]
READ_SOURCE = "stream-worker"
"""The ``source`` of the reads the workers spool."""
MAX_PENDING_READS = 10_000
"""Reads kept in memory while the spool cannot be written (older ones are dropped)."""


@dataclass(frozen=True, slots=True)
class StreamCamera:
    """A registry camera with a video stream."""

    camera_id: str
    url: str


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """Where the workers write and how they read (picklable: sent to worker processes)."""

    spool_dir: Path
    crops_dir: Path
    heartbeat_dir: Path
    sample_fps: float = settings.LIVE_SAMPLE_FPS
    timeout_s: float = settings.RECOGNITION_STREAM_TIMEOUT_S
    heartbeat_s: float = settings.LIVE_HEARTBEAT_S
    backoff_first_s: float = settings.LIVE_BACKOFF_FIRST_S
    backoff_max_s: float = settings.LIVE_BACKOFF_MAX_S
    healthy_s: float = settings.LIVE_BACKOFF_HEALTHY_S


class FrameRecogniser(Protocol):
    """What the recognition loop needs: :meth:`Recogniser.step`."""

    def step(self, frame: Frame, tracker: Tracker) -> list[Detection]: ...


class Backoff:
    """Waits before reconnecting: ``first``, doubling up to ``most``; :meth:`reset` after a
    healthy connection."""

    def __init__(self, first: float, most: float) -> None:
        self.first, self.most = first, most
        self._next = first

    def next(self) -> float:
        """The wait before the next attempt (and double the one after)."""
        delay = self._next
        self._next = min(self.most, delay * 2)
        return delay

    def reset(self) -> None:
        self._next = self.first


def stream_cameras(registry: gpd.GeoDataFrame, only: Sequence[str] = ()) -> list[StreamCamera]:
    """The registry's cameras with a stream URL (only those of ``only`` when given);
    SourceError when a camera of ``only`` is unknown or has none, or no camera has one."""
    urls = {str(row.id): str(row.stream_url) for row in registry.itertuples()
            if isinstance(row.stream_url, str) and row.stream_url}
    known = set(registry["id"].astype(str))
    for camera_id in only:
        if camera_id not in known:
            raise SourceError(f"camera {camera_id!r} is not in the registry")
        if camera_id not in urls:
            raise SourceError(f"camera {camera_id!r} has no stream_url in the registry")
    chosen = [StreamCamera(i, urls[i]) for i in (dict.fromkeys(only) if only else urls)]
    if not chosen:
        raise SourceError("no camera of the registry has a stream_url: give cameras the "
                          "address of their video stream first (see README, Stream workers)")
    return chosen


class Stream:
    """One camera's capture thread and its heartbeat."""

    def __init__(self, camera: StreamCamera, config: WorkerConfig, stop: threading.Event,
                 wake: threading.Event) -> None:
        self.camera, self.config, self.stop, self.wake = camera, config, stop, wake
        self.shown = mask_url(camera.url)
        now = datetime.now(UTC)
        self._beat = Heartbeat(camera.camera_id, self.shown, "connecting", now, now)
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._newest: tuple[datetime, Image, int] | None = None
        self.session = 0
        """Number of the current connection (frames carry it)."""
        self.ended = 0
        """Number of the last connection that ended."""
        self._tick = (time.monotonic(), 0)

    # --- state shared with the recognition loop and the ticker -----------------------------

    def heartbeat(self) -> Heartbeat:
        with self._lock:
            return self._beat

    def write_beat(self, *, tick: bool = False) -> None:
        """Write the heartbeat; ``tick`` (the periodic one) also measures frames/s."""
        with self._write_lock:
            with self._lock:
                changes: dict[str, Any] = {"updated_at": datetime.now(UTC)}
                if tick:
                    at, frames = self._tick
                    now = time.monotonic()
                    changes["frames_per_s"] = round((self._beat.frames - frames)
                                                    / max(now - at, 1e-3), 2)
                    self._tick = (now, self._beat.frames)
                self._beat = dataclasses.replace(self._beat, **changes)
                beat = self._beat
            write_heartbeat(beat, self.config.heartbeat_dir)

    def take(self) -> tuple[datetime, Image, int] | None:
        """The newest frame not yet taken (capture instant, pixels, connection number)."""
        with self._lock:
            newest, self._newest = self._newest, None
        return newest

    def counted(self, *, recognised: int = 0, reads: int = 0,
                last_read_at: datetime | None = None, error: str = "") -> None:
        """Add what the recognition loop did with this camera's frames."""
        with self._lock:
            beat = self._beat
            self._beat = dataclasses.replace(
                beat, recognised=beat.recognised + recognised, reads=beat.reads + reads,
                last_read_at=max(filter(None, (beat.last_read_at, last_read_at)), default=None),
                last_error=error or beat.last_error)

    # --- the capture thread -----------------------------------------------------------------

    def run(self) -> None:
        """Connect, read, reconnect with backoff until ``stop``; then the last heartbeat."""
        try:
            self._run()
        except Exception as exc:  # a bug here must show on the page, not end the thread mute
            log.error("camera %s: capture failed: %s", self.camera.camera_id, exc)
            self._state("stopped", last_error=f"capture failed: {exc}")

    def _run(self) -> None:
        backoff = Backoff(self.config.backoff_first_s, self.config.backoff_max_s)
        self.write_beat()
        while not self.stop.is_set():
            error, healthy = self._connection()
            if self.stop.is_set():
                break
            if healthy:
                backoff.reset()
            delay = backoff.next()
            log.warning("camera %s: %s; reconnecting in %g s", self.camera.camera_id, error,
                        delay)
            self._state("reconnecting", last_error=error,
                        reconnects=self.heartbeat().reconnects + 1)
            self.stop.wait(delay)
        self._state("stopped")

    def _state(self, state: State, **changes: Any) -> None:
        """A change of state (and other heartbeat fields), written at once."""
        with self._lock:
            self._beat = dataclasses.replace(self._beat, state=state, **changes)
        self.write_beat()

    def _connection(self) -> tuple[str, bool]:
        """One connection: the reason it ended ("" when stopped) and whether it was healthy."""
        try:
            cap = open_capture(self.camera.url, timeout_s=self.config.timeout_s,
                               name=self.shown)
        except SourceError as exc:
            return str(exc), False
        began = time.monotonic()
        self.session += 1
        self._state("streaming")
        try:
            error = self._read(cap)
        except cv2.error as exc:
            error = f"stream {self.shown}: {exc}"
        finally:
            cap.release()
            self.ended = self.session
            self.wake.set()
        return error, time.monotonic() - began >= self.config.healthy_s

    def _read(self, cap: cv2.VideoCapture) -> str:
        """Read frames until the stream fails (its reason) or ``stop`` (``""``)."""
        every = 1.0 / self.config.sample_fps if self.config.sample_fps > 0 else 0.0
        due = last = time.monotonic()
        while not self.stop.is_set():
            if not cap.grab():
                if time.monotonic() - last >= 0.9 * self.config.timeout_s:
                    return f"no frame within {self.config.timeout_s:g} s (read timeout)"
                return "stream ended (end of stream or connection closed)"
            last = time.monotonic()
            at = datetime.now(UTC)
            with self._lock:
                self._beat = dataclasses.replace(self._beat, frames=self._beat.frames + 1,
                                                 last_frame_at=at)
            if last < due:
                continue
            ok, image = cap.retrieve()
            if not ok or image is None or image.size == 0:
                return "a frame cannot be decoded"
            due = max(due + every, last)
            with self._lock:
                self._newest = (at, np.asarray(image, np.uint8), self.session)
            self.wake.set()
        return ""


class _Lane:
    """The recognition loop's side of one camera: its tracker and frame numbering."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.tracker = Tracker()
        self.session = 0
        self.index = 0

    def advance(self, recogniser: FrameRecogniser, config: WorkerConfig) -> list[PlateRead]:
        """Recognise the camera's newest frame, if any; reads of the tracks that finished."""
        newest = self.stream.take()
        tracks: list[Track] = []
        if newest is not None and newest[2] != self.session:
            tracks, self.session = self._restart(), newest[2]
        elif newest is None and self.stream.ended >= self.session and self.tracker.active:
            tracks = self._restart()
        try:
            if newest is not None:
                self._step(recogniser, newest[0], newest[1])
                tracks += self.tracker.take_finished()
            return self._reads(tracks, config)
        except Exception as exc:  # one camera's bad frame must not stop the others
            log.error("camera %s: recognition failed: %s", self.stream.camera.camera_id, exc)
            self.stream.counted(error=f"recognition failed: {exc}")
            return []

    def finish(self, config: WorkerConfig) -> list[PlateRead]:
        """Reads of every track left (the worker stops)."""
        return self._reads(self._restart(), config)

    def _restart(self) -> list[Track]:
        """Finish every track (the connection they were seen on ended)."""
        tracks = self.tracker.close()
        self.tracker = Tracker()
        return tracks

    def _step(self, recogniser: FrameRecogniser, at: datetime, image: Image) -> None:
        recogniser.step(Frame(self.index, at, image, self.stream.shown), self.tracker)
        self.index += 1
        self.stream.counted(recognised=1)

    def _reads(self, tracks: list[Track], config: WorkerConfig) -> list[PlateRead]:
        if not tracks:
            return []
        plates = plates_of_tracks(tracks, source_name=self.stream.shown)
        return to_reads(plates, camera_id=self.stream.camera.camera_id,
                        crops_dir=config.crops_dir, source=READ_SOURCE)


class _Spooler:
    """Writes the loop's reads to the spool; keeps them to retry while it cannot."""

    def __init__(self, spool_dir: Path, streams: dict[str, Stream]) -> None:
        self.spool = Spool(spool_dir)
        self.streams = streams
        self.pending: list[PlateRead] = []

    def write(self, reads: list[PlateRead]) -> None:
        self.pending = (self.pending + reads)[-MAX_PENDING_READS:]
        if not self.pending:
            return
        try:
            self.spool.write(self.pending)
        except (OSError, IngestError) as exc:
            log.error("spool %s not written (%s reads kept to retry): %s", self.spool.directory,
                      len(self.pending), exc)
            for camera_id in {r.camera_id for r in self.pending}:
                self.streams[camera_id].counted(error=f"spool not written: {exc}")
            return
        counts = Counter(r.camera_id for r in self.pending)
        for camera_id, n in counts.items():
            newest = max(r.ts for r in self.pending if r.camera_id == camera_id)
            self.streams[camera_id].counted(reads=n, last_read_at=newest)
        self.pending = []


def run_group(cameras: Sequence[StreamCamera], config: WorkerConfig, stop: threading.Event,
              *, recogniser: FrameRecogniser | None = None) -> None:
    """Read and recognise ``cameras`` in this process (a capture thread each) until
    ``stop`` is set; ``recogniser`` defaults to the pipeline's :class:`Recogniser`."""
    wake = threading.Event()
    streams = [Stream(c, config, stop, wake) for c in cameras]
    threads = [threading.Thread(target=s.run, name=f"stream-{s.camera.camera_id}", daemon=True)
               for s in streams]
    threads.append(threading.Thread(target=_ticker, args=(streams, config, stop),
                                    name="heartbeats", daemon=True))
    for thread in threads:
        thread.start()
    try:
        if recogniser is None:
            recogniser = Recogniser()
            if not _load(recogniser, stop):
                return
        _recognise(streams, recogniser, config, stop, wake)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=config.timeout_s + 2)
        for stream in streams:  # with the reads of the tracks finished at the stop
            stream.write_beat()


def _load(recogniser: Recogniser, stop: threading.Event) -> bool:
    """Load the recogniser's model (seconds) in a thread, so that a stop meanwhile is not
    kept waiting; False when stopped first."""
    failed: list[Exception] = []

    def load() -> None:
        try:
            recogniser.engine  # noqa: B018 - load now
        except Exception as exc:  # raised again below, in the caller's thread
            failed.append(exc)

    loader = threading.Thread(target=load, name="model-load", daemon=True)
    loader.start()
    while loader.is_alive():
        if stop.wait(0.1):
            return False
    if failed:
        raise failed[0]
    return True


def _ticker(streams: list[Stream], config: WorkerConfig, stop: threading.Event) -> None:
    while not stop.wait(config.heartbeat_s):
        for stream in streams:
            stream.write_beat(tick=True)


def _recognise(streams: list[Stream], recogniser: FrameRecogniser, config: WorkerConfig,
               stop: threading.Event, wake: threading.Event) -> None:
    """Take the cameras' newest frames in turn until ``stop``; then finish every track."""
    lanes = [_Lane(s) for s in streams]
    spooler = _Spooler(config.spool_dir, {s.camera.camera_id: s for s in streams})
    while not stop.is_set():
        wake.wait(0.5)
        wake.clear()
        spooler.write([r for lane in lanes for r in lane.advance(recogniser, config)])
    spooler.write([r for lane in lanes for r in lane.finish(config)])


# --- processes ------------------------------------------------------------------------------

def run_workers(cameras: Sequence[StreamCamera], config: WorkerConfig, stop: threading.Event,
                *, streams_per_process: int = settings.LIVE_STREAMS_PER_PROCESS,
                recogniser: FrameRecogniser | None = None) -> int:
    """Run the cameras ``streams_per_process`` to a process until ``stop``: in this process
    when they fit in one, else in worker processes (restarted with backoff when one dies);
    returns the number of processes."""
    if streams_per_process < 1:
        raise SourceError(f"streams per process {streams_per_process} must be ≥ 1")
    groups = [list(cameras[i:i + streams_per_process])
              for i in range(0, len(cameras), streams_per_process)]
    if len(groups) == 1:
        run_group(groups[0], config, stop, recogniser=recogniser)
    else:
        _supervise(groups, config, stop)
    return len(groups)


def _supervise(groups: list[list[StreamCamera]], config: WorkerConfig,
               stop: threading.Event) -> None:
    context = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // len(groups))

    def start(group: list[StreamCamera]) -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_child, args=(group, config, threads),
                                  name=f"stream-workers-{group[0].camera_id}", daemon=True)
        process.start()
        return process

    processes = [start(g) for g in groups]
    backoffs = [Backoff(config.backoff_first_s, config.backoff_max_s) for _ in groups]
    try:
        while not stop.wait(1.0):
            for i, process in enumerate(processes):
                if not process.is_alive() and not stop.is_set():
                    delay = backoffs[i].next()
                    log.error("worker process of %s exited (code %s); restarting in %g s",
                              ", ".join(c.camera_id for c in groups[i]), process.exitcode, delay)
                    if stop.wait(delay):
                        break
                    processes[i] = start(groups[i])
    finally:
        _end(processes, config.timeout_s + 5)


def _end(processes: list[multiprocessing.process.BaseProcess], wait_s: float) -> None:
    """Ask every worker process to stop (SIGTERM), wait, then kill the ones left."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + wait_s
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            log.error("worker process %s did not stop in %g s: killed", process.pid, wait_s)
            process.kill()
            process.join()


def quiet_video_logs() -> None:
    """Silence FFmpeg's and OpenCV's own messages (a refused connection, a closed stream):
    the workers say what went wrong in their log and the heartbeats."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT set ``stop`` (main thread only); the previous
    handlers come back after it."""
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _child(group: list[StreamCamera], config: WorkerConfig, threads: int) -> None:
    """Entry point of a worker process: its share of the cores, then :func:`run_group`."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import torch

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    quiet_video_logs()
    stop = threading.Event()
    try:
        with stop_on_signals(stop):
            run_group(group, config, stop)
    except TracingError as exc:
        log.error("worker process of %s: %s", ", ".join(c.camera_id for c in group), exc)
        raise SystemExit(2) from None
