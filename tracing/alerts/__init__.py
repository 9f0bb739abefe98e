"""Geofences, watchlists and real-time alerts.

Public API::

    fence = fence_from_geojson(text)                      # or ward_fence, point_fence, road_fence
    fence_id = create_fence(store, "Depot", fence, who="an")
    ensure_gateway_fences(store, graph, outline, who="system")   # one per road entering the city
    watch_id, retro = add_watch(store, "51A-123.45", match_kind="exact", reason="stolen",
                                priority=1, who="an")     # retro: alerts on past reads
    alerts = list_alerts(store, status="new")              # newest first, with evidence
    set_alert_status(store, alert_id, "acknowledged", who="an", note="patrol sent")
"""

from __future__ import annotations

from tracing.alerts.geofences import (
    Geofence,
    create_fence,
    delete_fence,
    ensure_gateway_fences,
    fence_from_geojson,
    fences_geojson,
    gateway_fences,
    list_fences,
    point_fence,
    road_fence,
    update_fence,
    ward_fence,
)
from tracing.alerts.records import ALERT_KINDS, STATUSES, list_alerts, set_alert_status
from tracing.alerts.watchlist import (
    ImportReport,
    WatchEntry,
    add_watch,
    export_watch_csv,
    import_watch_csv,
    list_watches,
    remove_watch,
)

__all__ = [
    "ALERT_KINDS",
    "STATUSES",
    "Geofence",
    "ImportReport",
    "WatchEntry",
    "add_watch",
    "create_fence",
    "delete_fence",
    "ensure_gateway_fences",
    "export_watch_csv",
    "fence_from_geojson",
    "fences_geojson",
    "gateway_fences",
    "import_watch_csv",
    "list_alerts",
    "list_fences",
    "list_watches",
    "point_fence",
    "remove_watch",
    "road_fence",
    "set_alert_status",
    "update_fence",
    "ward_fence",
]
