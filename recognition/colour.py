"""Plate background colour and what it says about the vehicle (pure OpenCV/numpy).

Vietnamese plates: white = private, yellow = commercial transport (since 2020), blue =
state bodies, red = military. The colour is the median hue/saturation/value of the
plate's background pixels (the text box minus the characters).
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from tracing.plates import Plate

__all__ = ["CATEGORY_BY_COLOUR", "classify_colour", "vehicle_class"]

CATEGORY_BY_COLOUR: Final = {"white": "private", "yellow": "commercial", "blue": "state",
                             "red": "military", "other": "other"}
"""Vehicle category by plate colour."""
MIN_SATURATION: Final = 70
"""Below this saturation (0–255) a background is white (or grey/silver in shade)."""
MIN_VALUE: Final = 50
"""Below this brightness (0–255) the colour cannot be told."""


def classify_colour(bgr: npt.NDArray[np.uint8], mask: npt.NDArray[np.bool_] | None = None) -> str:
    """``white``, ``yellow``, ``blue``, ``red`` or ``other`` for the masked pixels."""
    pixels = bgr.reshape(-1, 3) if mask is None else bgr[mask]
    if len(pixels) == 0:
        return "other"
    hsv = cv2.cvtColor(pixels.reshape(-1, 1, 3).astype(np.uint8), cv2.COLOR_BGR2HSV)
    hue, sat, val = (float(np.median(hsv[:, 0, i])) for i in range(3))
    if val < MIN_VALUE:
        return "other"
    if sat < MIN_SATURATION:
        return "white"
    if hue < 10 or hue >= 165:  # OpenCV hue runs 0–179
        return "red"
    if 15 <= hue < 40:
        return "yellow"
    if 90 <= hue < 135:
        return "blue"
    return "other"


def vehicle_class(plate: Plate) -> str:
    """``motorbike`` when the plate's series is a letter and a digit, else ``car``
    (military plates included: the series alone does not tell)."""
    return "motorbike" if plate.kind == "motorbike" else "car"
