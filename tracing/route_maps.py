"""The route layers of a folium map (the Trace page, an alert's recent path): where the
vehicle could have been during long gaps, the alternative and most probable paths of each
leg, the sightings numbered in time order, the estimated position.

Builders take a map and return it, as in :mod:`tracing.maps`; ``cameras`` is the registry
(columns ``id``, ``lat``, ``lon``, ``name``).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

import folium
import pandas as pd
import shapely

from tracing.routes import Route, RouteLeg
from tracing.timefmt import local_time

BEST_COLOUR = "#c0392b"
ALTERNATIVE_COLOUR = "#5d6d7e"
POSITION_COLOUR = "#1f618d"
PRISM_COLOURS = ("#fde0c5", "#facba6", "#f59e72", "#eb7f54", "#de5f3b")
"""Prism shading, from the shortest possible stay to the longest."""

LatLon = tuple[float, float]


def add_route(fmap: folium.Map, route: Route, cameras: pd.DataFrame, *,
              trip: int | None = None, colour: str = BEST_COLOUR) -> folium.Map:
    """Draw ``route`` (only trip ``trip`` of it when given): the prisms of long gaps, the
    alternative paths, the most probable paths in ``colour``, the sightings numbered."""
    legs, numbers = _parts(route, trip)
    _add_prisms(fmap, legs)
    _add_paths(fmap, legs, colour)
    _add_sightings(fmap, route, numbers, _places(cameras), colour)
    return fmap


def add_position(fmap: folium.Map, where: LatLon) -> folium.Map:
    """Mark the vehicle's estimated position (:func:`tracing.routes.position.position_at`)."""
    folium.CircleMarker(where, radius=9, color="white", weight=2, fill=True,
                        fill_color=POSITION_COLOUR, fill_opacity=1.0,
                        tooltip="Estimated position").add_to(fmap)
    return fmap


def fit_route(fmap: folium.Map, route: Route, cameras: pd.DataFrame, *,
              trip: int | None = None, also: Iterable[LatLon] = ()) -> folium.Map:
    """Zoom to the most probable paths and the sightings' cameras (of trip ``trip`` when
    given) and the points ``also``."""
    legs, numbers = _parts(route, trip)
    places = _places(cameras)
    points = [(y, x) for leg in legs if leg.best for x, y in leg.best.geometry.coords]
    points += [places[c][:2] for c in (route.sightings[i].camera_id for i in numbers)
               if c in places]
    points += also
    if points:
        lats, lons = zip(*points, strict=True)
        fmap.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]])
    return fmap


def _parts(route: Route, trip: int | None) -> tuple[Sequence[RouteLeg], Sequence[int]]:
    if trip is None:
        return route.legs, range(len(route.sightings))
    return route.trip_legs(trip), route.trip_sightings(trip)


def _places(cameras: pd.DataFrame) -> dict[str, tuple[float, float, str]]:
    """Camera id → (lat, lon, name or id)."""
    return {str(i): (float(lat), float(lon), name if isinstance(name, str) and name else str(i))
            for i, lat, lon, name in zip(cameras["id"], cameras["lat"], cameras["lon"],
                                         cameras["name"], strict=True)}


def _add_prisms(fmap: folium.Map, legs: Sequence[RouteLeg]) -> None:
    """Where the vehicle could have been on legs with a long gap, shaded by how long it
    could have stayed (a layer under the paths)."""
    if not any(leg.prism for leg in legs):
        return
    group = folium.FeatureGroup(name="Where it could have been (long gaps)")
    for leg in legs:
        for i, band in enumerate(leg.prism.bands() if leg.prism else ()):
            upper = "" if band.stay_max_s is None else f"–{band.stay_max_s / 60:.0f}"
            tip = (f"Leg {leg.index + 1}: could have stayed here "
                   f"{band.stay_min_s / 60:.0f}{upper} min")
            colour = PRISM_COLOURS[min(i, len(PRISM_COLOURS) - 1)]
            folium.GeoJson(shapely.to_geojson(band.geometry), tooltip=tip,
                           style_function=lambda _, c=colour: {"color": c, "weight": 4,
                                                               "opacity": 0.8},
                           ).add_to(group)
    group.add_to(fmap)


def _add_paths(fmap: folium.Map, legs: Sequence[RouteLeg], colour: str) -> None:
    """Each leg's candidate paths: the best bold in ``colour``, the others faint, dashed."""
    alternatives = folium.FeatureGroup(name="Alternative paths")
    best = folium.FeatureGroup(name="Most probable paths")
    for leg in legs:
        for path in reversed(leg.candidates):
            first = path.rank == 0
            tip = (f"Leg {leg.index + 1} · path {path.rank + 1}: {path.probability:.0%} · "
                   f"{path.length_m / 1000:.1f} km")
            folium.PolyLine(  # type: ignore[no-untyped-call]
                [(y, x) for x, y in path.geometry.coords],
                color=colour if first else ALTERNATIVE_COLOUR, weight=6 if first else 3,
                opacity=0.95 if first else 0.45, dash_array=None if first else "6 6",
                tooltip=tip).add_to(best if first else alternatives)
    alternatives.add_to(fmap)
    best.add_to(fmap)


def _add_sightings(fmap: folium.Map, route: Route, numbers: Sequence[int],
                   places: dict[str, tuple[float, float, str]], colour: str) -> None:
    """Numbered markers at the sightings' cameras, with the time and camera as tooltip."""
    group = folium.FeatureGroup(name="Sightings")
    for i in numbers:
        s = route.sightings[i]
        if s.camera_id not in places:
            continue
        lat, lon, name = places[s.camera_id]
        label = (f'<div style="background:{colour};color:white;border-radius:50%;'
                 f'width:22px;height:22px;text-align:center;font:bold 12px/22px sans-serif;'
                 f'border:2px solid white">{i + 1}</div>')
        folium.Marker([lat, lon], icon=folium.DivIcon(html=label, icon_size=(22, 22),
                                                      icon_anchor=(11, 11)),
                      tooltip=html.escape(f"{i + 1}. {local_time(s.ts)} · {name}"),
                      ).add_to(group)
    group.add_to(fmap)
