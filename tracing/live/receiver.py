"""The receiver: the HTTP service the cameras push plate events to (``python -m tracing
receiver``).

Endpoints (``GET /openapi.json`` documents them, with the generic JSON schema):

- ``POST /v1/events``: the generic JSON format (:mod:`tracing.live.generic`);
- ``POST /v1/hikvision``: Hikvision ISAPI ANPR notifications (:mod:`tracing.live.hikvision`);
- ``POST /v1/dahua``: Dahua ITC traffic snapshots (:mod:`tracing.live.dahua`);
- ``GET /health`` (JSON) and ``GET /metrics`` (Prometheus text format).

Every post authenticates its device (``Authorization: Bearer <key>``, ``X-API-Key: <key>``
or HTTP Basic with the device id and key) against the published keys
(:mod:`tracing.live.devices`), goes through the same acceptance rules
(:mod:`tracing.live.accept`) and is answered 200 only once its reads are on disk in the
spool (:mod:`tracing.live.commit`). A request is all or nothing: any bad event refuses it
with a 4xx naming the reason, and nothing of it is kept. The receiver never opens the
database: the owner process loads the spool.

The application is plain ASGI on uvicorn: measured at 1,000 requests/s, FastAPI's
middleware stack took a third of the receiver's CPU (more than the events' own work), so
the five routes are dispatched here and the OpenAPI document is built from the same
pydantic schema the JSON body is validated with.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tracing import settings
from tracing.errors import DeviceError, EventError, StoreError
from tracing.live import metrics
from tracing.live.accept import Accepted, accept
from tracing.live.commit import BusyError, GroupCommitter
from tracing.live.dahua import parse_dahua
from tracing.live.devices import Device, Keys, keys_file, load_keys
from tracing.live.events import CameraEvent
from tracing.live.generic import BODY, parse_json
from tracing.live.hikvision import parse_hikvision
from tracing.store import Spool

logger = logging.getLogger(__name__)

Parser = Callable[[bytes, str], list[CameraEvent]]
PARSERS: Final[Mapping[str, Parser]] = {
    "json": lambda body, _type: parse_json(body),
    "hikvision": parse_hikvision,
    "dahua": parse_dahua,
}
"""The event format of each vendor (a device posts to the endpoint of its own vendor)."""
DEFAULT_KEYS: Final = keys_file(settings.DEMO_DB)
DAHUA_PATH: Final = "/NotificationInfo/TollgateInfo"
"""Where Dahua ITC cameras post snapshots in their platform mode (also ``/v1/dahua``)."""
REALM: Final = 'Basic realm="tracing receiver", charset="UTF-8"'


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Request:
    """What a handler needs of an HTTP request: its headers (lower-case) and its body."""

    headers: Mapping[str, str]
    receive: Receive

    async def body(self, limit: int) -> bytes:
        """The body, refused (413) as soon as it passes ``limit`` bytes."""
        declared = self.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise RefusedError(400, "Content-Length is not a number")
            if int(declared) > limit:
                raise RefusedError(413, f"body of {declared} bytes is over the {limit}-byte "
                                        "limit")
        chunks, size = [], 0
        while True:
            message = await self.receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise RefusedError(413, f"body over the {limit}-byte limit")
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)


@dataclass(frozen=True, slots=True)
class Response:
    """An answer: status, body and its media type, extra headers."""

    status: int
    body: bytes
    media_type: str = "application/json"
    headers: Mapping[str, str] | None = None


def json_response(document: object, status: int = 200,
                  headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, json.dumps(document).encode(), headers=headers)


class RefusedError(Exception):
    """A request the receiver answers with a 4xx/503 and a reason."""

    def __init__(self, status: int, reason: str, device: str = "unknown") -> None:
        super().__init__(reason)
        self.status, self.reason, self.device = status, reason, device


@dataclass(frozen=True, slots=True)
class ReceiverConfig:
    """Where the receiver writes and what it accepts."""

    spool_dir: Path = settings.SPOOL_DIR
    crops_dir: Path = settings.CROPS_DIR
    keys_file: Path = DEFAULT_KEYS
    owner_status: Path = metrics.OWNER_STATUS
    max_body_bytes: int = settings.LIVE_MAX_BODY_BYTES
    backlog_max_rows: int = settings.LIVE_BACKLOG_MAX_ROWS


class Receiver:
    """The receiver's state: keys (reloaded when published anew), the committer, metrics."""

    def __init__(self, config: ReceiverConfig) -> None:
        self.config = config
        self.spool = Spool(config.spool_dir)
        self.committer = GroupCommitter(self.spool, config.crops_dir)
        self.metrics = metrics.ReceiverMetrics(self)
        self._keys, self._keys_stamp, self._keys_checked = Keys({}, frozenset()), -1, 0.0
        self._backlog, self._backlog_checked = (0, 0.0), 0.0

    @property
    def keys(self) -> Keys:
        """The published keys, re-read when the file changed (checked every second)."""
        now = time.monotonic()
        if now - self._keys_checked >= settings.LIVE_KEYS_POLL_S:
            self._keys_checked = now
            try:
                stamp = self.config.keys_file.stat().st_mtime_ns
            except OSError:
                stamp = 0
            if stamp != self._keys_stamp:
                self._keys, self._keys_stamp = load_keys(self.config.keys_file), stamp
        return self._keys

    def backlog(self, *, fresh: bool = False) -> tuple[int, float]:
        """Spool rows not yet loaded and the oldest one's age (for posts measured every
        0.5 s; ``fresh``: now, for health and metrics)."""
        now = time.monotonic()
        if fresh or now - self._backlog_checked >= 0.5:
            self._backlog, self._backlog_checked = self.spool.backlog(), now
        return self._backlog

    def authenticate(self, request: Request) -> Device:
        """The device a request comes from (RefusedError 401 otherwise)."""
        key, claimed = _credentials(request)
        device = self.keys.device(key) if key else None
        if device is None or (claimed is not None and claimed != device.id):
            raise RefusedError(401, "unknown, rotated or revoked device key"
                               if key else "no device key (Authorization or X-API-Key)",
                               claimed or "unknown")
        return device

    async def post(self, request: Request, vendor: str) -> Response:
        """Authenticate, parse, accept and durably store one request's events."""
        started = time.perf_counter()
        device = self.authenticate(request)
        try:
            accepted = await self._accepted(request, device, vendor)
            if accepted:
                await self._commit(accepted)
        except RefusedError as exc:
            raise RefusedError(exc.status, exc.reason, device.id) from None
        self.metrics.accepted(device.id, len(accepted), time.perf_counter() - started)
        answer: dict[str, object] = {"accepted": len(accepted),
                                     "read_ids": [a.read.read_id for a in accepted]}
        if vendor == "dahua":
            answer["Result"] = True  # a Dahua camera re-sends a snapshot until it sees this
        return json_response(answer)

    async def _accepted(self, request: Request, device: Device, vendor: str) -> list[Accepted]:
        if device.vendor != vendor:
            raise RefusedError(400, f"device {device.id!r} is registered for {device.vendor}: "
                                    f"post to /v1/{_path(device.vendor)}")
        rows, _age = self.backlog()
        if rows > self.config.backlog_max_rows:
            raise RefusedError(503, f"{rows} reads are waiting to be loaded; retry later")
        body = await request.body(self.config.max_body_bytes)
        try:
            events = PARSERS[vendor](body, request.headers.get("content-type", ""))
        except EventError as exc:
            raise RefusedError(400, str(exc)) from None
        keys = self.keys
        out = []
        for i, event in enumerate(events):
            try:
                out.append(accept(event, device, keys.cameras))
            except DeviceError as exc:
                raise RefusedError(403, _nth(i, len(events), str(exc))) from None
            except EventError as exc:
                raise RefusedError(422, _nth(i, len(events), str(exc))) from None
        return out

    async def _commit(self, accepted: list[Accepted]) -> None:
        try:
            await asyncio.wrap_future(self.committer.submit(accepted))
        except BusyError as exc:
            raise RefusedError(503, f"busy: {exc}; retry later") from None
        except (OSError, StoreError) as exc:
            logger.error("receiver: events not stored: %s", exc)
            raise RefusedError(503, "the spool cannot be written; retry later") from None

    def health(self) -> tuple[int, dict[str, Any]]:
        """The health document and its HTTP status (503 while refusing events)."""
        rows, age = self.backlog(fresh=True)
        owner = metrics.read_owner_status(self.config.owner_status)
        full = rows > self.config.backlog_max_rows
        state = "refusing" if full else "ok" if owner.get("fresh") else "degraded"
        return (503 if full else 200), {
            "status": state, "spool_backlog_rows": rows, "oldest_pending_s": round(age, 3),
            "queued_events": self.committer.queued, "devices": len(self.keys.by_hash),
            "owner": owner}


def create_app(config: ReceiverConfig | None = None) -> ReceiverApp:
    """The receiver's ASGI application."""
    return ReceiverApp(Receiver(config or ReceiverConfig()))


class ReceiverApp:
    """The ASGI application: lifespan (the committer thread) and the five routes."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.routes: dict[tuple[str, str], Callable[[Request], Awaitable[Response]]] = {
            ("GET", "/health"): self._health, ("GET", "/metrics"): self._metrics,
            ("GET", "/openapi.json"): self._openapi,
            **{("POST", f"/v1/{_path(v)}"): self._poster(v) for v in PARSERS},
            ("POST", DAHUA_PATH): self._poster("dahua")}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                       for k, v in scope["headers"]}
            answer = await self._answer(scope["method"], scope["path"], Request(headers, receive))
            await send({"type": "http.response.start", "status": answer.status, "headers": [
                (b"content-type", answer.media_type.encode()),
                (b"content-length", str(len(answer.body)).encode()),
                *((k.encode(), v.encode()) for k, v in (answer.headers or {}).items())]})
            await send({"type": "http.response.body", "body": answer.body})

    async def _answer(self, method: str, path: str, request: Request) -> Response:
        route = self.routes.get((method, path))
        try:
            if route is None:
                known = any(p == path for _, p in self.routes)
                raise RefusedError(405 if known else 404, f"no {method} {path[:80]}")
            return await route(request)
        except RefusedError as exc:
            return self._refused(exc)

    def _refused(self, exc: RefusedError) -> Response:
        self.receiver.metrics.refused(exc.device, exc.status)
        logger.info("refused %s from device %s: %s", exc.status, exc.device, exc.reason)
        headers = {"Retry-After": str(settings.LIVE_RETRY_AFTER_S)} if exc.status == 503 else {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = REALM
        return json_response({"error": exc.reason}, exc.status, headers)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.receiver.committer.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.to_thread(self.receiver.committer.stop)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _poster(self, vendor: str) -> Callable[[Request], Awaitable[Response]]:
        async def post(request: Request) -> Response:
            return await self.receiver.post(request, vendor)
        return post

    async def _health(self, _request: Request) -> Response:
        status, document = self.receiver.health()
        return json_response(document, status)

    async def _metrics(self, _request: Request) -> Response:
        return Response(200, generate_latest(self.receiver.metrics.registry),
                        CONTENT_TYPE_LATEST)

    async def _openapi(self, _request: Request) -> Response:
        return json_response(openapi())


def _path(vendor: str) -> str:
    return "events" if vendor == "json" else vendor


_RESPONSES: Final = {
    "200": "Stored durably (on disk in the spool); `read_ids` as stored",
    "400": "Malformed body, wrong content type, or the wrong vendor endpoint",
    "401": "No device key, or an unknown, rotated or revoked one",
    "403": "An event names a camera or channel not bound to the device",
    "413": "Request body over the size limit",
    "422": "An event's camera is unknown or its time is outside the window",
    "503": "Backlog or queue full, or the disk failed: retry after Retry-After",
}
_POSTS: Final = {"json": ("Post plate events (generic JSON: one, or a batch)",
                          "application/json"),
                 "hikvision": ("Hikvision ISAPI ANPR notification (XML or multipart)",
                               "multipart/form-data"),
                 "dahua": ("Dahua ITC traffic snapshot (ITSAPI TollgateInfo JSON)",
                           "application/json")}


def openapi() -> dict[str, Any]:
    """The receiver's OpenAPI 3.1 document (the generic body's schema from pydantic)."""
    body = BODY.json_schema(ref_template="#/components/schemas/{model}")
    schemas = {**body.pop("$defs", {}), "EventBody": body}
    auth: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}, {"basic": []}]
    paths: dict[str, Any] = {
        f"/v1/{_path(vendor)}": {"post": {
            "summary": summary, "security": auth,
            "requestBody": {"required": True, "content": {media: {"schema": (
                {"$ref": "#/components/schemas/EventBody"} if vendor == "json"
                else {"type": "string", "format": "binary"})}}},
            "responses": {code: {"description": text} for code, text in _RESPONSES.items()}}}
        for vendor, (summary, media) in _POSTS.items()}
    paths["/health"] = {"get": {"summary": "Spool backlog and owner status (503: refusing)",
                                "responses": {"200": {"description": "JSON document"}}}}
    paths["/metrics"] = {"get": {"summary": "Prometheus metrics",
                                 "responses": {"200": {"description": "text format"}}}}
    return {"openapi": "3.1.0", "info": {"title": "Tracing receiver", "version": "1",
                                         "summary": "Plate events pushed by the cameras."},
            "paths": paths, "components": {"schemas": schemas, "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "basic": {"type": "http", "scheme": "basic"}}}}


def _credentials(request: Request) -> tuple[str | None, str | None]:
    """(key, claimed device id) from the request's headers."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), None
    if scheme.lower() == "basic":
        try:
            text = base64.b64decode(value.strip(), validate=True).decode()
            user, sep, password = text.partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise RefusedError(401, "malformed Basic credentials") from None
        return (password, user) if sep else (None, None)
    key = request.headers.get("x-api-key")
    return (key.strip() if key else None), None


def _nth(i: int, n: int, reason: str) -> str:
    return reason if n == 1 else f"event {i + 1} of {n}: {reason}"
