"""Geofences: GeoJSON checks (bad shapes refused, saying why), builders, the store CRUD and
gateway fences on a hand-built road graph."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon

from tests.alerts_support import box, gateway_graph, new_store
from tracing import settings
from tracing.alerts import (
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
from tracing.errors import GeofenceError


def _geojson(geometry: shapely.Geometry) -> str:
    return shapely.to_geojson(geometry)


def test_polygon_feature_and_collection_are_accepted() -> None:
    a, b = box(106.76), box(106.80)
    assert fence_from_geojson(_geojson(a)).equals(a)
    feature = {"type": "Feature", "properties": {}, "geometry": json.loads(_geojson(a))}
    assert fence_from_geojson(feature).equals(a)
    collection = {"type": "FeatureCollection", "features": [
        feature, {"type": "Feature", "geometry": json.loads(_geojson(b))}]}
    both = fence_from_geojson(json.dumps(collection))
    assert isinstance(both, MultiPolygon) and both.area == pytest.approx(a.area + b.area)


@pytest.mark.parametrize(("text", "message"), [
    ('{"type": "Point", "coordinates": [106.77, 10.85]}', "Point is not a polygon"),
    ('{"type": "Feature", "geometry": {"type": "LineString", "coordinates": '
     '[[106.77, 10.85], [106.78, 10.86]]}}', "LineString is not a polygon"),
    ('{"type": "FeatureCollection", "features": []}', "holds no features"),
    ('{"type": "Polygon", "coordinates": []}', "empty"),
    ('{"type": "Polygon", "coordinates": [[[106.77, 10.85], [106.78, 10.85], [106.77, 10.85], '
     '[106.77, 10.85]]]}', "too few points"),
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be an object"),
    ('{"coordinates": []}', "not GeoJSON"),
])
def test_non_polygon_and_empty_geojson_are_refused(text: str, message: str) -> None:
    with pytest.raises(GeofenceError, match=message):
        fence_from_geojson(text)


def test_self_intersection_is_refused_with_its_position_not_repaired() -> None:
    bowtie = Polygon([(106.76, 10.84), (106.78, 10.86), (106.78, 10.84), (106.76, 10.86)])
    with pytest.raises(GeofenceError,
                       match=r"self-intersection at lon 106\.770000, lat 10\.850000"):
        fence_from_geojson(_geojson(bowtie))


def test_fences_outside_the_area_are_refused() -> None:
    hanoi = box(105.85, 21.03)
    with pytest.raises(GeofenceError, match="lies outside the Thủ Đức area"):
        fence_from_geojson(_geojson(hanoi))
    huge = box(106.77, 10.85, half=0.2)
    with pytest.raises(GeofenceError, match="reaches outside"):
        fence_from_geojson(_geojson(huge))
    swapped = box(10.85, 106.77)
    with pytest.raises(GeofenceError, match="not lon/lat"):
        fence_from_geojson(_geojson(swapped))


def test_point_ward_and_road_fences() -> None:
    disc = point_fence(106.77, 10.85, 500)
    assert disc.contains(shapely.Point(106.77, 10.85))
    assert not disc.contains(shapely.Point(106.777, 10.85))  # ~760 m east
    with pytest.raises(GeofenceError, match="radius"):
        point_fence(106.77, 10.85, 0)
    wards = gpd.GeoDataFrame({"ward": ["W1", "W2"]}, geometry=[box(106.76), box(106.77)],
                             crs=settings.WGS84)
    assert ward_fence(wards, ["W1", "W2"]).area == pytest.approx(2 * box(106.76).area)
    with pytest.raises(GeofenceError, match="unknown wards: Nowhere"):
        ward_fence(wards, ["W1", "Nowhere"])
    edges = gpd.GeoDataFrame(
        {"name": ["Xa Lộ Hà Nội", ["Võ Văn Ngân", "Other"]]},
        geometry=[LineString([(106.76, 10.85), (106.78, 10.85)]),
                  LineString([(106.76, 10.86), (106.78, 10.86)])], crs=settings.WGS84)
    road = road_fence(edges, "xa lo ha noi", 50)
    assert road.contains(shapely.Point(106.77, 10.8503))
    assert not road.contains(shapely.Point(106.77, 10.86))
    assert road_fence(edges, "Võ Văn Ngân", 50).contains(shapely.Point(106.77, 10.86))
    with pytest.raises(GeofenceError, match="no road named 'Nowhere'"):
        road_fence(edges, "Nowhere", 50)


def test_create_update_delete_and_list(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    first = create_fence(store, "  Depot   north ", box(106.76), who="an")
    second = create_fence(store, "Market", box(106.78), who="binh")
    fences = list_fences(store)
    assert [(f.id, f.name, f.kind, f.created_by) for f in fences] == [
        (first, "Depot north", "custom", "an"), (second, "Market", "custom", "binh")]
    with pytest.raises(GeofenceError, match="already exists"):
        create_fence(store, "depot NORTH", box(106.77), who="an")
    update_fence(store, first, who="chi", name="Depot", geometry=box(106.765))
    depot = next(f for f in list_fences(store) if f.id == first)
    assert depot.name == "Depot" and depot.geometry.equals(box(106.765))
    assert depot.updated_by == "chi" and depot.updated_at >= depot.created_at
    with pytest.raises(GeofenceError, match="already exists"):
        update_fence(store, second, who="chi", name="Depot")
    delete_fence(store, second, who="chi")
    assert [f.id for f in list_fences(store)] == [first]
    with pytest.raises(GeofenceError, match="no fence with id"):
        delete_fence(store, second, who="chi")
    with pytest.raises(GeofenceError, match="user name"):
        create_fence(store, "X", box(106.77), who=" ")
    with pytest.raises(GeofenceError, match="not a valid polygon"):
        update_fence(store, first, who="chi", geometry=Polygon(
            [(106.76, 10.84), (106.78, 10.86), (106.78, 10.84), (106.76, 10.86)]))
    assert next(f for f in list_fences(store) if f.id == first).geometry.equals(box(106.765))


def test_geojson_export_reloads(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    create_fence(store, "Depot", box(106.76), who="an")
    data = json.loads(fences_geojson(list_fences(store)))
    assert data["features"][0]["properties"]["name"] == "Depot"
    assert fence_from_geojson(data).equals(box(106.76))


def test_gateway_fences_one_per_entering_road(tmp_path: Path) -> None:
    graph, outline = gateway_graph()
    fences = gateway_fences(graph, outline, radius_m=300)
    assert [name for name, _ in fences] == ["Gateway Main (east)", "Gateway Main (west)"]
    west = dict(fences)["Gateway Main (west)"]
    assert west.contains(shapely.Point(106.76, 10.8502))  # both carriageways, one fence
    store = new_store(tmp_path / "s.duckdb")
    assert ensure_gateway_fences(store, graph, outline, who="system", radius_m=300) == 2
    assert ensure_gateway_fences(store, graph, outline, who="system", radius_m=300) == 0
    assert {f.kind for f in list_fences(store)} == {"gateway"}
    minor = gateway_fences(graph, outline, radius_m=300, classes={"residential"})
    assert [name for name, _ in minor] == ["Gateway Lane (south)"]
