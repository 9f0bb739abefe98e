"""Find a vehicle: plate search (exact, wildcard, fuzzy), its reads on the map, linked
misreads with why (accept/reject), impossible travel, convoy and stakeout."""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import _review, auth, resources
from tracing import cameras as registry
from tracing import maps, settings
from tracing.access.actor import Actor
from tracing.errors import TracingError
from tracing.exports import reads_file
from tracing.search import (
    Place,
    Reachability,
    SearchFilters,
    decide,
    find_clones,
    find_convoy,
    link_reads,
    load_reachability,
    plate_tracks,
    reads_of_plates,
    search_plates,
    stakeout,
)
from tracing.search.export import local_times

LOCAL = ZoneInfo(settings.LOCAL_TZ)
MODES = {"Auto": None, "Exact / compact": "exact", "Wildcard (* ?)": "wildcard",
         "Fuzzy (OCR-aware)": "fuzzy"}


@st.cache_resource(show_spinner="Computing camera-to-camera travel times…")
def reachability(_cameras: gpd.GeoDataFrame, key: str) -> Reachability:
    return load_reachability(resources.road_graph(), _cameras)


def code_of(cameras: gpd.GeoDataFrame) -> dict[str, str]:
    return {str(i): str(c) for i, c in zip(cameras["id"], cameras["code"], strict=True)}


def window(label: str, key: str) -> tuple[datetime | None, datetime | None]:
    """Optional local date range → instants [start, end)."""
    on = st.toggle(label, key=f"{key}_on")
    if not on:
        return None, None
    left, right = st.columns(2)
    start = left.date_input("From", key=f"{key}_from")
    end = right.date_input("To (inclusive)", key=f"{key}_to")
    return (datetime.combine(start, time(), LOCAL),
            datetime.combine(end, time(), LOCAL) + timedelta(days=1))


def filters_form(cameras: gpd.GeoDataFrame) -> SearchFilters:
    with st.expander("Filters: time, area, cameras, class, colour"):
        start, end = window("Limit to dates", "search")
        left, right = st.columns(2)
        wards = left.multiselect("Wards", sorted(cameras["ward"].dropna().unique()))
        codes = code_of(cameras)
        chosen = right.multiselect("Cameras", sorted(codes), format_func=lambda i: codes[i])
        left, right = st.columns(2)
        classes = left.multiselect("Vehicle class", ["motorbike", "car", "truck", "bus"])
        colours = right.multiselect("Plate colour", ["white", "blue", "yellow", "red", "other"])
    return SearchFilters(start=start, end=end, wards=frozenset(wards) or None,
                         cameras=frozenset(chosen) or None,
                         vehicle_classes=frozenset(classes) or None,
                         plate_colours=frozenset(colours) or None)


def reads_map(reads: pd.DataFrame, cameras: gpd.GeoDataFrame, linked: pd.DataFrame) -> None:
    fmap = maps.base_map()
    maps.add_roads(fmap, resources.main_roads_geojson())
    maps.add_cameras(fmap, cameras)
    located = reads.dropna(subset=["lon", "lat"])
    if len(located) > 1:
        folium.PolyLine(located[["lat", "lon"]].to_numpy().tolist(), color="#8e44ad",
                        weight=2, dash_array="6 6", tooltip="order of the reads").add_to(fmap)
    for frame, colour, what in ((located, "#8e44ad", "read"),
                                (linked.dropna(subset=["lon", "lat"]), "#e67e22", "linked")):
        group = folium.FeatureGroup(name=f"{what} reads")
        for row in frame.itertuples():
            when = local_times(pd.Series([row.ts])).iloc[0].strftime("%Y-%m-%d %H:%M:%S")
            folium.CircleMarker([row.lat, row.lon], radius=9, color=colour, weight=3,
                                fill=False, tooltip=f"{row.plate} · {when} · {row.code}",
                                ).add_to(group)
        group.add_to(fmap)
    maps.finish(fmap)
    if not located.empty:
        fmap.fit_bounds([[located.lat.min(), located.lon.min()],
                         [located.lat.max(), located.lon.max()]], max_zoom=15)
    st_folium(fmap, height=520, use_container_width=True, returned_objects=[], key="reads_map")


def shown_reads(reads: pd.DataFrame) -> pd.DataFrame:
    out = reads.assign(time=local_times(reads["ts"]))
    return pd.DataFrame(out[["time", "plate", "code", "plate_raw", "confidence",
                             "vehicle_class", "plate_colour", "crop_ref", "read_id"]])


def links_panel(plate: str, reach: Reachability, filters: SearchFilters,
                limit: float, who: Actor) -> pd.DataFrame:
    """Linked misreads with why; investigators accept or reject; returns the kept reads."""
    result = link_reads(resources.store(), plate, reach, who=who, limit=limit, filters=filters)
    decisions: dict[str, Any] = st.session_state.setdefault(f"decisions:{plate}", {})
    result = decide(result, decisions)
    if not result.links:
        st.info("No near-miss plate was read around this vehicle's reads.")
        return pd.DataFrame()
    table = result.frame().assign(time=lambda f: local_times(f["ts"])).drop(columns=["ts"])
    edited = st.data_editor(
        table, hide_index=True, key=f"links:{plate}", disabled=[
            c for c in table.columns if c != "decision"],
        column_config={"decision": st.column_config.SelectboxColumn(
            "decision", options=["proposed", "accepted", "rejected"], required=True)})
    changed = dict(zip(edited["read_id"], edited["decision"], strict=True))
    if changed != {k.read_id: k.decision for k in result.links}:
        decisions.update(changed)
        result = decide(result, decisions)
    st.caption(f"{len(result.linked)} of {len(result.links)} near-miss reads count as "
               f"{plate}'s. Score = string similarity × plausibility on the road graph.")
    kept = {k.read_id for k in result.linked}
    plates = sorted({k.plate for k in result.links if k.read_id in kept})
    reads = reads_of_plates(resources.store(), plates, who=who, filters=filters)
    return pd.DataFrame(reads[reads["read_id"].isin(kept)])


def clones_panel(plate: str, reach: Reachability, codes: dict[str, str], who: Actor) -> None:
    pairs = find_clones(resources.store(), reach, who=who, plate=plate)
    if not pairs:
        st.success("No impossible travel: every pair of consecutive reads is drivable.")
        return
    st.warning(f"{len(pairs)} impossible pair(s): cloned plate or misread?")
    st.dataframe(pd.DataFrame([{
        "from": codes.get(p.camera_a, p.camera_a), "to": codes.get(p.camera_b, p.camera_b),
        "at": local_times(pd.Series([p.ts_a])).iloc[0], "gap_min": round(p.gap_s / 60, 1),
        "least_drive_min": round(p.min_travel_s / 60, 1), "road_km": round(p.distance_m / 1e3, 2),
        "implied_kph": round(p.implied_kph)} for p in pairs]), hide_index=True)
    st.caption(f"Impossible: gap + {settings.TRAVEL_CLOCK_SLACK_S:.0f} s < "
               f"{settings.TRAVEL_SPEED_FACTOR} × the least free-flow drive time (either "
               "direction at both cameras); the same rule as Trace and the alerts.")
    reads = reads_of_plates(resources.store(), [plate], who=who)
    tracks = reads.assign(track=plate_tracks(reads, reach))
    st.write(f"The reads need **{int(tracks['track'].max()) + 1} vehicles**; each track "
             "below is drivable by one vehicle (Trace shows each on the map).")
    st.dataframe(pd.DataFrame([{
        "vehicle": int(t) + 1, "reads": len(g), "first_seen": local_times(g["ts"]).min(),
        "last_seen": local_times(g["ts"]).max(),
        "cameras": ", ".join(dict.fromkeys(codes.get(c, c) for c in g["camera_id"]))}
        for t, g in tracks.sort_values("ts").groupby("track")]), hide_index=True)


def convoy_panel(plate: str, filters: SearchFilters, codes: dict[str, str],
                 who: Actor) -> None:
    left, right = st.columns(2)
    window_s = left.slider("Within (s)", 5, 600, int(settings.SEARCH_CONVOY_WINDOW_S))
    min_cams = right.slider("At least cameras", 1, 10, settings.SEARCH_CONVOY_MIN_CAMERAS)
    members = find_convoy(resources.store(), plate, who=who, window_s=float(window_s),
                          min_cameras=min_cams, filters=filters)
    if not members:
        st.info("No vehicle travelled with this one.")
        return
    st.dataframe(pd.DataFrame([{
        "plate": m.plate, "shared_cameras": m.shared_cameras, "co_reads": m.co_reads,
        "mean_gap_s": round(m.mean_gap_s, 1),
        "cameras": ", ".join(codes.get(c, c) for c in m.cameras)} for m in members]),
        hide_index=True)


def stakeout_panel(cameras: gpd.GeoDataFrame, reason: str | None) -> None:
    codes = code_of(cameras)
    count = st.number_input("Places", 2, 5, 2)
    places = []
    for i in range(int(count)):
        left, right = st.columns([2, 1])
        chosen = left.multiselect(f"Place {i + 1}: cameras", sorted(codes),
                                  format_func=lambda c: codes[c], key=f"stake_cams_{i}")
        with right:
            start, end = window("Time window", f"stake_{i}")
        if chosen:
            places.append(Place(f"place {i + 1}", SearchFilters(
                cameras=frozenset(chosen), start=start, end=end)))
    need = st.number_input("Seen at least at", 1, int(count), int(count))
    if st.button("Find plates seen at these places", disabled=reason is None) and reason:
        hits = stakeout(resources.store(), places, who=auth.actor(reason),
                        min_places=int(need))
        st.dataframe(pd.DataFrame([{"plate": h.plate, "places": ", ".join(h.places),
                                    "reads": h.n_reads} for h in hits]), hide_index=True)


def vehicle(plate: str, cameras: gpd.GeoDataFrame, filters: SearchFilters,
            limit: float, who: Actor) -> None:
    store, codes = resources.store(), code_of(cameras)
    reads = reads_of_plates(store, [plate], who=who, filters=filters)
    watched = cameras[["id", "edge_u", "edge_v", "edge_key", "lon", "lat"]].to_csv(index=False)
    reach = reachability(cameras, hashlib.sha256(watched.encode()).hexdigest())
    links, clones, convoy = st.tabs(["Linked misreads", "Impossible travel", "Convoy"])
    with links:
        linked = links_panel(plate, reach, filters, limit, who)
    with clones:
        clones_panel(plate, reach, codes, who)
    with convoy:
        convoy_panel(plate, filters, codes, who)
    everything = pd.concat([reads, linked]) if not linked.empty else reads
    reads_map(reads, cameras, linked if not linked.empty else reads.iloc[0:0])
    st.dataframe(shown_reads(everything.sort_values("ts")), hide_index=True)
    check_read(everything, codes, who.reason)
    if auth.may("export"):
        exports(plate, everything, who)


def check_read(reads: pd.DataFrame, codes: dict[str, str], reason: str) -> None:
    """One read's crop, with its plate confirmed or corrected (``review`` permission)."""
    if reads.empty:
        return
    ordered = reads.sort_values("ts", ascending=False)
    times = local_times(ordered["ts"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    labels = {str(rid): f"{when} · {plate} · {codes.get(str(cam), cam)}" for rid, when, plate, cam
              in zip(ordered["read_id"], times, ordered["plate"], ordered["camera_id"],
                     strict=True)}
    with st.expander("Check a read: its crop; confirm or correct the plate"):
        chosen = st.selectbox("Read", list(labels), format_func=lambda r: labels[r],
                              key="check_read")
        if chosen is not None:
            row = ordered[ordered["read_id"] == chosen].iloc[0]
            _review.read_card(row, reason=reason, key=f"search_review_{chosen}")


def exports(plate: str, reads: pd.DataFrame, who: Actor) -> None:
    """Download buttons: the library checks, audits and makes each file when clicked."""
    store, name = resources.store(), plate.replace(" ", "_")
    left, right = st.columns(2)
    left.download_button("Export CSV", lambda: reads_file(store, reads, who=who, plate=plate,
                                                          fmt="csv"),
                         f"{name}.csv", "text/csv")
    right.download_button("Export GeoJSON", lambda: reads_file(store, reads, who=who,
                                                               plate=plate, fmt="geojson"),
                          f"{name}.geojson", "application/geo+json")


def search_section(cameras: gpd.GeoDataFrame, reason: str | None) -> None:
    left, middle, right = st.columns([3, 2, 1])
    query = left.text_input("Plate", placeholder="51A-123.45, 51A12345, 51A-12*, 59-X1 ?23.45")
    mode = middle.radio("Mode", list(MODES), horizontal=True)
    limit = right.number_input("Fuzzy limit", 0.0, settings.SEARCH_MAX_LIMIT,
                               settings.SEARCH_MAX_DISTANCE, step=0.5)
    filters = filters_form(cameras)
    if not query.strip():
        st.info("Type a plate: any spelling, * and ? as wildcards; the fuzzy mode treats "
                "OCR confusions (0/O/D/Q, 1/I/7, 2/Z, 5/S, 6/G, 8/B, 4/A) as half an edit.")
        return
    if reason is None:
        st.info("Give a reason or case number above: every search is written to the audit "
                "log with it.")
        return
    who = auth.actor(reason)
    result = search_plates(resources.store(), query, who=who, mode=MODES[mode],
                           limit=float(limit), filters=filters)
    if not result.candidates:
        st.warning(f"No plate matches {query!r} ({result.mode}).")
        return
    codes = code_of(cameras)
    table = result.frame()
    for column in ("first_seen", "last_seen"):
        table[column] = local_times(table[column])
    table["cameras"] = [", ".join(codes.get(c, c) for c in cand.cameras)
                        for cand in result.candidates]
    st.dataframe(table, hide_index=True)
    more = " (best shown)" if result.truncated else ""
    st.caption(f"{result.matched_plates} plate(s) matched ({result.mode}){more}.")
    plate = st.selectbox("Vehicle", [c.plate for c in result.candidates])
    if plate:
        vehicle(plate, cameras, filters, float(limit), who)


auth.require("search")
st.title("Find a vehicle")
_review.show_done()
why = auth.reason_input("Reason or case number (required)", key="search_reason")
try:
    registry_frame = registry.load_registry(resources.store())
    search_section(registry_frame, why)
    with st.expander("Stakeout: plates seen at several places"):
        stakeout_panel(registry_frame, why)
except TracingError as exc:
    st.error(str(exc))
