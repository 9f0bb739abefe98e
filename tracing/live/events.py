"""One plate event as a camera reports it, whatever its vendor: what the receiver accepts.

A vendor adapter (:mod:`tracing.live.hikvision`, :mod:`tracing.live.dahua`, or the generic
JSON body) turns a request into :class:`CameraEvent` values; the receiver then resolves the
camera against the posting device's bindings, checks the time and stores the read.
Adapters check the shape of what they parse and raise :class:`~tracing.errors.EventError`
with a reason a device owner can act on; they do not decide which camera an event belongs
to (the device's bindings do) nor whether its time is plausible (the store's window does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from tracing import settings
from tracing.errors import EventError

ImageKind = Literal["plate", "scene"]
JPEG_MAGIC: Final = b"\xff\xd8\xff"
PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
IMAGE_SUFFIXES: Final = {JPEG_MAGIC: ".jpg", PNG_MAGIC: ".png"}
"""Image formats an event may carry (by their first bytes), with the crop file suffix."""
VEHICLE_CLASSES: Final = frozenset({"motorbike", "car", "truck", "bus"})
DATE_TIME: Final = re.compile(r"\d{4}-?\d{2}-?\d{2}[Tt ]\d{2}")
"""The start a vendor's date and time must have (ISO 8601 or its space-separated form)."""


def vendor_time(text: str, what: str, expected: str = "a date and time") -> datetime:
    """A vendor's ISO 8601 date and time (naive when it has no offset); EventError naming
    ``what`` and the ``expected`` form otherwise."""
    try:
        if DATE_TIME.match(text):
            return datetime.fromisoformat(text)
    except ValueError:
        pass
    raise EventError(f"{what} {text[:40]!r} is not {expected}")


@dataclass(frozen=True, slots=True)
class EventImage:
    """A picture attached to an event: the plate crop or the whole scene."""

    kind: ImageKind
    data: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.data) > settings.LIVE_MAX_IMAGE_BYTES:
            raise EventError(f"{self.kind} image of {len(self.data)} bytes is over the "
                             f"{settings.LIVE_MAX_IMAGE_BYTES}-byte limit")
        if not any(self.data.startswith(magic) for magic in IMAGE_SUFFIXES):
            raise EventError(f"{self.kind} image is not a JPEG or PNG picture")

    @property
    def suffix(self) -> str:
        """The crop file suffix of this picture (``.jpg`` or ``.png``)."""
        return next(s for magic, s in IMAGE_SUFFIXES.items() if self.data.startswith(magic))


@dataclass(frozen=True, slots=True)
class CameraEvent:
    """One plate read as a device reported it.

    ``camera_id`` names a registry camera (generic JSON); vendor formats name a ``channel``
    instead (Hikvision ``channelID``, Dahua channel), or nothing when the device is one
    camera. ``ts`` may be naive: a device that sends local time without an offset has a
    time zone in its credential; without one the receiver refuses the event.
    """

    vendor: str
    plate_raw: str
    ts: datetime
    event_id: str | None = None
    camera_id: str | None = None
    channel: str | None = None
    confidence: float | None = None
    vehicle_class: str | None = None
    plate_colour: str | None = None
    images: tuple[EventImage, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.plate_raw, str) or not self.plate_raw.strip():
            raise EventError("the event has no plate text")
        if len(self.plate_raw) > settings.INGEST_MAX_TEXT_CHARS:
            raise EventError(f"plate text of {len(self.plate_raw)} characters is too long")
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0:
            raise EventError(f"confidence {self.confidence!r} is outside [0, 1]")
        if self.vehicle_class is not None and self.vehicle_class not in VEHICLE_CLASSES:
            raise EventError(f"vehicle class {self.vehicle_class!r} is not one of "
                             f"{sorted(VEHICLE_CLASSES)}")
        for text in (self.event_id, self.camera_id, self.channel):
            if text is not None and (not text.strip() or len(text) > 200):
                raise EventError(f"identifier {text[:40]!r} is empty or over 200 characters")
