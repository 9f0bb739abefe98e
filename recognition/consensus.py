"""Tracking and consensus: the detections of one plate across frames become one read.

A detection joins the active track whose last box overlaps it (or lies close to it along
the motion) and whose text does not contradict it; a track ends after
``RECOGNITION_TRACK_GAP_FRAMES`` sampled frames without a match. A finished track is voted
character by character, each frame's character weighted by its confidence, among the
readings of the most common plate pattern. The vote is usually right where single frames
disagree; its confidence is the mean over positions of the winning character's share of
the weight. The best crop (highest single-frame confidence) is kept. A settled track
(agreeing confident reads) is followed without OCR, each frame by the one box that
overlaps where its motion puts it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import numpy as np
import numpy.typing as npt

from recognition.decode import Reading
from recognition.localise import Box, iou
from tracing import settings
from tracing.errors import PlateError
from tracing.plates import Plate, parse_plate

__all__ = ["FOLLOW_IOU", "Observation", "Track", "Tracker", "vote"]

FOLLOW_IOU: Final = 0.3
"""A settled track is followed by the box that overlaps its expected box at least this much."""


@dataclass(frozen=True, slots=True)
class Observation:
    """One frame's reading of a plate."""

    frame: int
    ts: datetime
    box: Box
    reading: Reading
    colour: str
    crop: npt.NDArray[np.uint8] = field(repr=False, compare=False)


@dataclass(slots=True)
class Track:
    """Observations of one plate over consecutive frames."""

    observations: list[Observation]
    last_box: Box
    last_frame: int
    followed: int = 0
    """Frames in which the box was followed without OCR (the track was settled)."""
    velocity: tuple[float, float] = (0.0, 0.0)
    """Motion of the box centre in pixels per frame, from its last two positions."""

    def move(self, box: Box, frame: int) -> None:
        """Put the track at ``box`` in ``frame`` (a later frame), updating its motion."""
        (ax, ay), (bx, by) = _centre(self.last_box), _centre(box)
        gap = max(1, frame - self.last_frame)
        self.velocity = ((bx - ax) / gap, (by - ay) / gap)
        self.last_box, self.last_frame = box, frame

    def expected_box(self, frame: int) -> Box:
        """Where the box should be in ``frame`` if it keeps moving as it did."""
        gap = frame - self.last_frame
        dx, dy = round(self.velocity[0] * gap), round(self.velocity[1] * gap)
        x0, y0, x1, y1 = self.last_box
        return x0 + dx, y0 + dy, x1 + dx, y1 + dy

    def settled(self) -> bool:
        """Enough agreeing confident reads: later frames need no OCR."""
        need = settings.RECOGNITION_SETTLED_READS
        good = [o.reading.compact for o in self.observations
                if o.reading.confidence >= settings.RECOGNITION_SETTLED_CONFIDENCE]
        return len(good) >= need and len(set(good[-need:])) == 1

    def best(self) -> Observation:
        """The observation with the highest confidence (its crop is kept)."""
        return max(self.observations, key=lambda o: o.reading.confidence)


def _pattern(plate: Plate) -> str:
    return "".join("D" if c.isdigit() else "L" for c in plate.compact) + f"/{plate.kind}"


def vote(readings: Sequence[Reading]) -> tuple[Plate, float]:
    """Confidence-weighted character vote among readings of the most common pattern
    (weights summed per pattern); returns the plate and the consensus confidence."""
    if not readings:
        raise ValueError("nothing to vote on")
    weight: dict[str, float] = defaultdict(float)
    for r in readings:
        weight[_pattern(r.plate)] += r.confidence + 1e-6
    pattern = max(weight, key=lambda p: weight[p])
    group = [r for r in readings if _pattern(r.plate) == pattern]
    chars: list[str] = []
    shares: list[float] = []
    for pos in range(len(group[0].compact)):
        votes: dict[str, float] = defaultdict(float)
        for r in group:
            votes[r.compact[pos]] += r.char_conf[pos] + 1e-6
        winner = max(votes, key=lambda c: votes[c])
        chars.append(winner)
        shares.append(votes[winner] / sum(votes.values()))
    best = max(group, key=lambda r: r.confidence)
    try:
        plate = _respell(best.plate, "".join(chars))
    except PlateError:  # the vote broke the grammar (e.g. province code): trust the best
        return best.plate, best.confidence
    agreement = float(np.mean(shares)) * len(group) / len(readings)
    # the chance that at least one agreeing read is right: agreeing unsure reads add up,
    # agreeing reads the decoder gave no confidence stay worthless
    support = 1.0 - math.prod(1.0 - r.confidence for r in group)
    return plate, min(1.0, max(agreement * support, best.confidence))


def _respell(like: Plate, compact: str) -> Plate:
    """Parse the voted characters with the same grouping as a plate of the group."""
    if like.kind == "motorbike":
        return parse_plate(f"{compact[:4]}/{compact[4:]}")
    return parse_plate(compact)


def _similar(a: str, b: str) -> bool:
    """Same length and at most 3 differing characters (a misread, not another plate)."""
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) <= 3


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _near(a: Box, b: Box) -> bool:
    """Boxes overlap, or one moved less than its width from the other."""
    if iou(a, b) > 0.1:
        return True
    ca, cb = _centre(a), _centre(b)
    reach = max(a[2] - a[0], b[2] - b[0], a[3] - a[1], b[3] - b[1])
    return abs(ca[0] - cb[0]) + abs(ca[1] - cb[1]) < 1.5 * reach


class Tracker:
    """Groups detections of consecutive sampled frames into tracks."""

    def __init__(self, *, max_gap: int = settings.RECOGNITION_TRACK_GAP_FRAMES) -> None:
        self.max_gap = max_gap
        self.active: list[Track] = []
        self.finished: list[Track] = []
        self.frame = -1
        """The frame being recognised (set by :meth:`advance`)."""

    def settled_track(self, box: Box) -> Track | None:
        """The active settled track, not yet followed in this frame, whose expected box
        this box overlaps most (at least :data:`FOLLOW_IOU`): its OCR can be skipped. A box
        merely near a settled track may be another plate, which then would never be read."""
        best, best_iou = None, FOLLOW_IOU
        for track in self.active:
            if track.last_frame < self.frame and track.settled():
                overlap = iou(track.expected_box(self.frame), box)
                if overlap >= best_iou:
                    best, best_iou = track, overlap
        return best

    def follow(self, track: Track, box: Box, frame: int) -> None:
        """Move a settled track to a box seen in this frame (no new reading)."""
        track.move(box, frame)
        track.followed += 1

    def add(self, obs: Observation) -> None:
        """Attach an observation to the track it continues, or start a new one."""
        for track in self.active:
            last = track.observations[-1].reading.compact
            if (track.last_frame < obs.frame and _near(track.last_box, obs.box)
                    and _similar(last, obs.reading.compact)):
                track.observations.append(obs)
                track.move(obs.box, obs.frame)
                return
        self.active.append(Track([obs], obs.box, obs.frame))

    def advance(self, frame: int) -> None:
        """Start ``frame``: close the tracks not seen for more than ``max_gap`` frames
        before it."""
        self.frame = frame
        still: list[Track] = []
        for track in self.active:
            (still if frame - track.last_frame <= self.max_gap else self.finished).append(track)
        self.active = still

    def take_finished(self) -> list[Track]:
        """The tracks finished so far (in order of first sighting), handed over once."""
        done = sorted(self.finished, key=lambda t: t.observations[0].frame)
        self.finished = []
        return done

    def close(self) -> list[Track]:
        """Finish every track; all finished tracks in order of first sighting."""
        self.finished.extend(self.active)
        self.active = []
        return sorted(self.finished, key=lambda t: t.observations[0].frame)
