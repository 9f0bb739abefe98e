"""Shared pieces of the alert tests: four hand-placed cameras in Thủ Đức and reads.

Cameras west to east on one latitude, about 1.1 km apart: A (106.760), B (106.770),
C (106.780); D far to the north-east (106.800, 10.870).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import shapely

from tracing.store import Store

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
LAT = 10.850
CAMERAS = pd.DataFrame({
    "id": ["A", "B", "C", "D"], "code": ["CAM A", "CAM B", "CAM C", "CAM D"],
    "name": ["a", "b", "c", "d"], "lon": [106.760, 106.770, 106.780, 106.800],
    "lat": [LAT, LAT, LAT, 10.870], "is_lpr": [True] * 4, "status": ["up"] * 4,
})


def box(lon: float, lat: float = LAT, half: float = 0.003) -> shapely.Polygon:
    """A square fence of ±``half`` degrees around a point."""
    return shapely.box(lon - half, lat - half, lon + half, lat + half)


def new_store(path: Path) -> Store:
    """A fresh store holding the four cameras."""
    store = Store(path)
    store.replace_cameras(CAMERAS)
    return store


def reads(*rows: tuple[str, str, float], prefix: str = "r", start: datetime = T0
          ) -> pd.DataFrame:
    """Reads (plate, camera, minutes after ``start``) with read ids ``<prefix><n>``."""
    return pd.DataFrame({
        "read_id": [f"{prefix}{i}" for i in range(len(rows))],
        "plate": [r[0] for r in rows], "camera_id": [r[1] for r in rows],
        "ts": [(start + timedelta(minutes=r[2])).isoformat() for r in rows],
        "confidence": [0.9] * len(rows),
    })
