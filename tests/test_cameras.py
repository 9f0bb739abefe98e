"""Camera registry: validation, import/export, snapping to the watched directed edge."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString

from tracing import cameras, settings
from tracing.errors import RegistryError

SHIPPED = settings.CAMERAS_DIR / "thuduc_cameras.csv"
# A point on Võ Văn Ngân, inside Thủ Đức.
LON, LAT = 106.7700, 10.8500


def _write(tmp_path: Path, text: str, name: str = "reg.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _two_way_road() -> gpd.GeoDataFrame:
    """An east-west two-way street (1 → 2 eastbound, 2 → 1 westbound) and a side street."""
    east = LineString([(LON - 0.002, LAT), (LON + 0.002, LAT)])
    side = LineString([(LON, LAT + 0.0003), (LON, LAT + 0.003)])
    return gpd.GeoDataFrame(
        {"name": ["Võ Văn Ngân", "Võ Văn Ngân", "Đường số 9"],
         "highway": ["primary", "primary", "residential"]},
        geometry=[east, LineString(east.coords[::-1]), side],
        index=pd.MultiIndex.from_tuples([(1, 2, 0), (2, 1, 0), (3, 4, 0)],
                                        names=["u", "v", "key"]),
        crs=settings.WGS84,
    )


def _registry(**columns: list[object]) -> gpd.GeoDataFrame:
    base: dict[str, list[object]] = {"id": ["c1"], "lon": [LON], "lat": [LAT + 0.0001]}
    return cameras.validate_registry(pd.DataFrame(base | columns))


def test_heading_picks_the_direction_of_travel() -> None:
    edges = _two_way_road()
    west = cameras.snap_cameras(_registry(heading=[268.0], name=["Võ Văn Ngân - Số 9"]), edges)
    east = cameras.snap_cameras(_registry(heading=[85.0], name=["Võ Văn Ngân - Số 9"]), edges)
    assert (west.edge_u[0], west.edge_v[0]) == (2, 1)
    assert (east.edge_u[0], east.edge_v[0]) == (1, 2)
    assert east.road[0] == "Võ Văn Ngân"
    assert east.snap_distance_m[0] == pytest.approx(11.0, abs=1.5)


def test_the_road_named_first_wins_between_equally_near_roads() -> None:
    between = LAT + 0.00015  # 16.6 m from the main road and from the side street's end
    side_first = _registry(lat=[between], name=["Đường số 9 - Võ Văn Ngân"])
    main_first = _registry(lat=[between], name=["Võ Văn Ngân - Đường số 9"])
    assert cameras.snap_cameras(side_first, _two_way_road()).road[0] == "Đường số 9"
    assert cameras.snap_cameras(main_first, _two_way_road()).road[0] == "Võ Văn Ngân"


def test_without_heading_the_edge_bearing_becomes_the_assumed_heading() -> None:
    snapped = cameras.snap_cameras(_registry(), _two_way_road())
    assert not snapped.heading_known[0]
    assert snapped.heading[0] in {90.0, 270.0}


def test_camera_far_from_any_road_keeps_no_edge() -> None:
    far = _registry(lat=[LAT + 0.01])
    snapped = cameras.snap_cameras(far, _two_way_road())
    assert pd.isna(snapped.edge_u[0])


def test_lpr_rule_uses_the_watched_road_class() -> None:
    edges = _two_way_road()
    on_main = cameras.mark_lpr(cameras.snap_cameras(_registry(), edges), edges)
    assert bool(on_main.is_lpr[0])
    side = _registry(lon=[LON + 0.00005], lat=[LAT + 0.002], name=["Đường số 9"])
    assert not bool(cameras.mark_lpr(cameras.snap_cameras(side, edges), edges).is_lpr[0])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,lon,lat,colour\nc1,106.77,10.85,red\n", "unknown columns ['colour']"),
        ("id,lon\nc1,106.77\n", "missing columns ['lat']"),
        ("id,lon,lat\nc1,105.0,10.85\n", "outside the area"),
        ("id,lon,lat\nc1,106.77,10.85\nc1,106.78,10.86\n", "duplicate id"),
        ("id,lon,lat\nc1,east,10.85\n", "not numbers"),
        ("id,lon,lat,heading\nc1,106.77,10.85,400\n", "heading"),
        ("id,lon,lat,status\nc1,106.77,10.85,broken\n", "status 'broken'"),
        ("id,lon,lat,is_lpr\nc1,106.77,10.85,maybe\n", "is_lpr 'maybe'"),
        ("id,lon,lat\n", "no cameras"),
        ("id,lon,lat,edge_u\nc1,106.77,10.85,abc\n", "edge_u 'abc' is not a whole number"),
        ("id,lon,lat,edge_u\nc1,106.77,10.85,1.5\n", "edge_u 1.5 is not a whole number"),
        ("id,lon,lat,snap_distance_m\nc1,106.77,10.85,far\n", "snap_distance_m 'far'"),
        ("id,lon,lat,heading_known\nc1,106.77,10.85,perhaps\n", "heading_known 'perhaps'"),
        ("", "cannot be parsed"),
    ],
)
def test_bad_registries_get_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(RegistryError, match=message.replace("[", r"\[").replace("]", r"\]")):
        cameras.read_registry(_write(tmp_path, text))


def test_every_bad_row_is_listed_at_once(tmp_path: Path) -> None:
    text = "id,lon,lat\na,105.0,10.85\nb,106.77,10.85\nb,106.77,10.85\n"
    with pytest.raises(RegistryError, match="3 bad row") as caught:
        cameras.read_registry(_write(tmp_path, text))
    assert "row 1 (id 'a')" in str(caught.value) and "row 3 (id 'b')" in str(caught.value)


def test_non_utf8_and_wrong_suffix(tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,lon,lat,name\nc1,106.77,10.85,Thủ Đức\n".encode("cp1258", "replace")
                      .replace(b"?", b"\xfe"))
    with pytest.raises(RegistryError, match="not UTF-8"):
        cameras.read_registry(latin)
    with pytest.raises(RegistryError, match=r"\.csv or \.geojson"):
        cameras.read_registry(_write(tmp_path, "x", "reg.xlsx"))


def test_geojson_must_hold_points(tmp_path: Path) -> None:
    line = ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"a"},'
            '"geometry":{"type":"LineString","coordinates":[[106.77,10.85],[106.78,10.86]]}}]}')
    with pytest.raises(RegistryError, match="must be a Point"):
        cameras.read_registry(_write(tmp_path, line, "reg.geojson"))
    with pytest.raises(RegistryError, match="cannot be parsed"):
        cameras.read_registry(_write(tmp_path, "{not json", "reg.geojson"))


@pytest.mark.parametrize("text", [
    '{"type":"FeatureCollection","features":[1]}',
    '{"type":"FeatureCollection","features":{"a":1}}',
    '{"type":"FeatureCollection","features":[{"geometry":{"type":"Point"}}]}',
    '{"type":"FeatureCollection","features":[{"geometry":{"type":"Point","coordinates":[1]}}]}',
    '{"type":"FeatureCollection","features":[{"properties":[1],'
    '"geometry":{"type":"Point","coordinates":[106.77,10.85]}}]}',
    "[" * 100_000,
])
def test_malformed_geojson_gets_a_registry_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(RegistryError):
        cameras.read_registry(_write(tmp_path, text, "reg.geojson"))


@pytest.mark.parametrize("suffix", [".csv", ".geojson"])
def test_export_and_import_round_trip(tmp_path: Path, suffix: str) -> None:
    shipped = cameras.read_registry(SHIPPED)
    path = cameras.write_registry(shipped, tmp_path / f"out{suffix}")
    again = cameras.read_registry(path)
    columns = list(cameras.REGISTRY_COLUMNS)
    pd.testing.assert_frame_equal(pd.DataFrame(again[columns]), pd.DataFrame(shipped[columns]),
                                  check_dtype=False)
    assert cameras.cameras_of(again) == cameras.cameras_of(shipped)


def test_shipped_registry_is_the_real_thu_duc_cameras() -> None:
    registry = cameras.read_registry(SHIPPED)
    assert len(registry) == 108
    assert registry["id"].is_unique
    assert 50 <= int(registry["is_lpr"].sum()) < 108
    assert registry["edge_u"].notna().sum() >= 105
    assert registry["snap_distance_m"].max() <= settings.SNAP_RADIUS_M
    assert int(registry["heading_known"].sum()) == 59


@pytest.mark.shared_data
def test_shipped_registry_matches_a_rebuild_from_the_portal_list() -> None:
    import osmnx as ox

    from tracing.network import load_network

    edges = ox.graph_to_gdfs(load_network(), nodes=False)
    rebuilt = cameras.import_portal_cameras(settings.PORTAL_CAMERAS_CSV, edges)
    shipped = cameras.read_registry(SHIPPED)
    assert cameras.cameras_of(rebuilt.reset_index(drop=True)) == cameras.cameras_of(shipped)
