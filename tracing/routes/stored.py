"""A stored plate's sightings and its route: the audited start of every trace (the Trace
page, an alert's recent path on the Alerts page, the ``trace`` command on a database)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, TypeAlias

import networkx as nx

from tracing import settings
from tracing.access.actor import Who, record_look
from tracing.plates import normalize_plate
from tracing.routes.evidence import CameraActivity, activity_window, store_activity
from tracing.routes.model import Route, Sighting
from tracing.routes.pathcache import PathCache
from tracing.routes.reconstruct import reconstruct_route
from tracing.routes.sightings import sightings_from_table
from tracing.store import Store
from tracing.vehicles import VehicleClass, class_of_plate

Purpose: TypeAlias = Literal["trace", "alert_path"]
"""Why a plate's reads are looked at: a trace, or an alert's recent path."""

LOOKS: Final[Mapping[Purpose, tuple[str, str]]] = {
    "trace": ("trace", "trace"),
    "alert_path": ("alerts_view", "alert.path"),
}
"""Per purpose: the permission the look needs and its audit action. An alert's recent path
(the reads of the hours before an alerted read) is part of the alert's evidence, which
whoever may see alerts may see."""


@dataclass(frozen=True, eq=False)
class StoredSightings:
    """A plate's (canonical) reads in the store as sightings, their read ids, and which
    cameras were working around them (None when there is no sighting)."""

    plate: str
    sightings: list[Sighting]
    read_ids: tuple[str, ...]
    activity: CameraActivity | None


@dataclass(frozen=True, eq=False)
class TracedRoute:
    """A plate's (canonical) route over its stored reads and their ids; ``route`` is None
    when the period holds too few sightings (then no route was reconstructed)."""

    plate: str
    route: Route | None
    read_ids: tuple[str, ...]


def stored_sightings(store: Store, plate: str, *, who: Who, start: datetime | None = None,
                     end: datetime | None = None, purpose: Purpose = "trace"
                     ) -> StoredSightings:
    """The reads of ``plate`` (any spelling) in [start, end) as sightings. ``who`` needs the
    permission of ``purpose`` (:data:`LOOKS`); the look is audited before a read is read
    (:func:`tracing.access.actor.record_look`)."""
    canonical = normalize_plate(plate)
    permission, action = LOOKS[purpose]
    record_look(store, who, permission, action, {
        "plate": canonical, "start": None if start is None else start.isoformat(),
        "end": None if end is None else end.isoformat()})
    table = store.reads_of_plate(canonical, start=start, end=end)
    sightings = sightings_from_table(table)
    activity = (store_activity(store, *activity_window(s.ts for s in sightings))
                if sightings else None)
    ids = tuple(str(r) for r in table.column("read_id").to_pylist())
    return StoredSightings(canonical, sightings, ids, activity)


def trace_route(store: Store, graph: nx.MultiDiGraph,
                caches: Callable[[VehicleClass], PathCache], plate: str, *, who: Who,
                start: datetime | None = None, end: datetime | None = None,
                k: int = settings.ROUTE_K, min_sightings: int = 1,
                purpose: Purpose = "trace") -> TracedRoute:
    """The route of ``plate``'s reads in [start, end) (:func:`stored_sightings`, checked
    and audited as ``purpose``), up to ``k`` paths per leg, on the path cache
    ``caches`` gives for the plate's vehicle class; no route with fewer than
    ``min_sightings`` sightings."""
    seen = stored_sightings(store, plate, who=who, start=start, end=end, purpose=purpose)
    if not seen.sightings or len(seen.sightings) < min_sightings:
        return TracedRoute(seen.plate, None, seen.read_ids)
    vehicle = class_of_plate(seen.plate)
    route = reconstruct_route(graph, seen.sightings, cache=caches(vehicle), k=k,
                              plate=seen.plate, activity=seen.activity,
                              front_plate=vehicle != "motorbike")
    return TracedRoute(seen.plate, route, seen.read_ids)
