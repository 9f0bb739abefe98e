"""From a device's event to a plate read: which camera, which instant, which id, which crops.

The one set of rules every event format goes through (generic JSON, Hikvision, Dahua):

- the camera is resolved through the posting device's bindings
  (:meth:`tracing.live.devices.Device.camera_of`): no device posts for another's camera;
- a timestamp without an offset is read in the device's time zone, or refused; the instant
  must lie in the store's accepted window (:mod:`tracing.store.window`);
- the read id is ``<vendor>:<camera>:<event id>`` when the device gives an event id, so a
  resent event is stored once; otherwise the store derives it from camera, time and plate;
- pictures become crop files under ``crops_dir`` (``live/<camera>/<day>/<key>-plate.jpg``,
  ``…-scene.jpg``): the read's ``crop_ref`` is the plate picture, else the scene.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tracing.diskcache import content_key
from tracing.errors import EventError
from tracing.live.devices import Device
from tracing.live.events import CameraEvent
from tracing.reads import PlateRead
from tracing.store import window

UNSAFE_PATH = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, slots=True)
class Accepted:
    """A read ready for the spool, and the crop files (relative path, bytes) it refers to."""

    read: PlateRead
    crops: tuple[tuple[str, bytes], ...]


def accept(event: CameraEvent, device: Device, cameras: frozenset[str], *,
           now: datetime | None = None) -> Accepted:
    """The read of ``event`` posted by ``device`` (``cameras``: the registry's ids).
    DeviceError: a camera or channel the device is not bound to; EventError otherwise."""
    camera = device.camera_of(event.camera_id, event.channel)
    if camera not in cameras:
        raise EventError(f"camera {camera!r} is not in the registry")
    ts = instant(event.ts, device, now)
    key = content_key(camera, ts.isoformat(), event.plate_raw)
    read_id = f"{event.vendor}:{camera}:{event.event_id}" if event.event_id else None
    day = ts.astimezone(UTC).strftime("%Y-%m-%d")
    stem = f"live/{UNSAFE_PATH.sub('_', camera)}/{day}/{content_key(read_id or key)}"
    refs = {image.kind: f"{stem}-{image.kind}{image.suffix}" for image in event.images}
    crops = {refs[image.kind]: image.data for image in event.images}
    try:
        read = PlateRead(read_id=read_id, camera_id=camera, ts=ts,
                         plate_raw=event.plate_raw.strip(), confidence=event.confidence,
                         vehicle_class=event.vehicle_class, plate_colour=event.plate_colour,
                         crop_ref=refs.get("plate") or refs.get("scene"),
                         source=f"live:{device.id}")
    except ValueError as exc:
        raise EventError(str(exc)) from None
    return Accepted(read, tuple(crops.items()))


def instant(ts: datetime, device: Device, now: datetime | None = None) -> datetime:
    """``ts`` as an instant in the accepted window (naive: in the device's time zone)."""
    if ts.utcoffset() is None:
        if device.time_zone is None:
            raise EventError("timestamp without a UTC offset, and the device has no time "
                             "zone set (give one with its credential, or send the offset)")
        ts = ts.replace(tzinfo=ZoneInfo(device.time_zone))
    problem = window.refusal(ts, now)
    if problem is not None:
        raise EventError(f"{problem}: {ts.isoformat()}")
    return ts

