"""Typed, documented defaults of the tracing library: paths, CRS, speeds, thresholds.

Everything a user may tune lives here with its unit and bounds; no other module
hard-codes a path, a CRS or a threshold.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

# --- Paths ---------------------------------------------------------------------------------
REPO_ROOT: Final = Path(__file__).resolve().parent.parent
DATA_DIR: Final = REPO_ROOT / "data"
"""Committed, derived artefacts (road graph, boundaries, camera registry)."""

SHARED_DATA_DIR: Final = Path(
    os.environ.get("TRACING_SHARED_DATA", str(REPO_ROOT.parent / "shared" / "data"))
)
"""Raw reference data (OSM extract, portal camera list); only the build commands need it."""

VAR_DIR: Final = Path(os.environ.get("TRACING_VAR", str(REPO_ROOT / "var")))
"""Run-time state, never committed: caches, the demo database, the ingest spool."""

CACHE_DIR: Final = VAR_DIR / "cache"
NETWORK_DIR: Final = DATA_DIR / "network"
BOUNDARIES_DIR: Final = DATA_DIR / "boundaries"
CAMERAS_DIR: Final = DATA_DIR / "cameras"
OSM_PBF: Final = SHARED_DATA_DIR / "osm" / "hcm_2018.osm.pbf"
PORTAL_CAMERAS_CSV: Final = SHARED_DATA_DIR / "cameras" / "hcmc_cameras_2025.csv"
SHARED_BOUNDARIES_DIR: Final = SHARED_DATA_DIR / "boundaries"
"""Source boundary files (city outline, 2019 CityScope wards) copied by the build step."""
OUTLINE_GEOJSON: Final = BOUNDARIES_DIR / "thuduc_city_outline_2021.geojson"
"""Committed Thủ Đức City outline (one polygon, EPSG:4326)."""
WARDS_GEOJSON: Final = BOUNDARIES_DIR / "thuduc_wards_2019.geojson"
"""Committed 36 wards of 2019 (pre-2021 units of Thủ Đức, District 2 and 9), EPSG:4326."""

# --- Coordinates and time ----------------------------------------------------------------
WGS84: Final = "EPSG:4326"
METRIC_CRS: Final = "EPSG:32648"
"""UTM zone 48N: metres, the projected CRS for Ho Chi Minh City."""
LOCAL_TZ: Final = "Asia/Ho_Chi_Minh"
"""Timestamps are stored as instants (UTC) and shown in this zone."""

OSM_ATTRIBUTION: Final = "© OpenStreetMap contributors (ODbL 1.0)"

# --- Road network --------------------------------------------------------------------------
NETWORK_BUFFER_M: Final = 3000.0
"""Roads this far outside the Thủ Đức outline are kept, so gateway routes and detours
through neighbouring districts exist."""

ROAD_SPEEDS_KPH: Final[dict[str, float]] = {
    "motorway": 70.0,
    "motorway_link": 40.0,
    "trunk": 45.0,
    "trunk_link": 30.0,
    "primary": 35.0,
    "primary_link": 25.0,
    "secondary": 30.0,
    "secondary_link": 22.0,
    "tertiary": 25.0,
    "tertiary_link": 20.0,
    "unclassified": 20.0,
    "residential": 18.0,
    "living_street": 10.0,
    "road": 20.0,
}
"""Free-flow speeds of HCMC urban traffic by OSM highway class (km/h), used where an edge
has no ``maxspeed`` tag. Motorbikes dominate and share lanes with cars; arterials such as
Xa Lộ Hà Nội rarely exceed 45 km/h outside the night. Legal urban limits are 50–60 km/h
(Circular 31/2019/TT-BGTVT); the expressway (Cao tốc Long Thành–Dầu Giây) allows 100."""

FALLBACK_SPEED_KPH: Final = 20.0
"""Speed of an edge whose class is not in ROAD_SPEEDS_KPH and has no maxspeed."""

NETWORK_GEOMETRY_TOLERANCE_M: Final = 1.0
"""Edge geometries of the committed network are simplified (Douglas-Peucker) to this
tolerance in metres; lengths are measured on the full OSM geometry before that."""

MAIN_ROAD_CLASSES: Final = frozenset(
    {"motorway", "trunk", "primary", "secondary", "tertiary",
     "motorway_link", "trunk_link", "primary_link", "secondary_link"}
)
"""Classes drawn on the overview map and counted as arterials."""

# --- Cameras -------------------------------------------------------------------------------
SNAP_RADIUS_M: Final = 60.0
"""A camera is snapped to a road edge no farther than this."""
HEADING_WEIGHT_M_PER_DEG: Final = 0.5
"""When a camera's heading is known, each degree between it and an edge's bearing
costs as much as this many metres of distance when choosing the watched edge."""

# --- Store ---------------------------------------------------------------------------------
DEMO_DB: Final = VAR_DIR / "demo.duckdb"
SPOOL_DIR: Final = VAR_DIR / "spool"
STORE_LOCK_TIMEOUT_S: Final = 30.0
"""How long a reader or writer waits for the store before StoreError("store busy")."""
STORE_POLL_S: Final = 0.01
"""How often a process holding the store checks whether another process waits for it."""
STORE_IDLE_RELEASE_S: Final = 30.0
"""A process hands the store back after this long without using it."""
STORE_YIELD_S: Final = 0.02
"""After handing the store to a waiting process, stay out this long so it gets its turn."""
STORE_MEMORY_LIMIT: Final = os.environ.get("TRACING_DUCKDB_MEMORY", "4GB")
"""DuckDB memory limit of each process's store instance (spills to disk beyond it)."""
INGEST_MAX_SPOOL_ROWS: Final = 1_000_000
"""The spool loader ingests up to this many rows of pending spool files per transaction."""
SPOOL_POLL_S: Final = 1.0
"""How often the ingest service looks for new spool files when it found none."""
