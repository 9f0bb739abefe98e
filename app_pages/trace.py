"""Trace a vehicle: a plate's sightings and the most plausible routes between them."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st
from streamlit_folium import st_folium

from app_pages import auth, resources
from tracing import maps, settings
from tracing.access import cases
from tracing.access.actor import Actor
from tracing.cameras import load_registry
from tracing.errors import TracingError
from tracing.exports import RouteFormat, route_file
from tracing.routes import FLAG_TEXT, Route, RouteLeg, reconstruct_route
from tracing.routes.stored import stored_sightings
from tracing.vehicles import class_of_plate

LOCAL = ZoneInfo(settings.LOCAL_TZ)
BEST_COLOUR = "#c0392b"
ALTERNATIVE_COLOUR = "#5d6d7e"


def local(ts: datetime) -> str:
    return ts.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M:%S")


def day_bounds(day: date | None) -> tuple[datetime | None, datetime | None]:
    if day is None:
        return None, None
    start = datetime.combine(day, time(0), tzinfo=LOCAL)
    return start, start + timedelta(days=1)


def trace(plate: str, day: date | None, k: int, cameras: gpd.GeoDataFrame, who: Actor
          ) -> tuple[Route, list[str]] | None:
    """Reads → (route, the reads' ids); errors and empty results are shown, None returned."""
    start, end = day_bounds(day)
    seen = stored_sightings(resources.store(), plate, who=who, start=start, end=end)
    if not seen.sightings:
        when = f" on {day.isoformat()}" if day else ""
        st.warning(f"No reads of {seen.plate}{when}.")
        return None
    vehicle = class_of_plate(seen.plate)
    cache = resources.path_cache(cameras, vehicle)
    route = reconstruct_route(resources.road_graph(), seen.sightings, cache=cache, k=k,
                              plate=seen.plate, activity=seen.activity,
                              front_plate=vehicle != "motorbike")
    return route, list(seen.read_ids)


def position_at(route: Route, legs: list[RouteLeg], when: datetime) -> tuple[float, float] | None:
    """Estimated (lat, lon) at ``when`` on the best paths (interpolated between nodes)."""
    graph = resources.road_graph()
    for leg in legs:
        best = leg.best
        if best is None or not leg.start.ts <= when <= leg.end.ts:
            continue
        seconds = np.array([(t - leg.start.ts).total_seconds() for t in best.times])
        lon = np.array([graph.nodes[n]["x"] for n in best.osm_nodes])
        lat = np.array([graph.nodes[n]["y"] for n in best.osm_nodes])
        at = (when - leg.start.ts).total_seconds()
        return float(np.interp(at, seconds, lat)), float(np.interp(at, seconds, lon))
    return None


def route_map(route: Route, legs: list[RouteLeg], sightings: list[int],
              cameras: gpd.GeoDataFrame, vehicle: tuple[float, float] | None) -> None:
    fmap = maps.base_map()
    maps.add_roads(fmap, resources.main_roads_geojson())
    add_prisms(fmap, legs)
    alternatives = folium.FeatureGroup(name="Alternative paths")
    best = folium.FeatureGroup(name="Most probable paths")
    for leg in legs:
        for path in reversed(leg.candidates):
            line = [(y, x) for x, y in path.geometry.coords]
            tip = (f"Leg {leg.index + 1} · path {path.rank + 1}: {path.probability:.0%} · "
                   f"{path.length_m / 1000:.1f} km")
            folium.PolyLine(line, color=BEST_COLOUR if path.rank == 0 else ALTERNATIVE_COLOUR,
                            weight=6 if path.rank == 0 else 3,
                            opacity=0.95 if path.rank == 0 else 0.45,
                            dash_array=None if path.rank == 0 else "6 6", tooltip=tip,
                            ).add_to(best if path.rank == 0 else alternatives)
    alternatives.add_to(fmap)
    best.add_to(fmap)
    add_sightings(fmap, route, sightings, cameras)
    if vehicle is not None:
        folium.CircleMarker(vehicle, radius=9, color="white", weight=2, fill=True,
                            fill_color="#1f618d", fill_opacity=1.0,
                            tooltip="Estimated position").add_to(fmap)
    maps.finish(fmap)
    where = cameras.set_index("id")
    points = [line for leg in legs if leg.best for line in leg.best.geometry.coords]
    points += [(float(where.at[route.sightings[i].camera_id, "lon"]),
                float(where.at[route.sightings[i].camera_id, "lat"])) for i in sightings
               if route.sightings[i].camera_id in where.index]
    if points:
        xs, ys = zip(*points, strict=True)
        fmap.fit_bounds([[min(ys), min(xs)], [max(ys), max(xs)]])
    st_folium(fmap, height=560, use_container_width=True, returned_objects=[], key="trace_map")


# Prism shading, from the shortest possible stay to the longest (a comment: Streamlit would
# render a bare string on the page).
PRISM_COLOURS = ("#fde0c5", "#facba6", "#f59e72", "#eb7f54", "#de5f3b")


def add_prisms(fmap: folium.Map, legs: list[RouteLeg]) -> None:
    """Where the vehicle could have been on legs with a long gap, shaded by how long it
    could have stayed (a layer under the paths)."""
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
    if any(leg.prism for leg in legs):
        group.add_to(fmap)


def add_sightings(fmap: folium.Map, route: Route, numbers: list[int],
                  cameras: gpd.GeoDataFrame) -> None:
    where = cameras.set_index("id")[["lat", "lon", "name"]]
    group = folium.FeatureGroup(name="Sightings")
    for i in numbers:
        s = route.sightings[i]
        if s.camera_id not in where.index:
            continue
        lat, lon, name = where.loc[s.camera_id]
        label = (f'<div style="background:{BEST_COLOUR};color:white;border-radius:50%;'
                 f'width:22px;height:22px;text-align:center;font:bold 12px/22px sans-serif;'
                 f'border:2px solid white">{i + 1}</div>')
        folium.Marker([lat, lon], icon=folium.DivIcon(html=label, icon_size=(22, 22),
                                                      icon_anchor=(11, 11)),
                      tooltip=html.escape(f"{i + 1}. {local(s.ts)} · {name or s.camera_id}"),
                      ).add_to(group)
    group.add_to(fmap)


def legs_table(legs: list[RouteLeg], cameras: gpd.GeoDataFrame) -> pd.DataFrame:
    names = cameras.set_index("id")["name"].to_dict()
    rows = []
    for leg in legs:
        best = leg.best
        rows.append({
            "leg": leg.index + 1, "from": names.get(leg.start.camera_id) or leg.start.camera_id,
            "to": names.get(leg.end.camera_id) or leg.end.camera_id,
            "depart": local(leg.start.ts), "arrive": local(leg.end.ts),
            "minutes": round(leg.duration_s / 60, 1),
            "best path": f"{best.probability:.0%}" if best else "none",
            "km": round(best.length_m / 1000, 2) if best else None,
            "free-flow min": round(best.free_flow_s / 60, 1) if best else None,
            "alternatives": ", ".join(f"{c.probability:.0%}" for c in leg.candidates[1:]),
            "flags": ", ".join(f.replace("_", " ") for f in leg.flags),
        })
    return pd.DataFrame(rows)


def sightings_table(route: Route, numbers: list[int], cameras: gpd.GeoDataFrame
                    ) -> pd.DataFrame:
    names = cameras.set_index("id")["name"].to_dict()
    return pd.DataFrame([{"#": i + 1, "time": local(route.sightings[i].ts),
                          "camera": names.get(route.sightings[i].camera_id) or
                          route.sightings[i].camera_id,
                          "reads": route.sightings[i].reads} for i in numbers])


def choose_trip(route: Route) -> int:
    trips = sorted(set(route.trip_of_sighting))
    if len(trips) == 1:
        return trips[0]

    def label(t: int) -> str:
        idx = [i for i, x in enumerate(route.trip_of_sighting) if x == t]
        first, last = route.sightings[idx[0]].ts, route.sightings[idx[-1]].ts
        vehicle = (f"vehicle {route.track_of_sighting[idx[0]] + 1} · " if route.tracks > 1
                   else "")
        return (f"{vehicle}Trip {t + 1}: {local(first)} → {local(last)[11:]} "
                f"({len(idx)} sightings)")

    return int(st.selectbox("Trip", trips, format_func=label))


def timeline(legs: list[RouteLeg]) -> datetime | None:
    if not legs:
        return None
    first = legs[0].start.ts.astimezone(LOCAL).replace(tzinfo=None, microsecond=0)
    last = legs[-1].end.ts.astimezone(LOCAL).replace(tzinfo=None, microsecond=0)
    if last <= first:
        return None
    chosen = st.slider("Timeline (local time): estimated position on the most probable path",
                       min_value=first, max_value=last, value=first,
                       step=timedelta(seconds=10), format="HH:mm:ss")
    return chosen.replace(tzinfo=LOCAL)


def explain_flags(legs: list[RouteLeg]) -> None:
    for flag, text in FLAG_TEXT.items():
        which = [str(leg.index + 1) for leg in legs if flag in leg.flags]
        if which:
            st.warning(f"**{flag.replace('_', ' ').capitalize()}** (legs {', '.join(which)}): "
                       f"{text}.")


def downloads(route: Route, cameras: gpd.GeoDataFrame, who: Actor) -> None:
    """Download buttons: the library checks, audits and makes each file when clicked."""
    positions = {str(r.id): (float(r.lon), float(r.lat)) for r in cameras.itertuples()}
    name = route.plate.replace(" ", "_").replace(".", "") or "route"
    store = resources.store()

    def made_as(fmt: RouteFormat) -> Callable[[], bytes]:
        return lambda: route_file(store, route, who=who, fmt=fmt, positions=positions)

    formats: tuple[tuple[str, RouteFormat, str], ...] = (
        ("GeoJSON", "geojson", "application/geo+json"),
        ("KML", "kml", "application/vnd.google-earth.kml+xml"), ("CSV", "csv", "text/csv"))
    for column, (label, fmt, mime) in zip(st.columns(3), formats, strict=True):
        column.download_button(f"Export {label}", made_as(fmt), f"{name}.{fmt}", mime)


def attach_to_case(plate: str, read_ids: list[str], who: Actor) -> None:
    """Attach the traced reads to a case: they are kept beyond the retention period."""
    with st.expander(f"Attach these {len(read_ids)} reads to a case"):
        case = st.text_input("Case number", value=who.reason, key="trace_case")
        if st.button("Attach to case"):
            added = cases.attach_reads(resources.store(), case, read_ids, by=who)
            st.success(f"{added} read(s) of {plate} attached to case {case.strip()} "
                       f"({len(read_ids) - added} were already).")


def show(route: Route, cameras: gpd.GeoDataFrame, who: Actor) -> None:
    for note in route.notes:
        st.warning(note)
    s = route.summary
    cols = st.columns(5)
    cols[0].metric("Sightings", s.sightings)
    cols[1].metric("Trips", s.trips)
    cols[2].metric("Legs", s.legs)
    cols[3].metric("Distance", f"{s.distance_m / 1000:.1f} km")
    cols[4].metric("Stops", s.stops)
    trip = choose_trip(route)
    numbers = [i for i, t in enumerate(route.trip_of_sighting) if t == trip]
    legs = [leg for leg in route.legs if leg.trip == trip]
    when = timeline(legs)
    route_map(route, legs, numbers, cameras,
              None if when is None else position_at(route, legs, when))
    st.caption("Numbers: sightings in time order · bold red: most probable path of each leg · "
               "faint dashed: alternatives (hover for their probability) · orange shading: "
               "where the vehicle could have been during a long gap (darker: it could have "
               f"stayed longer). Times in {settings.LOCAL_TZ}.")
    explain_flags(legs)
    if legs:
        st.subheader("Legs")
        st.dataframe(legs_table(legs, cameras), hide_index=True, width="stretch")
    else:
        st.info("This trip has a single sighting: there is no route to draw.")
    st.subheader("Sightings")
    st.dataframe(sightings_table(route, numbers, cameras), hide_index=True, width="stretch")
    if auth.may("export"):
        downloads(route, cameras, who)


auth.require("trace")
st.title("Trace a vehicle")
st.caption("The most plausible routes between a plate's sightings, with probabilities: "
           "candidate paths are scored by how well the observed time fits them and by the "
           "plate-reading cameras on them that did not read the plate.")
left, middle, right = st.columns([3, 2, 1])
plate = left.text_input("Plate", placeholder="e.g. 51F-123.45")
day = middle.date_input("Day (local; empty: every read)", value=None)
k = int(right.number_input("Paths per leg", min_value=1, max_value=settings.ROUTE_MAX_K,
                           value=settings.ROUTE_K))
why = auth.reason_input("Reason or case number (required)", key="trace_reason")
if not plate.strip():
    st.info("Enter a plate to trace it.")
    st.stop()
if why is None:
    st.info("Give a reason or case number: every trace is written to the audit log with it.")
    st.stop()
try:
    actor = auth.actor(why)
    registry = load_registry(resources.store())
    traced = trace(plate, day, k, registry, actor)
    if traced is not None:
        show(traced[0], registry, actor)
        if auth.may("cases"):
            attach_to_case(traced[0].plate, traced[1], actor)
except TracingError as exc:
    st.error(f"Cannot trace {plate.strip()!r}: {exc}")
