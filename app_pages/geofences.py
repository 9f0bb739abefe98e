"""Geofences & watchlists: draw, upload or generate fences on the map; manage the watchlist."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import shapely
import streamlit as st

from app_pages import _fence_map, _watchlist, auth, resources
from tracing import settings
from tracing.access.actor import Actor
from tracing.alerts import geofences as gf
from tracing.errors import TracingError

LOCAL = ZoneInfo(settings.LOCAL_TZ)
EDITING_KEY = "fence_editing"  # session state: id of the fence on the map's draw layer


def local(ts: Any) -> str:
    return "" if ts is None else ts.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")


def act(done: str, work: Callable[[Actor], object]) -> bool:
    """Run a change once a reason is given and report it; True when it ran. The library
    checks the role and writes the audit entry in the change's transaction."""
    reason = st.session_state.get("fence_reason_ok")
    if not reason:
        st.error("Enter a reason or case number (top of the page) before changing anything.")
        return False
    try:
        result = work(auth.actor(reason))
    except TracingError as exc:
        st.error(str(exc))
        return False
    st.session_state["fence_done"] = done.replace("{result}", str(result))
    return True


def finish(changed: bool) -> None:
    """Rerun after a change so the map and the tables show it."""
    if changed:
        st.rerun()


def fence_name(fence: gf.Geofence) -> str:
    return f"#{fence.id} {fence.name} ({fence.kind})"


def drawing_panel(drawn: list[dict[str, Any]] | None, editing: gf.Geofence | None) -> None:
    """The preview of what is on the draw layer, with its Save button."""
    if editing is not None:
        st.markdown(f"**Editing the shape of {fence_name(editing)}**: move its vertices with "
                    "the edit tool (pencil, then *Save* on the map), or delete it (bin) and draw "
                    "a new one.")
        if st.button("Stop editing", key="stop_editing"):
            st.session_state[EDITING_KEY] = None
            st.rerun()
    if not drawn:
        if editing is None:
            st.info("Draw a fence: pick the polygon (or rectangle) tool at the top left of "
                    "the map, click the corners, then click the first corner again. The "
                    "shape appears here to be named and saved.")
        return
    try:
        shape = gf.fence_from_geojson(_collection(drawn))
    except TracingError as exc:
        st.error(f"The drawn shape cannot be a fence: {exc}")
        return
    parts = len(getattr(shape, "geoms", [shape]))
    st.success(f"Drawn: {parts} polygon{'s' if parts > 1 else ''}, "
               f"{shapely.get_num_coordinates(shape)} vertices.")
    with st.expander("GeoJSON of the drawing"):
        st.code(shapely.to_geojson(shape), language="json", wrap_lines=True)
    if editing is not None:
        if st.button("Save this shape", type="primary", key="save_edited"):
            changed = act(f"Shape of {fence_name(editing)} saved.",
                          lambda actor: gf.update_fence(resources.store(), editing.id, who=actor,
                                                        geometry=shape))
            if changed:
                st.session_state[EDITING_KEY] = None
            finish(changed)
        return
    name = st.text_input("Name of the new fence", key="drawn_name",
                         placeholder="e.g. Thủ Thiêm depot")
    if st.button("Save fence", type="primary", key="save_drawn"):
        finish(act(f"Fence {name.strip()!r} saved (#{{result}}).",
                   lambda actor: gf.create_fence(resources.store(), name, shape, who=actor)))


def _collection(geometries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {}, "geometry": g}
                         for g in geometries]}


def create_other_ways() -> None:
    """Fences from GeoJSON, wards, a point, a road, and the gateway fences."""
    upload, wards, point, road, gateways = st.tabs(
        ["GeoJSON", "Wards", "Around a point", "Along a road", "Gateway fences"])
    with upload:
        name = st.text_input("Fence name", key="geojson_name")
        text = st.text_area("Paste GeoJSON (Polygon, MultiPolygon, Feature or "
                            "FeatureCollection, lon/lat)", key="geojson_text", height=140)
        file = st.file_uploader("…or upload a .geojson file", type=["geojson", "json"],
                                key="geojson_file")
        if st.button("Create fence from GeoJSON", key="create_geojson"):
            source = file.getvalue().decode("utf-8", errors="replace") if file else text
            finish(act(f"Fence {name.strip()!r} saved (#{{result}}).",
                       lambda actor: gf.create_fence(resources.store(), name,
                                                     gf.fence_from_geojson(source), who=actor)))
    with wards:
        chosen = st.multiselect("Wards", resources.wards()["ward"].tolist(), key="ward_pick")
        name = st.text_input("Fence name (empty: the wards' names)", key="ward_name").strip() \
            or ", ".join(chosen)
        if st.button("Create fence from wards", key="create_wards"):
            finish(act(f"Fence {name.strip()!r} saved (#{{result}}).",
                       lambda actor: gf.create_fence(resources.store(), name,
                                                     gf.ward_fence(resources.wards(), chosen),
                                                     who=actor)))
    with point:
        a, b, c = st.columns(3)
        lat = a.number_input("Latitude", value=10.8500, format="%.5f", key="point_lat")
        lon = b.number_input("Longitude", value=106.7700, format="%.5f", key="point_lon")
        radius = c.number_input("Radius (m)", min_value=10.0, value=300.0, step=50.0,
                                key="point_radius")
        name = st.text_input("Fence name", key="point_name")
        if st.button("Create circular fence", key="create_point"):
            finish(act(f"Fence {name.strip()!r} saved (#{{result}}).",
                       lambda actor: gf.create_fence(resources.store(), name,
                                                     gf.point_fence(lon, lat, radius), who=actor)))
    with road:
        a, b = st.columns([3, 1])
        road_name = a.selectbox("Road", road_names(), index=None, key="road_pick",
                                placeholder="Type to find a named road")
        width = b.number_input("Width each side (m)", min_value=5.0, value=40.0, step=5.0,
                               key="road_width")
        name = st.text_input("Fence name (empty: the road's name)",
                             key="road_name").strip() or (road_name or "")
        if st.button("Create fence along the road", key="create_road"):
            finish(act(f"Fence {name.strip()!r} saved (#{{result}}).",
                       lambda actor: gf.create_fence(resources.store(), name,
                                                     gf.road_fence(resources.road_edges(),
                                                                   road_name or "", width),
                                                     who=actor)))
    with gateways:
        st.caption("One fence around every place where a main road enters Thủ Đức, named "
                   f"after the road (radius {settings.GATEWAY_FENCE_RADIUS_M:g} m). Fences "
                   "that already exist (same name) are kept.")
        if st.button("Generate the gateway fences", key="create_gateways"):
            finish(act("{result} gateway fences created.",
                       lambda actor: gf.ensure_gateway_fences(
                           resources.store(), resources.road_graph(), resources.outline(),
                           who=actor)))


@st.cache_resource(show_spinner=False)
def road_names() -> list[str]:
    """Named roads of the graph, sorted."""
    names: set[str] = set()
    for value in resources.road_edges()["name"].dropna():
        names.update(value if isinstance(value, list) else [str(value)])
    return sorted(names)


def fence_table(fences: list[gf.Geofence]) -> pd.DataFrame:
    return pd.DataFrame([{
        "id": f.id, "name": f.name, "kind": f.kind,
        "vertices": shapely.get_num_coordinates(f.geometry), "created by": f.created_by,
        "created": local(f.created_at), "changed by": f.updated_by or "",
        "changed": local(f.updated_at) if f.updated_by else ""} for f in fences])


def manage(fences: list[gf.Geofence]) -> None:
    """Rename, reshape (map or GeoJSON), download and delete one fence."""
    fence = st.selectbox("Fence", fences, format_func=fence_name, key="manage_pick")
    if fence is None:
        return
    text = gf.fences_geojson([fence])
    left, right = st.columns(2)
    with left:
        new_name = st.text_input("New name", value=fence.name, key=f"rename_{fence.id}")
        if st.button("Rename", key="rename"):
            finish(act(f"Fence #{fence.id} renamed to {new_name.strip()!r}.",
                       lambda actor: gf.update_fence(resources.store(), fence.id, who=actor,
                                                     name=new_name)))
        if st.button("Edit the shape on the map", key="edit_on_map"):
            st.session_state[EDITING_KEY] = fence.id
            st.rerun()
        st.download_button("Download GeoJSON", text, f"fence-{fence.id}.geojson",
                           "application/geo+json", key="download_fence")
        confirm = st.checkbox(f"Yes, delete {fence.name!r}", key=f"confirm_{fence.id}")
        if st.button("Delete fence", disabled=not confirm, key="delete_fence"):
            finish(act(f"Fence {fence.name!r} deleted.",
                       lambda actor: gf.delete_fence(resources.store(), fence.id, who=actor)))
    with right:
        replacement = st.text_area("Its GeoJSON: copy it, or edit and replace the shape",
                                   value=json.dumps(json.loads(text)["features"][0]),
                                   height=180, key=f"reshape_{fence.id}")
        if st.button("Replace the shape with this GeoJSON", key="reshape"):
            finish(act(f"Shape of fence #{fence.id} replaced.",
                       lambda actor: gf.update_fence(resources.store(), fence.id, who=actor,
                                                     geometry=gf.fence_from_geojson(replacement))))


def fences_tab() -> None:
    fences = gf.list_fences(resources.store())
    editing_id = st.session_state.get(EDITING_KEY)
    editing = next((f for f in fences if f.id == editing_id), None)
    left, right = st.columns([3, 1])
    with left:
        fmap = _fence_map.fence_map(gf.fences_geojson(fences),
                                    editing=None if editing is None else editing.geometry)
        drawn = _fence_map.show(fmap, key="fence_map")
        st.caption("Purple: gateway fences · orange: custom fences · blue: the shape being "
                   "drawn or edited · dashed: wards.")
    with right:
        drawing_panel(drawn, editing)
    st.subheader("Other ways to make a fence")
    create_other_ways()
    st.subheader(f"Fences ({len(fences)})")
    if not fences:
        st.info("No fences yet.")
        return
    st.dataframe(fence_table(fences), hide_index=True, width="stretch")
    manage(fences)


st.title("Geofences & watchlists")
st.caption("Geofences raise an alert when a vehicle enters them; watchlist entries raise one "
           "when a matching plate is read (optionally only inside some fences).")
user = auth.require("geofences")
st.session_state["fence_reason_ok"] = auth.reason_input(
    "Reason or case number for changes (audit log)", key="fence_reason")
done = st.session_state.pop("fence_done", None)
if done:
    st.success(done)
part = st.segmented_control("Show", ["Geofences", "Watchlist"], default="Geofences",
                            key="fences_part", label_visibility="collapsed")
try:
    if part == "Watchlist":
        reason = st.session_state["fence_reason_ok"]
        _watchlist.show(may_edit=auth.may("watchlists"), act=act,
                        export_as=auth.actor(reason) if reason else None)
    else:
        fences_tab()
except TracingError as exc:
    st.error(f"Cannot show the geofences: {exc}")
