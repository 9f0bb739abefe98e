"""Folium map builders that work offline: no CDN assets, no web tiles.

folium links Leaflet, jQuery, Bootstrap and Font Awesome from CDNs. ``folium-offline``
ships the text of every one of those assets; :func:`use_offline_assets` rewrites the
links of every folium element class into ``data:`` URIs made from that text, so a map
(in a saved HTML file, a notebook or ``st_folium``) makes no external request.
Builders take a map and return it, so layers compose. Never add a branca ColorMap:
streamlit-folium then loads d3 from a CDN.
"""

from __future__ import annotations

import base64
import html
import logging
from functools import cache
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import pandas as pd
import shapely

from tracing import settings
from tracing.errors import TracingError
from tracing.i18n import gettext

logger = logging.getLogger(__name__)

ROAD_STYLE: dict[str, tuple[str, float]] = {
    "motorway": ("#b03a2e", 4.0),
    "trunk": ("#d35400", 3.5),
    "primary": ("#e67e22", 3.0),
    "secondary": ("#f1c40f", 2.5),
    "tertiary": ("#7f8c8d", 1.8),
}
"""Colour and line weight per road class (``*_link`` roads use their parent's style)."""

LPR_COLOUR = "#c0392b"
OTHER_CAMERA_COLOUR = "#2c3e50"
WARD_COLOUR = "#2980b9"
MAP_BACKGROUND = "#eef0f2"


def _data_uri(text: str, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(text.encode()).decode()}"


def _subclasses(cls: type[Any]) -> list[type[Any]]:
    found: list[type[Any]] = []
    for sub in type.__subclasses__(cls):
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def _inline(links: list[tuple[str, str]], assets: dict[str, str], mime: str) -> None:
    for i, (name, url) in enumerate(links):
        if url.startswith("data:"):
            continue
        if url not in assets:
            raise TracingError(f"folium asset {url} has no offline copy in folium-offline")
        links[i] = (name, _data_uri(assets[url], mime))


@cache
def use_offline_assets() -> None:
    """Point every folium element's JS/CSS links at inline copies (idempotent)."""
    from offlinefolium.elements import _res as assets

    classes = [folium.elements.JSCSSMixin, *_subclasses(folium.elements.JSCSSMixin)]
    for cls in classes:
        for attr, mime in (("default_js", "text/javascript"), ("default_css", "text/css")):
            links = cls.__dict__.get(attr)
            if links:
                _inline(links, assets, mime)
    logger.debug("inlined folium assets of %s classes", len(classes))


def base_map(*, center: tuple[float, float] = (10.82, 106.77), zoom: int = 13,
             language: str = "en") -> folium.Map:
    """An empty map with no tile layer (the centre may be air-gapped) and OSM credit (in
    ``language``, as every builder's texts)."""
    use_offline_assets()
    fmap = folium.Map(location=list(center), zoom_start=zoom, tiles=None, control_scale=True)
    root: Any = fmap.get_root()
    root.header.add_child(folium.Element(
        f"<style>.leaflet-container {{ background: {MAP_BACKGROUND}; }}</style>"))
    root.html.add_child(folium.Element(
        '<div class="osm-credit" style="position:absolute;bottom:18px;right:0;z-index:1000;'
        'background:rgba(255,255,255,.8);font:11px sans-serif;padding:1px 5px">'
        + html.escape(gettext(language, "Roads") + " " + settings.OSM_ATTRIBUTION) + "</div>"))
    return fmap


def _style_of(highway: str) -> tuple[str, float]:
    return ROAD_STYLE.get(highway.removesuffix("_link"), ("#95a5a6", 1.2))


def roads_geojson(edges: gpd.GeoDataFrame, *, classes: frozenset[str] | None = None) -> str:
    """Road edges of the given classes (default: the main ones) as GeoJSON text.

    Two directed edges of a two-way road become one line. Coordinates are rounded to
    1e-5° (about 1 m) to keep the page small.
    """
    classes = settings.MAIN_ROAD_CLASSES if classes is None else classes
    frame = edges.reset_index()
    first_class = frame["highway"].map(_first)
    frame = frame[first_class.isin(classes)].assign(highway=first_class)
    low, high = frame[["u", "v"]].min(axis=1), frame[["u", "v"]].max(axis=1)
    frame = frame.loc[~pd.MultiIndex.from_arrays([low, high]).duplicated()]
    lines = gpd.GeoDataFrame(
        {"name": frame["name"].map(_joined), "highway": frame["highway"]},
        geometry=shapely.set_precision(frame.geometry.values, 1e-5), crs=edges.crs,
    )
    return str(lines.to_json(drop_id=True))


def _first(value: Any) -> str:
    return str(value[0]) if isinstance(value, list) else str(value)


def _joined(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None or value != value else str(value)


def add_roads(fmap: folium.Map, roads: str, *, language: str = "en") -> folium.Map:
    """Draw roads given as :func:`roads_geojson` text, styled by class."""
    folium.GeoJson(
        roads,
        name=gettext(language, "Roads"),
        style_function=lambda f: {"color": _style_of(f["properties"]["highway"])[0],
                                  "weight": _style_of(f["properties"]["highway"])[1],
                                  "opacity": 0.9},
        tooltip=folium.GeoJsonTooltip(fields=["name", "highway"], aliases=[
            gettext(language, "Road"), gettext(language, "Class")]),
        smooth_factor=1.5,
    ).add_to(fmap)
    return fmap


def add_wards(fmap: folium.Map, wards: gpd.GeoDataFrame, *, language: str = "en"
              ) -> folium.Map:
    """Draw ward boundaries with their names and 2019 population as tooltips."""
    frame = wards[["ward", "Pop_2019", "geometry"]].copy()
    frame["geometry"] = shapely.set_precision(frame.geometry.values, 1e-5)
    folium.GeoJson(
        frame.to_json(drop_id=True),
        name=gettext(language, "Wards"),
        style_function=lambda _: {"color": WARD_COLOUR, "weight": 1.2, "fillOpacity": 0.03,
                                  "dashArray": "4 3"},
        tooltip=folium.GeoJsonTooltip(fields=["ward", "Pop_2019"],
                                      aliases=[gettext(language, "Ward"),
                                               gettext(language, "Population 2019")]),
    ).add_to(fmap)
    return fmap


def _text(value: Any, missing: str) -> str:
    return missing if value is None or pd.isna(value) or value == "" else str(value)


def _camera_popup(row: Any, language: str) -> str:
    heading = gettext(language, "unknown")
    if not (row.heading is None or pd.isna(row.heading)):
        heading = f"{float(row.heading):.0f}°" + (
            "" if row.heading_known else " " + gettext(language, "(assumed)"))
    rows = [
        (gettext(language, "Code"), _text(row.code, "")),
        (gettext(language, "Camera id"), row.id),
        (gettext(language, "Ward"), _text(row.ward, gettext(language, "outside the 2019 wards"))),
        (gettext(language, "Reads plates"),
         gettext(language, "yes") if row.is_lpr else gettext(language, "no")),
        (gettext(language, "Heading"), heading),
        (gettext(language, "Watched road"),
         _text(row.road, gettext(language, "unnamed or not snapped"))),
        (gettext(language, "Status"), row.status),
    ]
    cells = "".join(f"<tr><th>{html.escape(k)}&nbsp;</th><td>{html.escape(str(v))}</td></tr>"
                    for k, v in rows)
    return f"<b>{html.escape(_text(row.name, row.id))}</b><table>{cells}</table>"


def add_cameras(fmap: folium.Map, cameras: gpd.GeoDataFrame, *, language: str = "en"
                ) -> folium.Map:
    """Cameras as circle markers: plate-reading ones red and larger, others dark."""
    for is_lpr, label in ((False, gettext(language, "Other cameras")),
                          (True, gettext(language, "Plate-reading cameras"))):
        group = folium.FeatureGroup(name=label)
        for row in cameras[cameras["is_lpr"] == is_lpr].itertuples():
            folium.CircleMarker(
                location=[row.lat, row.lon],
                radius=7 if is_lpr else 5,
                color="white", weight=1.5, fill=True, fill_opacity=0.95,
                fill_color=LPR_COLOUR if is_lpr else OTHER_CAMERA_COLOUR,
                tooltip=f"{_text(row.code, row.id)} · {_text(row.name, '')}",
                popup=folium.Popup(_camera_popup(row, language), max_width=320),
                class_name="camera-lpr" if is_lpr else "camera-other",
            ).add_to(group)
        group.add_to(fmap)
    return fmap


def add_outline(fmap: folium.Map, outline: shapely.Geometry, *, language: str = "en"
                ) -> folium.Map:
    """Draw the city boundary."""
    folium.GeoJson(
        shapely.to_geojson(shapely.set_precision(outline, 1e-5)),
        name=gettext(language, "City boundary"),
        style_function=lambda _: {"color": "#1a237e", "weight": 2.5, "fillOpacity": 0},
    ).add_to(fmap)
    return fmap


def finish(fmap: folium.Map) -> folium.Map:
    """Add the layer switcher; call after the last layer."""
    folium.LayerControl(collapsed=True).add_to(fmap)
    return fmap
