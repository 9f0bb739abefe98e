"""Boxes and reads drawn on a frame (for the Recognise page and for reviewing)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from recognition.pipeline import Detection

__all__ = ["annotate"]

_COLOUR = (40, 200, 40)
_LOW = (0, 140, 255)


def annotate(image: npt.NDArray[np.uint8], detections: Sequence[Detection], *,
             low_confidence: float = 0.5) -> npt.NDArray[np.uint8]:
    """A copy of a BGR image with each plate's box and its read (and confidence);
    reads below ``low_confidence`` are drawn in orange."""
    out = image.copy()
    scale = max(0.5, min(out.shape[:2]) / 720)
    thickness = max(1, round(2 * scale))
    for det in detections:
        x0, y0, x1, y1 = det.box
        colour = _COLOUR if det.reading.confidence >= low_confidence else _LOW
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, thickness)
        label = f"{det.reading.text} {det.reading.confidence:.2f}"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.7 * scale, thickness)
        top = max(0, y0 - th - base - 4)
        cv2.rectangle(out, (x0, top), (x0 + tw + 4, top + th + base + 4), colour, -1)
        cv2.putText(out, label, (x0 + 2, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, 0.7 * scale,
                    (0, 0, 0), thickness, cv2.LINE_AA)
    return np.asarray(out, np.uint8)
