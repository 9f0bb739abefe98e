"""Helpers shared by the store, spool and concurrency tests (tiny data only; no tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa

from tracing.reads import PlateRead
from tracing.store import Store

CAMERAS = ("cam-a", "cam-b", "cam-c")
T0 = datetime(2026, 3, 1, 1, 15, tzinfo=UTC)
PLATES = ("51A-123.45", "59-X1 123.45", "30K-555.66", "51F-000.01")


def new_store(path: Path) -> Store:
    """A store at ``path`` with the cameras of :data:`CAMERAS`."""
    store = Store(path, timeout_s=20.0)
    store.replace_cameras(pd.DataFrame({"id": list(CAMERAS), "name": ["A", "B", "C"],
                                        "lon": [106.75, 106.76, 106.77],
                                        "lat": [10.85, 10.86, 10.87], "is_lpr": True}))
    return store


def reads_table(n: int, *, prefix: str = "r", start: int = 0) -> pa.Table:
    """n valid reads with ids ``<prefix><i>``, typed (UTC instants)."""
    rows = range(start, start + n)
    return pa.table({
        "read_id": [f"{prefix}{i}" for i in rows],
        "camera_id": [CAMERAS[i % len(CAMERAS)] for i in rows],
        "ts": pa.array([T0 + timedelta(seconds=i) for i in rows], pa.timestamp("us", "UTC")),
        "plate": [PLATES[i % len(PLATES)] for i in rows],
        "confidence": [0.5 + (i % 5) / 10 for i in rows],
    })


def plate_read(i: int, *, read_id: str | None = "auto", plate: str | None = None) -> PlateRead:
    """One valid PlateRead."""
    return PlateRead(
        read_id=f"p{i}" if read_id == "auto" else read_id,
        camera_id=CAMERAS[i % len(CAMERAS)],
        ts=T0 + timedelta(minutes=i),
        plate_raw=plate or PLATES[i % len(PLATES)],
        confidence=0.9,
    )


def count(store: Store, table: str) -> int:
    """Rows of a table (name from the test code, never from data)."""
    with store.reader() as con:
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    assert row is not None
    return int(row[0])
