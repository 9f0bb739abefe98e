"""The Geofences page's map: fences over wards and main roads, with a polygon draw tool.

The drawing round trip is kept simple so that it is reliable: the map only draws polygons
and rectangles; streamlit-folium returns every shape on the map's draw layer
(``all_drawings``) after a shape is created, edited or deleted; the page shows that shape
in a preview with an explicit Save button. Python stays the source of truth: a saved
fence comes back as an ordinary fence layer when the map is rebuilt, never as a
leftover drawing. A fence chosen for editing is put on the draw layer itself, so its
vertices can be moved with the draw tool's edit button.
"""

from __future__ import annotations

import json
from typing import Any

import folium
import folium.plugins
import shapely
import streamlit as st
from streamlit_folium import st_folium

from app_pages import resources
from tracing import maps

GATEWAY_STYLE: dict[str, Any] = {
    "color": "#6a1b9a", "weight": 2,
    "fillColor": "#8e24aa", "fillOpacity": 0.35}
CUSTOM_STYLE: dict[str, Any] = {
    "color": "#e65100", "weight": 2.5,
    "fillColor": "#ff9800", "fillOpacity": 0.2}
EDITED_STYLE: dict[str, Any] = {
    "color": "#1565c0", "weight": 3,
    "fillColor": "#42a5f5", "fillOpacity": 0.25}
DRAW_OPTIONS: dict[str, Any] = {
    "polyline": False, "circle": False, "marker": False, "circlemarker": False,
    "polygon": {"allowIntersection": False, "showArea": False,
                "shapeOptions": {"color": EDITED_STYLE["color"]}},
    "rectangle": {"shapeOptions": {"color": EDITED_STYLE["color"]}},
}


CONTEXT_ROADS: frozenset[str] = frozenset({"motorway", "trunk", "primary", "secondary"})
"""Road classes drawn under the fences (the larger roads only: a light map to draw on)."""


@st.cache_resource(show_spinner=False)
def context_roads() -> str:
    """GeoJSON of the :data:`CONTEXT_ROADS` (built once per server process)."""
    return maps.roads_geojson(resources.road_edges(), classes=CONTEXT_ROADS)


def _fence_style(feature: dict[str, Any]) -> dict[str, Any]:
    return GATEWAY_STYLE if feature["properties"].get("kind") == "gateway" else CUSTOM_STYLE


def _add_fences(fmap: folium.Map, fences_geojson: str) -> None:
    features = json.loads(fences_geojson).get("features", [])
    for kind, label in (("gateway", "Gateway fences"), ("custom", "Custom fences")):
        chosen = [f for f in features if f["properties"].get("kind") == kind]
        if not chosen:
            continue
        folium.GeoJson(
            {"type": "FeatureCollection", "features": chosen}, name=label,
            style_function=_fence_style,
            tooltip=folium.GeoJsonTooltip(fields=["name", "kind"], aliases=["Fence", "Kind"]),
        ).add_to(fmap)


def _editable_layer(geometry: shapely.Geometry) -> folium.FeatureGroup:
    """A fence's polygons as plain Leaflet polygons (leaflet.draw edits no GeoJSON group)."""
    group = folium.FeatureGroup(name="Fence being edited")
    for part in getattr(geometry, "geoms", [geometry]):
        rings = [part.exterior, *part.interiors]
        folium.Polygon([[(y, x) for x, y in ring.coords] for ring in rings],
                       **EDITED_STYLE).add_to(group)
    return group


def fence_map(fences_geojson: str, *, editing: shapely.Geometry | None = None) -> folium.Map:
    """The map: wards, main roads, fences by kind, the draw tool; a fence to edit is on the
    draw layer and the map is zoomed to it (else to the city)."""
    fmap = maps.base_map(zoom=12)
    maps.add_wards(fmap, resources.wards())
    maps.add_roads(fmap, context_roads())
    _add_fences(fmap, fences_geojson)
    draw_layer = None
    if editing is not None:
        draw_layer = _editable_layer(editing)
        draw_layer.add_to(fmap)
    folium.plugins.Draw(draw_options=DRAW_OPTIONS, feature_group=draw_layer,
                        edit_options={"poly": {"allowIntersection": False}},
                        show_geometry_on_click=False).add_to(fmap)
    maps.finish(fmap)
    west, south, east, north = (resources.outline() if editing is None else editing).bounds
    fmap.fit_bounds([[south, west], [north, east]], padding=(40, 40))
    return fmap


def drawn_polygons(output: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """Polygon geometries on the draw layer, or None when the map has reported none yet."""
    if not output or output.get("all_drawings") is None:
        return None
    return [f["geometry"] for f in output["all_drawings"]
            if isinstance(f, dict) and (f.get("geometry") or {}).get("type") == "Polygon"]


def show(fmap: folium.Map, *, key: str) -> list[dict[str, Any]] | None:
    """Render the map; return what :func:`drawn_polygons` finds in its drawing layer."""
    output = st_folium(fmap, height=620, use_container_width=True, key=key,
                       returned_objects=["all_drawings"])
    return drawn_polygons(output)
