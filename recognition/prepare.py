"""Crop preparation: deskew a plate crop, trim its border, split it into text lines.

Pure OpenCV and numpy (no OCR). Characters are found as connected components of the
binarised crop whose size fits a plate character; the plate border, screws and the
background outside the plate fail that test. Their union is the text box (the border is
trimmed off: EasyOCR reads a border as characters), the angle of their centre line gives
the skew, and two rows of centres make a two-line plate, split between the rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["PreparedPlate", "char_boxes", "prepare_crop"]

Layout = Literal["one_line", "two_line"]
Image = npt.NDArray[np.uint8]
Boxes = npt.NDArray[np.int64]

WORK_HEIGHT: Final = 96
"""Crops are scaled to this height before preparation (characters ~25–70 px tall)."""
CHAR_HEIGHT: Final = (0.18, 0.92)
"""A character is this share of the crop height (two-line rows ~0.35, one-line ~0.7)."""
CHAR_ASPECT: Final = (0.9, 8.0)
"""Character height / width ('1' is thin, 'M' and 'W' nearly square)."""
MIN_CHARS: Final = 4
"""Fewer components than this: fall back to the crop's aspect ratio and fixed margins."""
TWO_LINE_ASPECT: Final = 2.6
"""Without enough characters, a crop narrower than this (width / height) is two-line."""
MAX_DESKEW_DEG: Final = 20.0


@dataclass(frozen=True, slots=True)
class PreparedPlate:
    """A crop ready for OCR: grey text lines (dark text on light), the layout, the
    deskewed colour crop trimmed to the plate text and the mask of its background."""

    lines: tuple[Image, ...]
    layout: Layout
    plate: Image
    background: npt.NDArray[np.bool_]
    angle_deg: float


def _scaled(crop: Image) -> Image:
    h, w = crop.shape[:2]
    scale = WORK_HEIGHT / max(h, 1)
    size = (max(8, round(w * scale)), WORK_HEIGHT)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(crop, size, interpolation=interp), np.uint8)


def _dark_text(gray: Image) -> Image:
    """Grey crop with dark text on a light background (blue and red plates are inverted):
    the background is the majority class of the crop's middle band after Otsu."""
    h, w = gray.shape
    middle = gray[h // 4 : 3 * h // 4, w // 8 : 7 * w // 8]
    level, _ = cv2.threshold(middle, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return gray if np.mean(middle > level) >= 0.5 else np.asarray(255 - gray, np.uint8)


def char_boxes(gray: Image) -> Boxes:
    """Boxes ``[x, y, w, h]`` of character-like dark components of a dark-text crop."""
    h, w = gray.shape
    binary = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV,
                                   (h // 2) | 1, 8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    boxes = stats[1:n, :4].astype(np.int64)
    bh, bw = boxes[:, 3], boxes[:, 2]
    ok = (bh >= CHAR_HEIGHT[0] * h) & (bh <= CHAR_HEIGHT[1] * h)
    ok &= (bh >= CHAR_ASPECT[0] * bw) & (bh <= CHAR_ASPECT[1] * bw) & (bw < 0.4 * w)
    ok &= stats[1:n, 4] >= 0.15 * bw * bh
    boxes = boxes[ok]
    if len(boxes) >= MIN_CHARS:  # characters of one plate share a height
        med = np.median(boxes[:, 3])
        boxes = boxes[(boxes[:, 3] > 0.7 * med) & (boxes[:, 3] < 1.3 * med)]
    return np.asarray(boxes, np.int64)


def _rows(boxes: Boxes) -> list[Boxes]:
    """Split character boxes into one or two rows by the largest gap between centres."""
    centres = boxes[:, 1] + boxes[:, 3] / 2
    order = np.argsort(centres)
    gaps = np.diff(centres[order])
    if len(gaps) and gaps.max() > 0.6 * np.median(boxes[:, 3]):
        cut = int(gaps.argmax()) + 1
        top, bottom = boxes[order[:cut]], boxes[order[cut:]]
        if len(top) >= 2 and len(bottom) >= 3:
            return [top, bottom]
    return [boxes]


def _skew(rows: list[Boxes]) -> float:
    """Angle (degrees) of the line through the bottom centres of the longest row."""
    row = max(rows, key=len)
    if len(row) < 3:
        return 0.0
    xs = row[:, 0] + row[:, 2] / 2
    ys = row[:, 1] + row[:, 3]
    slope = float(np.polyfit(xs, ys, 1)[0])
    angle = math.degrees(math.atan(slope))
    return angle if abs(angle) <= MAX_DESKEW_DEG else 0.0


def _rotate(image: Image, angle: float) -> Image:
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return np.asarray(cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE), np.uint8)


def _line(gray: Image, row: Boxes, limits: tuple[int, int], widen: float) -> Image:
    """The row's text cut at its characters' extent (no plate border left: the recogniser
    reads a border as ``1``), clipped vertically to ``limits``, with a margin of background
    added on every side (it misreads a character that touches the image edge)."""
    w = gray.shape[1]
    char_h = float(np.median(row[:, 3]))
    y0 = max(limits[0], int(row[:, 1].min() - 0.04 * char_h))
    y1 = min(limits[1], int((row[:, 1] + row[:, 3]).max() + 0.04 * char_h) + 1)
    unit = _pitch(row, char_h)
    x0 = max(0, int(row[:, 0].min() - widen * unit) - 1)
    x1 = min(w, int((row[:, 0] + row[:, 2]).max() + widen * unit) + 1)
    text = gray[y0:y1, x0:x1]
    margin = max(2, int(0.35 * char_h))
    paper = int(np.percentile(text, 90)) if text.size else 255
    return np.asarray(cv2.copyMakeBorder(text, margin, margin, margin, margin,
                                         cv2.BORDER_CONSTANT, value=paper), np.uint8)


def _pitch(row: Boxes, char_h: float) -> float:
    """Median distance between neighbouring character centres of a row (0.6 character
    heights, a typical plate pitch, when it has fewer than 3 characters)."""
    if len(row) < 3:
        return 0.6 * char_h
    centres = np.sort(row[:, 0] + row[:, 2] / 2)
    return float(np.median(np.diff(centres)))


def _limits(rows: list[Boxes], height: int) -> list[tuple[int, int]]:
    """Vertical range of each row: two rows meet halfway between them."""
    if len(rows) == 1:
        return [(0, height)]
    top_end = int((rows[0][:, 1] + rows[0][:, 3]).max())
    bottom_start = int(rows[1][:, 1].min())
    cut = (top_end + bottom_start) // 2
    return [(0, cut), (cut, height)]


def _fallback(gray: Image) -> tuple[Image, ...]:
    """Fixed margins and the aspect ratio when too few characters were found."""
    h, w = gray.shape
    inner = gray[int(0.08 * h) : int(0.92 * h), int(0.04 * w) : int(0.96 * w)]
    if w / h >= TWO_LINE_ASPECT:
        return (inner,)
    ih = inner.shape[0]
    profile = inner[int(0.35 * ih) : int(0.65 * ih)].astype(np.float32).mean(axis=1)
    cut = int(0.35 * ih) + int(profile.argmax())  # the lightest row between the two lines
    return inner[:cut], inner[cut:]


def prepare_crop(crop: Image, *, widen: float = 0.0) -> PreparedPlate:
    """Deskew, trim and split a colour (BGR) or grey crop of one plate. ``widen``: extend
    each line sideways by this many character pitches (a character joined to the border
    is not found as a component; the wider cut keeps it, at the risk of border strokes)."""
    colour = _scaled(np.asarray(crop if crop.ndim == 3 else cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR),
                                np.uint8))
    gray = _dark_text(np.asarray(cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY), np.uint8))
    boxes = char_boxes(gray)
    angle = 0.0
    if len(boxes) >= MIN_CHARS:
        angle = _skew(_rows(boxes))
        if abs(angle) > 1.0:
            colour, gray = _rotate(colour, angle), _rotate(gray, angle)
            boxes = char_boxes(gray)
    if len(boxes) < MIN_CHARS:
        lines = _fallback(gray)
        background = np.ones(gray.shape, np.bool_)
        return PreparedPlate(lines, "one_line" if len(lines) == 1 else "two_line", colour,
                             background, angle)
    rows = _rows(boxes)
    if len(rows) == 1 and gray.shape[1] / gray.shape[0] < TWO_LINE_ASPECT:
        # a two-line plate with one row lost (characters touching each other or the border)
        lines = _fallback(gray)
        return PreparedPlate(lines, "two_line", colour, np.ones(gray.shape, np.bool_), angle)
    lines = tuple(_line(gray, row, lim, widen)
                  for row, lim in zip(rows, _limits(rows, gray.shape[0]), strict=True))
    background = np.ones(gray.shape, np.bool_)
    for x, y, bw, bh in boxes:
        background[y : y + bh, x : x + bw] = False
    x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
    x1, y1 = (boxes[:, 0] + boxes[:, 2]).max(), (boxes[:, 1] + boxes[:, 3]).max()
    inside = np.zeros_like(background)
    inside[y0:y1, x0:x1] = True
    return PreparedPlate(lines, "one_line" if len(rows) == 1 else "two_line", colour,
                         background & inside, angle)
