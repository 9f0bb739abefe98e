"""Plate localisation in a frame with OpenCV only (fast enough for video on a CPU).

Edges (Canny) closed into regions give contours; the minimum-area rectangle of each must
have the size and the aspect ratio of a Vietnamese plate (one-line ~4.7:1, two-line
motorbike ~1.4:1 and square car ~2:1), fill its rectangle, and hold at least
:data:`prepare.MIN_CHARS` character-shaped components. Surviving rectangles are warped
upright (perspective) and overlapping ones merged, except that a region inside a
candidate that fills its rectangle clearly better is the plate itself and replaces it (in
photos of a whole vehicle the plate's edges often join those of a mudguard or a bag). A
still image that is itself a plate crop (no plate found inside it, plate-shaped) is taken
whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from recognition.prepare import MIN_CHARS, char_boxes

__all__ = ["Candidate", "find_plates", "iou", "whole_image_candidate"]

Image = npt.NDArray[np.uint8]
Box = tuple[int, int, int, int]
"""Axis-aligned box ``(x0, y0, x1, y1)`` in frame pixels."""

ASPECTS: Final = ((1.05, 2.6), (3.0, 6.5))
"""Width / height ranges of two-line and one-line plates (after perspective)."""
MIN_PLATE_WIDTH: Final = 40
"""Plates narrower than this (pixels) are too small to read."""
MAX_PLATE_SHARE: Final = 0.6
"""A region wider than this share of the frame is not a plate (except a whole crop)."""
MIN_FILL: Final = 0.6
"""Contour area / rectangle area: a plate is a filled rectangle."""
MARGIN: Final = 0.06
"""The warped crop extends this share beyond the plate rectangle (border trimmed later)."""
TIGHTER_FILL: Final = 0.1
"""A region inside a candidate filling its rectangle this much better replaces it..."""
TIGHTER_AREA: Final = 0.5
"""... if it has at least this share of the candidate's area (tuned on half of plates-dev)."""
CHECK_HEIGHT: Final = 64
"""Candidates are checked for characters at this height."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A plate-shaped region: its upright colour crop and its box in the frame."""

    crop: Image
    box: Box


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _plate_shaped(w: float, h: float) -> bool:
    aspect = max(w, h) / max(min(w, h), 1e-6)
    return any(lo <= aspect <= hi for lo, hi in ASPECTS)


def _ordered(points: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Corners ordered top-left, top-right, bottom-right, bottom-left."""
    s = points.sum(axis=1)
    d = np.diff(points, axis=1).ravel()
    return np.array([points[s.argmin()], points[d.argmin()], points[s.argmax()],
                     points[d.argmax()]], np.float32)


def _warp(frame: Image, rect: tuple[tuple[float, float], tuple[float, float], float]) -> Image:
    (cx, cy), (rw, rh), angle = rect
    if rw < rh:  # OpenCV reports portrait rectangles for near-vertical angles
        rw, rh, angle = rh, rw, angle - 90
    grown = ((cx, cy), (rw * (1 + 2 * MARGIN), rh * (1 + 2 * MARGIN)), angle)
    corners = _ordered(cv2.boxPoints(grown).astype(np.float32))
    width, height = round(grown[1][0]), round(grown[1][1])
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]],
                      np.float32)
    matrix = cv2.getPerspectiveTransform(corners, target)
    return np.asarray(cv2.warpPerspective(frame, matrix, (width, height),
                                          borderMode=cv2.BORDER_REPLICATE), np.uint8)


def _has_characters(crop: Image) -> bool:
    h, w = crop.shape[:2]
    small = cv2.resize(crop, (max(8, round(w * CHECK_HEIGHT / h)), CHECK_HEIGHT))
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    dark = char_boxes(np.asarray(gray, np.uint8))
    light = char_boxes(np.asarray(255 - gray, np.uint8))
    return max(len(dark), len(light)) >= MIN_CHARS


def _regions(gray: Image) -> list[npt.NDArray[np.int32]]:
    blurred = cv2.GaussianBlur(gray, (3, 3), 0)
    edges = cv2.Canny(blurred, 60, 180)
    closed = cv2.morphologyEx(edges, cv2.MORPH_CLOSE,
                              cv2.getStructuringElement(cv2.MORPH_RECT, (5, 3)))
    contours, _ = cv2.findContours(closed, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    return [np.asarray(c, np.int32) for c in contours]


def find_plates(frame: Image, *, max_candidates: int = 12,
                max_share: float = MAX_PLATE_SHARE) -> list[Candidate]:
    """Plate candidates in a BGR frame, largest first, overlapping ones merged.
    ``max_share``: widest plate as a share of the frame width (1 for close-up photos)."""
    fw = frame.shape[1]
    gray = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), np.uint8)
    rects = []
    for contour in _regions(gray):
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        rect = ((float(cx), float(cy)), (float(rw), float(rh)), float(angle))
        if max(rw, rh) < MIN_PLATE_WIDTH or max(rw, rh) > max_share * fw:
            continue
        if not _plate_shaped(rw, rh) or cv2.contourArea(contour) < MIN_FILL * rw * rh:
            continue
        x, y, w, h = cv2.boundingRect(contour)
        fill = cv2.contourArea(contour) / (rw * rh)
        rects.append(_Region(rw * rh, fill, rect, (x, y, x + w, y + h)))
    return _select(frame, sorted(rects, key=lambda r: -r.area), max_candidates)


@dataclass(frozen=True, slots=True)
class _Region:
    area: float
    fill: float
    rect: tuple[tuple[float, float], tuple[float, float], float]
    box: Box


def _select(frame: Image, regions: list[_Region], max_candidates: int) -> list[Candidate]:
    """Candidates from regions (largest first) holding characters; a region overlapping a
    candidate is dropped unless it is tighter (:func:`_tighter`): then it replaces it."""
    found: list[tuple[_Region, Candidate]] = []
    for region in regions:
        clash = [f for f in found if iou(region.box, f[1].box) > 0.3
                 or _inside(region.box, f[1].box)]
        if not all(_tighter(region, outer) for outer, _ in clash):
            continue
        crop = _warp(frame, region.rect)
        if _has_characters(crop):
            found = [f for f in found if f not in clash] + [(region, Candidate(crop, region.box))]
            if len(found) == max_candidates:
                break
    return [c for _, c in sorted(found, key=lambda f: -f[0].area)]


def _tighter(inner: _Region, outer: _Region) -> bool:
    """A region inside another that fills its rectangle clearly better and has at least half
    its area is the plate itself; the other holds some of its surroundings too (a
    mudguard, the bag it is sold in)."""
    return (_inside(inner.box, outer.box) and inner.fill >= outer.fill + TIGHTER_FILL
            and inner.area >= TIGHTER_AREA * outer.area)


def _inside(inner: Box, outer: Box) -> bool:
    return (inner[0] >= outer[0] and inner[1] >= outer[1]
            and inner[2] <= outer[2] and inner[3] <= outer[3])


def whole_image_candidate(image: Image) -> Candidate | None:
    """The whole image as one candidate when it is plate-shaped (a plate crop)."""
    h, w = image.shape[:2]
    if min(h, w) < 12 or not _plate_shaped(w, h):
        return None
    return Candidate(image, (0, 0, w, h))
