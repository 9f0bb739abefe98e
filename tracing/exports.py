"""Every file a user downloads: checked, audited, and only then made.

Each function takes ``who`` (an :class:`~tracing.access.actor.Actor`, or a system process's
name), checks the role's permission, commits the export's audit entry and returns the
file's bytes (:func:`tracing.access.actor.exported`): a refusal or a failed audit write
means no file. The app hands them to ``st.download_button`` as a callable, so they run when
the button is clicked: one entry per download. CSV text always comes from
:mod:`tracing.safecsv`.

============== ================ ==================== ========================
file           permission       audit action         formats
============== ================ ==================== ========================
reads          ``export``       ``export``           csv, geojson
route          ``export``       ``export``           geojson, kml, csv
audit log      ``audit``        ``audit.export``     csv
watchlist      ``watchlists``   ``watchlist.export`` csv
============== ================ ==================== ========================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeAlias

import pandas as pd

from tracing.access import audit
from tracing.access.actor import Who, exported
from tracing.alerts.watchlist import export_watch_csv
from tracing.routes import Route, route_csv, route_geojson, route_kml
from tracing.search.export import reads_csv, reads_geojson
from tracing.store import Store

ReadsFormat: TypeAlias = Literal["csv", "geojson"]
RouteFormat: TypeAlias = Literal["geojson", "kml", "csv"]


def _render(renders: Mapping[str, Callable[[], str]], fmt: str) -> Callable[[], str]:
    if fmt not in renders:
        raise ValueError(f"unknown export format {fmt!r}; formats: {', '.join(renders)}")
    return renders[fmt]


def reads_file(store: Store, reads: pd.DataFrame, *, who: Who, plate: str,
               fmt: ReadsFormat) -> bytes:
    """A vehicle's reads (as found by a search) as CSV or GeoJSON."""
    render = _render({"csv": lambda: reads_csv(reads), "geojson": lambda: reads_geojson(reads)},
                     fmt)
    return exported(store, who, "export", "export", {
        "what": "reads", "plate": plate, "reads": len(reads), "format": fmt}, render)


def route_file(store: Store, route: Route, *, who: Who, fmt: RouteFormat,
               positions: dict[str, tuple[float, float]] | None = None) -> bytes:
    """A traced route as GeoJSON (with the prisms), KML (sightings at ``positions``) or CSV."""
    render = _render({"geojson": lambda: route_geojson(route, prisms=True),
                      "kml": lambda: route_kml(route, positions=positions),
                      "csv": lambda: route_csv(route)}, fmt)
    return exported(store, who, "export", "export", {
        "what": "route", "plate": route.plate, "format": fmt}, render)


def audit_file(store: Store, filters: Mapping[str, Any], *, who: Who) -> bytes:
    """The audit log entries :func:`tracing.access.audit.entries` finds with ``filters``
    (its keyword arguments), as CSV."""
    return exported(store, who, "audit", "audit.export",
                    {k: str(v) for k, v in filters.items() if v},
                    lambda: audit.entries_csv(audit.entries(store, **filters)))


def watchlist_file(store: Store, *, who: Who, include_expired: bool = False) -> bytes:
    """The watchlist as CSV (importable again)."""
    return exported(store, who, "watchlists", "watchlist.export",
                    {"include_expired": include_expired},
                    lambda: export_watch_csv(store, include_expired=include_expired))
