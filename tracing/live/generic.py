"""The generic JSON event format: one event, or ``{"events": [...]}``, posted to ``/v1/events``.

For devices and middleware that can shape their own requests. The schema
(:class:`JsonEvent`, :class:`JsonBatch`) is published in the receiver's OpenAPI document
(``GET /openapi.json``). ``ts`` is ISO 8601; without an offset it is read in the device's
time zone (its credential), and refused when the device has none. Pictures are base64.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
)

from tracing import settings
from tracing.errors import EventError
from tracing.live.events import CameraEvent, EventImage, ImageKind

Text = Annotated[str, Field(min_length=1, max_length=200)]
Picture = Annotated[str, Field(max_length=settings.LIVE_MAX_IMAGE_BYTES * 4 // 3 + 4,
                               description="base64 of a JPEG or PNG picture")]


class JsonEvent(BaseModel):
    """One plate read reported by a device."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    plate: Annotated[str, Field(min_length=1, max_length=32,
                                description="the plate as read, e.g. 51F-123.45")]
    ts: datetime = Field(description="when the plate was read (ISO 8601, with offset)")
    camera_id: Text | None = Field(
        None, description="registry camera id (may be left out by a one-camera device)")
    channel: Text | None = Field(None, description="the device's channel, if it is an NVR")
    event_id: Text | None = Field(
        None, description="the device's id of this event: a resend with it is stored once")
    confidence: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    vehicle_class: Literal["motorbike", "car", "truck", "bus"] | None = None
    plate_colour: Literal["white", "blue", "yellow", "red", "other"] | None = None
    plate_image: Picture | None = None
    scene_image: Picture | None = None


class JsonBatch(BaseModel):
    """Several events in one request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: Annotated[list[JsonEvent], Field(min_length=1,
                                             max_length=settings.LIVE_MAX_BATCH_EVENTS)]


def _shape(value: object) -> str:
    return "batch" if isinstance(value, dict) and "events" in value else "event"


Body = Annotated[Annotated[JsonEvent, Tag("event")] | Annotated[JsonBatch, Tag("batch")],
                 Discriminator(_shape)]
BODY: TypeAdapter[JsonEvent | JsonBatch] = TypeAdapter(Body)
"""The request body: one event, or a batch (an object with ``events``)."""


def parse_json(body: bytes) -> list[CameraEvent]:
    """The events of a generic JSON body (EventError naming the first problems)."""
    try:
        parsed = BODY.validate_json(body)
    except ValidationError as exc:
        raise EventError(f"invalid event JSON: {_summary(exc)}") from None
    events = parsed.events if isinstance(parsed, JsonBatch) else [parsed]
    return [_event(e) for e in events]


def _event(event: JsonEvent) -> CameraEvent:
    pictures: tuple[tuple[ImageKind, str | None], ...] = (
        ("plate", event.plate_image), ("scene", event.scene_image))
    images = tuple(EventImage(kind, _decoded(kind, text)) for kind, text in pictures
                   if text is not None)
    offset = event.ts.utcoffset()
    ts = event.ts if offset is None else event.ts.replace(tzinfo=timezone(offset))
    return CameraEvent(vendor="json", plate_raw=event.plate, ts=ts,
                       event_id=event.event_id, camera_id=event.camera_id,
                       channel=event.channel, confidence=event.confidence,
                       vehicle_class=event.vehicle_class, plate_colour=event.plate_colour,
                       images=images)


def _decoded(kind: ImageKind, text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise EventError(f"{kind}_image is not valid base64") from None


def _summary(exc: ValidationError) -> str:
    problems = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                for e in exc.errors(include_url=False, include_input=False)[:3]]
    more = exc.error_count() - len(problems)
    return "; ".join(problems) + (f" (+{more} more)" if more > 0 else "")
