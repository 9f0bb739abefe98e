"""Convoy / co-travel: vehicles read at the same cameras as the target, close in time.

For every read of the target in the window, the reads at the same camera within
``window_s`` are its companions; a plate seen with the target at ≥ ``min_cameras`` distinct
cameras is a convoy member. Ranked by shared cameras, then co-reads, then the mean gap.

The join is an equality hash join on (camera, time bucket of ``window_s``) with the
target's reads expanded to the neighbouring buckets, then the exact gap test; so one target
over a month of reads costs a scan of the reads' camera and time columns, not a range join.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from tracing import settings
from tracing.access.actor import Who, record_look
from tracing.errors import SearchError
from tracing.search.linking import target_plate
from tracing.search.query import SearchFilters, described, filter_sql, from_epoch_us
from tracing.store import Store

logger = logging.getLogger(__name__)

__all__ = ["ConvoyMember", "find_convoy"]


@dataclass(frozen=True, slots=True)
class ConvoyMember:
    """A plate that travelled with the target."""

    plate: str
    shared_cameras: int
    co_reads: int
    mean_gap_s: float
    cameras: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime


_SQL: Final = """
WITH target AS (
    SELECT camera_id, epoch(ts) AS t FROM reads WHERE plate = ? AND {where}
), keys AS (
    SELECT camera_id, t, floor(t / ?)::BIGINT + d AS bucket
    FROM target, (VALUES (-1), (0), (1)) AS shift(d)
), others AS (
    SELECT plate, camera_id, ts, epoch(ts) AS t, floor(epoch(ts) / ?)::BIGINT AS bucket
    FROM reads
    WHERE plate <> ? AND camera_id IN (SELECT camera_id FROM target) AND {where}
), pairs AS (
    SELECT o.plate, o.camera_id, o.ts, abs(o.t - k.t) AS gap
    FROM others o JOIN keys k ON o.camera_id = k.camera_id AND o.bucket = k.bucket
    WHERE abs(o.t - k.t) <= ?
)
SELECT plate, count(DISTINCT camera_id) AS shared, count(*) AS co_reads, avg(gap),
       list(DISTINCT camera_id ORDER BY camera_id), epoch_us(min(ts)), epoch_us(max(ts))
FROM pairs GROUP BY plate HAVING count(DISTINCT camera_id) >= ?
ORDER BY shared DESC, co_reads DESC, avg(gap), plate LIMIT ?
"""


def find_convoy(store: Store, target: str, *, who: Who,
                window_s: float = settings.SEARCH_CONVOY_WINDOW_S,
                min_cameras: int = settings.SEARCH_CONVOY_MIN_CAMERAS,
                filters: SearchFilters | None = None,
                limit: int = settings.SEARCH_MAX_CANDIDATES) -> tuple[ConvoyMember, ...]:
    """Plates read within ``window_s`` of the target at ≥ ``min_cameras`` of its cameras
    (``who`` needs ``search``; audited as ``search.convoy``)."""
    plate = target_plate(target)
    if not 0.0 < window_s <= 3600.0:
        raise SearchError(f"convoy window {window_s!r} s must lie in (0, 3600]")
    if min_cameras < 1:
        raise SearchError(f"min_cameras {min_cameras!r} must be at least 1")
    record_look(store, who, "search", "search.convoy", {
        "plate": plate, "window_s": float(window_s), "min_cameras": int(min_cameras),
        "filters": described(filters)})
    clauses, params = filter_sql(store, filters)
    where = " AND ".join(clauses) or "true"
    sql = _SQL.format(where=where)
    args = [plate, *params, window_s, window_s, plate, *params, window_s, min_cameras, limit]
    with store.reader() as con:
        rows = con.execute(sql, args).fetchall()
    return tuple(ConvoyMember(
        plate=str(p), shared_cameras=int(s), co_reads=int(n), mean_gap_s=float(g),
        cameras=tuple(c), first_seen=from_epoch_us(f), last_seen=from_epoch_us(last))
        for p, s, n, g, c, f, last in rows)
