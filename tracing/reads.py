"""The plate read: the one record recognition produces and tracing consumes.

A read is one sighting of one plate by one camera at one instant. Recognition fills a
:class:`PlateRead`; the store validates, normalises and keeps it in the ``reads`` table
whose column names are the constants below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Final

# --- Column names of the ``reads`` table ------------------------------------------------------
READ_ID: Final = "read_id"
CAMERA_ID: Final = "camera_id"
TS: Final = "ts"
PLATE: Final = "plate"
PLATE_COMPACT: Final = "plate_compact"
PLATE_RAW: Final = "plate_raw"
CONFIDENCE: Final = "confidence"
VEHICLE_CLASS: Final = "vehicle_class"
PLATE_COLOUR: Final = "plate_colour"
CROP_REF: Final = "crop_ref"
SOURCE: Final = "source"
INGESTED_AT: Final = "ingested_at"

READ_COLUMNS: Final = (
    READ_ID, CAMERA_ID, TS, PLATE, PLATE_COMPACT, PLATE_RAW, CONFIDENCE,
    VEHICLE_CLASS, PLATE_COLOUR, CROP_REF, SOURCE, INGESTED_AT,
)
"""Columns of the ``reads`` table, in table order."""

REQUIRED_INPUT_COLUMNS: Final = frozenset({CAMERA_ID, TS})
"""Columns every batch of reads must have, besides one of ``plate_raw`` / ``plate``."""
OPTIONAL_INPUT_COLUMNS: Final = frozenset(
    {READ_ID, CONFIDENCE, VEHICLE_CLASS, PLATE_COLOUR, CROP_REF, SOURCE}
)
"""Columns a batch of reads may have; any other column refuses the batch."""

PLATE_COLOURS: Final = frozenset({"white", "blue", "yellow", "red", "other"})
"""Plate background colours (white private, blue state, yellow commercial, red military)."""


@dataclass(frozen=True, slots=True)
class PlateRead:
    """One sighting of a plate by a camera.

    ``read_id`` is the idempotency key: storing the same read twice keeps one copy. When
    absent the store derives it from (camera_id, ts, plate_raw). ``ts`` must carry a time
    zone (an instant): a naive datetime is a ``ValueError``, never guessed.
    """

    read_id: str | None
    camera_id: str
    ts: datetime
    plate_raw: str
    confidence: float | None = None
    vehicle_class: str | None = None
    plate_colour: str | None = None
    crop_ref: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.ts, datetime):
            raise ValueError(f"ts must be a datetime, not {type(self.ts).__name__}")
        if self.ts.tzinfo is None or self.ts.utcoffset() is None:
            raise ValueError(f"ts {self.ts.isoformat()} has no time zone; give an instant")
        if not self.camera_id:
            raise ValueError("camera_id is empty")
        conf = self.confidence
        if conf is not None and (math.isnan(conf) or not 0.0 <= conf <= 1.0):
            raise ValueError(f"confidence {conf!r} is outside [0, 1]")
