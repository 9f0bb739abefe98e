"""Dahua ITC (traffic camera) plate snapshots, as pushed over Dahua's ITSAPI.

An ITC camera set to push to a third-party platform over ITSAPI (protocol V1.19) posts
JSON (``application/json``): each snapshot to ``/NotificationInfo/TollgateInfo``, a
heartbeat to ``/NotificationInfo/KeepAlive`` (``{"Active": ..., "DeviceID": ...}``) and
its identity to ``/NotificationInfo/DeviceInfo`` (``DeviceName``, ``DeviceModel`` ...).
The heartbeat, the identity and alarms (``AlarmInfo``) give no event. A snapshot is::

    {"Picture": {"Plate": {"PlateNumber", "PlateColor", "Confidence", "IsExist",
                           "Channel", "BoundingBox", "PlateType", "Region", "UploadNum"},
                 "Vehicle": {"VehicleType", "VehicleColor", "VehicleSign", "Speed", ...},
                 "SnapInfo": {"AccurateTime", "SnapTime", "TimeZone", "DSTTune",
                              "DeviceID", "Direction", "LanNo", "TriggerSource", ...},
                 "CutoutPic": {"PicName", "Content"},    # plate crop, base64
                 "NormalPic": {"PicName", "Content"},    # scene, base64
                 "VehiclePic": {"PicName", "Content"}}}  # vehicle close-up, base64

Read here: ``PlateNumber`` (kept as read; ``IsExist`` false, empty or ``Unknown`` gives no
event); ``AccurateTime`` (``2024-05-10 14:03:22.417``), else ``SnapTime``, left naive
(the camera's local time: the receiver applies the device's time zone, as ``TimeZone`` is a
zone index whose table is not published); ``Confidence`` 0–100, scaled to [0, 1];
``Plate.Channel`` as the channel; ``PlateColor`` and ``VehicleType`` mapped by
:data:`PLATE_COLOURS` and :data:`VEHICLE_CLASSES` (values outside them: ``other`` / None,
never an error: firmwares differ). ``CutoutPic`` is the plate picture, ``NormalPic`` (else
``VehiclePic``) the scene. ``SnapInfo`` may also sit beside ``Picture``. There is no event
id: a resend (the camera repeats until it gets ``{"Result": true}``) carries the same time
and plate, from which the store derives one read id.

Sources: Dahua's ITSAPI documentation is given to integration partners, not published; the
message layout and field names above come from open receivers built on it: the
``madcat1991/safewheels-dahua`` ITSAPI server (``/NotificationInfo/TollgateInfo``,
``KeepAlive``, ``Picture.Plate/Vehicle/SnapInfo/NormalPic``, ``AccurateTime`` format, the
``Result`` reply) and ITSAPI simulators' message models (V1.19: DeviceInfo, heartbeat,
ANPR, ``CutoutPic``/``VehiclePic``, ``SnapInfo`` fields). Dahua's published HTTP API
(``snapManager.cgi?action=attachFileProc``, ``TrafficJunction``) is a stream the client
pulls from the camera, not a push, so it is not handled here.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Final, TypeVar

from tracing import settings
from tracing.errors import EventError
from tracing.live.events import CameraEvent, EventImage, ImageKind, vendor_time
from tracing.reads import PLATE_COLOURS

VENDOR: Final = "dahua"
JSON_TYPES: Final = frozenset({"application/json", "text/json"})
MAX_DEPTH: Final = 16
"""Deepest nesting of objects and arrays accepted (a snapshot has 4)."""
MAX_CONTAINERS: Final = 1000
"""Most objects and arrays in one message (a snapshot has about ten): bounds the memory a
body of ``[[],[],...]`` would take."""
MAX_PICTURE_CHARS: Final = settings.LIVE_MAX_IMAGE_BYTES * 4 // 3 + 4
"""Longest base64 picture: checked before decoding."""
NOTIFICATIONS: Final = frozenset({"Active", "DeviceName", "DeviceModel", "AlarmInfo"})
"""Keys of the heartbeat, identity and alarm messages, which carry no ``Picture``."""
NO_PLATE: Final = frozenset({"", "unknown", "unknow", "noplate", "无牌车"})
"""``PlateNumber`` values of a vehicle whose plate was not read."""
VEHICLE_CLASSES: Final[Mapping[str, str]] = {
    "motorcycle": "motorbike", "motorbike": "motorbike",
    "car": "car", "salooncar": "car", "sedan": "car", "smallcar": "car", "minicar": "car",
    "microcar": "car", "passengercar": "car", "suv": "car", "mpv": "car", "microbus": "car",
    "truck": "truck", "lighttruck": "truck", "midtruck": "truck", "mediumtruck": "truck",
    "largetruck": "truck", "heavytruck": "truck", "microtruck": "truck", "pickup": "truck",
    "pickuptruck": "truck", "tankcar": "truck",
    "bus": "bus", "largebus": "bus", "mediumbus": "bus", "minibus": "bus", "schoolbus": "bus",
}
"""``VehicleType`` (lower case, letters only) → our class; others (``Motor``, ``NonMotor``,
``Tricycle``, ``Unknown`` ...) → None."""
PICTURES: Final[tuple[tuple[ImageKind, tuple[str, ...]], ...]] = (
    ("plate", ("CutoutPic",)), ("scene", ("NormalPic", "VehiclePic")))
"""Which picture of ``Picture`` is the plate crop, which the scene (best first)."""
_NOT_LETTER = re.compile(r"[^a-z]")
JsonObject = dict[str, object]
_T = TypeVar("_T", str, bool, JsonObject)


def parse_dahua(body: bytes, content_type: str) -> list[CameraEvent]:
    """The plate event of one ITSAPI post; none for a heartbeat, an identity message or a
    snapshot without a read plate. EventError names what is malformed."""
    if len(body) > settings.LIVE_MAX_BODY_BYTES:
        raise EventError(f"body of {len(body)} bytes is over the "
                         f"{settings.LIVE_MAX_BODY_BYTES}-byte limit")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in JSON_TYPES and not media_type.endswith("+json"):
        raise EventError(f"content type {media_type[:60]!r} is not JSON")
    message = _load(body)
    if "Picture" not in message:
        if message.keys() & NOTIFICATIONS:
            return []
        raise EventError("Dahua message has no Picture object (not an ITSAPI TollgateInfo)")
    picture = _get(message, "Picture", "", dict)
    plate = None if picture is None else _get(picture, "Plate", "Picture", dict)
    if picture is None or plate is None:
        raise EventError("TollgateInfo has no Picture.Plate object")
    number = (_get(plate, "PlateNumber", "Picture.Plate", str) or "").strip()
    if _get(plate, "IsExist", "Picture.Plate", bool) is False or number.lower() in NO_PLATE:
        return []
    snap = _get(picture, "SnapInfo", "Picture", dict) or _get(message, "SnapInfo", "", dict)
    if snap is None:
        raise EventError("TollgateInfo has no SnapInfo object")
    vehicle = _get(picture, "Vehicle", "Picture", dict) or {}
    return [CameraEvent(
        vendor=VENDOR, plate_raw=number, ts=_timestamp(snap), channel=_channel(plate),
        confidence=_confidence(plate),
        vehicle_class=VEHICLE_CLASSES.get(_letters(vehicle, "VehicleType", "Picture.Vehicle")),
        plate_colour=_colour(_letters(plate, "PlateColor", "Picture.Plate")),
        images=_images(picture))]


def _load(body: bytes) -> JsonObject:
    if body.count(b"{") + body.count(b"[") > MAX_CONTAINERS:
        raise EventError(f"JSON has over {MAX_CONTAINERS} objects and arrays")
    try:
        message = json.loads(body.decode("utf-8-sig"), parse_constant=_no_constant)
    except EventError:
        raise
    except RecursionError:
        raise EventError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except UnicodeDecodeError:
        raise EventError("body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise EventError(f"malformed JSON: {exc.msg} at line {exc.lineno} column "
                         f"{exc.colno}") from None
    except ValueError as exc:
        raise EventError(f"malformed JSON: {str(exc)[:120]}") from None
    if _too_deep(message):
        raise EventError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if not isinstance(message, dict):
        raise EventError(f"JSON body is {_kind(message)}, not an object")
    return message


def _no_constant(name: str) -> object:
    raise EventError(f"JSON has {name}, which is not a number")


def _too_deep(value: object) -> bool:
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (item.values() if isinstance(item, dict)
                    else item if isinstance(item, list) else None)
        if children is not None:
            if depth > MAX_DEPTH:
                return True
            stack.extend((child, depth + 1) for child in children)
    return False


def _get(obj: JsonObject, key: str, where: str, kind: type[_T]) -> _T | None:
    """``obj[key]`` if it is a ``kind`` (None when absent or null); EventError otherwise."""
    value = obj.get(key)
    if value is None or isinstance(value, kind):
        return value
    name = {str: "a string", bool: "true or false", dict: "an object"}[kind]
    raise EventError(f"{where + '.' if where else ''}{key} is {_kind(value)}, not {name}")


def _kind(value: object) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
             list: "an array", dict: "an object"}
    return names.get(type(value), "null")


def _number(obj: JsonObject, key: str, where: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EventError(f"{where}.{key} is {_kind(value)}, not a number")
    try:
        return float(value)
    except OverflowError:
        raise EventError(f"{where}.{key} is out of range") from None


def _timestamp(snap: JsonObject) -> datetime:
    text = _get(snap, "AccurateTime", "SnapInfo", str) or _get(snap, "SnapTime", "SnapInfo", str)
    if text is None:
        raise EventError("SnapInfo has no AccurateTime or SnapTime")
    return vendor_time(text, "snapshot time")


def _confidence(plate: JsonObject) -> float | None:
    value = _number(plate, "Confidence", "Picture.Plate")
    if value is not None and not 0.0 <= value <= 100.0:
        raise EventError(f"Picture.Plate.Confidence {value:g} is not from 0 to 100")
    return None if value is None else value / 100.0


def _channel(plate: JsonObject) -> str | None:
    value = _number(plate, "Channel", "Picture.Plate")
    if value is not None and (value < 0 or not value.is_integer()):
        raise EventError(f"Picture.Plate.Channel {value:g} is not a channel number")
    return None if value is None else str(int(value))


def _letters(obj: JsonObject, key: str, where: str) -> str:
    return _NOT_LETTER.sub("", (_get(obj, key, where, str) or "").lower())


def _colour(name: str) -> str | None:
    if name in ("", "unknown", "unknow"):
        return None
    return name if name in PLATE_COLOURS else "other"


def _images(picture: JsonObject) -> tuple[EventImage, ...]:
    """The plate crop and the scene (one of each at most), decoded and checked."""
    images = []
    for kind, keys in PICTURES:
        contents = [(f"Picture.{key}", _content(picture, key)) for key in keys]
        found = next(((where, text) for where, text in contents if text), None)
        if found is not None:
            images.append(EventImage(kind, _decoded(*found)))
    return tuple(images)


def _content(picture: JsonObject, key: str) -> str | None:
    pic = _get(picture, key, "Picture", dict)
    return None if pic is None else _get(pic, "Content", f"Picture.{key}", str)


def _decoded(where: str, text: str) -> bytes:
    if len(text) > MAX_PICTURE_CHARS:
        raise EventError(f"{where} of {len(text)} base64 characters is over the "
                         f"{settings.LIVE_MAX_IMAGE_BYTES}-byte picture limit")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise EventError(f"{where}.Content is not valid base64") from None
