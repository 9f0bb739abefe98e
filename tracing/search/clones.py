"""Impossible travel: reads of one plate that no drive on the road graph can connect.

Two consecutive reads of a plate (by time) at cameras A and B are *impossible* by the one
rule of :mod:`tracing.travel` (the one trace and the alerts use), on the direction-free lower
bound of :mod:`tracing.search.reachability`: a cloned plate (two cars, one plate) or a
misread. Each pair is listed with road distance, time, the least drive time and the implied
speed; :func:`plate_tracks` splits a plate's reads into the fewest drivable tracks (one per
vehicle), as trace does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from tracing.access.actor import Who, record_look
from tracing.search.query import SearchFilters, described, filter_sql
from tracing.search.reachability import Reachability
from tracing.store import Store
from tracing.travel import impossible, split_tracks

logger = logging.getLogger(__name__)

__all__ = ["ClonePair", "clone_pairs", "find_clones", "plate_tracks"]


@dataclass(frozen=True, slots=True)
class ClonePair:
    """Two reads of one plate too far apart for the time between them."""

    plate: str
    read_a: str
    read_b: str
    camera_a: str
    camera_b: str
    ts_a: datetime
    ts_b: datetime
    gap_s: float
    min_travel_s: float
    distance_m: float
    implied_kph: float


def clone_pairs(reads: pd.DataFrame, reach: Reachability) -> tuple[ClonePair, ...]:
    """Impossible consecutive pairs in ``reads`` (read_id, plate, camera_id, ts), worst first."""
    if reads.empty:
        return ()
    frame = reads.assign(ts=pd.to_datetime(reads["ts"], utc=True)).sort_values(
        ["plate", "ts", "read_id"]).reset_index(drop=True)
    t = np.asarray((frame["ts"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds(), np.float64)
    rows = reach.rows(frame["camera_id"])
    same = frame["plate"].to_numpy()[1:] == frame["plate"].to_numpy()[:-1]
    a, b = rows[:-1], rows[1:]
    known = same & (a >= 0) & (b >= 0)
    need, back = np.zeros(len(a)), np.zeros(len(a))
    need[known] = reach.seconds[a[known], b[known]]
    back[known] = reach.seconds[b[known], a[known]]
    gap = t[1:] - t[:-1]
    bad = np.flatnonzero(known & impossible(gap, need, back))
    pairs = [_pair(frame, int(i), float(gap[i]), float(need[i]),
                   float(reach.metres[a[i], b[i]])) for i in bad]
    pairs.sort(key=lambda p: (-p.implied_kph, p.plate, p.ts_a))
    return tuple(pairs)


def plate_tracks(reads: pd.DataFrame, reach: Reachability) -> pd.Series:
    """Track number of every read (same index as ``reads``: read_id, plate, camera_id, ts):
    per plate, the fewest drivable tracks (0 for every read of a plate one vehicle can
    explain)."""
    out = pd.Series(0, index=reads.index, dtype="int64")
    if reads.empty:
        return out
    ts = pd.to_datetime(reads["ts"], utc=True)
    seconds = (ts - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    frame = reads.assign(_t=seconds).sort_values(["plate", "_t", "read_id"])
    for _, group in frame.groupby("plate", sort=False):
        rows = reach.rows(group["camera_id"])
        out.loc[group.index] = split_tracks(group["_t"].to_numpy(np.float64), rows,
                                            reach.seconds)
    return out


def _pair(frame: pd.DataFrame, i: int, gap: float, need: float, metres: float) -> ClonePair:
    first, second = frame.iloc[i], frame.iloc[i + 1]
    kph = np.inf if gap <= 0 else metres / gap * 3.6
    return ClonePair(
        plate=str(first["plate"]), read_a=str(first["read_id"]), read_b=str(second["read_id"]),
        camera_a=str(first["camera_id"]), camera_b=str(second["camera_id"]),
        ts_a=first["ts"].to_pydatetime(), ts_b=second["ts"].to_pydatetime(), gap_s=gap,
        min_travel_s=need, distance_m=metres, implied_kph=float(kph))


def find_clones(store: Store, reach: Reachability, *, who: Who, plate: str | None = None,
                filters: SearchFilters | None = None) -> tuple[ClonePair, ...]:
    """Impossible-travel pairs of one plate (canonical) or of every plate in the store
    (``who`` needs ``search``; audited as ``search.clones``)."""
    record_look(store, who, "search", "search.clones",
                {"plate": plate, "filters": described(filters)})
    clauses, params = filter_sql(store, filters)
    if plate is not None:
        clauses = ["plate = ?", *clauses]
        params = [plate, *params]
    where = " AND ".join(clauses) or "true"
    sql = ("SELECT read_id, plate, camera_id, ts FROM reads WHERE plate IN "  # noqa: S608
           f"(SELECT plate FROM reads WHERE {where} GROUP BY plate "
           "HAVING count(DISTINCT camera_id) > 1) "
           f"AND {where}")
    with store.reader() as con:
        reads = con.execute(sql, [*params, *params]).to_arrow_table().to_pandas()
    pairs = clone_pairs(reads, reach)
    logger.info("clones: %s impossible pairs over %s reads", len(pairs), len(reads))
    return pairs
