"""Recognised plates → plate reads → the store, through the durable spool.

A finished track becomes one :class:`RecognisedPlate` (the consensus of its frames); its
best crop is written under ``CROPS_DIR`` and referenced by the read's ``crop_ref`` (a path
relative to ``CROPS_DIR``). Reads are written with :class:`tracing.store.Spool` (one
fsync'd Arrow file: never blocks on the database) and then, when a store is given,
loaded with :meth:`tracing.store.Store.load_spool`. The ``read_id`` is derived from the
camera, the instant and the plate, so recognising the same video twice adds nothing.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from recognition.colour import vehicle_class
from recognition.consensus import Track, vote
from recognition.errors import RecognitionError
from recognition.localise import Box
from recognition.pipeline import Detection, Frame, Recogniser
from recognition.sources import open_source
from tracing import settings
from tracing.plates import Plate
from tracing.reads import PlateRead
from tracing.store import IngestReport, Spool, Store

__all__ = ["IngestSummary", "RecognisedPlate", "camera_exists", "ingest_source",
           "plates_of_tracks", "save_reads", "to_reads"]

log = logging.getLogger(__name__)
Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class RecognisedPlate:
    """One plate seen in a source (the consensus of a track's frames)."""

    plate: Plate
    confidence: float
    colour: str
    vehicle_class: str
    ts: datetime
    frames: int
    box: Box
    crop: Image = field(repr=False)
    source_name: str = ""


def plates_of_tracks(tracks: Sequence[Track], *, source_name: str = "") -> list[RecognisedPlate]:
    """The consensus plate of every track."""
    out = []
    for track in tracks:
        plate, confidence = vote([o.reading for o in track.observations])
        best = track.best()
        colours = [o.colour for o in track.observations]
        colour = max(set(colours), key=colours.count)
        out.append(RecognisedPlate(
            plate, confidence, colour, vehicle_class(plate),
            best.ts, len(track.observations) + track.followed, best.box, best.crop, source_name))
    return out


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:64] or "_"


def _read_id(camera_id: str, ts: datetime, compact: str) -> str:
    key = f"{camera_id}|{ts.astimezone(UTC).isoformat()}|{compact}"
    return "rec-" + hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()[:20]


def to_reads(plates: Sequence[RecognisedPlate], *, camera_id: str,
             crops_dir: Path = settings.CROPS_DIR, source: str = "recognition",
             min_confidence: float = settings.RECOGNITION_MIN_CONFIDENCE) -> list[PlateRead]:
    """Plate reads of the confident plates, their crops written under ``crops_dir``."""
    reads = []
    for p in plates:
        if p.confidence < min_confidence:
            continue
        read_id = _read_id(camera_id, p.ts, p.plate.compact)
        ref = f"{_safe(camera_id)}/{p.ts.astimezone(UTC):%Y%m%d}/{read_id}.jpg"
        target = crops_dir / ref
        target.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(target), p.crop):
            raise RecognitionError(f"cannot write crop image {target}")
        reads.append(PlateRead(read_id, camera_id, p.ts, p.plate.text,
                               confidence=round(min(1.0, p.confidence), 4),
                               vehicle_class=p.vehicle_class, plate_colour=p.colour,
                               crop_ref=ref, source=source))
    return reads


def save_reads(reads: Sequence[PlateRead], *, spool_dir: Path = settings.SPOOL_DIR,
               store: Store | None = None) -> IngestReport | None:
    """Write the reads to the spool, then load the spool into ``store`` when given."""
    if not reads:
        return IngestReport() if store is not None else None
    spool = Spool(spool_dir)
    spool.write(reads)
    return store.load_spool(spool) if store is not None else None


def camera_exists(store: Store, camera_id: str) -> bool:
    """Whether the store's registry has this camera."""
    with store.reader() as con:
        row = con.execute("SELECT count(*) FROM cameras WHERE id = ?", [camera_id]).fetchone()
    return bool(row and row[0])


@dataclass(slots=True)
class IngestSummary:
    """What one recognition run did."""

    source: str
    frames: int = 0
    detections: int = 0
    plates: list[RecognisedPlate] = field(default_factory=list)
    reads: list[PlateRead] = field(default_factory=list)
    report: IngestReport | None = None
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        """One-line summary for the CLI."""
        text = (f"{self.source}: {self.frames} frames, {self.detections} plate detections, "
                f"{len(self.plates)} plates, {len(self.reads)} reads spooled")
        if self.report is not None:
            text += (f", stored {self.report.inserted} (duplicates {self.report.duplicates}, "
                     f"rejected {self.report.rejected})")
        if self.problems:
            text += f", {len(self.problems)} problems"
        return text + f" in {self.seconds:.1f} s"


def ingest_source(spec: str | Path, *, camera_id: str, store: Store | None = None,
                  spool_dir: Path = settings.SPOOL_DIR, crops_dir: Path = settings.CROPS_DIR,
                  every: int = settings.RECOGNITION_EVERY, start: datetime | None = None,
                  recogniser: Recogniser | None = None,
                  on_frame: Callable[[Frame, list[Detection]], None] | None = None,
                  on_open: Callable[[int | None], None] | None = None) -> IngestSummary:
    """Recognise every plate of a source and send the reads to the store (via the spool).

    Stills (an image, a folder of images) give one read per plate per image; a video or a
    stream gives one read per tracked plate. The reads recognised before a source breaks
    off are kept and saved.
    """
    began = time.perf_counter()
    source = open_source(spec, every=every, start=start)
    if on_open is not None:
        on_open(source.total)
    recogniser = recogniser or Recogniser()
    summary = IngestSummary(source.name)

    def count(frame: Frame, detections: list[Detection]) -> None:
        summary.frames += 1
        summary.detections += len(detections)
        if on_frame is not None:
            on_frame(frame, detections)

    try:
        if source.kind in ("image", "images"):
            tracks = [t for frame in source.frames()
                      for t in recogniser.track([frame], on_frame=count, still=True)]
        else:
            tracks = recogniser.track(source.frames(), on_frame=count)
    finally:
        summary.problems = list(source.problems)
    summary.plates = plates_of_tracks(tracks, source_name=source.name)
    summary.reads = to_reads(summary.plates, camera_id=camera_id, crops_dir=crops_dir)
    summary.report = save_reads(summary.reads, spool_dir=spool_dir, store=store)
    summary.seconds = time.perf_counter() - began
    return summary
