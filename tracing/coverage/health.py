"""Camera health from read counts: cameras silent longer than normal, read-rate drops
against each camera's own history, low confidence and high reject rates, with since-when.

:func:`hourly_activity` reads hourly counts from the store; :func:`camera_health` applies
the rules to such counts (a pure function, testable on synthetic counts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from tracing import settings
from tracing.store import Store

HOURLY_COLUMNS = ("camera_id", "hour", "reads", "confidence", "rejects", "last_ts")
"""Hourly counts: reads, mean confidence of the reads, rejected rows (at the time the row
carries, else when it was rejected), last read time."""

_HOURLY_SQL = """
WITH r AS (
    SELECT camera_id, date_trunc('hour', ts) AS hour, count(*) AS reads,
           avg(confidence) AS confidence, max(ts) AS last_ts
    FROM reads WHERE ts >= to_timestamp(?) AND ts <= to_timestamp(?) GROUP BY ALL),
k AS (
    SELECT json_extract_string(row_json, '$.camera_id') AS camera_id,
           coalesce(TRY_CAST(json_extract_string(row_json, '$.ts') AS TIMESTAMPTZ),
                    rejected_at) AS ts
    FROM rejects),
j AS (
    SELECT camera_id, date_trunc('hour', ts) AS hour, count(*) AS rejects
    FROM k WHERE ts >= to_timestamp(?) AND ts <= to_timestamp(?) GROUP BY ALL)
SELECT coalesce(r.camera_id, j.camera_id) AS camera_id,
       epoch_us(coalesce(r.hour, j.hour)) AS hour, coalesce(r.reads, 0) AS reads,
       r.confidence, coalesce(j.rejects, 0) AS rejects, epoch_us(r.last_ts) AS last_ts
FROM r FULL JOIN j ON r.camera_id = j.camera_id AND r.hour = j.hour
WHERE coalesce(r.camera_id, j.camera_id) IS NOT NULL
ORDER BY camera_id, hour
"""


@dataclass(frozen=True, slots=True, eq=False)
class CameraHealth:
    """Flagged cameras: one row per issue (camera_id, issue, since, detail), the time the
    rules were applied at (``now``) and the cameras checked."""

    issues: pd.DataFrame
    now: datetime
    checked: int

    def of(self, issue: str) -> pd.DataFrame:
        """Rows of one issue (silent, rate_drop, low_confidence, rejects)."""
        return self.issues[self.issues["issue"] == issue]


def latest_read(store: Store) -> datetime | None:
    """Time of the newest read in the store (None when it holds none)."""
    with store.reader() as con:
        row = con.execute("SELECT epoch_us(max(ts)) FROM reads").fetchone()
    if not row or row[0] is None:
        return None
    return datetime.fromtimestamp(int(row[0]) / 1e6, tz=UTC)


def hourly_activity(store: Store, *, now: datetime,
                    history_days: int = settings.COVERAGE_HISTORY_DAYS,
                    recent_hours: int = settings.COVERAGE_RECENT_HOURS) -> pd.DataFrame:
    """Hourly counts (:data:`HOURLY_COLUMNS`) of every camera up to ``now``."""
    start = now - timedelta(days=history_days, hours=recent_hours)
    with store.reader() as con:
        bounds = [start.timestamp(), now.timestamp()]
        frame = con.execute(_HOURLY_SQL, bounds + bounds).df()
    for column in ("hour", "last_ts"):
        frame[column] = pd.to_datetime(frame[column], unit="us", utc=True)
    return frame.reindex(columns=list(HOURLY_COLUMNS))


def _since(flags: np.ndarray, hours: pd.Series) -> object:
    """Start of the trailing run of flagged hours (first flagged hour if none trails)."""
    idx = np.flatnonzero(flags)
    if not len(idx):
        return None
    run = idx[-1]
    while run - 1 >= 0 and flags[run - 1]:
        run -= 1
    return hours.iloc[run] if idx[-1] == len(flags) - 1 else hours.iloc[idx[0]]


def camera_health(hourly: pd.DataFrame, *, now: datetime, cameras: Iterable[str] = (),
                  recent_hours: int = settings.COVERAGE_RECENT_HOURS,
                  silent_factor: float = settings.COVERAGE_SILENT_FACTOR,
                  silent_min_hours: float = settings.COVERAGE_SILENT_MIN_HOURS,
                  drop_ratio: float = settings.COVERAGE_DROP_RATIO,
                  min_history_reads: int = settings.COVERAGE_MIN_HISTORY_READS,
                  confidence_drop: float = settings.COVERAGE_LOW_CONFIDENCE_DROP,
                  reject_rate: float = settings.COVERAGE_REJECT_RATE) -> CameraHealth:
    """Apply the health rules at ``now`` to hourly counts; ``cameras`` adds cameras that
    may have no row at all (reported silent)."""
    now_ts = pd.Timestamp(now)
    recent_start = now_ts - pd.Timedelta(hours=recent_hours)
    rows: list[dict[str, object]] = []
    frame = hourly.copy()
    if not frame.empty:
        frame["hour"] = pd.to_datetime(frame["hour"], utc=True)
        frame["last_ts"] = pd.to_datetime(frame["last_ts"], utc=True)
    now_ts = now_ts.tz_convert("UTC") if now_ts.tzinfo else now_ts.tz_localize("UTC")
    recent_start = now_ts - pd.Timedelta(hours=recent_hours)
    ids = sorted(set(map(str, cameras)) | set(frame["camera_id"].astype(str)))
    groups = dict(tuple(frame.groupby("camera_id"))) if not frame.empty else {}
    for cam in ids:
        g = groups.get(cam)
        if g is None or int(g["reads"].sum()) == 0:
            rows.append({"camera_id": cam, "issue": "silent", "since": None,
                         "detail": "no reads in the whole period checked"})
            continue
        g = g.sort_values("hour")
        read_hours = g.loc[g["reads"] > 0, "hour"]
        history = g[g["hour"] < recent_start]
        recent = g[g["hour"] >= recent_start]
        gaps = read_hours.diff().dt.total_seconds().dropna() / 3600.0
        usual = float(np.percentile(gaps, 95)) if len(gaps) else 0.0
        limit_h = max(silent_min_hours, silent_factor * usual)
        last = g["last_ts"].max()
        silent_h = (now_ts - last).total_seconds() / 3600.0
        if silent_h > limit_h:
            rows.append({"camera_id": cam, "issue": "silent", "since": last,
                         "detail": f"no read for {silent_h:.1f} h (usual gap ≤ {usual:.1f} h)"})
        hist_reads = int(history["reads"].sum())
        if hist_reads >= min_history_reads and silent_h <= limit_h and len(history):
            hist_hours = max((recent_start - history["hour"].min()).total_seconds() / 3600, 1.0)
            rate = hist_reads / hist_hours
            recent_rate = float(recent["reads"].sum()) / recent_hours
            if recent_rate < drop_ratio * rate:
                full = pd.date_range(recent_start, now_ts, freq="h", inclusive="left")
                counts = recent.set_index("hour")["reads"].reindex(full, fill_value=0)
                since = _since(counts.to_numpy() < drop_ratio * rate, pd.Series(full))
                rows.append({"camera_id": cam, "issue": "rate_drop",
                             "since": recent_start if since is None else since,
                             "detail": f"{recent_rate:.1f} reads/h vs usual {rate:.1f}"})
        if hist_reads >= min_history_reads and int(recent["reads"].sum()) > 0:
            h_conf = float(np.average(history["confidence"].fillna(0), weights=history["reads"]))
            rr = recent[recent["reads"] > 0]
            r_conf = float(np.average(rr["confidence"].fillna(0), weights=rr["reads"]))
            if r_conf < h_conf - confidence_drop:
                flags = rr["confidence"].to_numpy(float) < h_conf - confidence_drop
                rows.append({"camera_id": cam, "issue": "low_confidence",
                             "since": _since(flags, rr["hour"]),
                             "detail": f"mean confidence {r_conf:.2f} vs usual {h_conf:.2f}"})
        rejects = int(recent["rejects"].sum())
        total = rejects + int(recent["reads"].sum())
        if total and rejects / total > reject_rate:
            flags = recent["rejects"].to_numpy() > 0
            rows.append({"camera_id": cam, "issue": "rejects",
                         "since": _since(flags, recent["hour"]),
                         "detail": f"{rejects / total:.0%} of {total} recent rows rejected"})
    issues = pd.DataFrame(rows, columns=["camera_id", "issue", "since", "detail"])
    return CameraHealth(issues=issues, now=now_ts.to_pydatetime(), checked=len(ids))
