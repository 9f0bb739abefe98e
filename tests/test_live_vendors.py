"""The Hikvision ISAPI and Dahua ITSAPI adapters, on fixtures built from the vendors'
message layouts (tests/fixtures/live/README.md names the sources)."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st

from tracing import settings
from tracing.errors import EventError
from tracing.live.dahua import MAX_CONTAINERS, MAX_PICTURE_CHARS, parse_dahua
from tracing.live.events import CameraEvent
from tracing.live.hikvision import MAX_PARTS, MAX_XML_BYTES, parse_hikvision

FIXTURES = Path(__file__).parent / "fixtures" / "live"
XML = 'application/xml; charset="UTF-8"'
JSON = "application/json;charset=UTF-8"
ICT = timezone(timedelta(hours=7))
FUZZ = fuzz_settings(max_examples=60, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@cache
def jpeg(width: int = 16, height: int = 8) -> bytes:
    ok, encoded = cv2.imencode(".jpg", np.full((height, width, 3), 128, np.uint8))
    assert ok
    return bytes(encoded.tobytes())


def multipart(*parts: tuple[dict[str, str], bytes], boundary: str = "boundary") -> bytes:
    """A multipart body as a camera writes it (CRLF, closing boundary)."""
    out = b""
    for headers, data in parts:
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        out += f"--{boundary}\r\n{lines}\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def form(name: str, data: bytes, content_type: str = "image/jpeg") -> tuple[dict[str, str], bytes]:
    return ({"Content-Disposition": f'form-data; name="{name}"; filename="{name}"',
             "Content-Type": content_type, "Content-Length": str(len(data))}, data)


def anpr_post(xml: bytes, *pictures: tuple[str, bytes]) -> bytes:
    return multipart(form("anpr.xml", xml, 'text/xml; charset="UTF-8"'),
                     *(form(name, data) for name, data in pictures))


def hik(body: bytes, content_type: str = "multipart/form-data; boundary=boundary",
        ) -> list[CameraEvent]:
    return parse_hikvision(body, content_type)


def anpr_xml(**fields: str) -> bytes:
    """The offset fixture with some ANPR fields (``licensePlate``, ...) replaced."""
    text = fixture("hikvision_anpr.xml").decode()
    for name, value in fields.items():
        start, end = text.index(f"<{name}>") + len(name) + 2, text.index(f"</{name}>")
        text = text[:start] + value + text[end:]
    return text.encode()


# --- Hikvision ------------------------------------------------------------------------------

def test_hikvision_multipart_post_gives_every_field_and_both_pictures() -> None:
    plate, scene = jpeg(24, 8), jpeg(32, 18)
    body = anpr_post(fixture("hikvision_anpr.xml"), ("licensePlatePicture.jpg", plate),
                     ("detectionPicture.jpg", scene))
    [event] = hik(body)
    assert (event.vendor, event.plate_raw, event.channel, event.event_id) == (
        "hikvision", "51F12345", "1", "a0fe72d4-3652-464a-aebd-3f9190010236")
    assert event.ts == datetime(2024, 5, 10, 14, 3, 22, tzinfo=ICT)
    assert event.confidence == pytest.approx(0.92)
    assert (event.vehicle_class, event.plate_colour, event.camera_id) == ("car", "white", None)
    assert [(i.kind, i.data) for i in event.images] == [("plate", plate), ("scene", scene)]


def test_hikvision_bare_xml_without_offset_stays_naive() -> None:
    [event] = hik(fixture("hikvision_anpr_naive.xml"), XML)
    assert event.ts == datetime(2024, 5, 10, 14, 5, 40) and event.ts.tzinfo is None
    assert (event.plate_raw, event.channel, event.event_id, event.images) == (
        "59X312345", "2", None, ())
    assert (event.vehicle_class, event.plate_colour) == ("motorbike", "yellow")
    assert event.confidence == pytest.approx(0.87)


def test_hikvision_channel_falls_back_to_the_digital_channel() -> None:
    xml = fixture("hikvision_anpr.xml").replace(b"<channelID>1</channelID>\n", b"")
    [event] = hik(xml.replace(b"<dynChannelID>1<", b"<dynChannelID>3<"), XML)
    assert event.channel == "3"


def test_hikvision_mixed_parts_by_content_id_and_vehicle_picture_as_scene() -> None:
    plate, vehicle = jpeg(24, 8), jpeg(20, 20)
    body = multipart(({"Content-Type": "application/xml"}, fixture("hikvision_anpr_naive.xml")),
                     ({"Content-Type": "image/jpeg", "Content-ID": "<licensePlatePicture>"}, plate),
                     ({"Content-Type": "image/jpeg", "Content-ID": "vehiclePicture"}, vehicle),
                     boundary="MIME_boundary")
    [event] = hik(body, 'multipart/mixed; boundary="MIME_boundary"')
    assert [(i.kind, i.data) for i in event.images] == [("plate", plate), ("scene", vehicle)]


def test_hikvision_picture_parts_named_through_picture_info() -> None:
    xml = fixture("hikvision_anpr.xml").replace(b"licensePlatePicture.jpg", b"pic_01.jpg")
    xml = xml.replace(b"detectionPicture.jpg", b"pic_02.jpg")
    plate, scene = jpeg(24, 8), jpeg(32, 18)
    [event] = hik(anpr_post(xml, ("pic_02.jpg", scene), ("pic_01.jpg", plate)))
    assert [(i.kind, i.data) for i in event.images] == [("plate", plate), ("scene", scene)]


def test_hikvision_empty_and_unknown_picture_parts_are_skipped() -> None:
    body = anpr_post(fixture("hikvision_anpr.xml"), ("licensePlatePicture.jpg", b""),
                     ("featurePicture.jpg", jpeg()), ("detectionPicture.jpg", jpeg()))
    [event] = hik(body)
    assert [i.kind for i in event.images] == ["scene"]


@pytest.mark.parametrize("body", [
    fixture("hikvision_anpr_unknown.xml"),
    fixture("hikvision_videoloss.xml"),
    anpr_xml(licensePlate=""),
    anpr_xml(eventState="inactive"),
    anpr_xml(eventType="heartBeat"),
    anpr_xml(eventType="VMD"),
], ids=["unknown-plate", "videoloss", "empty-plate", "inactive", "heartbeat", "motion"])
def test_hikvision_notifications_without_a_plate_give_no_event(body: bytes) -> None:
    assert hik(body, XML) == []
    assert hik(anpr_post(body, ("licensePlatePicture.jpg", jpeg()))) == []


@pytest.mark.parametrize(("level", "expected"), [("0", 0.0), ("55", 0.55), ("100", 1.0)])
def test_hikvision_confidence_is_scaled_from_percent(level: str, expected: float) -> None:
    [event] = hik(anpr_xml(confidenceLevel=level), XML)
    assert event.confidence == pytest.approx(expected)


@pytest.mark.parametrize(("vehicle", "expected"), [
    ("largeBus", "bus"), ("mediumBus", "bus"), ("truck", "truck"), ("buggy", "truck"),
    ("pickupTruck", "truck"), ("SUVMPV", "car"), ("smallCar", "car"), ("van", "car"),
    ("twoWheelVehicle", "motorbike"), ("threeWheelVehicle", None), ("pedestrian", None),
    ("unknown", None)])
def test_hikvision_vehicle_types_map_to_classes(vehicle: str, expected: str | None) -> None:
    [event] = hik(anpr_xml(vehicleType=vehicle), XML)
    assert event.vehicle_class == expected


@pytest.mark.parametrize(("colour", "expected"), [
    ("white", "white"), ("blue", "blue"), ("Yellow", "yellow"), ("green", "other"),
    ("black", "other"), ("unknown", None), ("", None)])
def test_hikvision_plate_colours_map(colour: str, expected: str | None) -> None:
    [event] = hik(anpr_xml(plateColor=colour), XML)
    assert event.plate_colour == expected


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<EventNotificationAlert><eventType>ANPR</eventType><ANPR><licensePlate>&lol3;</licensePlate>
</ANPR></EventNotificationAlert>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<EventNotificationAlert><eventType>ANPR</eventType><ANPR><licensePlate>&xxe;</licensePlate>
</ANPR></EventNotificationAlert>"""


@pytest.mark.parametrize(("body", "reason"), [
    (b"<EventNotificationAlert><eventType>ANPR</eventType>", "malformed XML"),
    (b"", "malformed XML"),
    (BILLION_LAUGHS, "unsafe XML refused .*DTDs, entities"),
    (EXTERNAL_ENTITY, "unsafe XML refused .*external references"),
    (b"<ResponseStatus><statusCode>1</statusCode></ResponseStatus>", "root is <ResponseStatus>"),
    (b"<EventNotificationAlert><channelID>1</channelID></EventNotificationAlert>", "no eventType"),
    (b"<EventNotificationAlert><eventType>ANPR</eventType></EventNotificationAlert>",
     "no <ANPR> element"),
    (anpr_xml(dateTime=""), "no dateTime"),
    (anpr_xml(dateTime="10/05/2024 14:03"), "not an ISO 8601"),
    (anpr_xml(dateTime="2024-05-10"), "not an ISO 8601"),
    (anpr_xml(dateTime="2024-13-10T14:03:22"), "not an ISO 8601"),
    (anpr_xml(confidenceLevel="high"), "confidenceLevel 'high'"),
    (anpr_xml(confidenceLevel="150"), "from 0 to 100"),
    (anpr_xml(licensePlate="5" * 1001), "too long"),
])
def test_hikvision_malformed_xml_is_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(EventError, match=reason):
        hik(body, XML)


@pytest.mark.parametrize(("body", "content_type", "reason"), [
    (fixture("hikvision_anpr.xml"), "text/plain", "neither XML nor multipart"),
    (fixture("hikvision_anpr.xml"), "", "neither XML nor multipart"),
    (fixture("hikvision_anpr.xml"), "application/xml; charset=ünï€", "not ASCII"),
    (anpr_post(fixture("hikvision_anpr.xml")), "multipart/form-data", "no boundary"),
    (multipart(form("licensePlatePicture.jpg", jpeg())), None, "0 XML parts"),
    (multipart(form("a.xml", b"<a/>", "text/xml"), form("b.xml", b"<b/>", "text/xml")), None,
     "2 XML parts"),
    (anpr_post(fixture("hikvision_anpr.xml"))[:-12], None, "before its closing boundary"),
    (b"not multipart at all", None, "malformed multipart"),
    (anpr_post(fixture("hikvision_anpr.xml"), ("licensePlatePicture.jpg", b"GIF89a....")),
     None, "plate image is not a JPEG or PNG"),
    (anpr_post(fixture("hikvision_anpr.xml"),
               ("detectionPicture.jpg", b"\xff\xd8\xff" + bytes(settings.LIVE_MAX_IMAGE_BYTES))),
     None, "scene image of .* bytes is over the"),
    (anpr_post(fixture("hikvision_anpr.xml"),
               *[(f"p{i}.jpg", jpeg()) for i in range(MAX_PARTS)]), None, "over 16 parts"),
    (b"<" * (settings.LIVE_MAX_BODY_BYTES + 1), XML, "body of .* bytes is over the"),
    (b"<a/>" * (MAX_XML_BYTES // 4 + 1), XML, "XML of .* bytes is over the"),
    (anpr_post(b"<a/>" * (MAX_XML_BYTES // 4 + 1)), None, "XML of .* bytes is over the"),
])
def test_hikvision_malformed_posts_are_refused_with_a_reason(
        body: bytes, content_type: str | None, reason: str) -> None:
    with pytest.raises(EventError, match=reason):
        hik(body, *([] if content_type is None else [content_type]))


@FUZZ
@given(st.binary(max_size=400), st.sampled_from(
    [XML, "text/xml", "multipart/form-data; boundary=boundary", "multipart/mixed; boundary=b"]))
def test_hikvision_arbitrary_bytes_raise_only_event_errors(body: bytes, content_type: str) -> None:
    for candidate in (body, b"--boundary\r\n" + body, b"<EventNotificationAlert>" + body):
        with contextlib.suppress(EventError):
            hik(candidate, content_type)


@FUZZ
@given(st.sampled_from(["licensePlate", "dateTime", "confidenceLevel", "vehicleType",
                        "plateColor", "channelID", "UUID", "eventType", "fileName"]),
       st.text(max_size=40))
def test_hikvision_any_field_text_raises_only_event_errors(name: str, text: str) -> None:
    body = anpr_post(anpr_xml(**{name: escape(text)}), ("licensePlatePicture.jpg", jpeg()))
    with contextlib.suppress(EventError):
        assert all(isinstance(event, CameraEvent) for event in hik(body))


# --- Dahua ----------------------------------------------------------------------------------

def tollgate() -> dict[str, dict[str, object]]:
    message: dict[str, dict[str, object]] = json.loads(fixture("dahua_tollgate.json"))
    return message


def section(message: dict[str, dict[str, object]], name: str) -> dict[str, object]:
    value = message["Picture"][name]
    assert isinstance(value, dict)
    return value


def dahua(message: object, content_type: str = JSON) -> list[CameraEvent]:
    return parse_dahua(json.dumps(message).encode(), content_type)


def test_dahua_snapshot_gives_every_field_and_both_pictures() -> None:
    message = tollgate()
    [event] = parse_dahua(fixture("dahua_tollgate.json"), JSON)
    assert (event.vendor, event.plate_raw, event.channel, event.event_id) == (
        "dahua", "51D12345", "0", None)
    assert event.ts == datetime(2024, 5, 10, 14, 3, 22, 417000) and event.ts.tzinfo is None
    assert event.confidence == pytest.approx(0.91)
    assert (event.vehicle_class, event.plate_colour) == ("truck", "yellow")
    assert [(i.kind, i.data) for i in event.images] == [
        ("plate", base64.b64decode(str(section(message, "CutoutPic")["Content"]))),
        ("scene", base64.b64decode(str(section(message, "NormalPic")["Content"])))]


def test_dahua_snap_time_snapinfo_beside_picture_and_vehicle_picture() -> None:
    message = tollgate()
    snap = message["Picture"].pop("SnapInfo")
    assert isinstance(snap, dict)
    del snap["AccurateTime"]
    message["SnapInfo"] = snap
    vehicle_pic = message["Picture"].pop("NormalPic")
    message["Picture"]["VehiclePic"] = vehicle_pic
    del message["Picture"]["CutoutPic"]
    [event] = dahua(message)
    assert event.ts == datetime(2024, 5, 10, 14, 3, 22)
    assert [i.kind for i in event.images] == ["scene"]


def test_dahua_time_with_an_offset_keeps_it() -> None:
    message = tollgate()
    section(message, "SnapInfo")["AccurateTime"] = "2024-05-10T07:03:22.417Z"
    [event] = dahua(message)
    assert event.ts == datetime(2024, 5, 10, 14, 3, 22, 417000, tzinfo=ICT)


@pytest.mark.parametrize("name", [
    "dahua_keepalive.json", "dahua_device_info.json", "dahua_no_plate.json"])
def test_dahua_heartbeat_identity_and_unread_plates_give_no_event(name: str) -> None:
    assert parse_dahua(fixture(name), "application/json") == []
    assert dahua({"AlarmInfo": {"Time": "2024-05-10 14:03:22", "Type": 1}}) == []


@pytest.mark.parametrize("number", ["", "  ", "Unknown", " unknow ", "无牌车"])
def test_dahua_unread_plate_number_gives_no_event(number: str) -> None:
    message = tollgate()
    section(message, "Plate")["PlateNumber"] = number
    assert dahua(message) == []


def test_dahua_plate_number_is_stripped_and_kept_as_read() -> None:
    [event] = dahua(changed("Plate", "PlateNumber", " 51D-123.45 "))
    assert event.plate_raw == "51D-123.45"


@pytest.mark.parametrize(("confidence", "expected"), [(0, 0.0), (73.5, 0.735), (100, 1.0)])
def test_dahua_confidence_is_scaled_from_percent(confidence: float, expected: float) -> None:
    message = tollgate()
    section(message, "Plate")["Confidence"] = confidence
    [event] = dahua(message)
    assert event.confidence == pytest.approx(expected)


@pytest.mark.parametrize(("vehicle", "expected"), [
    ("Motorcycle", "motorbike"), ("SaloonCar", "car"), ("Passenger Car", "car"),
    ("SUV", "car"), ("Microbus", "car"), ("LargeTruck", "truck"), ("Pickup", "truck"),
    ("Bus", "bus"), ("MediumBus", "bus"), ("Motor", None), ("Tricycle", None),
    ("Unknown", None), ("", None)])
def test_dahua_vehicle_types_map_to_classes(vehicle: str, expected: str | None) -> None:
    message = tollgate()
    section(message, "Vehicle")["VehicleType"] = vehicle
    [event] = dahua(message)
    assert event.vehicle_class == expected


@pytest.mark.parametrize(("colour", "expected"), [
    ("White", "white"), ("Blue", "blue"), ("Yellow", "yellow"), ("Red", "red"),
    ("Green", "other"), ("YellowGreen", "other"), ("Unknown", None), ("", None)])
def test_dahua_plate_colours_map(colour: str, expected: str | None) -> None:
    message = tollgate()
    section(message, "Plate")["PlateColor"] = colour
    [event] = dahua(message)
    assert event.plate_colour == expected


def changed(where: str, key: str, value: object) -> dict[str, dict[str, object]]:
    message = tollgate()
    section(message, where)[key] = value
    return message


@pytest.mark.parametrize(("message", "reason"), [
    ([1, 2], "JSON body is an array, not an object"),
    ({"Result": True}, "no Picture object"),
    ({"Picture": [1]}, "Picture is an array, not an object"),
    ({"Picture": {"SnapInfo": {}}}, "no Picture.Plate object"),
    (changed("Plate", "PlateNumber", 51), "Picture.Plate.PlateNumber is a number, not a string"),
    (changed("Plate", "IsExist", "yes"), "IsExist is a string, not true or false"),
    (changed("Plate", "Confidence", "91"), "Confidence is a string, not a number"),
    (changed("Plate", "Confidence", True), "Confidence is a boolean, not a number"),
    (changed("Plate", "Confidence", 150), "Confidence 150 is not from 0 to 100"),
    (changed("Plate", "Confidence", 10**400), "Confidence is out of range"),
    (changed("Plate", "Channel", -1), "Channel -1 is not a channel number"),
    (changed("Plate", "Channel", 1.5), "Channel 1.5 is not a channel number"),
    (changed("Plate", "PlateColor", ["Yellow"]), "PlateColor is an array"),
    (changed("Vehicle", "VehicleType", {}), "VehicleType is an object"),
    (changed("SnapInfo", "AccurateTime", 1715324602), "AccurateTime is a number"),
    (changed("SnapInfo", "AccurateTime", "yesterday"), "'yesterday' is not a date and time"),
    (changed("SnapInfo", "AccurateTime", "2024-05-10"), "is not a date and time"),
    (changed("SnapInfo", "AccurateTime", "2024-02-30 10:00:00"), "is not a date and time"),
    (changed("CutoutPic", "Content", 12), "Picture.CutoutPic.Content is a number"),
    (changed("CutoutPic", "Content", "not base64!"), "CutoutPic.Content is not valid base64"),
    (changed("NormalPic", "Content", "iVBORw=="), "scene image is not a JPEG or PNG"),
    (changed("NormalPic", "Content", base64.b64encode(b"GIF89a").decode()),
     "scene image is not a JPEG or PNG"),
    (changed("NormalPic", "Content", "A" * (MAX_PICTURE_CHARS + 1)),
     "Picture.NormalPic of .* base64 characters is over the"),
    (changed("NormalPic", "Content", base64.b64encode(
        b"\xff\xd8\xff" + bytes(settings.LIVE_MAX_IMAGE_BYTES)).decode()),
     "scene image of .* bytes is over the"),
])
def test_dahua_wrong_json_is_refused_with_a_reason(message: object, reason: str) -> None:
    with pytest.raises(EventError, match=reason):
        dahua(message)


def test_dahua_snapshot_without_snapinfo_or_time_is_refused() -> None:
    message = tollgate()
    snap = message["Picture"].pop("SnapInfo")
    with pytest.raises(EventError, match="no SnapInfo object"):
        dahua(message)
    assert isinstance(snap, dict)
    message["Picture"]["SnapInfo"] = {"DeviceID": snap["DeviceID"]}
    with pytest.raises(EventError, match="no AccurateTime or SnapTime"):
        dahua(message)


@pytest.mark.parametrize(("body", "content_type", "reason"), [
    (fixture("dahua_tollgate.json"), "text/plain", "'text/plain' is not JSON"),
    (fixture("dahua_tollgate.json"), "multipart/form-data; boundary=x", "is not JSON"),
    (b'{"Picture": {', JSON, "malformed JSON: Expecting property name"),
    (b"", JSON, "malformed JSON"),
    (b'{"Picture": NaN}', JSON, "^JSON has NaN, which is not a number"),
    (b'{"Picture": -Infinity}', JSON, "^JSON has -Infinity, which is not a number"),
    (fixture("dahua_tollgate.json").replace(b'"Confidence": 91', b'"Confidence": 1e999'), JSON,
     "Confidence inf is not from 0 to 100"),
    (b'{"a": ' + b"9" * 5000 + b"}", JSON, "malformed JSON"),
    (b"\xff\xfe{}", JSON, "not UTF-8"),
    (b"[" * 17 + b"]" * 17, JSON, "nested deeper than 16"),
    (b"[" * 999 + b"]" * 999, JSON, "nested deeper than 16"),
    (b"[" + b"[]," * MAX_CONTAINERS + b"0]", JSON, "over 1000 objects and arrays"),
    (b'{"Picture": ' * 20 + b"1" + b"}" * 20, JSON, "nested deeper than 16"),
    (b" " * (settings.LIVE_MAX_BODY_BYTES + 1), JSON, "body of .* bytes is over the"),
])
def test_dahua_malformed_bodies_are_refused_with_a_reason(
        body: bytes, content_type: str, reason: str) -> None:
    with pytest.raises(EventError, match=reason):
        parse_dahua(body, content_type)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4), max_leaves=6)


@FUZZ
@given(st.binary(max_size=400))
def test_dahua_arbitrary_bytes_raise_only_event_errors(body: bytes) -> None:
    with contextlib.suppress(EventError):
        parse_dahua(body, JSON)


@fuzz_settings(FUZZ, max_examples=40)
@given(st.sampled_from(["Plate", "SnapInfo", "Vehicle", "CutoutPic", "NormalPic"]),
       st.sampled_from(["PlateNumber", "Confidence", "Channel", "IsExist", "PlateColor",
                        "AccurateTime", "SnapTime", "VehicleType", "Content", "PicName"]),
       JSON_VALUES)
def test_dahua_any_json_values_raise_only_event_errors(
        where: str, key: str, value: object) -> None:
    message = tollgate()
    message["Picture"][where] = {key: value} if isinstance(value, str | int) else value
    try:
        events = dahua(message)
    except EventError:
        return
    assert all(isinstance(event, CameraEvent) for event in events)
