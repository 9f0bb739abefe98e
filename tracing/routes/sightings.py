"""Sightings of a plate: from reads, time-ordered, repeats collapsed, split into trips."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from tracing import settings
from tracing.errors import PlateError, RouteError
from tracing.plates import normalize_plate
from tracing.routes.model import Sighting

logger = logging.getLogger(__name__)

READS_COLUMNS = ("plate", "camera_id", "ts")
"""Required columns of a READS.csv (optional: confidence, read_id)."""
_OFFSET = r"(?:Z|[+-]\d\d:?\d\d)$"


def sightings_from_table(table: pa.Table | pd.DataFrame) -> list[Sighting]:
    """Sightings of a reads table (store rows or READS.csv rows): camera_id, ts, optional
    read_id and confidence. Times must be time-zone aware."""
    frame = table.to_pandas() if isinstance(table, pa.Table) else table
    missing = sorted({"camera_id", "ts"} - set(frame.columns))
    if missing:
        raise RouteError(f"reads lack columns {missing}")
    ts = frame["ts"]
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        raise RouteError("read times have no time zone (give ISO 8601 times with an offset)")
    ids = frame["read_id"].astype(str) if "read_id" in frame else pd.Series([""] * len(frame))
    conf = frame["confidence"] if "confidence" in frame else pd.Series([None] * len(frame))
    return [Sighting(camera_id=str(c), ts=t.to_pydatetime(), read_id=str(r),
                     confidence=None if q is None or pd.isna(q) else float(q))
            for c, t, r, q in zip(frame["camera_id"], ts, ids, conf, strict=True)]


def read_reads_csv(path: Path, plate: str) -> list[Sighting]:
    """The sightings of ``plate`` in a READS.csv (columns plate, camera_id, ts with offset)."""
    try:
        frame = pd.read_csv(path, dtype={"plate": str, "camera_id": str, "read_id": str})
    except (OSError, ValueError) as exc:
        raise RouteError(f"cannot read {path}: {exc}") from exc
    missing = sorted(set(READS_COLUMNS) - set(frame.columns))
    if missing:
        raise RouteError(f"{path} lacks columns {missing} (needs {', '.join(READS_COLUMNS)})")
    wanted = _normalized(plate)
    keep = frame["plate"].map(lambda p: _normalized_or_none(str(p)) == wanted)
    frame = frame[keep]
    naive = ~frame["ts"].astype(str).str.strip().str.contains(_OFFSET, regex=True)
    if naive.any():
        raise RouteError(f"{path}: ts {frame['ts'][naive].iloc[0]!r} has no UTC offset "
                         "(give ISO 8601 times with an offset, e.g. +07:00)")
    try:
        frame = frame.assign(ts=pd.to_datetime(frame["ts"], format="ISO8601", utc=True))
    except (ValueError, TypeError) as exc:
        raise RouteError(f"{path}: a ts is not an ISO 8601 time with an offset: {exc}") from exc
    return sightings_from_table(frame)


def _normalized(plate: str) -> str:
    try:
        return normalize_plate(plate)
    except PlateError as exc:
        raise RouteError(f"{plate!r} is not a valid plate: {exc}") from exc


def _normalized_or_none(plate: str) -> str | None:
    try:
        return normalize_plate(plate)
    except PlateError:
        return None


def ordered(sightings: Iterable[Sighting]) -> tuple[list[Sighting], bool]:
    """Sightings by time (then read id); True when the input was not in that order."""
    given = list(sightings)
    out = sorted(given, key=lambda s: (s.ts, s.read_id, s.camera_id))
    return out, out != given


def collapse_repeats(sightings: Sequence[Sighting], *,
                     window_s: float = settings.ROUTE_REPEAT_WINDOW_S) -> list[Sighting]:
    """Merge consecutive sightings at one camera less than ``window_s`` apart (duplicates,
    a vehicle waiting at a light): the first time is kept, ``reads`` counts them."""
    out: list[Sighting] = []
    for s in sightings:
        last = out[-1] if out else None
        if last and last.camera_id == s.camera_id and _gap_s(last.ts, s.ts) < window_s:
            best = max(c for c in (last.confidence, s.confidence, -1.0) if c is not None)
            out[-1] = Sighting(last.camera_id, last.ts, last.read_id,
                               None if best < 0 else best, last.reads + s.reads)
        else:
            out.append(s)
    return out


def _gap_s(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


def split_trips(sightings: Sequence[Sighting], fastest_s: Callable[[str, str], float | None],
                *, split_s: float = settings.ROUTE_TRIP_SPLIT_S) -> list[int]:
    """Trip number of every sighting: a new trip starts where the gap exceeds the fastest
    drive between the two cameras by ``split_s``, or the graph does not connect them
    (``fastest_s`` returns None)."""
    trips = [0] * len(sightings)
    for i in range(1, len(sightings)):
        a, b = sightings[i - 1], sightings[i]
        fastest = fastest_s(a.camera_id, b.camera_id)
        new = fastest is None or _gap_s(a.ts, b.ts) - fastest > split_s
        trips[i] = trips[i - 1] + int(new)
    return trips
