"""Geofences: named polygons persisted in the store with who made or changed them and when.

Ways to make one (all checked by :func:`tracing.alerts.shapes.check_fence`): drawn or
uploaded GeoJSON (:func:`fence_from_geojson`), wards (:func:`ward_fence`), a disc around a
point (:func:`point_fence`), a buffer around a road (:func:`road_fence`), and one per road
entering the city (:func:`gateway_fences`, stored by :func:`ensure_gateway_fences`).

Deleting a fence marks it deleted (who, when): alerts raised on it keep naming it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

import networkx as nx
import shapely

from tracing.access.actor import Who, name_of, permit, record_change
from tracing.alerts.common import check_who, fetch, optional, records, to_datetime, utc_now
from tracing.alerts.shapes import (
    FenceGeometry,
    check_fence,
    city_area,
    fence_from_geojson,
    gateway_fences,
    point_fence,
    road_fence,
    ward_fence,
)
from tracing.errors import GeofenceError
from tracing.store import Store

__all__ = [
    "FenceGeometry",
    "FenceKind",
    "Geofence",
    "check_fence",
    "city_area",
    "create_fence",
    "delete_fence",
    "ensure_gateway_fences",
    "fence_from_geojson",
    "fences_geojson",
    "gateway_fences",
    "list_fences",
    "point_fence",
    "road_fence",
    "update_fence",
    "ward_fence",
]

FenceKind = Literal["gateway", "custom"]
KINDS: Final = ("gateway", "custom")
MAX_NAME_LENGTH: Final = 120


@dataclass(frozen=True, slots=True)
class Geofence:
    """A stored fence; ``geometry`` is a Polygon or MultiPolygon in EPSG:4326."""

    id: int
    name: str
    kind: FenceKind
    geometry: FenceGeometry
    created_by: str
    created_at: datetime
    updated_at: datetime
    updated_by: str | None = None


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise GeofenceError(f"a fence needs a name, not {name!r}")
    text = " ".join(name.split())
    if len(text) > MAX_NAME_LENGTH:
        raise GeofenceError(f"fence name {text[:30]!r}… is longer than {MAX_NAME_LENGTH} "
                            "characters")
    return text


def _name_taken(store_con: Any, name: str, *, other_than: int | None = None) -> bool:
    row = store_con.execute(
        "SELECT count(*) FROM geofences WHERE deleted_at IS NULL AND lower(name) = lower(?) "
        "AND id IS DISTINCT FROM ?", [name, other_than]).fetchone()
    return bool(row and row[0])


def create_fence(store: Store, name: str, geometry: FenceGeometry, *, who: Who,
                 kind: FenceKind = "custom") -> int:
    """Store a new fence (the name must be unused among live fences); its id. ``who``: an
    :class:`~tracing.access.actor.Actor` (checked and audited) or a system name."""
    fence = check_fence(geometry)
    text, user = _check_name(name), check_who(name_of(who), GeofenceError)
    if kind not in KINDS:
        raise GeofenceError(f"fence kind {kind!r} must be one of {', '.join(KINDS)}")
    permit(store, who, "geofences", "geofence.create", {"name": text})
    now = utc_now()
    with store.writer() as con:
        if _name_taken(con, text):
            raise GeofenceError(f"a fence named {text!r} already exists; pick another name")
        row = con.execute(
            "INSERT INTO geofences (name, kind, geojson, created_by, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            [text, kind, shapely.to_geojson(fence), user, now, now]).fetchone()
        assert row is not None
        record_change(con, who, "geofence.create",
                      {"fence": int(row[0]), "name": text, "kind": kind})
    return int(row[0])


def _live(con: Any, fence_id: int) -> None:
    row = con.execute("SELECT count(*) FROM geofences WHERE id = ? AND deleted_at IS NULL",
                      [int(fence_id)]).fetchone()
    if not row or not row[0]:
        raise GeofenceError(f"no fence with id {fence_id!r}")


def update_fence(store: Store, fence_id: int, *, who: Who, name: str | None = None,
                 geometry: FenceGeometry | None = None) -> None:
    """Rename a fence and/or replace its shape (checked like a new one)."""
    user = check_who(name_of(who), GeofenceError)
    text = None if name is None else _check_name(name)
    shape_json = None if geometry is None else shapely.to_geojson(check_fence(geometry))
    what = {"fence": int(fence_id), "name": text, "shape": shape_json is not None}
    permit(store, who, "geofences", "geofence.update", what)
    with store.writer() as con:
        _live(con, fence_id)
        if text is not None and _name_taken(con, text, other_than=int(fence_id)):
            raise GeofenceError(f"a fence named {text!r} already exists; pick another name")
        con.execute(
            "UPDATE geofences SET name = coalesce(?, name), geojson = coalesce(?, geojson), "
            "updated_at = ?, updated_by = ? WHERE id = ?",
            [text, shape_json, utc_now(), user, int(fence_id)])
        record_change(con, who, "geofence.update", what)


def delete_fence(store: Store, fence_id: int, *, who: Who) -> None:
    """Mark a fence deleted (who, when); alerts raised on it keep its name."""
    user = check_who(name_of(who), GeofenceError)
    permit(store, who, "geofences", "geofence.delete", {"fence": int(fence_id)})
    with store.writer() as con:
        _live(con, fence_id)
        con.execute("UPDATE geofences SET deleted_at = ?, deleted_by = ? WHERE id = ?",
                    [utc_now(), user, int(fence_id)])
        record_change(con, who, "geofence.delete", {"fence": int(fence_id)})


def list_fences(store: Store) -> list[Geofence]:
    """Live fences, gateways first, then by name."""
    with store.reader() as con:
        frame = fetch(con, "SELECT id, name, kind, geojson, created_by, created_at, "
                           "updated_at, updated_by FROM geofences WHERE deleted_at IS NULL "
                           "ORDER BY kind, name, id")
    fences = []
    for row in records(frame):
        created, updated = to_datetime(row["created_at"]), to_datetime(row["updated_at"])
        assert created is not None and updated is not None
        geometry = shapely.from_geojson(str(row["geojson"]))
        assert isinstance(geometry, shapely.Polygon | shapely.MultiPolygon)
        by = optional(row["updated_by"])
        fences.append(Geofence(int(row["id"]), str(row["name"]), row["kind"], geometry,
                               str(row["created_by"]), created, updated,
                               None if by is None else str(by)))
    return fences


def ensure_gateway_fences(store: Store, graph: nx.MultiDiGraph, outline: FenceGeometry, *,
                          who: Who, radius_m: float | None = None) -> int:
    """Create the gateway fences that are missing (by name); how many were created.
    Running it again creates nothing."""
    user = check_who(name_of(who), GeofenceError)
    permit(store, who, "geofences", "geofence.gateways", {})
    wanted = (gateway_fences(graph, outline) if radius_m is None
              else gateway_fences(graph, outline, radius_m=radius_m))
    now = utc_now()
    created = 0
    with store.writer() as con:
        for name, geometry in wanted:
            if _name_taken(con, name):
                continue
            con.execute(
                "INSERT INTO geofences (name, kind, geojson, created_by, created_at, updated_at)"
                " VALUES (?, 'gateway', ?, ?, ?, ?)",
                [name, shapely.to_geojson(check_fence(geometry)), user, now, now])
            created += 1
        record_change(con, who, "geofence.gateways", {"created": created})
    return created


def fences_geojson(fences: Sequence[Geofence]) -> str:
    """A FeatureCollection of fences (properties id, name, kind, who and when, ISO 8601)."""
    features = [{
        "type": "Feature",
        "geometry": json.loads(shapely.to_geojson(f.geometry)),
        "properties": {"id": f.id, "name": f.name, "kind": f.kind, "created_by": f.created_by,
                       "created_at": f.created_at.isoformat(),
                       "updated_at": f.updated_at.isoformat(), "updated_by": f.updated_by},
    } for f in fences]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
