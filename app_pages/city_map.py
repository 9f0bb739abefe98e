"""City map: roads, wards and cameras of Thủ Đức, and the camera registry."""

from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import auth, resources
from app_pages.i18n import _, columns, language, n_
from tracing import cameras as registry
from tracing import maps, safecsv
from tracing.access.registry import replace_registry
from tracing.errors import TracingError

TABLE_COLUMNS = ["code", "name", "ward", "is_lpr", "heading", "heading_known", "road", "status",
                 "snap_distance_m", "lon", "lat", "id"]


def city_map(cameras: gpd.GeoDataFrame) -> None:
    lang = language()
    fmap = maps.base_map(language=lang)
    maps.add_wards(fmap, resources.wards(), language=lang)
    maps.add_outline(fmap, resources.outline(), language=lang)
    maps.add_roads(fmap, resources.main_roads_geojson(), language=lang)
    maps.add_cameras(fmap, cameras, language=lang)
    maps.finish(fmap)
    west, south, east, north = resources.outline().bounds
    fmap.fit_bounds([[south, west], [north, east]])
    st_folium(fmap, height=620, use_container_width=True, returned_objects=[], key="city_map")


def filtered(cameras: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    left, middle, right = st.columns([2, 2, 1])
    text = left.text_input(_("Search code, name or road"),
                           placeholder=_("e.g. Võ Văn Ngân, TTH 21"))
    wards = middle.multiselect(_("Wards"), sorted(cameras["ward"].dropna().unique()))
    lpr_only = right.toggle(_("Plate-reading only"))
    keep = pd.Series(True, index=cameras.index)
    if text.strip():
        haystack = (cameras["code"].fillna("") + " " + cameras["name"].fillna("") + " "
                    + cameras["road"].fillna(""))
        keep &= haystack.str.contains(text.strip(), case=False, regex=False)
    if wards:
        keep &= cameras["ward"].isin(wards)
    if lpr_only:
        keep &= cameras["is_lpr"]
    return cameras[keep]


def export_buttons(cameras: gpd.GeoDataFrame) -> None:
    left, right = st.columns(2)
    csv = safecsv.frame_csv(pd.DataFrame(cameras[list(registry.REGISTRY_COLUMNS)]))
    left.download_button(_("Export CSV"), csv, "cameras.csv", "text/csv")
    right.download_button(_("Export GeoJSON"), registry.registry_geojson(cameras),
                          "cameras.geojson", "application/geo+json")


def import_form() -> None:
    if not auth.may("registry"):
        return
    with st.expander(_("Load a camera registry (CSV or GeoJSON)")):
        st.caption(_("Columns: `{columns}`. Required: `id`, `lon`, `lat`. Cameras are snapped "
                     "to the road edge they watch; the current registry is replaced only if "
                     "every row is valid.").format(columns=", ".join(registry.REGISTRY_COLUMNS)))
        upload = st.file_uploader(_("Registry file"), type=["csv", "geojson", "json"])
        reason = auth.reason_input(_("Reason for replacing the registry"),
                                   key="registry_reason")
        if upload is None or reason is None or not st.button(
                _("Validate and replace the registry")):
            return
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / ("registry" + Path(upload.name).suffix.lower())
            path.write_bytes(upload.getvalue())
            try:
                loaded = registry.read_registry(path)
                snapped = registry.snap_cameras(loaded, resources.road_edges())
                replace_registry(resources.store(), snapped, who=auth.actor(reason),
                                 source=upload.name)  # checked and audited with the change
            except TracingError as exc:
                st.error(_("Registry not loaded: {error}").format(error=exc))
                return
        st.session_state["registry_loaded"] = n_(
            "Loaded {n} camera ({lpr} read plates).", "Loaded {n} cameras ({lpr} read plates).",
            len(snapped)).format(n=len(snapped), lpr=int(snapped.is_lpr.sum()))
        st.rerun()


def page() -> None:
    if message := st.session_state.pop("registry_loaded", None):
        st.success(message)
    try:
        cameras = registry.load_registry(resources.store())
    except TracingError as exc:
        st.error(_("Cannot open the camera registry: {error}").format(error=exc))
        import_form()
        return
    a, b, c = st.columns(3)
    a.metric(_("Cameras"), len(cameras))
    b.metric(_("Plate-reading"), int(cameras["is_lpr"].sum()))
    c.metric(_("Wards covered"), cameras["ward"].nunique())
    city_map(cameras)
    st.caption(_("Red: plate-reading cameras · dark: other cameras · dashed: ward boundaries "
                 "(2019 units). Click a camera for its details."))
    st.subheader(_("Camera registry"))
    shown = filtered(cameras)
    st.dataframe(pd.DataFrame(shown[TABLE_COLUMNS]), hide_index=True, width="stretch",
                 column_config=columns(TABLE_COLUMNS))
    st.caption(n_("{n} of {total} camera", "{n} of {total} cameras", len(cameras)).format(
        n=len(shown), total=len(cameras)))
    export_buttons(shown)
    import_form()


auth.require("map")
st.title(_("Thủ Đức City: roads, wards and cameras"))
try:
    page()
except TracingError as exc:
    st.error(_("The city map cannot be shown: {error}").format(error=exc))
