"""One alert's evidence on the Alerts page: the read, its crop, the camera on the map and
the vehicle's recent path (route reconstruction over its reads of the last hours)."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import resources
from tracing import maps, settings
from tracing.access.paths import contained
from tracing.errors import AccessError, TracingError
from tracing.routes import Route, reconstruct_route, sightings_from_table

LOCAL = ZoneInfo(settings.LOCAL_TZ)
PATH_COLOUR = "#1f618d"
READ_COLOUR = "#c0392b"


def local(ts: Any) -> str:
    """A timestamp in local time, seconds included ('' when missing)."""
    if ts is None or pd.isna(ts):
        return ""
    return pd.Timestamp(ts).tz_convert(LOCAL).strftime("%Y-%m-%d %H:%M:%S")


def crop_path(crop_ref: Any) -> Path | None:
    """The crop image file of ``crop_ref`` when it is an existing file under CROPS_DIR."""
    if crop_ref is None or pd.isna(crop_ref) or not str(crop_ref).strip():
        return None
    try:
        path = contained(settings.CROPS_DIR, str(crop_ref))
    except AccessError:
        return None
    return path if path.is_file() else None


def evidence(alert: pd.Series) -> None:
    """What was read, where, when and how sure, with the crop when there is one."""
    left, right = st.columns([2, 1])
    confidence = alert["confidence"]
    rows = {
        "Plate (normalised)": alert["plate"],
        "Read as (raw OCR text)": alert["plate_raw"] if pd.notna(alert["plate_raw"]) else "",
        "Confidence": "" if pd.isna(confidence) else f"{float(confidence):.0%}",
        "Camera": f"{alert['camera_name'] or ''} ({alert['camera_id']})",
        f"Read at ({settings.LOCAL_TZ})": local(alert["ts"]),
        "Raised at": local(alert["raised_at"]),
        "Fence": alert["fence_name"] if pd.notna(alert["fence_name"]) else "",
        "Watch entry": (f"{alert['pattern']} ({alert['match_kind']}): {alert['reason']}"
                        if pd.notna(alert["pattern"]) else ""),
        "Read id": alert["read_id"],
    }
    left.table(pd.DataFrame({"Evidence": list(rows.values())}, index=list(rows)))
    if pd.notna(alert["detail"]) and alert["detail"]:
        left.caption(f"Why: {alert['detail']}")
    image = crop_path(alert["crop_ref"])
    if image is not None:
        right.image(str(image), caption="Plate crop of this read")
    else:
        right.info("No crop image stored for this read: check the raw text and confidence.")


def recent_route(alert: pd.Series, cameras: gpd.GeoDataFrame) -> Route | None:
    """The vehicle's route over its reads of the last ALERT_PATH_HOURS up to this read."""
    read_ts = pd.Timestamp(alert["ts"]).to_pydatetime()
    start = read_ts - timedelta(hours=settings.ALERT_PATH_HOURS)
    table = resources.store().reads_of_plate(str(alert["plate"]), start=start,
                                             end=read_ts + timedelta(seconds=1))
    sightings = sightings_from_table(table)
    if len(sightings) < 2:
        return None
    return reconstruct_route(resources.road_graph(), sightings, k=1, plate=str(alert["plate"]),
                             cache=resources.path_cache(cameras))


def _sightings_layer(route: Route, where: pd.DataFrame) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="Earlier reads")
    for i, s in enumerate(route.sightings):
        if s.camera_id not in where.index:
            continue
        lat, lon, name = where.loc[s.camera_id, ["lat", "lon", "name"]]
        folium.CircleMarker([lat, lon], radius=6, color="white", weight=1.5, fill=True,
                            fill_color=PATH_COLOUR, fill_opacity=0.95,
                            tooltip=html.escape(f"{i + 1}. {local(s.ts)} · {name or s.camera_id}"),
                            ).add_to(group)
    return group


def alert_map(alert: pd.Series, route: Route | None, cameras: gpd.GeoDataFrame) -> None:
    """The alert's camera, the vehicle's earlier reads and its most probable path."""
    fmap = maps.base_map(center=(float(alert["lat"]), float(alert["lon"])), zoom=14)
    maps.add_roads(fmap, resources.main_roads_geojson())
    points = [(float(alert["lat"]), float(alert["lon"]))]
    if route is not None:
        paths = folium.FeatureGroup(name="Most probable path")
        for leg in route.legs:
            if leg.best is not None:
                line = [(y, x) for x, y in leg.best.geometry.coords]
                points += line
                folium.PolyLine(line, color=PATH_COLOUR, weight=5, opacity=0.85,
                                tooltip=f"{local(leg.start.ts)} → {local(leg.end.ts)}",
                                ).add_to(paths)
        paths.add_to(fmap)
        _sightings_layer(route, cameras.set_index("id")).add_to(fmap)
    folium.CircleMarker(points[0], radius=10, color="white", weight=2, fill=True,
                        fill_color=READ_COLOUR, fill_opacity=1.0,
                        tooltip=html.escape(f"This read: {alert['camera_name'] or ''}"),
                        class_name="alert-camera").add_to(fmap)
    maps.finish(fmap)
    lats, lons = zip(*points, strict=True)
    if len(points) > 1:
        fmap.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]])
    st_folium(fmap, height=460, use_container_width=True, returned_objects=[],
              key=f"alert_map_{alert['id']}")


def show_where(alert: pd.Series, cameras: gpd.GeoDataFrame) -> None:
    """The map and a line about the path (or why there is none)."""
    if pd.isna(alert["lat"]) or pd.isna(alert["lon"]):
        st.warning(f"Camera {alert['camera_id']} is not in the registry: no map.")
        return
    try:
        route = recent_route(alert, cameras)
    except TracingError as exc:
        st.warning(f"The recent path cannot be drawn: {exc}")
        route = None
    alert_map(alert, route, cameras)
    hours = f"{settings.ALERT_PATH_HOURS:g} h"
    if route is None:
        st.caption(f"Red: the camera of this read. No other read of {alert['plate']} in the "
                   f"{hours} before it, so no path to draw.")
    else:
        since: datetime = route.sightings[0].ts
        st.caption(f"Red: the camera of this read · blue: the {len(route.sightings)} reads of "
                   f"{alert['plate']} since {local(pd.Timestamp(since))} and the most probable "
                   f"path between them ({hours} window).")
