"""Coverage & health: where the camera network is blind, which cameras are unwell, and
where the next plate-reading cameras should go."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import auth, resources
from tracing import cameras as registry
from tracing import coverage, maps, safecsv, settings
from tracing.coverage.health import latest_read
from tracing.errors import TracingError
from tracing.live import heartbeats

# Fill of a ward by its share of trips seen (0–20 %, …, 80–100 %); no CDN colormap.
SHADES = ("#b71c1c", "#e65100", "#f9a825", "#9e9d24", "#2e7d32")
MARKS = {"dead": "⛔ dead", "failing": "⚠️ failing", "live": "✅ live"}


def shade(share: float) -> str:
    """Fill colour of a share in [0, 1]."""
    if share != share:
        return "#9e9e9e"
    return SHADES[min(int(share * len(SHADES)), len(SHADES) - 1)]


@st.cache_resource(show_spinner="Sampling trips and measuring coverage…", max_entries=2)
def _analysis(key: str, _cameras: gpd.GeoDataFrame) -> coverage.Analysis:
    return coverage.analyse(resources.road_graph(), _cameras, wards=resources.wards(),
                            outline=resources.outline())


def analysis(cameras: gpd.GeoDataFrame) -> coverage.Analysis:
    """The analysis of this registry (cached per registry content)."""
    text = pd.DataFrame(cameras[list(registry.REGISTRY_COLUMNS)]).to_csv(index=False)
    return _analysis(hashlib.sha256(text.encode()).hexdigest(), cameras)


def coverage_map(result: coverage.Analysis, plan: pd.DataFrame | None) -> None:
    by_ward = result.observability.by_ward
    wards = resources.wards()[["ward", "Pop_2019", "geometry"]].copy()
    wards["seen"] = wards["ward"].map(by_ward["seen_1"]).astype(float)
    wards["seen_pct"] = (100 * wards["seen"]).round(1).astype(str) + " %"
    fmap = maps.base_map()
    folium.GeoJson(
        wards.drop(columns="seen").to_json(drop_id=True), name="Trips seen by ward",
        style_function=lambda f: {"color": "#455a64", "weight": 1, "fillOpacity": 0.45,
                                  "fillColor": shade(wards.set_index("ward").at[
                                      f["properties"]["ward"], "seen"])},
        tooltip=folium.GeoJsonTooltip(fields=["ward", "seen_pct"],
                                      aliases=["Ward", "Trips seen (≥ 1 camera)"]),
    ).add_to(fmap)
    maps.add_outline(fmap, resources.outline())
    maps.add_roads(fmap, resources.main_roads_geojson())
    gates = folium.FeatureGroup(name="Gateways")
    for row in result.gateways.table.itertuples():
        folium.CircleMarker(
            location=[row.lat, row.lon], radius=6, weight=1.5, color="white", fill=True,
            fill_opacity=0.95, fill_color="#2e7d32" if row.covered else "#c62828",
            tooltip=f"{row.road} · {row.direction} · {row.trips} sampled trips · "
                    + ("covered" if row.covered else "NOT covered")).add_to(gates)
    gates.add_to(fmap)
    gaps = folium.FeatureGroup(name="Longest unobserved corridors")
    for row in result.roads.corridors.itertuples():
        folium.CircleMarker(location=[row.lat, row.lon], radius=5, color="#6a1b9a", fill=True,
                            tooltip=f"{row.road}: {row.length_km:.1f} km unobserved"
                            ).add_to(gaps)
    gaps.add_to(fmap)
    if plan is not None:
        sites = folium.FeatureGroup(name="Planned cameras")
        for row in plan.itertuples():
            folium.CircleMarker(location=[row.lat, row.lon], radius=4, color="#0d47a1",
                                fill=True, fill_opacity=1.0,
                                tooltip=f"#{row.rank} {row.road}: +{row.new_trips} trips"
                                ).add_to(sites)
        sites.add_to(fmap)
    maps.finish(fmap)
    west, south, east, north = resources.outline().bounds
    fmap.fit_bounds([[south, west], [north, east]])
    st_folium(fmap, height=560, use_container_width=True, returned_objects=[],
              key="coverage_map")
    st.caption("Wards by share of their trips seen by ≥ 1 plate-reading camera: red < 20 %, "
               "orange, yellow, olive, green ≥ 80 %. Gateways: green covered, red not. "
               "Purple: longest unobserved corridors. Blue: planned cameras.")


def health_section(cameras: gpd.GeoDataFrame) -> None:
    st.subheader("Camera health")
    store = resources.store()
    now = latest_read(store)
    lpr = cameras.loc[cameras["is_lpr"].astype(bool), "id"].astype(str)
    if now is None:
        st.info("The store holds no reads yet: camera health needs read history.")
        return
    health = coverage.camera_health(coverage.hourly_activity(store, now=now), now=now,
                                    cameras=lpr)
    names = cameras.set_index("id")[["code", "name"]]
    table = health.issues.join(names, on="camera_id")
    a, b = st.columns(2)
    a.metric("Cameras checked", health.checked)
    b.metric("Cameras flagged", table["camera_id"].nunique())
    st.caption(f"Rules applied at the newest read, {now:%Y-%m-%d %H:%M %Z}: silent longer "
               "than usual, read rate below "
               f"{settings.COVERAGE_DROP_RATIO:.0%} of the camera's own history, confidence "
               f"{settings.COVERAGE_LOW_CONFIDENCE_DROP:.2f} below its history, more than "
               f"{settings.COVERAGE_REJECT_RATE:.0%} of rows rejected.")
    st.dataframe(table[["code", "name", "issue", "since", "detail", "camera_id"]],
                 hide_index=True, width="stretch")


def stream_section(cameras: gpd.GeoDataFrame) -> None:
    """The stream workers' heartbeats (rerun every LIVE_HEARTBEAT_S)."""
    st.subheader("Stream workers")
    scan = heartbeats.read_heartbeats()
    silent = heartbeats.unreported(cameras, scan.beats)
    for problem in scan.problems:
        st.warning(f"Unreadable heartbeat file {problem}")
    if not scan.beats:
        st.info(f"No stream worker has reported yet ({len(silent)} registry cameras have a "
                "stream URL). Start them with `python -m recognition workers`.")
        return
    table = heartbeats.stream_table(scan.beats, datetime.now(UTC),
                                    cameras.set_index("id")[["code", "name"]])
    counts = table["verdict"].value_counts()
    a, b, c, d = st.columns(4)
    a.metric("Streams live", int(counts.get("live", 0)))
    b.metric("Streams failing", int(counts.get("failing", 0)))
    c.metric("Streams dead", int(counts.get("dead", 0)))
    d.metric("Stream cameras with no worker", len(silent))
    for verdict, say in (("dead", st.error), ("failing", st.warning)):
        bad = table[table["verdict"] == verdict]
        if len(bad):
            say(f"{len(bad)} stream(s) {verdict}: " + "; ".join(
                f"{code or camera} ({why})" for code, camera, why in zip(
                    bad["code"].astype(str), bad["camera_id"].astype(str),
                    bad["why"].astype(str), strict=True)))
    st.dataframe(table.assign(verdict=table["verdict"].map(MARKS)), hide_index=True,
                 width="stretch")
    st.caption(f"Dead: no frame for {settings.LIVE_STREAM_DEAD_S:.0f} s, or no heartbeat for "
               "as long (the worker is gone). Times in local time; frames/s over the last "
               f"{settings.LIVE_HEARTBEAT_S:.0f} s. Refreshed every "
               f"{settings.LIVE_HEARTBEAT_S:.0f} s.")
    if len(silent):
        st.caption("No heartbeat from: " + ", ".join(silent["code"].fillna(silent["id"])))


def planner_section(result: coverage.Analysis) -> pd.DataFrame:
    st.subheader("Where to put the next cameras")
    k = st.slider("New plate-reading cameras (K)", 1, 200, settings.COVERAGE_PLAN_K)
    plan = result.plan(k=k)
    frame = coverage.plan_frame(result.sample.roads, plan)
    after = result.with_sites(plan.sites)
    before = result.observability
    a, b, c = st.columns(3)
    a.metric("Trips seen by ≥ 1 camera", f"{after.seen_1:.1%}",
             f"{after.seen_1 - before.seen_1:+.1%}")
    b.metric("Trips seen by ≥ 2 cameras", f"{after.seen_2:.1%}",
             f"{after.seen_2 - before.seen_2:+.1%}")
    c.metric("Mean longest unobserved stretch", f"{after.mean_gap_m / 1000:.2f} km",
             f"{(after.mean_gap_m - before.mean_gap_m) / 1000:+.2f} km", delta_color="inverse")
    st.bar_chart(frame.set_index("rank")["new_trips"], x_label="camera added (rank)",
                 y_label="newly observed trips")
    st.dataframe(frame, hide_index=True, width="stretch")
    left, right = st.columns(2)
    left.download_button("Export plan CSV", safecsv.frame_csv(frame), "camera_plan.csv",
                         "text/csv")
    right.download_button("Export plan GeoJSON", coverage.plan_geojson(frame),
                          "camera_plan.geojson", "application/geo+json")
    return frame


auth.require("coverage")
st.title("Coverage & camera-network health")
try:
    cams = registry.load_registry(resources.store())
    result = analysis(cams)
except TracingError as exc:
    st.error(f"Cannot measure coverage: {exc}")
    st.stop()

obs, roads, gw = result.observability, result.roads, result.gateways
a, b, c, d = st.columns(4)
a.metric("Road length watched", f"{roads.share:.1%}", help=f"{roads.watched_km:.1f} of "
         f"{roads.total_km:.0f} km of directed road")
b.metric("Gateways covered", f"{int(gw.table['covered'].sum())} of {len(gw.table)}")
c.metric("Trips seen by ≥ 1 / ≥ 2", f"{obs.seen_1:.0%} / {obs.seen_2:.0%}")
d.metric("Longest unobserved stretch", f"{obs.mean_gap_m / 1000:.1f} km mean",
         f"worst {obs.worst_gap_m / 1000:.1f} km", delta_color="off")
st.caption(f"{len(result.sample):,} origin–destination trips sampled from the simulator's "
           "demand model (ward population, gateway traffic), on their fastest paths.")

tab_map, tab_tables, tab_health, tab_plan = st.tabs(
    ["Map", "Coverage tables", "Camera health", "Planner"])
with tab_plan:
    plan_frame = planner_section(result)
with tab_map:
    coverage_map(result, plan_frame)
with tab_tables:
    st.subheader("Trips seen, by ward of origin")
    st.dataframe(obs.by_ward, width="stretch")
    st.subheader("Road length watched, by class and by ward")
    left, right = st.columns(2)
    left.dataframe(roads.by_class, width="stretch")
    right.dataframe(roads.by_ward, width="stretch")
    st.subheader("Longest unobserved corridors")
    st.dataframe(roads.corridors, hide_index=True, width="stretch")
    st.subheader("Gateway roads")
    st.dataframe(gw.table.drop(columns="edge"), hide_index=True, width="stretch")
with tab_health:
    if auth.may("health"):
        health_section(cams)
        st.fragment(run_every=settings.LIVE_HEARTBEAT_S)(stream_section)(cams)
    else:
        st.info("Camera health needs the health permission.")
