"""Two line recognisers fused under the plate grammar: one Viterbi pass over their
combined per-frame probabilities.

Both recognisers' probabilities are taken onto the plate alphabet (class 0 blank, then
:data:`recognition.decode.ALLOWLIST`) and resampled onto the coarser of their CTC time axes
(the second's: one frame per 8 pixels at height 48, against about 4 for the first at 64),
each new frame averaging the old frames it overlaps, so no peak is skipped. Every frame's
distributions are then combined as a weighted geometric mean (a product of experts,
renormalised), and the grammar decoder (:func:`recognition.decode.decode_plate`) runs once
over the fused frames.

The weight was chosen on the even half of plates-dev's sorted file names: the two
networks' peaks do not fall on the same frames, so an equal weight loses characters both
read (exact 0.74 on that half) and a small weight on the first does best (0.2: 0.917,
against 0.883 for the second alone and 0.766 for the first, with the localisation of
then); linear interpolation onto the first's finer axis, or an arithmetic mean, did worse.
``bench/recognition.py`` reports the other half.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal, Protocol

import numpy as np
import numpy.typing as npt

from recognition.decode import ALLOWLIST
from recognition.models import active_head
from recognition.network import LineNetwork, load_network
from recognition.ocr import LineProbs, OcrEngine
from recognition.second import load_second

__all__ = ["DEFAULT_MODE", "FIRST_WEIGHT", "FusedEngine", "LineEngine", "Mode", "build_engine",
           "fuse", "project", "resample"]

Mode = Literal["first", "second", "fused"]
DEFAULT_MODE: Final[Mode] = "fused"
"""What :class:`recognition.pipeline.Recogniser` runs unless told (best on plates-dev)."""
Gray = npt.NDArray[np.uint8]
Probs = npt.NDArray[np.float32]

FIRST_WEIGHT: Final = 0.2
"""Weight of the first recogniser's log-probabilities (the second's is 1 − this)."""
_FLOOR: Final = 1e-6
"""Smallest probability taken into the logarithm (one recogniser's zero is no veto)."""


class LineEngine(Protocol):
    """Batched line recognition: grey line images in, :class:`LineProbs` out."""

    def recognise(self, lines: Sequence[Gray]) -> list[LineProbs]: ...


def project(line: LineProbs, charset: str = ALLOWLIST) -> Probs:
    """A line's probabilities over ``charset`` (class 0 blank), renormalised."""
    columns = [0] + [line.charset.index(c) + 1 for c in charset]
    probs = line.probs[:, columns]
    return np.asarray(probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-12), np.float32)


def resample(probs: Probs, frames: int) -> Probs:
    """Probabilities over ``frames`` frames spanning the same line: each new frame the
    average of the old frames it covers, weighted by overlap (no peak is skipped)."""
    old = np.linspace(0.0, 1.0, len(probs) + 1)
    new = np.linspace(0.0, 1.0, frames + 1)
    overlap = np.clip(np.minimum(new[1:, None], old[None, 1:])
                      - np.maximum(new[:-1, None], old[None, :-1]), 0.0, None)
    out = overlap @ probs
    return np.asarray(out / out.sum(axis=1, keepdims=True), np.float32)


def fuse(first: LineProbs, second: LineProbs, weight: float = FIRST_WEIGHT) -> LineProbs:
    """The two readings of one line combined frame by frame on the coarser of their time
    axes (weighted geometric mean, renormalised); an empty reading leaves the other."""
    if second.probs.size == 0 or first.probs.size == 0:
        kept = first if first.probs.size else second
        return LineProbs(project(kept) if kept.probs.size else kept.probs, ALLOWLIST)
    frames = min(len(first.probs), len(second.probs))
    a, b = resample(project(first), frames), resample(project(second), frames)
    logs = weight * np.log(np.maximum(a, _FLOOR)) + (1 - weight) * np.log(np.maximum(b, _FLOOR))
    probs = np.exp(logs - logs.max(axis=1, keepdims=True))
    return LineProbs(np.asarray(probs / probs.sum(axis=1, keepdims=True), np.float32), ALLOWLIST)


class FusedEngine:
    """Two engines on the same lines, their readings fused (:func:`fuse`)."""

    def __init__(self, first: LineEngine, second: LineEngine,
                 weight: float = FIRST_WEIGHT) -> None:
        self.first, self.second, self.weight = first, second, weight

    def recognise(self, lines: Sequence[Gray]) -> list[LineProbs]:
        """Fused probabilities for every line (same order)."""
        return [fuse(a, b, self.weight) for a, b in
                zip(self.first.recognise(lines), self.second.recognise(lines), strict=True)]


def build_engine(mode: Mode, network: LineNetwork | None = None) -> LineEngine:
    """The engine of ``mode``: EasyOCR with the plate head (``first``; ``network``, or
    the process's shared one with the active model version's head), PP-OCRv6
    (``second``), or both fused."""
    if mode == "second":
        return load_second()
    if network is None:
        network = load_network(head=active_head())
    first = OcrEngine(network, allowlist=ALLOWLIST)
    return first if mode == "first" else FusedEngine(first, load_second())
