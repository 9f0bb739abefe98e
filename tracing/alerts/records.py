"""Alert records: storing raised alerts once, listing them with their evidence, and the
operators' acknowledge / dismiss decisions.

Each alert carries the evidence of its read (camera, time, raw text, confidence, crop
reference), copied when it is raised: listing alerts never scans the reads table, and the
evidence stays when old reads are purged. ``alert_key`` is unique (an index): an alert
that was already stored is never stored again, whoever raises it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Final, Literal

import duckdb
import pandas as pd
import pyarrow as pa

from tracing import settings
from tracing.access.actor import Who, name_of, permit, record_change
from tracing.alerts.common import aware, check_who, fetch, utc_now
from tracing.errors import AlertError
from tracing.store import Store

__all__ = ["ALERT_KINDS", "STATUSES", "AlertKind", "AlertRow", "insert_alerts", "list_alerts",
           "set_alert_status"]

AlertKind = Literal["watchlist", "geofence_entry", "impossible_travel", "retroactive"]
ALERT_KINDS: Final = ("watchlist", "geofence_entry", "impossible_travel", "retroactive")
STATUSES: Final = ("new", "acknowledged", "dismissed")
DECISIONS: Final = ("acknowledged", "dismissed")
MAX_NOTE_LENGTH: Final = 1000


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An alert about to be stored (column names of the ``alerts`` table)."""

    alert_key: str
    kind: AlertKind
    read_id: str
    plate: str
    geofence_id: int | None
    watch_id: int | None
    camera_id: str
    read_ts: datetime
    plate_raw: str | None
    confidence: float | None
    crop_ref: str | None
    priority: int | None
    detail: str


_COLUMNS: Final = tuple(f.name for f in fields(AlertRow))
_SCHEMA: Final = pa.schema([
    ("alert_key", pa.string()), ("kind", pa.string()), ("read_id", pa.string()),
    ("plate", pa.string()), ("geofence_id", pa.int64()), ("watch_id", pa.int64()),
    ("camera_id", pa.string()), ("read_ts", pa.timestamp("us", tz="UTC")),
    ("plate_raw", pa.string()), ("confidence", pa.float32()), ("crop_ref", pa.string()),
    ("priority", pa.int32()), ("detail", pa.string())])


def insert_alerts(con: duckdb.DuckDBPyConnection, rows: Sequence[AlertRow], *,
                  raised_at: datetime | None = None) -> list[int]:
    """Store alerts whose key is new (in con's transaction); ids of those stored.
    ``raised_at`` defaults to now, taken just before the insert (the commit follows)."""
    if not rows:
        return []
    unique = {row.alert_key: row for row in rows}  # DuckDB refuses a key twice in one insert
    table = pa.Table.from_pylist(
        [{name: getattr(r, name) for name in _COLUMNS} for r in unique.values()], schema=_SCHEMA)
    names = ", ".join(_COLUMNS)
    con.register("_alerts_in", table)
    try:
        stored = con.execute(
            f"INSERT INTO alerts ({names}, raised_at) "  # noqa: S608 - constant column names
            f"SELECT {names}, ?::TIMESTAMPTZ FROM _alerts_in "
            "ON CONFLICT DO NOTHING RETURNING id", [raised_at or utc_now()]).fetchall()
    finally:
        con.unregister("_alerts_in")
    return sorted(int(row[0]) for row in stored)


_LIST_SQL: Final = """
SELECT a.id, a.kind, a.priority, a.status, a.plate, a.plate_raw, a.camera_id,
       c.name AS camera_name, c.lon, c.lat, a.read_ts AS ts, a.confidence, a.crop_ref,
       a.read_id, a.geofence_id, g.name AS fence_name, a.watch_id, w.pattern,
       w.match_kind, w.reason, a.detail, a.raised_at, a.status_by, a.status_at, a.note
FROM alerts a
LEFT JOIN cameras c ON c.id = a.camera_id
LEFT JOIN geofences g ON g.id = a.geofence_id
LEFT JOIN watchlist w ON w.id = a.watch_id
"""


def _statuses(status: str | Iterable[str] | None) -> list[str]:
    if status is None:
        return []
    wanted = [status] if isinstance(status, str) else list(status)
    bad = [s for s in wanted if s not in STATUSES]
    if bad or not wanted:
        raise AlertError(f"alert status {bad or wanted!r} must be among {', '.join(STATUSES)}")
    return wanted


def list_alerts(store: Store, *, status: str | Iterable[str] | None = None,
                since: datetime | None = None, limit: int = 200,
                ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Alerts newest first with their read's evidence (camera and its position, ts,
    plate_raw, confidence, crop_ref), the fence name, the watch pattern/reason/priority and
    ``detail`` (why it was raised, in words). Filters: status(es), raised since (aware),
    ids; at most ``limit`` rows (≤ ALERT_LIST_MAX)."""
    if not isinstance(limit, int) or not 0 < limit <= settings.ALERT_LIST_MAX:
        raise AlertError(f"limit {limit!r} must be an integer in [1, {settings.ALERT_LIST_MAX}]")
    aware(since, "since", AlertError)
    clauses: list[str] = []
    params: list[object] = []
    wanted = _statuses(status)
    if wanted:
        clauses.append(f"a.status IN ({', '.join('?' * len(wanted))})")
        params.extend(wanted)
    if since is not None:
        clauses.append("a.raised_at >= ?")
        params.append(since)
    if ids is not None:
        clauses.append("list_contains(?, a.id)")
        params.append([int(i) for i in ids])
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"{_LIST_SQL} {where} ORDER BY a.raised_at DESC, a.id DESC LIMIT {int(limit)}"
    with store.reader() as con:
        return fetch(con, sql, params)


def set_alert_status(store: Store, alert_id: int, status: str, *, who: Who,
                     note: str | None = None) -> None:
    """Acknowledge or dismiss an alert, with who, when and an optional note (``who``: an
    :class:`~tracing.access.actor.Actor`, checked and audited, or a system name)."""
    if status not in DECISIONS:
        raise AlertError(f"status {status!r} must be one of {', '.join(DECISIONS)}")
    user = check_who(name_of(who), AlertError)
    text = (note or "").strip() or None
    if text is not None and len(text) > MAX_NOTE_LENGTH:
        raise AlertError(f"the note is longer than {MAX_NOTE_LENGTH} characters")
    what = {"alert": int(alert_id), "status": status}
    permit(store, who, "alerts", "alert.status", what)
    with store.writer() as con:
        row = con.execute("SELECT count(*) FROM alerts WHERE id = ?", [int(alert_id)]).fetchone()
        if not row or not row[0]:
            raise AlertError(f"no alert with id {alert_id!r}")
        con.execute("UPDATE alerts SET status = ?, status_by = ?, status_at = ?, note = ? "
                    "WHERE id = ?", [status, user, utc_now(), text, int(alert_id)])
        record_change(con, who, "alert.status", what)
