"""Heartbeats of the stream workers: is each camera's video stream being read?

A stream worker (``python -m recognition workers``) writes one small JSON file per camera
under ``settings.LIVE_DIR / "heartbeats"`` every ``LIVE_HEARTBEAT_S`` and on every change of
state, through a temporary file renamed into place (a reader never sees half a file).
Heartbeats are files, not rows, so the workers never open the database (DuckDB admits one
writer process: the ingest owner). :func:`read_heartbeats` returns every heartbeat and names
the files it could not read; :func:`judge` says whether a camera is live, failing or dead
at a given instant; :func:`stream_table` and :func:`unreported` are what Coverage & health shows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, get_args
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pandas as pd

from tracing import settings
from tracing.files import replace_file

__all__ = ["STREAM_COLUMNS", "Heartbeat", "HeartbeatScan", "Judgement", "heartbeat_dir",
           "judge", "local_time", "mask_url", "read_heartbeats", "span", "stream_table",
           "unreported", "write_heartbeat"]

log = logging.getLogger(__name__)

State = Literal["connecting", "streaming", "reconnecting", "stopped"]
Verdict = Literal["live", "failing", "dead"]
FORMAT: Final = 1
MAX_FILE_BYTES: Final = 64 * 1024
"""A heartbeat file larger than this is not read (it is not one of ours)."""
SECRET_KEYS: Final = re.compile(r"pass|pwd|token|secret|key|auth|sig", re.IGNORECASE)
"""Query parameters of a stream URL whose value is masked."""
MASK: Final = "***"
_TIMES: Final = ("started_at", "updated_at", "last_frame_at", "last_read_at")
_COUNTS: Final = ("frames", "recognised", "reads", "reconnects", "pid")
_ORDER: Final = {"dead": 0, "failing": 1, "live": 2}


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """What one worker last said about one camera's stream (times aware, UTC)."""

    camera_id: str
    url: str
    """The stream address with any password masked (:func:`mask_url`)."""
    state: State
    started_at: datetime
    """When this worker began watching the camera."""
    updated_at: datetime
    last_frame_at: datetime | None = None
    """Newest frame received from the stream."""
    last_read_at: datetime | None = None
    """Newest plate read sent to the spool."""
    frames: int = 0
    """Frames received since the worker started."""
    recognised: int = 0
    """Frames run through the recogniser."""
    reads: int = 0
    """Plate reads sent to the spool."""
    reconnects: int = 0
    frames_per_s: float = 0.0
    """Frames received per second since the previous heartbeat."""
    last_error: str = ""
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=lambda: os.uname().nodename)

    def to_json(self) -> str:
        """The heartbeat file's text."""
        data: dict[str, Any] = asdict(self)
        for name in _TIMES:
            value = data[name]
            data[name] = None if value is None else value.astimezone(UTC).isoformat()
        return json.dumps({"format": FORMAT, **data}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Heartbeat:
        """Parse a heartbeat file's text; ValueError naming what is wrong."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a heartbeat of format {FORMAT}")
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                raise ValueError(f"no {f.name}")
            values[f.name] = _field_value(f.name, data[f.name])
        return cls(**values)


def _field_value(name: str, value: Any) -> Any:
    """One field of a heartbeat file, checked."""
    if name in _TIMES:
        return _instant(name, value)
    if name == "frames_per_s":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} {value!r} is not a number")
        return float(value)
    kind = int if name in _COUNTS else str
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"{name} {value!r} is not {'a whole number' if kind is int else 'text'}")
    if name == "state" and value not in get_args(State):
        raise ValueError(f"state {value!r} is not one of {', '.join(get_args(State))}")
    return value


def _instant(name: str, value: Any) -> datetime | None:
    if value is None and name.startswith("last_"):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} {value!r} is not an ISO 8601 instant")
    ts = datetime.fromisoformat(value)
    if ts.utcoffset() is None:
        raise ValueError(f"{name} {value!r} has no time zone offset")
    return ts.astimezone(UTC)


def mask_url(url: str) -> str:
    """``url`` with the password of its user part and secret query values replaced by
    ``***`` (what a heartbeat, a log line or the page may show)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return MASK
    netloc = parts.netloc
    if password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:{MASK}@{host}"
    query = urlencode([(k, MASK if SECRET_KEYS.search(k) else v)
                       for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def heartbeat_dir(live_dir: Path | None = None) -> Path:
    """The heartbeat folder under ``live_dir`` (default ``settings.LIVE_DIR``)."""
    return (live_dir if live_dir is not None else settings.LIVE_DIR) / "heartbeats"


def _file_name(camera_id: str) -> str:
    """A file name of the camera (unsafe characters replaced, then a digest to keep ids
    that differ only in those apart)."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", camera_id)[:80]
    if safe != camera_id:
        safe += "-" + hashlib.sha256(camera_id.encode()).hexdigest()[:10]
    return safe + ".json"


def write_heartbeat(beat: Heartbeat, directory: Path | None = None) -> bool:
    """Write ``beat`` atomically (temporary file, then rename) into ``directory`` (default
    :func:`heartbeat_dir`); False (logged) when the folder cannot be written."""
    folder = directory if directory is not None else heartbeat_dir()
    path = folder / _file_name(beat.camera_id)
    try:
        replace_file(path, beat.to_json().encode())
    except OSError as exc:
        log.warning("heartbeat of camera %s not written to %s: %s", beat.camera_id, folder, exc)
        return False
    return True


@dataclass(frozen=True, slots=True)
class HeartbeatScan:
    """Every heartbeat of a folder (by camera id) and the files that could not be read."""

    beats: list[Heartbeat]
    problems: list[str]


def read_heartbeats(directory: Path | None = None) -> HeartbeatScan:
    """All heartbeats of ``directory`` (default :func:`heartbeat_dir`); a corrupt, partial
    or foreign file is named in ``problems``, never raised. No folder: none."""
    folder = directory if directory is not None else heartbeat_dir()
    beats: list[Heartbeat] = []
    problems: list[str] = []
    try:
        paths = sorted(folder.glob("*.json"))
    except OSError as exc:
        return HeartbeatScan([], [f"{folder}: {exc}"])
    for path in paths:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
            beats.append(Heartbeat.from_json(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            continue
        except (OSError, ValueError, TypeError) as exc:
            problems.append(f"{path.name}: {exc}")
    return HeartbeatScan(sorted(beats, key=lambda b: b.camera_id), problems)


@dataclass(frozen=True, slots=True)
class Judgement:
    """A camera's stream as Coverage & health shows it: ``verdict`` and why."""

    verdict: Verdict
    reason: str


def judge(beat: Heartbeat, now: datetime, *, dead_s: float | None = None) -> Judgement:
    """Live (frames arriving), failing (no frame lately, reconnecting or connecting) or dead
    at ``now``: no frame for ``dead_s`` (default ``LIVE_STREAM_DEAD_S``), a heartbeat
    itself older than that (the worker is gone), or a worker that stopped."""
    limit = settings.LIVE_STREAM_DEAD_S if dead_s is None else dead_s
    error = f": {beat.last_error}" if beat.last_error else ""
    if beat.state == "stopped":
        return Judgement("dead", f"worker stopped at {local_time(beat.updated_at)}")
    silent = (now - beat.updated_at).total_seconds()
    if silent > limit:
        return Judgement("dead", f"no heartbeat for {span(silent)} (worker gone?)")
    quiet = (now - (beat.last_frame_at or beat.started_at)).total_seconds()
    if quiet > limit:
        what = "no frame for" if beat.last_frame_at else "no frame since the start,"
        return Judgement("dead", f"{what} {span(quiet)}{error}")
    if beat.state != "streaming":
        return Judgement("failing", f"{beat.state}{error}")
    if quiet > 2 * settings.LIVE_HEARTBEAT_S:
        return Judgement("failing", f"no frame for {span(quiet)}")
    return Judgement("live", f"{beat.frames_per_s:.1f} frames/s")


def span(seconds: float) -> str:
    """A duration for people: ``45 s``, ``12 min``, ``3.5 h``, ``2.0 days``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def local_time(ts: datetime | None) -> str:
    """An instant in ``settings.LOCAL_TZ`` (``""`` for none)."""
    if ts is None:
        return ""
    return ts.astimezone(ZoneInfo(settings.LOCAL_TZ)).strftime("%Y-%m-%d %H:%M:%S")


STREAM_COLUMNS: Final = ("code", "name", "verdict", "why", "state", "last frame", "last read",
                         "frames/s", "frames", "recognised", "reads", "reconnects", "last error",
                         "camera_id", "worker", "url")


def stream_table(beats: list[Heartbeat], now: datetime,
                 names: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per heartbeat (dead first, then failing, then live), times in local time;
    ``names`` (indexed by camera id, columns ``code`` and ``name``) names the cameras."""
    rows = []
    for beat in beats:
        verdict = judge(beat, now)
        rows.append({
            "verdict": verdict.verdict, "why": verdict.reason, "state": beat.state,
            "last frame": local_time(beat.last_frame_at),
            "last read": local_time(beat.last_read_at), "frames/s": beat.frames_per_s,
            "frames": beat.frames, "recognised": beat.recognised, "reads": beat.reads,
            "reconnects": beat.reconnects,
            "last error": beat.last_error, "camera_id": beat.camera_id,
            "worker": f"{beat.host}:{beat.pid}", "url": beat.url})
    table = pd.DataFrame(rows, columns=[c for c in STREAM_COLUMNS if c not in ("code", "name")])
    known = names if names is not None else pd.DataFrame(columns=["code", "name"])
    table = table.join(known[["code", "name"]], on="camera_id")
    table["code"] = table["code"].fillna("").astype(str)
    table["name"] = table["name"].fillna("(not in the registry)").astype(str)
    order = table["verdict"].map(_ORDER)
    return table.assign(_order=order).sort_values(["_order", "code", "camera_id"]).drop(
        columns="_order")[list(STREAM_COLUMNS)].reset_index(drop=True)


def unreported(registry: pd.DataFrame, beats: list[Heartbeat]) -> pd.DataFrame:
    """The registry's cameras with a ``stream_url`` and no heartbeat (``id``, ``code``,
    ``name``): no worker watches them."""
    has_url = registry["stream_url"].notna() & (registry["stream_url"].astype(str) != "")
    seen = {b.camera_id for b in beats}
    rows = registry.loc[has_url & ~registry["id"].astype(str).isin(seen), ["id", "code", "name"]]
    return pd.DataFrame(rows).reset_index(drop=True)
