"""The recognition pipeline: frame → plate candidates → prepared lines → OCR → plates.

:class:`Recogniser` holds the OCR engine (EasyOCR and PP-OCRv6 fused by default, see
:mod:`recognition.fusion`; loaded once, lazily) and recognises the
plates of one frame (:meth:`Recogniser.detect`) or of a stream of frames with tracking and
consensus (:meth:`Recogniser.track`; :meth:`Recogniser.step` frame by frame). Plate
candidates of a frame are recognised in one batch; a track that is already settled is
followed by its box without OCR.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from recognition.colour import classify_colour
from recognition.consensus import Observation, Track, Tracker
from recognition.decode import Reading, decode_plate, greedy_text
from recognition.fusion import DEFAULT_MODE, LineEngine, Mode, build_engine
from recognition.localise import (
    MAX_PLATE_SHARE,
    Box,
    Candidate,
    find_plates,
    whole_image_candidate,
)
from recognition.network import LineNetwork
from recognition.prepare import PreparedPlate, prepare_crop

__all__ = ["Detection", "Frame", "Recogniser"]

log = logging.getLogger(__name__)
Image = npt.NDArray[np.uint8]

CUT_WIDEN = 0.5
"""How far (in character pitches: the distance between neighbouring characters) each line
is cut beyond its outer characters: a character joined to the plate border is not found
as a component, and the plate-trained recogniser reads no border strokes."""
WIDE_CUT = 1.0
"""A cut one character pitch wider than the outer characters found: it keeps a first or
last character joined to the border."""
STILL_WIDENS = (0.0, CUT_WIDEN, WIDE_CUT)
"""A still photo is read with three cuts (tight, normal, wide), keeping the reading the
decoder ranks first: video has other frames to vote with, a photo has one look
(plates-dev exact, two cuts 0.736; three cuts 0.775 with widths in character heights,
0.780 in character pitches)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame of a source: its position, its capture instant and its BGR pixels."""

    index: int
    ts: datetime
    image: Image = field(repr=False)
    name: str = ""


@dataclass(frozen=True, slots=True)
class Detection:
    """A plate read in one frame."""

    box: Box
    reading: Reading
    colour: str
    layout: str
    crop: Image = field(repr=False)
    raw_text: str = ""
    """What the recogniser read before the grammar (greedy, lines joined by ``/``)."""


class Recogniser:
    """Plate recognition on frames. ``mode``: which line recognisers read
    (:mod:`recognition.fusion`: ``first`` EasyOCR with the plate-trained head, ``second``
    PP-OCRv6, ``fused`` both); ``network``: the first's network (default: loaded on
    first use and shared by the process)."""

    def __init__(self, network: LineNetwork | None = None, *, mode: Mode = DEFAULT_MODE) -> None:
        self._network = network
        self.mode = mode
        self._engine: LineEngine | None = None
        self.crops_read = 0

    @property
    def engine(self) -> LineEngine:
        if self._engine is None:
            self._engine = build_engine(self.mode, self._network)
        return self._engine

    def read_crops(self, crops: list[Image]) -> list[Detection | None]:
        """Recognise plate crops (one plate each, in one batch); None where no valid
        plate is read. Boxes are the crops' own extents."""
        cands = [Candidate(c, (0, 0, c.shape[1], c.shape[0])) for c in crops]
        return self._read(cands)

    def _read(self, cands: list[Candidate], widens: tuple[float, ...] = (CUT_WIDEN,)
              ) -> list[Detection | None]:
        """Read candidates in one batch per cut (``widens``), keeping each candidate's best
        valid reading; those with none once more with the wide cut (if not yet read)."""
        self.crops_read += len(cands)
        out: list[Detection | None] = [None] * len(cands)
        for widen in widens:
            cut = self._read_prepared(cands, [prepare_crop(c.crop, widen=widen) for c in cands])
            out = [_better(a, b) for a, b in zip(out, cut, strict=True)]
        unsure = [i for i, d in enumerate(out) if d is None]
        if unsure and WIDE_CUT not in widens:
            wide = [prepare_crop(cands[i].crop, widen=WIDE_CUT) for i in unsure]
            again = self._read_prepared([cands[i] for i in unsure], wide)
            for i, alt in zip(unsure, again, strict=True):
                out[i] = alt
        return out

    def _read_prepared(self, cands: list[Candidate], prepared: list[PreparedPlate]
                       ) -> list[Detection | None]:
        lines = [line for p in prepared for line in p.lines]
        probs = self.engine.recognise(lines) if lines else []
        out: list[Detection | None] = []
        at = 0
        for cand, prep in zip(cands, prepared, strict=True):
            mine = probs[at : at + len(prep.lines)]
            at += len(prep.lines)
            out.append(_detection(cand, prep, mine))
        return out

    def detect(self, image: Image, *, still: bool = False) -> list[Detection]:
        """Plates in one BGR image. ``still``: a photo that may itself be a plate crop
        (taken whole when no plate is found inside it)."""
        cands = find_plates(image, max_share=1.0 if still else MAX_PLATE_SHARE)
        if still and not cands:
            whole = whole_image_candidate(image)
            cands = [whole] if whole is not None else []
        return [d for d in self._read(cands, STILL_WIDENS if still else (CUT_WIDEN,))
                if d is not None]

    def track(self, frames: Iterable[Frame], *, still: bool = False,
              on_frame: Callable[[Frame, list[Detection]], None] | None = None) -> list[Track]:
        """Recognise and track plates over consecutive frames; finished tracks.
        ``still``: the frames are photos (see :meth:`detect`)."""
        tracker = Tracker()
        for frame in frames:
            detections = self.step(frame, tracker, still=still)
            if on_frame is not None:
                on_frame(frame, detections)
        return tracker.close()

    def step(self, frame: Frame, tracker: Tracker, *, still: bool = False) -> list[Detection]:
        """One frame of :meth:`track`: finish the tracks of ``tracker`` unseen for too long,
        recognise the frame and add its detections (returned) to the tracker. A live
        stream calls this frame by frame and takes the finished tracks as it goes
        (:meth:`Tracker.take_finished`)."""
        tracker.advance(frame.index)
        if still:
            detections = self.detect(frame.image, still=True)
        else:
            detections = list(self._frame_detections(frame, tracker))
        for det in detections:
            tracker.add(Observation(frame.index, frame.ts, det.box, det.reading,
                                    det.colour, det.crop))
        return detections

    def _frame_detections(self, frame: Frame, tracker: Tracker) -> Iterator[Detection]:
        todo = []
        for cand in find_plates(frame.image):
            settled = tracker.settled_track(cand.box)
            if settled is not None:
                tracker.follow(settled, cand.box, frame.index)
            else:
                todo.append(cand)
        yield from (d for d in self._read(todo) if d is not None)


def _better(a: Detection | None, b: Detection | None) -> Detection | None:
    """The reading the decoder ranks higher (path probability with the pattern's prior:
    the product of character confidences would favour readings with fewer characters)."""
    if a is None or b is None:
        return a or b
    return b if b.reading.score > a.reading.score else a


def _detection(cand: Candidate, prep: PreparedPlate, probs: list[Any]) -> Detection | None:
    colour = classify_colour(prep.plate, prep.background)
    reading = decode_plate(probs, prep.layout, military=colour == "red") if probs else None
    if reading is None:
        return None
    raw = "/".join(greedy_text(p) for p in probs)
    return Detection(cand.box, reading, colour, prep.layout, cand.crop, raw)
