"""Hikvision ISAPI ANPR events, as a camera in "HTTP listening" (alarm host) mode posts them.

The body is either a bare ``EventNotificationAlert`` XML (``application/xml``) or a
``multipart/form-data`` (or ``multipart/mixed``) post: one XML part (``anpr.xml``, an XML
content type) and picture parts, e.g. ``licensePlatePicture.jpg`` (the plate crop) and
``detectionPicture.jpg`` (the scene; ``vehiclePicture.jpg`` stands in when there is none).
``ANPR/pictureInfoList/pictureInfo`` may name each part's ``fileName`` and ``type``. Empty
picture parts (some firmwares send them) are skipped.

Fields read (any namespace: ``hikvision.com/ver10``/``ver20``, ``isapi.org/ver20``, none):

- ``eventType``: only ``ANPR`` is a plate read; any other (``videoloss``, ``heartBeat``,
  ``VMD`` ...) and ``eventState`` ``inactive`` (the heartbeat) give no event;
- ``ANPR/licensePlate``: kept as read; empty or ``unknown`` (no plate read) gives no event;
- ``dateTime``: ISO 8601, e.g. ``2024-05-10T14:03:22+07:00``; without an offset it stays
  naive (the receiver applies the device's time zone);
- ``ANPR/confidenceLevel``: 0–100, scaled to [0, 1];
- ``ANPR/vehicleType`` (:data:`VEHICLE_CLASSES`) and ``ANPR/plateColor``
  (:data:`PLATE_COLOURS`; ``unknown`` gives None, a colour not listed ``other``);
- ``channelID`` (else ``dynChannelID``) is the event's channel, ``UUID`` its id.

Sources: Hikvision "Device Network SDK (Traffic) Developer Guide" V6.1.4.X (2022),
message XML_EventNotificationAlert_ANPR (fields, ``eventState``, the ``dateTime`` example);
"Intelligent Security API (ANPR) Developer Guide", chapter 5 (alarm/event receiving);
"Device Network SDK (ANPR) Developer Guide" V6.1.0.X (vehicle types 0–15: 1 bus, 2 truck,
3 car, 4 mini bus, 5 van, 7 two-wheel, 9 SUV/MPV, 10 medium bus, 13 mini car, 14 micro car,
15 pickup), whose ISAPI names in that order are ``largeBus``, ``truck``, ``vehicle``,
``van``, ``buggy`` ... ``pickupTruck`` (Hikvision's SDK demo). Device captures published
with open integrations show the multipart layout (Home Assistant hikvision_next issue
#117, pyHik issue #62) and the empty picture parts with ``Content-ID``
(pastebin.com/raw/z5Bzjthh).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Final
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from tracing import settings
from tracing.errors import EventError
from tracing.live.events import CameraEvent, EventImage, vendor_time
from tracing.reads import PLATE_COLOURS

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

VENDOR: Final = "hikvision"
XML_TYPES: Final = frozenset({"application/xml", "text/xml"})
MAX_PARTS: Final = 16
"""Most parts in a multipart post (the XML and a few pictures)."""
MAX_XML_BYTES: Final = 256 * 1024
"""Largest XML notification (an ANPR alert is ~5 KB): bounds the memory of its tree."""
NO_PLATE: Final = frozenset({"", "unknown", "noplate", "无车牌"})
"""``licensePlate`` values of a vehicle whose plate was not read."""
VEHICLE_CLASSES: Final[Mapping[str, str]] = {
    "twowheelvehicle": "motorbike",
    "vehicle": "car", "smallcar": "car", "minicar": "car", "suvmpv": "car", "van": "car",
    "buggy": "truck", "truck": "truck", "pickuptruck": "truck",
    "largebus": "bus", "mediumbus": "bus",
}
"""ISAPI ``vehicleType`` (lower case) → our class (``van``, the SDK's mini bus, is a
passenger minivan; ``buggy``, its van, a small goods van); the rest (``pedestrian``,
``threeWheelVehicle``, ``motorVehicle``, ``nonmotorVehicle``, ``unknown``) → None."""
PLATE_PICTURE: Final = "licenseplatepicture"
SCENE_PICTURES: Final = ("detectionpicture", "vehiclepicture")
"""Picture types (lower case) of the plate crop, and of the scene (best first)."""


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    data: bytearray = field(default_factory=bytearray)

    def header(self, name: str) -> tuple[str, dict[str, str]]:
        value, params = parse_options_header(self.headers.get(name, ""))
        return (value.decode("latin-1").lower(),
                {k.decode("latin-1"): v.decode("latin-1") for k, v in params.items()})

    @property
    def label(self) -> str:
        """The part's file name, form name or Content-ID (no folder, lower case)."""
        _, disposition = self.header("content-disposition")
        label = (disposition.get("filename") or disposition.get("name")
                 or self.headers.get("content-id", "").strip("<> "))
        return label.replace("\\", "/").rsplit("/", 1)[-1].lower()

    @property
    def is_xml(self) -> bool:
        content_type, _ = self.header("content-type")
        return "xml" in content_type or self.label.endswith(".xml")


def parse_hikvision(body: bytes, content_type: str) -> list[CameraEvent]:
    """The plate events of one Hikvision post: one, or none for a notification that is
    not a plate read. EventError names what is malformed."""
    if len(body) > settings.LIVE_MAX_BODY_BYTES:
        raise EventError(f"body of {len(body)} bytes is over the "
                         f"{settings.LIVE_MAX_BODY_BYTES}-byte limit")
    media_type, boundary = _media_type(content_type)
    if media_type.startswith("multipart/"):
        xml, pictures = _split(body, boundary)
    elif media_type in XML_TYPES or media_type.endswith("+xml"):
        xml, pictures = body, []
    else:
        raise EventError(f"content type {media_type[:60]!r} is neither XML nor multipart")
    alert = _alert(xml)
    return [] if (event := _event(alert, pictures)) is None else [event]


def _media_type(content_type: str) -> tuple[str, bytes]:
    """The media type (lower case) and the multipart boundary of a Content-Type."""
    try:
        media, params = parse_options_header(content_type)
    except UnicodeEncodeError:
        raise EventError("content type is not ASCII text") from None
    return media.decode("latin-1").lower(), params.get(b"boundary", b"")


def _split(body: bytes, boundary: bytes) -> tuple[bytes, list[_Part]]:
    if not boundary:
        raise EventError("multipart content type has no boundary")
    parts = _parts(body, boundary)
    xml = [p for p in parts if p.is_xml]
    if len(xml) != 1:
        raise EventError(f"multipart body has {len(xml)} XML parts; expected one "
                         "EventNotificationAlert")
    return bytes(xml[0].data), [p for p in parts if not p.is_xml and p.data]


def _parts(body: bytes, boundary: bytes) -> list[_Part]:
    collector = _Collector()
    try:
        MultipartParser(boundary, collector.callbacks()).write(body)
    except FormParserError as exc:
        raise EventError(f"malformed multipart body: {str(exc)[:120]}") from None
    if not collector.ended:
        raise EventError("multipart body ends before its closing boundary")
    return collector.parts


class _Collector:
    """The multipart parser's callbacks: they collect the parts, headers and data."""

    def __init__(self) -> None:
        self.parts: list[_Part] = []
        self.ended = False
        self._name = bytearray()
        self._value = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {"on_part_begin": self._begin, "on_header_field": self._header_field,
                "on_header_value": self._header_value, "on_header_end": self._header_end,
                "on_part_data": self._data, "on_end": self._end}

    def _begin(self) -> None:
        if len(self.parts) == MAX_PARTS:
            raise EventError(f"multipart body has over {MAX_PARTS} parts")
        self.parts.append(_Part())

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        name = self._name.decode("latin-1").strip().lower()
        self.parts[-1].headers[name] = self._value.decode("latin-1").strip()
        self._name.clear()
        self._value.clear()

    def _data(self, data: bytes, start: int, end: int) -> None:
        self.parts[-1].data += data[start:end]

    def _end(self) -> None:
        self.ended = True


def _alert(xml: bytes) -> Element:
    if len(xml) > MAX_XML_BYTES:
        raise EventError(f"XML of {len(xml)} bytes is over the {MAX_XML_BYTES}-byte limit")
    try:
        root: Element = fromstring(xml, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise EventError(f"unsafe XML refused ({type(exc).__name__}): DTDs, entities and "
                         "external references are not accepted") from None
    except (ParseError, ValueError, LookupError) as exc:
        raise EventError(f"malformed XML: {str(exc)[:120]}") from None
    if _local(root.tag) != "EventNotificationAlert":
        raise EventError(f"XML root is <{_local(root.tag)[:40]}>, not <EventNotificationAlert>")
    return root


def _event(alert: Element, pictures: list[_Part]) -> CameraEvent | None:
    event_type = _text(alert, "eventType")
    if event_type is None:
        raise EventError("EventNotificationAlert has no eventType")
    if event_type.lower() != "anpr" or (_text(alert, "eventState") or "").lower() == "inactive":
        return None
    anpr = _child(alert, "ANPR")
    if anpr is None:
        raise EventError("ANPR notification has no <ANPR> element")
    plate = _text(anpr, "licensePlate") or ""
    if plate.lower() in NO_PLATE:
        return None
    return CameraEvent(
        vendor=VENDOR, plate_raw=plate, ts=_timestamp(_text(alert, "dateTime")),
        event_id=_text(alert, "UUID"),
        channel=_text(alert, "channelID") or _text(alert, "dynChannelID"),
        confidence=_confidence(_text(anpr, "confidenceLevel")),
        vehicle_class=VEHICLE_CLASSES.get((_text(anpr, "vehicleType") or "").lower()),
        plate_colour=_colour(_text(anpr, "plateColor")),
        images=_images(anpr, pictures))


def _timestamp(text: str | None) -> datetime:
    if text is None:
        raise EventError("ANPR notification has no dateTime")
    return vendor_time(text, "dateTime", "an ISO 8601 date and time")


def _confidence(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 100.0:
        raise EventError(f"confidenceLevel {text[:20]!r} is not a number from 0 to 100")
    return value / 100.0


def _colour(text: str | None) -> str | None:
    colour = (text or "unknown").lower()
    if colour == "unknown":
        return None
    return colour if colour in PLATE_COLOURS else "other"


def _images(anpr: Element, pictures: list[_Part]) -> tuple[EventImage, ...]:
    """The plate crop and the scene among the picture parts (one of each at most)."""
    types = {(_text(info, "fileName") or "").lower(): (_text(info, "type") or "").lower()
             for info in _children(_child(anpr, "pictureInfoList"), "pictureInfo")}
    found: dict[str, bytes] = {}
    for part in pictures:
        found.setdefault(types.get(part.label) or part.label.split(".", 1)[0], bytes(part.data))
    images = [EventImage("plate", found[PLATE_PICTURE])] if PLATE_PICTURE in found else []
    scene = next((found[name] for name in SCENE_PICTURES if name in found), None)
    return (*images, EventImage("scene", scene)) if scene is not None else tuple(images)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(parent: Element | None, name: str) -> list[Element]:
    return [] if parent is None else [c for c in parent if _local(c.tag) == name]


def _child(parent: Element, name: str) -> Element | None:
    found = _children(parent, name)
    return found[0] if found else None


def _text(parent: Element, name: str) -> str | None:
    """The stripped text of ``parent``'s first ``name`` child; None when absent or empty."""
    element = _child(parent, name)
    text = (element.text or "").strip() if element is not None else ""
    return text or None
