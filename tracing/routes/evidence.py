"""Which cameras were working when: negative evidence only where it is evidence.

A camera on a candidate path that did not read the plate counts against the path only if
it reads that direction of travel (see :func:`tracing.routes.candidates.passed_cameras`) and
was working at the time. Working is judged from the reads themselves: a camera with reads
within ``ROUTE_CAMERA_SILENT_S`` of the moment was up, one silent for that long around it was
down, whatever the registry's status says. Without activity data the registry's ``is_lpr``
and ``status`` decide.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from tracing import settings

if TYPE_CHECKING:
    from tracing.store import Store

_HOUR = 3600


@dataclass(frozen=True, slots=True)
class CameraActivity:
    """Per camera id: the sorted starts (epoch s) of the hours in which it produced reads."""

    hours: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)

    @classmethod
    def from_reads(cls, camera_ids: Iterable[object], times: pd.Series) -> CameraActivity:
        """From the camera and time of many reads (any plates)."""
        ts = pd.to_datetime(times, utc=True)
        epoch = ((ts - pd.Timestamp(0, tz="UTC")).dt.total_seconds() // _HOUR * _HOUR)
        frame = pd.DataFrame({"camera": [str(c) for c in camera_ids],
                              "hour": epoch.to_numpy(np.int64)}).drop_duplicates()
        return cls({str(c): np.sort(g["hour"].to_numpy(np.int64))
                    for c, g in frame.groupby("camera")})

    @classmethod
    def from_hourly(cls, frame: pd.DataFrame) -> CameraActivity:
        """From hourly counts (columns camera_id, hour as an aware time, reads)."""
        busy = frame[frame["reads"] > 0]
        return cls.from_reads(busy["camera_id"], busy["hour"])

    def working(self, camera_id: str, at: datetime) -> bool:
        """The camera produced reads within ROUTE_CAMERA_SILENT_S of ``at``."""
        hours = self.hours.get(camera_id)
        if hours is None or len(hours) == 0:
            return False
        t = at.timestamp()
        window = settings.ROUTE_CAMERA_SILENT_S
        i = int(np.searchsorted(hours, t - window - _HOUR, side="left"))
        return i < len(hours) and hours[i] <= t + window


def store_activity(store: Store, start: datetime, end: datetime) -> CameraActivity:
    """Which cameras produced reads in which hours between ``start`` and ``end`` (aware)."""
    sql = ("SELECT camera_id, CAST(floor(epoch(ts) / 3600) * 3600 AS BIGINT) AS hour "
           "FROM reads WHERE ts >= ? AND ts < ? GROUP BY ALL ORDER BY camera_id, hour")
    with store.reader() as con:
        frame = con.execute(sql, [start, end]).to_arrow_table().to_pandas()
    return CameraActivity({str(c): g["hour"].to_numpy(np.int64)
                           for c, g in frame.groupby("camera_id")})


def activity_window(times: Iterable[datetime]) -> tuple[datetime, datetime]:
    """The period whose reads tell which cameras worked during sightings at ``times``."""
    moments = list(times)
    margin = timedelta(seconds=settings.ROUTE_CAMERA_SILENT_S + _HOUR)
    return min(moments) - margin, max(moments) + margin
