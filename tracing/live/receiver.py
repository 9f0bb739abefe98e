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
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tracing import settings
from tracing.errors import DeviceError, EventError, StoreError
from tracing.live import metrics
from tracing.live.accept import Accepted, accept
from tracing.live.commit import BusyError, GroupCommitter
from tracing.live.dahua import parse_dahua
from tracing.live.devices import KEYS_FILE, Device, Keys, load_keys
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
REALM: Final = 'Basic realm="tracing receiver", charset="UTF-8"'


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
    keys_file: Path = KEYS_FILE
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
        return JSONResponse({"accepted": len(accepted),
                             "read_ids": [a.read.read_id for a in accepted]})

    async def _accepted(self, request: Request, device: Device, vendor: str) -> list[Accepted]:
        if device.vendor != vendor:
            raise RefusedError(400, f"device {device.id!r} is registered for {device.vendor}: "
                                    f"post to /v1/{_path(device.vendor)}")
        rows, _age = self.backlog()
        if rows > self.config.backlog_max_rows:
            raise RefusedError(503, f"{rows} reads are waiting to be loaded; retry later")
        body = await _body(request, self.config.max_body_bytes)
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


def create_app(config: ReceiverConfig | None = None) -> FastAPI:
    """The receiver's ASGI application."""
    receiver = Receiver(config or ReceiverConfig())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        receiver.committer.start()
        try:
            yield
        finally:
            await asyncio.to_thread(receiver.committer.stop)

    app = FastAPI(title="Tracing receiver", version="1", lifespan=lifespan, docs_url=None,
                  redoc_url=None, summary="Plate events pushed by the centre's cameras.")
    app.state.receiver = receiver
    _routes(app, receiver)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _routes(app: FastAPI, receiver: Receiver) -> None:
    @app.exception_handler(RefusedError)
    async def refused(_request: Request, exc: RefusedError) -> Response:
        receiver.metrics.refused(exc.device, exc.status)
        logger.info("refused %s from device %s: %s", exc.status, exc.device, exc.reason)
        headers = {"Retry-After": str(settings.LIVE_RETRY_AFTER_S)} if exc.status == 503 else {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = REALM
        return JSONResponse({"error": exc.reason}, status_code=exc.status, headers=headers)

    for vendor, summary in (("json", "Post plate events (generic JSON: one, or a batch)"),
                            ("hikvision", "Hikvision ISAPI ANPR notification"),
                            ("dahua", "Dahua ITC traffic snapshot")):
        app.add_api_route(f"/v1/{_path(vendor)}", _handler(receiver, vendor), methods=["POST"],
                          summary=summary, responses=_RESPONSES,
                          openapi_extra=_JSON_BODY if vendor == "json" else None)

    @app.get("/health", summary="Spool backlog, owner status")
    async def health() -> Response:
        status, document = receiver.health()
        return JSONResponse(document, status_code=status)

    @app.get("/metrics", summary="Prometheus metrics")
    async def metrics_text() -> Response:
        return Response(generate_latest(receiver.metrics.registry),
                        media_type=CONTENT_TYPE_LATEST)


def _handler(receiver: Receiver, vendor: str) -> Callable[[Request], Any]:
    async def handle(request: Request) -> Response:
        return await receiver.post(request, vendor)
    handle.__name__ = f"post_{vendor}"
    return handle


def _path(vendor: str) -> str:
    return "events" if vendor == "json" else vendor


_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"description": "Stored durably (on disk in the spool); `read_ids` as stored"},
    400: {"description": "Malformed body, wrong content type, or the wrong vendor endpoint"},
    401: {"description": "No device key, or an unknown, rotated or revoked one"},
    403: {"description": "An event names a camera or channel not bound to the device"},
    413: {"description": "Request body over the size limit"},
    422: {"description": "An event's camera is unknown or its time is outside the window"},
    503: {"description": "Backlog or queue full, or the disk failed: retry after Retry-After"},
}
_JSON_BODY: Final = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/EventBody"}}}}}


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                             routes=app.routes)
        body = BODY.json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(body.pop("$defs", {}))
        components["EventBody"] = body
        app.openapi_schema = schema
    return app.openapi_schema


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


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise RefusedError(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise RefusedError(413, f"body of {declared} bytes is over the {limit}-byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RefusedError(413, f"body over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _nth(i: int, n: int, reason: str) -> str:
    return reason if n == 1 else f"event {i + 1} of {n}: {reason}"
