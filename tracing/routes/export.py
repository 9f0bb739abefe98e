"""Exports of a route: GeoJSON (the ``trace`` CLI contract), KML and CSV.

GeoJSON: a FeatureCollection with one LineString Feature per candidate path per leg,
properties ``leg`` (0-based), ``rank`` (0 = best), ``probability``, ``from_camera``,
``to_camera``, ``depart``, ``arrive`` (ISO 8601 with offset), ``osm_nodes`` (OSM node ids in
order), ``flags`` (list), plus ``trip``, ``length_m``, ``free_flow_s``, ``missed_cameras``,
``track`` (the vehicle, when the plate's reads need more than one); the collection carries
``plate``, ``tracks`` and ``notes``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import shapely

from tracing import safecsv, settings
from tracing.routes.model import CandidatePath, Route, RouteLeg
from tracing.routes.prism import PrismBand

CSV_COLUMNS = ("trip", "leg", "rank", "probability", "from_camera", "to_camera", "depart",
               "arrive", "observed_s", "free_flow_s", "length_m", "missed_cameras", "flags",
               "osm_nodes")


def _iso(ts: datetime) -> str:
    return ts.isoformat()


def _local(ts: datetime) -> str:
    return ts.astimezone(ZoneInfo(settings.LOCAL_TZ)).isoformat(timespec="seconds")


def _rows(route: Route) -> Iterator[tuple[RouteLeg, CandidatePath]]:
    for leg in route.legs:
        for candidate in leg.candidates:
            yield leg, candidate


def feature_properties(leg: RouteLeg, path: CandidatePath) -> dict[str, Any]:
    """The contract's properties of one candidate path."""
    return {
        "leg": leg.index, "rank": path.rank, "probability": round(path.probability, 4),
        "from_camera": leg.start.camera_id, "to_camera": leg.end.camera_id,
        "depart": _iso(leg.start.ts), "arrive": _iso(leg.end.ts),
        "osm_nodes": list(path.osm_nodes), "flags": list(leg.flags), "trip": leg.trip,
        "length_m": round(path.length_m, 1), "free_flow_s": round(path.free_flow_s, 1),
        "missed_cameras": list(path.missed_cameras), "track": leg.track,
    }


def route_geojson(route: Route, *, prisms: bool = False) -> str:
    """The route as GeoJSON text (see the module docstring); ``prisms`` adds, per leg with
    a long gap, MultiLineString Features of where the vehicle could have been (``kind``
    "prism", ``leg``, ``stay_min_s``, ``stay_max_s``, ``length_m``)."""
    features = [{"type": "Feature", "properties": feature_properties(leg, path),
                 "geometry": _geometry(path.geometry)} for leg, path in _rows(route)]
    if prisms:
        features += [{"type": "Feature", "geometry": _geometry(band.geometry),
                      "properties": {"kind": "prism", "leg": leg.index, "trip": leg.trip,
                                     "stay_min_s": band.stay_min_s,
                                     "stay_max_s": band.stay_max_s,
                                     "length_m": round(band.length_m, 1)}}
                     for leg in route.legs if leg.prism for band in leg.prism.bands()]
    return json.dumps({"type": "FeatureCollection", "plate": route.plate,
                       "tracks": route.tracks, "notes": list(route.notes),
                       "features": features}, ensure_ascii=False)


def _geometry(geometry: shapely.Geometry) -> Any:
    return json.loads(shapely.to_geojson(shapely.set_precision(geometry, 1e-6)))


def route_csv(route: Route) -> str:
    """One row per candidate path per leg (CSV_COLUMNS; times in Asia/Ho_Chi_Minh)."""
    out = io.StringIO()
    writer = safecsv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for leg, path in _rows(route):
        writer.writerow([leg.trip, leg.index, path.rank, f"{path.probability:.4f}",
                         leg.start.camera_id, leg.end.camera_id, _local(leg.start.ts),
                         _local(leg.end.ts), f"{leg.duration_s:.0f}",
                         f"{path.free_flow_s:.0f}", f"{path.length_m:.0f}",
                         " ".join(path.missed_cameras), " ".join(leg.flags),
                         " ".join(map(str, path.osm_nodes))])
    return out.getvalue()


def _kml_line(leg: RouteLeg, path: CandidatePath) -> str:
    coords = " ".join(f"{x:.6f},{y:.6f}" for x, y in path.geometry.coords)
    style = "#best" if path.rank == 0 else "#alternative"
    name = f"Leg {leg.index} rank {path.rank} ({path.probability:.0%})"
    text = (f"{leg.start.camera_id} {_local(leg.start.ts)} → {leg.end.camera_id} "
            f"{_local(leg.end.ts)}; flags: {', '.join(leg.flags) or 'none'}")
    return (f"<Placemark><name>{escape(name)}</name><description>{escape(text)}</description>"
            f"<styleUrl>{style}</styleUrl><LineString><tessellate>1</tessellate>"
            f"<coordinates>{coords}</coordinates></LineString></Placemark>")


def _kml_prism(leg: int, band: PrismBand) -> str:
    upper = "" if band.stay_max_s is None else f"–{band.stay_max_s / 60:.0f}"
    name = f"Leg {leg}: could have stayed {band.stay_min_s / 60:.0f}{upper} min"
    parts = "".join(
        "<LineString><coordinates>" + " ".join(f"{x:.6f},{y:.6f}" for x, y in line.coords)
        + "</coordinates></LineString>" for line in band.geometry.geoms)
    return (f"<Placemark><name>{escape(name)}</name><styleUrl>#prism</styleUrl>"
            f"<MultiGeometry>{parts}</MultiGeometry></Placemark>")


def route_kml(route: Route, *, positions: dict[str, tuple[float, float]] | None = None) -> str:
    """The route as KML: every candidate path, and the sightings where ``positions``
    (camera id → lon, lat) knows the camera."""
    positions = positions or {}
    points = [f"<Placemark><name>{i + 1}. {escape(_local(s.ts))}</name><description>"
              f"{escape(s.camera_id)}</description><Point><coordinates>{xy[0]:.6f},"
              f"{xy[1]:.6f}</coordinates></Point></Placemark>"
              for i, s in enumerate(route.sightings)
              if (xy := positions.get(s.camera_id)) is not None]
    lines = [_kml_line(leg, path) for leg, path in _rows(route)]
    lines += [_kml_prism(leg.index, band) for leg in route.legs if leg.prism
              for band in leg.prism.bands()]
    styles = ('<Style id="best"><LineStyle><color>ffc0392b</color><width>5</width></LineStyle>'
              '</Style><Style id="alternative"><LineStyle><color>80b3a29b</color><width>2'
              '</width></LineStyle></Style><Style id="prism"><LineStyle><color>6014a0f0</color>'
              '<width>3</width></LineStyle></Style>')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
            f"<Document><name>{escape(route.plate or 'route')}</name>{styles}"
            f"{''.join(points)}{''.join(lines)}</Document></kml>\n")
