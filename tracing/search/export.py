"""Exports of a vehicle's reads: CSV and GeoJSON (points at the cameras, times local)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from tracing import settings
from tracing.safecsv import frame_csv

__all__ = ["local_times", "reads_csv", "reads_geojson"]


def local_times(ts: pd.Series) -> pd.Series:
    """Instants shown in the local zone (``settings.LOCAL_TZ``)."""
    return pd.to_datetime(ts, utc=True).dt.tz_convert(settings.LOCAL_TZ)


def _rows(reads: pd.DataFrame) -> pd.DataFrame:
    out = reads.copy()
    if "ts" in out:
        out["ts"] = local_times(out["ts"]).map(lambda t: t.isoformat())
    return out


def reads_csv(reads: pd.DataFrame) -> str:
    """Reads as CSV text, times in ISO 8601 with the local offset (text cells that a
    spreadsheet would run as a formula made inert: :mod:`tracing.safecsv`)."""
    return frame_csv(_rows(reads))


def _value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def reads_geojson(reads: pd.DataFrame) -> str:
    """Reads with a camera position as a GeoJSON FeatureCollection of points."""
    rows = _rows(reads)
    features = []
    for record in rows.to_dict("records"):
        lon, lat = record.get("lon"), record.get("lat")
        if lon is None or lat is None or pd.isna(lon) or pd.isna(lat):
            continue
        props = {k: _value(v) for k, v in record.items() if k not in ("lon", "lat")}
        features.append({"type": "Feature", "properties": props,
                         "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]}})
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
