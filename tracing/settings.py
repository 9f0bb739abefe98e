"""Typed, documented defaults of the tracing library: paths, CRS, speeds, thresholds.

Everything a user may tune lives here with its unit and bounds; no other module
hard-codes a path, a CRS or a threshold.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
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

# --- Languages (tracing.i18n) ----------------------------------------------------------------
LOCALE_DIR: Final = REPO_ROOT / "locale"
"""Message catalogs: ``<language>/LC_MESSAGES/messages.po`` (read at run time)."""
LANGUAGES: Final[dict[str, str]] = {"vi": "Tiếng Việt", "en": "English"}
"""Languages of the app, each named in itself (as the language selector shows it)."""
DEFAULT_LANGUAGE: Final = os.environ.get("TRACING_LANGUAGE", "vi")
"""Language of a browser session until its user chooses one (``TRACING_LANGUAGE``)."""

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
REGISTRY_MAX_ROWS: Final = 20_000
"""A registry file with more cameras than this is refused (the city plans about 500)."""
HEADING_WEIGHT_M_PER_DEG: Final = 0.5
"""When a camera's heading is known, each degree between it and an edge's bearing
costs as much as this many metres of distance when choosing the watched edge."""

# --- Store ---------------------------------------------------------------------------------
DEMO_DB: Final = VAR_DIR / "demo.duckdb"
SPOOL_DIR: Final = VAR_DIR / "spool"
CROPS_DIR: Final = VAR_DIR / "crops"
"""Plate crop images; a read's ``crop_ref`` is a path relative to this folder."""
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
STORE_INGEST_DISABLED_COMPRESSION: Final = "fsst,dictionary"
"""String compressions skipped while ingesting (they cost half the insert time);
:meth:`Store.compact` rewrites the reads compressed."""
STORE_ROW_GROUP_SIZE: Final = 16_384
"""Rows per DuckDB row group (default 122,880). DuckDB skips data by row group, so
smaller groups make a lookup of one plate read less; bulk scans barely notice."""

# --- Traffic simulator (tracing.simulate) ------------------------------------------------------
# Defaults of `python -m tracing simulate` and of SimulationConfig. Shares are fractions that
# each sum to 1; times are local (Asia/Ho_Chi_Minh) clock hours.
DEMO_TRUTH_DIR: Final = VAR_DIR / "demo-truth"
"""Ground truth of the simulated demo day (beside the demo database, never inside it)."""
SIM_DEFAULT_START: Final = "2026-03-02T00:00:00+07:00"
"""Start of the default simulated period (ISO 8601 with offset): a Monday, local midnight."""
SIM_DEFAULT_HOURS: Final = 24.0
"""Length of the default simulated period (hours)."""
SIM_DEFAULT_TRIPS: Final = 25_000
"""Background vehicle trips of a default run (the demo day; the benchmark runs 100,000)."""
SIM_MAX_HOURS: Final = 24.0 * 31
"""Longest period one run may simulate (hours)."""
SIM_MAX_TRIPS: Final = 5_000_000
"""Most background trips one run may simulate (memory: about 1 GB per million trips)."""
SIM_DETECTION_RATE: Final = 0.9
"""Probability that a plate-reading camera reads a vehicle passing it, in [0, 1]."""
SIM_OCR_ERROR_RATE: Final = 0.07
"""Probability that a read's plate text is wrong (OCR confusion, dropped or extra character)."""
SIM_DUPLICATE_RATE: Final = 0.02
"""Probability that a read is reported twice (second read 0.4–1.6 s later, new read_id)."""
SIM_DUPLICATE_DELAY_S: Final = (0.4, 1.6)
"""Range of the delay of a duplicate read after the first one (s)."""
SIM_CLOCK_SKEW_S: Final = 3.0
"""Standard deviation of each camera's constant clock offset (s; clipped at 3 deviations)."""
SIM_CONFIDENCE_BETA: Final = (18.0, 2.0)
"""Beta(a, b) of the confidence of a correct read (mean 0.90)."""
SIM_MISREAD_CONFIDENCE_BETA: Final = (6.0, 4.0)
"""Beta(a, b) of the confidence of a misread (mean 0.60)."""
SIM_OCR_CONFUSIONS: Final = ("0ODQ", "1I7", "2Z", "5S", "6G", "8B", "4A")
"""Characters an OCR engine confuses; a substitution replaces one by another of its group."""
SIM_OCR_EDIT_SHARES: Final[dict[str, float]] = {"substitute": 0.8, "drop": 0.1, "extra": 0.1}
"""Kinds of OCR error: confusion substitution, a dropped character, an extra character."""
SIM_ZONE_NODES_PER_WARD: Final = 16
"""Origin/destination nodes drawn per ward (on non-trunk roads). Each is one single-source
shortest-path search per route variant, the dominant fixed cost of a run."""
SIM_FORBIDDEN_COST_FACTOR: Final = 1e4
"""Cost factor of roads a vehicle class may not use (motorbikes on expressways) in the
simulator's class-restricted routing: taken only where no other way exists."""
SIM_ROUTE_VARIANTS: Final = 6
"""Perturbed edge-cost variants (driver types); every trip follows one of them."""
SIM_EDGE_COST_SIGMA: Final = 0.25
"""Lognormal sigma of the per-edge, per-variant cost noise (how much drivers' judgement of
a road differs from its travel time)."""
SIM_MINOR_ROAD_COST: Final = (1.0, 1.2, 1.45, 0.9, 1.3, 1.1, 1.6, 0.8)
"""Per variant: factor on the cost of roads outside MAIN_ROAD_CLASSES (>1 prefers main roads).
Its length sets the largest usable number of variants."""
SIM_DETOUR_RATE: Final = 0.05
"""Share of trips that detour through an intermediate place without stopping."""
SIM_STOP_RATE: Final = 0.05
"""Share of trips that stop on the way (an errand) for SIM_STOP_MINUTES."""
SIM_STOP_MINUTES: Final = (2.0, 30.0)
"""Range of the dwell of a stop on the way (minutes)."""
SIM_DETOUR_MAX_RATIO: Final = 1.5
"""A detour's intermediate place costs at most this times the direct route."""
SIM_GRAVITY_TAU_S: Final = 900.0
"""Destination choice: attraction (ward population) × exp(−travel time / tau)."""
SIM_TRIP_SPEED_SIGMA: Final = 0.10
"""Lognormal sigma of a trip's speed factor (driver style)."""
SIM_EDGE_TIME_SIGMA: Final = 0.15
"""Lognormal sigma of each traversed edge's time (lights, queues)."""
SIM_KIND_TIME_FACTOR: Final[dict[str, float]] = {
    "motorbike": 1.0, "car": 1.05, "truck": 1.3, "bus": 1.2}
"""Travel time factor by vehicle kind on top of the edge travel time."""
SIM_CONGESTION_BY_HOUR: Final = (
    0.80, 0.78, 0.78, 0.80, 0.85, 0.95, 1.20, 1.60, 1.65, 1.35, 1.20, 1.20,
    1.15, 1.15, 1.20, 1.30, 1.45, 1.70, 1.75, 1.45, 1.25, 1.10, 0.95, 0.85)
"""Travel time factor on main roads by local hour (peaks 7–9 and 16:30–19); linear between
hour midpoints. Roads outside MAIN_ROAD_CLASSES get SIM_MINOR_ROAD_CONGESTION of the excess."""
SIM_MINOR_ROAD_CONGESTION: Final = 0.5
"""Share of the main-road congestion excess (or relief) that minor roads get."""
SIM_DEPARTURE_PROFILE: Final = (
    0.4, 0.25, 0.2, 0.25, 0.6, 1.8, 4.5, 8.5, 8.0, 5.0, 4.2, 4.0,
    3.8, 3.5, 3.8, 4.5, 6.0, 8.5, 8.0, 5.5, 4.0, 3.0, 2.0, 1.0)
"""Relative departures by local hour for errands, visitors and through traffic."""
SIM_ROLE_SHARES: Final[dict[str, float]] = {
    "commuter": 0.42, "errand": 0.30, "commercial": 0.10, "visitor": 0.10, "through": 0.08}
"""Vehicles by role: residents commuting, residents on errands, taxis and delivery,
visitors from outside the city, through traffic between gateways."""
SIM_OUT_COMMUTER_SHARE: Final = 0.2
"""Share of commuters who work outside the city (leave and return through a gateway)."""
SIM_KIND_SHARES: Final[dict[str, dict[str, float]]] = {
    "commuter": {"motorbike": 0.9, "car": 0.1},
    "errand": {"motorbike": 0.9, "car": 0.1},
    "commercial": {"motorbike": 0.55, "car": 0.27, "truck": 0.18},
    "visitor": {"motorbike": 0.6, "car": 0.27, "truck": 0.09, "bus": 0.04},
    "through": {"motorbike": 0.10, "car": 0.35, "truck": 0.40, "bus": 0.15},
}
"""Vehicle kind by role (motorbikes about 78% of vehicles overall)."""
SIM_GATEWAY_WEIGHTS: Final[dict[str, float]] = {
    "motorway": 4.0, "trunk": 4.0, "primary": 2.0, "secondary": 1.0, "tertiary": 0.3,
    "trunk_link": 1.0, "primary_link": 0.5, "motorway_link": 1.0, "secondary_link": 0.3}
"""Share of gateway traffic by the class of the boundary-crossing road (other classes: none)."""

# --- Search (tracing.search) -----------------------------------------------------------------
# Plate search, identity linking, clones, convoys and stakeouts. Times in seconds.
SEARCH_CONFUSION_GROUPS: Final = ("0ODQ", "1I7", "2Z", "5S", "6G", "8B", "4A")
"""Characters an OCR engine confuses; substituting one for another of its group is cheap."""
SEARCH_CONFUSION_COST: Final = 0.5
"""Cost of a confusion substitution in the plate edit distance (other edits cost 1); in
(0, 1]. With the default limit 1 a plate matches with two confusions or one other edit."""
SEARCH_MAX_DISTANCE: Final = 1.0
"""Default limit of the fuzzy plate distance; user values must lie in [0, SEARCH_MAX_LIMIT]."""
SEARCH_MAX_LIMIT: Final = 3.0
"""Largest fuzzy limit a user may ask for (beyond it a query matches a large share of plates)."""
SEARCH_MAX_CANDIDATES: Final = 200
"""Most candidate plates one search returns with evidence (the best-ranked ones)."""
SEARCH_MAX_QUERY_LENGTH: Final = 32
"""Longest search text accepted (characters)."""
SEARCH_CROP_REFS: Final = 5
"""Crop references listed per candidate (the highest-confidence reads)."""
SEARCH_LINK_SLOWDOWN: Final = 3.0
"""A misread links as "on the way" when it lies within this many times the free-flow travel
time (plus SEARCH_LINK_SLACK_S) of a read of the target."""
SEARCH_LINK_SLACK_S: Final = 600.0
"""Extra time allowed for the "on the way" test (stops, lights, detours)."""
SEARCH_LINK_MIN_SCORE: Final = 0.5
"""Links scoring below this (string similarity × plausibility, in [0, 1]) are not proposed."""
SEARCH_LINK_MAX_VARIANT_PASSES: Final = 2
"""A near-miss plate with more passes than this (repeats at one camera within a minute count
once) in the period is another vehicle: one misread string rarely recurs."""
SEARCH_LINK_UNCORROBORATED: Final = 0.7
"""Plausibility of a feasible near-miss read with no read of the target within a drive's
time (an isolated sighting): with the defaults it links only when the plates differ by
confusion edits alone (similarity 0.75 × 0.7 ≥ 0.5), never with another kind of edit."""
SEARCH_LINK_MARGIN_S: Final = 6 * 3600.0
"""Near-miss reads are looked for from this long before the target's first read to this long
after its last one."""
SEARCH_CONVOY_WINDOW_S: Final = 60.0
"""Convoy: another vehicle is "with" the target at a camera when read within this time."""
SEARCH_CONVOY_MIN_CAMERAS: Final = 2
"""Convoy: fewest distinct cameras a vehicle must share with the target."""

# --- Impossible travel (tracing.travel): one rule for trace, Find and alerts -----------------
TRAVEL_SPEED_FACTOR: Final = 0.5
"""A drive between two cameras is possible when the time between the reads is at least this
share of the least free-flow drive time (so up to twice the free-flow speed: night traffic,
fast drivers) minus TRAVEL_CLOCK_SLACK_S. The least time is direction-free: the shortest
free-flow time between any end nodes of the two cameras' edges."""
TRAVEL_CLOCK_SLACK_S: Final = 30.0
"""Camera clocks may disagree by this much (s); added in the travel test's favour."""

# --- Route reconstruction (tracing.routes) -----------------------------------------------------
# Scoring constants were fitted on simulated days with seed 1 (`python bench/route.py --fit`)
# and are evaluated by the benchmark on seed 2: never on the data they were fitted on.
NETWORK_CACHES_KEPT: Final = 2
"""Compiled road-graph caches kept in CACHE_DIR (older ones are deleted)."""
ROUTE_CACHES_KEPT: Final = 4
"""Camera-pair path caches kept in CACHE_DIR (one per registry; older ones are deleted)."""
ROUTE_K: Final = 3
"""Candidate paths reported per leg (best first); `trace --k` accepts 1..ROUTE_MAX_K."""
ROUTE_MAX_K: Final = 8
"""Largest number of candidates a caller may ask for per leg."""
ROUTE_POOL: Final = 6
"""Candidate paths generated and scored per leg before the k most probable are kept."""
ROUTE_MINOR_ROAD_FACTOR: Final = 1.4
"""Second search cost: travel time with roads outside MAIN_ROAD_CLASSES this much slower, so
a main-road route is a candidate even when a back street is marginally faster."""
ROUTE_MAX_STRETCH: Final = 1.6
"""An alternative path takes at most this times the fastest path's free-flow time (+ 60 s)."""
ROUTE_MAX_SHARED: Final = 0.85
"""Diversity: an alternative shares at most this fraction of its time with paths found before."""
ROUTE_DUPLICATE_OVERLAP: Final = 0.9
"""Two paths overlapping this much (by length, both ways) are the same candidate."""
ROUTE_REPEAT_WINDOW_S: Final = 300.0
"""Consecutive sightings at one camera within this many seconds collapse into one."""
ROUTE_TRIP_SPLIT_S: Final = 2700.0
"""A new trip starts when a gap exceeds the fastest drive between the cameras by this (s)."""
ROUTE_LONG_GAP_S: Final = 600.0
"""A leg taking this much longer than its fastest path is flagged long_gap (stop, detour)."""
ROUTE_CAMERA_SILENT_S: Final = 7200.0
"""A camera with no read within this many seconds of a moment was not working then: it is
no negative evidence against a path passing it (camera health from the reads themselves)."""
OPPOSITE_CARRIAGEWAY_M: Final = 45.0
"""A camera over one carriageway of a divided road (two one-way OSM ways) sees the other
carriageway too when it reads both directions: the nearest edge heading the opposite way
within this distance of the camera."""
ROUTE_RESNAP_M: Final = 60.0
"""A camera on a road its vehicle class may not use (a motorbike read at a camera snapped to
an expressway carriageway) is placed on the nearest road the class may use within this."""
ROUTE_PRISM_SPEED_FACTOR: Final = 0.8
"""Space–time prism of a leg: a road is reachable when its free-flow detour times this
factor fits in the observed time (vehicles may drive up to 1 / 0.8 = 1.25 × free flow)."""
ROUTE_ONCOMING_SHARE: Final = 0.5
"""Chance that a camera the registry says reads both directions really reads the front
plates of oncoming traffic: an even prior, since no source says which cameras do. A missed
oncoming camera weighs log(1 − detection rate × this) against a path."""
ROUTE_REVERSED_SHARE: Final = 0.1
"""Chance that a rear-plate read (a motorbike's) was of traffic against the camera's registry
direction: the registry's direction is wrong for that camera. A prior, not fitted."""
ROUTE_DETECTION_RATE: Final = 0.8
"""Chance that a working plate-reading camera on the path reads the plate correctly (detection
× correct OCR); each such camera that did not read it multiplies a path's likelihood by 1 − it."""
ROUTE_TIME_OFFSET_S: Final = 20.0
"""Time fit uses log((observed + offset) / (free-flow + offset)): short legs are not judged on
seconds of clock skew."""
ROUTE_TIME_MU: Final = 0.32
"""Mean of that log ratio in ordinary driving (congestion, vehicle kind): the mean of the
true paths' log ratio on the fitting data (0.315, sd 0.196)."""
ROUTE_TIME_SIGMA: Final = 0.2
"""Spread of that log ratio in ordinary driving (the fitting data's sd; the likelihood is
nearly flat in it between 0.2 and 0.4: paths of one leg differ less than traffic does)."""
ROUTE_SLOW_SHARE: Final = 0.1
"""Prior share of legs with a stop or detour (a broad slow component of the time fit)."""
ROUTE_SLOW_SIGMA: Final = 1.2
"""Spread of the slow component (log ratio, centred one unit above ROUTE_TIME_MU)."""
ROUTE_DETOUR_PENALTY: Final = 25.0
"""Prior against slower paths: log-odds lost per unit of extra free-flow time relative to
the fastest candidate: fitted (maximum likelihood of the true path among the candidates;
on the fitting data the fastest candidate is the true path in 87% of legs)."""
ROUTE_MINOR_ROAD_PENALTY: Final = 1.1
"""Prior for main roads: log-odds lost per unit of a path's free-flow time on roads outside
MAIN_ROAD_CLASSES, relative to the fastest candidate's time: fitted."""
ROUTE_TEMPERATURE: Final = 1.0
"""Softmax temperature of the per-leg probabilities (calibration): fitted."""
ROUTE_LOW_CONFIDENCE: Final = 0.5
"""A leg whose best path has a lower probability than this is flagged low_confidence."""

# --- Geofences, watchlists and alerts (tracing.alerts) ---------------------------------------
GEOFENCE_AREA_BUFFER_M: Final = 3000.0
"""A geofence must lie within the city outline buffered by this many metres (the road
network's extent, NETWORK_BUFFER_M): fences elsewhere can hold no camera."""
GEOFENCE_MAX_VERTICES: Final = 20_000
"""Most vertices a fence polygon may have (larger uploads are refused)."""
GEOFENCE_MAX_RADIUS_M: Final = 20_000.0
"""Largest radius or road buffer width of a generated fence (m)."""
GATEWAY_FENCE_RADIUS_M: Final = 600.0
"""Radius of a generated gateway fence around the point where a road enters the city (m)."""
GATEWAY_FENCE_CLASSES: Final = frozenset({
    "motorway", "trunk", "primary", "secondary", "tertiary",
    "motorway_link", "trunk_link", "primary_link", "secondary_link"})
"""Road classes that get a gateway fence where they enter the city (minor roads do not)."""
WATCH_MAX_PRIORITY: Final = 3
"""Watch priorities run from 1 (highest) to this."""
WATCH_MIN_LITERALS: Final = 4
"""Wildcard and fuzzy watch patterns need at least this many letters or digits (shorter
ones match a large share of all plates)."""
WATCH_FUZZY_LIMIT: Final = 1.0
"""Fuzzy watch patterns match plates within this OCR-weighted distance (search rules)."""
WATCH_RETRO_DAYS: Final = 7
"""When a watch entry is added, reads of this many past days are checked (retroactive hits)."""
WATCH_MAX_RETRO_DAYS: Final = 90
"""Longest retroactive look-back a user may ask for (days)."""
WATCH_MAX_REASON_LENGTH: Final = 500
"""Longest watch reason (characters)."""
WATCH_MAX_IMPORT_ROWS: Final = 20_000
"""A watchlist CSV with more rows than this is refused."""
ALERT_ENTRY_UNSEEN_S: Final = 1800.0
"""Geofence entry: a watched vehicle's read inside a fence is an entry when its previous
read was outside the fence, or when it was not seen for this long (s)."""
ALERT_SUPPRESS_S: Final = 900.0
"""No second alert for the same plate and fence (or plate without fence) within this many
seconds of read time after the first (s)."""
ALERT_TRAVEL_LOOKBACK_S: Final = 7200.0
"""Impossible travel of a watched plate is checked against its reads this far back (s)."""
ALERT_POLL_S: Final = 0.05
"""How often the alert engine checks the store's new-reads signal (s)."""
ALERT_IDLE_CHECK_S: Final = 5.0
"""The alert engine looks for new reads at least this often even without a signal (s)."""
ALERT_MAX_BATCH_READS: Final = 200_000
"""Most new reads the alert engine evaluates in one transaction."""
ALERT_LIST_MAX: Final = 5_000
"""Most alerts one list_alerts call returns."""
ALERT_PAGE_REFRESH_S: Final = 5.0
"""How often the Alerts page refreshes its list while live refresh is on (s)."""
ALERT_PATH_HOURS: Final = 6.0
"""The Alerts page draws the vehicle's reads and route of this many hours before the read."""
WEBHOOK_URL: Final = os.environ.get("TRACING_ALERT_WEBHOOK_URL", "")
"""Outbound webhook receiving each alert as JSON (empty: none); ``alerts --webhook`` wins."""
WEBHOOK_TOKEN: Final = os.environ.get("TRACING_ALERT_WEBHOOK_TOKEN", "")
"""Optional secret sent in WEBHOOK_TOKEN_HEADER (only from the environment; never logged)."""
WEBHOOK_TOKEN_HEADER: Final = "Authorization"
"""Header carrying the token, as ``Bearer <token>``."""
WEBHOOK_TIMEOUT_S: Final = 5.0
"""Timeout of one webhook request (s)."""
WEBHOOK_MAX_ATTEMPTS: Final = 8
"""Attempts per alert before the webhook gives up on it (it stays stored, marked failed)."""
WEBHOOK_BACKOFF_S: Final = (1.0, 120.0)
"""First retry delay and the largest one (s); the delay doubles after each failure."""
WEBHOOK_MAX_AGE_S: Final = 3600.0
"""Alerts older than this are not sent (a webhook configured later does not replay history)."""

# --- Coverage (tracing.coverage) --------------------------------------------------------------
COVERAGE_TRIPS: Final = 12_000
"""Origin–destination trips sampled from the simulator's demand model for observability."""
COVERAGE_SEED: Final = 0
"""Seed of the trip sample (same seed, same trips)."""
COVERAGE_LIVE_STATUSES: Final = frozenset({"up"})
"""Camera statuses counted as part of today's network (others: down, maintenance, planned)."""
COVERAGE_CORRIDOR_CLASSES: Final = frozenset({
    "motorway", "trunk", "primary", "secondary", "tertiary"})
"""Road classes whose unobserved stretches are listed as corridors."""
COVERAGE_TOP_CORRIDORS: Final = 20
"""Longest unobserved corridors listed."""
COVERAGE_PLAN_K: Final = 100
"""Default number of new camera sites the placement planner chooses (the city's plan)."""
COVERAGE_MIN_APPROACHES: Final = 3
"""A node with at least this many distinct neighbours is an intersection (candidate site)."""
COVERAGE_HISTORY_DAYS: Final = 14
"""Days of reads before the recent window that make each camera's own history (days)."""
COVERAGE_RECENT_HOURS: Final = 24
"""Recent window compared against each camera's history (hours)."""
COVERAGE_SILENT_FACTOR: Final = 3.0
"""Silent: no read for longer than this × the camera's longest usual gap between reads."""
COVERAGE_SILENT_MIN_HOURS: Final = 2.0
"""Silent: never flagged for less than this many hours without a read (h)."""
COVERAGE_DROP_RATIO: Final = 0.5
"""Read-rate drop: recent reads per hour below this share of the camera's usual rate."""
COVERAGE_MIN_HISTORY_READS: Final = 50
"""Rate and confidence rules need at least this many reads in the camera's history."""
COVERAGE_LOW_CONFIDENCE_DROP: Final = 0.1
"""Low confidence: recent mean confidence this much below the camera's own history mean."""
COVERAGE_REJECT_RATE: Final = 0.05
"""High reject rate: rejected rows above this share of the camera's recent rows."""

# --- Access control, audit, retention (tracing.access) -----------------------------------------
PASSWORD_MIN_LENGTH: Final = 10
"""Shortest accepted password (characters)."""
PASSWORD_MAX_LENGTH: Final = 256
"""Longest accepted password (characters); longer input is refused before hashing."""
ARGON2_TIME_COST: Final = 3
"""Argon2id iterations (argon2-cffi's RFC 9106 low-memory profile)."""
ARGON2_MEMORY_KIB: Final = 65_536
"""Argon2id memory per hash (KiB)."""
LOGIN_MAX_FAILURES: Final = 5
"""Consecutive failed logins after which an account is locked."""
LOGIN_LOCKOUT_MINUTES: Final = 15.0
"""How long a locked account stays locked (minutes)."""
SESSION_IDLE_MINUTES: Final = 30.0
"""A session with no activity for this long ends (minutes)."""
SESSION_MAX_HOURS: Final = 12.0
"""A session ends this long after login whatever the activity (hours)."""
REASON_MIN_LENGTH: Final = 3
"""Shortest accepted reason or case number in the audit log (characters)."""
REASON_MAX_LENGTH: Final = 500
"""Longest accepted reason (characters)."""
RETENTION_READS_DAYS: Final = 30
"""Default retention of plate reads (days); reads attached to a case or an alert are kept."""
RETENTION_CROPS_DAYS: Final = 30
"""Default retention of crop images (days, at most the reads' period)."""
RETENTION_MAX_DAYS: Final = 3650
"""Longest retention period an administrator may set (days)."""

# --- Plate recognition (recognition) ----------------------------------------------------------
RECOGNITION_EVERY: Final = 1
"""Default frame sampling of a video or stream: recognise every N-th frame (N ≥ 1)."""
RECOGNITION_MIN_CONFIDENCE: Final = 0.2
"""Plate reads whose consensus confidence (0–1) is below this are not saved."""
RECOGNITION_TRACK_GAP_FRAMES: Final = 4
"""A plate track ends when no detection matched it for this many sampled frames."""
RECOGNITION_SETTLED_READS: Final = 4
"""A track with this many agreeing confident reads is settled: later frames only follow its
box (no OCR), which keeps video fast when a plate stays in view."""
RECOGNITION_SETTLED_CONFIDENCE: Final = 0.6
"""Confidence (0–1) each of those agreeing reads needs."""
RECOGNITION_STREAM_TIMEOUT_S: Final = 10.0
"""Open and read timeout of a live stream (RTSP/HTTP): the source fails instead of hanging."""
RECOGNITION_MAX_IMAGE_PIXELS: Final = 40_000_000
"""Images larger than this (pixels) are refused (decompression bombs, memory)."""
RECOGNITION_MAX_FILE_BYTES: Final = 2 * 1024**3
"""Video or image files larger than this (bytes) are refused by the CLI."""
RECOGNITION_MAX_UPLOAD_BYTES: Final = 50 * 1024**2
"""Largest image or video the Recognise page accepts (bytes)."""
RECOGNITION_MAX_UPLOAD_FRAMES: Final = 900
"""Most frames of an uploaded video the Recognise page processes (30 s at 30 fps)."""

REVIEW_MAX_CONFIDENCE: Final = 0.6
"""Reads below this confidence (0–1) wait in the review queue until an operator confirms or
corrects them."""
REVIEW_QUEUE_MAX: Final = 500
"""Most reads the review queue lists at once."""
REVIEW_MAX_NOTE_LENGTH: Final = 500
"""Longest note an operator may add to a review (characters)."""

# --- Hardening: accepted input, login throttling, audit anchor (issue 15) ----------------------
READ_TS_EARLIEST: Final = datetime.fromisoformat(
    os.environ.get("TRACING_READ_TS_EARLIEST", "2000-01-01T00:00:00+00:00")).astimezone(UTC)
"""Reads timed before this instant are rejected at ingest and moved out of an older store
(``TRACING_READ_TS_EARLIEST``, ISO 8601 with offset)."""
READ_TS_MAX_AHEAD: Final = timedelta(
    hours=float(os.environ.get("TRACING_READ_TS_MAX_AHEAD_HOURS", "24")))
"""Reads timed more than this after the clock are rejected at ingest, and moved to
``rejects`` by the retention purge (``TRACING_READ_TS_MAX_AHEAD_HOURS``)."""
READ_TS_MAX_OFFSET: Final = timedelta(hours=14)
"""Largest UTC offset a timestamp may carry (the real ones lie within ±14:00)."""
AUDIT_ANCHOR_DIR: Final = (Path(os.environ["TRACING_AUDIT_ANCHOR_DIR"])
                           if os.environ.get("TRACING_AUDIT_ANCHOR_DIR") else None)
"""Folder of the audit log's append-only anchor files (``<db name>.audit-anchor``); None:
beside the database. Point it at another volume or an append-only (``chattr +a``) folder."""
PASSWORD_MIN_DISTINCT: Final = 5
"""A password needs at least this many different visible characters (no repeated one)."""
COMMON_PASSWORDS_FILE: Final = DATA_DIR / "security" / "common_passwords.txt"
"""Committed list of common passwords the policy refuses (tracing.access.passwords)."""
LOGIN_SOURCE_MAX_FAILURES: Final = 20
"""Failed logins from one source (browser address) within LOGIN_LOCKOUT_MINUTES after which
every login from it is refused, unchecked, until the window has passed."""
LOGIN_AUDIT_EVERY_S: Final = 300.0
"""Failed logins of unknown names and refused (throttled) attempts are written to the audit
log as one aggregated entry per this many seconds (s), not one entry each."""
LOGIN_HASH_SLOTS: Final = 1
"""Password hashes verified at once per process (the rest wait): a login flood uses at
most this many cores and never holds a store transaction."""
LOGIN_THROTTLE_KEYS: Final = 10_000
"""Most names and sources whose failures are remembered in memory (oldest forgotten)."""
INGEST_MAX_LINE_BYTES: Final = 64 * 1024**2
"""Longest line of a reads CSV that is read (bytes); a longer one refuses the file."""
INGEST_MAX_TEXT_CHARS: Final = 1000
"""A read whose text value (plate, ids, class, colour, crop reference, source) is longer
than this is rejected (characters)."""

# --- Vehicle classes on roads (tracing.vehicles, issue 14) -----------------------------------
VEHICLE_SPEED_FACTORS: Final[dict[str, dict[str, float]]] = {
    "motorbike": {"default": 1.0},
    "car": {"default": 1.0},
    "truck": {"default": 0.85, "residential": 0.75, "living_street": 0.75,
              "unclassified": 0.8},
    "bus": {"default": 0.8},
}
"""Factor on an edge's base speed (``speed_kph``: signed maxspeed, else ROAD_SPEEDS_KPH) by
vehicle class and OSM highway class (``"default"``: every other highway class). Assumptions,
not measurements: ROAD_SPEEDS_KPH already describe the motorbike-dominated mixed traffic
that cars share (1.0 for both); trucks accelerate and turn slowly and crawl in small
streets; buses stop at bus stops."""
VEHICLE_MAX_SPEED_KPH: Final[dict[str, float]] = {
    "motorbike": 70.0, "car": 90.0, "truck": 80.0, "bus": 70.0,
}
"""Legal maximum (km/h) of each class off expressways: Circular 38/2024/TT-BGTVT, Art. 7,
divided roads outside residential areas (motorcycles 70; cars and vans up to 28 seats 90;
trucks over 3.5 t 80, the stricter truck row since a plate does not give the weight; buses
70). In residential areas Art. 6 sets 60 (divided or ≥ 2 lanes each way) / 50 km/h for
every motor vehicle; the network has no residential-area flag, and the free-flow speeds of
ROAD_SPEEDS_KPH lie below those anyway. Mopeds (xe gắn máy, ≤ 50 cm³) are limited to
40 km/h (Art. 8) but their plates are not told apart here."""
EXPRESSWAY_MAX_SPEED_KPH: Final = 120.0
"""Legal maximum on expressways (highway=motorway/motorway_link; Circular 38/2024/TT-BGTVT,
Art. 9; signed limits, already in the edge's maxspeed, are often lower). Motorbikes are
not allowed there at all (tracing.vehicles)."""

# --- live feeds (tracing.live, recognition.workers) -------------------------------------------
LIVE_DIR: Final = VAR_DIR / "live"
"""State the live services share without the database: device keys for the receiver,
stream workers' heartbeats, the owner's status."""
LIVE_HOST: Final = "127.0.0.1"
"""Default bind address of the receiver (put a TLS reverse proxy in front to expose it)."""
LIVE_PORT: Final = 8600
"""Default port of the receiver."""
LIVE_MAX_BODY_BYTES: Final = 8 * 1024**2
"""Largest request the receiver reads (a Hikvision ANPR post with two pictures is ~0.5 MB)."""
LIVE_MAX_IMAGE_BYTES: Final = 3 * 1024**2
"""Largest picture an event may carry."""
LIVE_MAX_BATCH_EVENTS: Final = 1000
"""Most events in one generic JSON batch."""
LIVE_COMMIT_MAX_EVENTS: Final = 2000
"""Most events the receiver writes to the spool in one fsync'd file (group commit)."""
LIVE_BACKLOG_MAX_ROWS: Final = 200_000
"""Spool backlog (rows not yet loaded) past which the receiver answers 503."""
LIVE_RETRY_AFTER_S: Final = 5
"""``Retry-After`` of a 503 answer."""
LIVE_KEYS_POLL_S: Final = 1.0
"""How often the receiver looks for changed device keys (a revocation takes effect within)."""
LIVE_HEARTBEAT_S: Final = 10.0
"""How often a stream worker writes each camera's heartbeat."""
LIVE_STREAM_DEAD_S: Final = 60.0
"""A stream without a frame for this long is shown as dead on Coverage & health."""
LIVE_SAMPLE_FPS: Final = 5.0
"""Frames per second a stream worker recognises at most, per camera (the newest frame is
taken; frames in between are read and dropped)."""
LIVE_STREAMS_PER_PROCESS: Final = 4
"""Streams one worker process reads (one thread each; the process recognises their frames
in turn); more cameras get more processes."""
LIVE_BACKOFF_FIRST_S: Final = 1.0
"""First wait before a stream worker reconnects; it doubles on every failure in a row."""
LIVE_BACKOFF_MAX_S: Final = 60.0
"""Longest wait between reconnection attempts."""
LIVE_BACKOFF_HEALTHY_S: Final = 30.0
"""A connection that delivered frames this long resets the wait to LIVE_BACKOFF_FIRST_S."""
LIVE_OWNER_POLL_S: Final = 0.25
"""How often the owner loads the spool and runs the alert engine. Each round is two write
transactions with a fixed cost; fewer, larger rounds leave the connection and the CPU to
the app's queries and the receiver (an alert waits at most this much longer)."""
