"""Boundaries: committed outline and wards, ward lookup, gateway (boundary-crossing) edges."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Polygon, box

from tracing import boundaries, settings


def test_outline_is_one_valid_polygon_around_the_city() -> None:
    outline = boundaries.load_outline()
    assert isinstance(outline, Polygon)
    assert outline.is_valid
    minx, miny, maxx, maxy = outline.bounds
    assert (minx, miny, maxx, maxy) == pytest.approx((106.698, 10.742, 106.882, 10.899), abs=2e-3)


def test_wards_have_clean_names_and_fields() -> None:
    wards = boundaries.load_wards()
    assert len(wards) == 36
    assert wards.crs == settings.WGS84
    assert list(wards.columns) == ["ward", *boundaries.WARD_FIELDS, "geometry"]
    assert wards["ward"].is_unique
    assert {"Thảo Điền", "Linh Chiểu", "Tăng Nhơn Phú A", "Thủ Thiêm"} <= set(wards["ward"])
    assert (wards["ward"].map(boundaries.ascii_fold) == wards["Com_Name"]).all()
    assert wards["Pop_2019"].sum() > 1_000_000
    assert wards.geometry.is_valid.all()


def test_ward_of_known_places() -> None:
    places = gpd.GeoSeries.from_xy(
        [106.7717, 106.8030, 106.7407, 106.6980],
        [10.8506, 10.8663, 10.8027, 10.7725],
        index=["HCMUTE", "Suối Tiên", "Vincom Thảo Điền", "Bến Thành market"],
    )
    got = boundaries.ward_of(places)
    expected = pd.Series(["Linh Chiểu", "Tân Phú", "Thảo Điền", None], index=places.index,
                         name="ward", dtype=object)
    pd.testing.assert_series_equal(got, expected)


def test_ward_of_reprojects_and_finds_every_ward() -> None:
    wards = boundaries.load_wards()
    inner = wards.geometry.representative_point().to_crs(settings.METRIC_CRS)
    assert boundaries.ward_of(inner, wards=wards).tolist() == wards["ward"].tolist()


def test_boundary_crossings_direction() -> None:
    square = box(0.0, 0.0, 10.0, 10.0)
    lines = [
        LineString([(-5, 5), (5, 5)]),  # enters
        LineString([(5, 5), (5, 15)]),  # leaves
        LineString([(2, 2), (8, 8)]),  # inside
        LineString([(-5, -5), (-5, 20)]),  # outside
        LineString([(3, -4), (3, 4), (6, 4), (6, -4)]),  # in and out again
    ]
    index = pd.MultiIndex.from_tuples([(1, 2, 0), (2, 3, 0), (2, 4, 0), (5, 6, 0), (7, 8, 0)],
                                      names=["u", "v", "key"])
    edges = gpd.GeoDataFrame({"name": list("abcde")}, geometry=lines, index=index,
                             crs=settings.WGS84)
    got = boundaries.boundary_crossings(edges, square)
    assert got[["u", "v", "name", "direction"]].values.tolist() == [
        [1, 2, "a", "inbound"],
        [2, 3, "b", "outbound"],
        [7, 8, "e", "inbound"],
        [7, 8, "e", "outbound"],
    ]
    assert got[["crossing_lon", "crossing_lat"]].values.tolist() == [
        [0.0, 5.0], [5.0, 10.0], [3.0, 0.0], [6.0, 0.0]
    ]
    assert got.geometry.iloc[0].equals(lines[0])


def test_boundary_crossings_of_no_edges() -> None:
    edges = gpd.GeoDataFrame({"name": []}, geometry=[], crs=settings.WGS84)
    got = boundaries.boundary_crossings(edges, box(0, 0, 1, 1))
    assert got.empty
    assert "direction" in got.columns


@pytest.mark.shared_data
def test_build_reproduces_the_committed_files(tmp_path: Path) -> None:
    counts = boundaries.build_boundaries(tmp_path)
    assert counts["wards"] == 36
    for committed in (settings.OUTLINE_GEOJSON, settings.WARDS_GEOJSON):
        assert (tmp_path / committed.name).read_bytes() == committed.read_bytes()
