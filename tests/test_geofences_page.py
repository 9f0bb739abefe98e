"""AppTest of the Geofences & watchlists page: fences from GeoJSON and wards, rename,
reshape, delete; watchlist add, remove, CSV import with per-line errors; refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page
from tracing.alerts import geofences as gf
from tracing.alerts import watchlist as wl
from tracing.store import Store

SQUARE = {"type": "Polygon", "coordinates": [[[106.76, 10.84], [106.77, 10.84],
                                               [106.77, 10.85], [106.76, 10.85],
                                               [106.76, 10.84]]]}


def make_store(path: Path) -> Path:
    """A store with the shipped cameras and one custom fence, "Depot"."""
    from tracing import cameras, settings

    with Store(path) as store:
        store.replace_cameras(cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv"))
        gf.create_fence(store, "Depot", gf.fence_from_geojson(SQUARE), who="ana")
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return make_store(tmp_path / "fences.duckdb")


@pytest.fixture
def page(db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return open_page("app_pages/geofences.py", db, monkeypatch, role="analyst")


def fences(db: Path) -> dict[str, gf.Geofence]:
    with Store(db) as store:
        return {f.name: f for f in gf.list_fences(store)}


def audited(db: Path) -> list[str]:
    """Actions of the page's user in the audit log, oldest first."""
    with Store(db) as store, store.reader() as con:
        return [r[0] for r in con.execute(
            "SELECT action FROM audit_log WHERE who = 'test-analyst' ORDER BY id").fetchall()]


def give_reason(at: AppTest) -> None:
    at.text_input(key="fence_reason").input("case 2026-0412").run()


def test_page_lists_fences_and_asks_a_reason_before_changes(page: AppTest, db: Path) -> None:
    assert not page.error, [e.value for e in page.error]
    table = page.dataframe[0].value
    assert list(table["name"]) == ["Depot"] and list(table["created by"]) == ["ana"]
    page.text_input(key="geojson_name").input("Market")
    page.text_area(key="geojson_text").input(json.dumps(SQUARE))
    page.button(key="create_geojson").click().run()
    assert any("reason" in e.value for e in page.error)
    assert set(fences(db)) == {"Depot"}


def test_geojson_and_ward_fences_are_saved_and_audited(page: AppTest, db: Path) -> None:
    give_reason(page)
    shifted = {"type": "Feature", "properties": {}, "geometry": {
        "type": "Polygon", "coordinates": [[[106.78, 10.84], [106.79, 10.84], [106.79, 10.85],
                                             [106.78, 10.84]]]}}
    page.text_input(key="geojson_name").input("Market")
    page.text_area(key="geojson_text").input(json.dumps(shifted))
    page.button(key="create_geojson").click().run()
    assert not page.exception and not page.error, [e.value for e in page.error]
    assert any("Market" in s.value for s in page.success)
    page.multiselect(key="ward_pick").select(page.multiselect(key="ward_pick").options[0]).run()
    page.text_input(key="ward_name").input("One ward")
    page.button(key="create_wards").click().run()
    assert not page.error, [e.value for e in page.error]
    saved = fences(db)
    assert {"Depot", "Market", "One ward"} <= set(saved)
    assert saved["Market"].created_by == "test-analyst" and saved["One ward"].kind == "custom"
    assert audited(db) == ["geofence.create", "geofence.create"]


def test_point_road_and_gateway_fences(page: AppTest, db: Path) -> None:
    give_reason(page)
    page.text_input(key="point_name").input("Around the market")
    page.number_input(key="point_radius").set_value(250.0)
    page.button(key="create_point").click().run()
    assert not page.error, [e.value for e in page.error]
    road = page.selectbox(key="road_pick")
    road.select("Võ Văn Ngân").run()
    page.button(key="create_road").click().run()
    assert not page.error, [e.value for e in page.error]
    page.button(key="create_gateways").click().run()
    assert not page.error, [e.value for e in page.error]
    made = fences(db)
    gateways = [f for f in made.values() if f.kind == "gateway"]
    assert gateways and all(f.name.startswith("Gateway ") for f in gateways)
    assert made["Around the market"].kind == "custom"
    assert made["Võ Văn Ngân"].geometry.area > 0
    page.button(key="create_gateways").click().run()
    assert any("0 gateway fences created" in s.value for s in page.success)
    assert audited(db) == ["geofence.create", "geofence.create", "geofence.gateways",
                           "geofence.gateways"]


def test_bad_geojson_is_refused_in_words_and_loses_nothing(page: AppTest, db: Path) -> None:
    give_reason(page)
    page.text_input(key="geojson_name").input("Line")
    page.text_area(key="geojson_text").input(
        '{"type": "LineString", "coordinates": [[106.76, 10.84], [106.77, 10.85]]}')
    page.button(key="create_geojson").click().run()
    assert not page.exception
    assert any("not a polygon" in e.value for e in page.error), [e.value for e in page.error]
    bow_tie = {"type": "Polygon", "coordinates": [[[106.76, 10.84], [106.77, 10.85],
                                                    [106.77, 10.84], [106.76, 10.85],
                                                    [106.76, 10.84]]]}
    page.text_area(key="geojson_text").input(json.dumps(bow_tie))
    page.button(key="create_geojson").click().run()
    assert any("intersect" in e.value.lower() for e in page.error), [e.value for e in page.error]
    page.text_area(key="geojson_text").input(json.dumps(SQUARE))
    page.text_input(key="geojson_name").input("depot")
    page.button(key="create_geojson").click().run()
    assert any("already exists" in e.value for e in page.error)
    assert page.text_area(key="geojson_text").value == json.dumps(SQUARE)
    assert set(fences(db)) == {"Depot"}


def test_rename_reshape_and_delete_a_fence(page: AppTest, db: Path) -> None:
    give_reason(page)
    depot = fences(db)["Depot"]
    page.text_input(key=f"rename_{depot.id}").input("Depot North")
    page.button(key="rename").click().run()
    assert not page.error, [e.value for e in page.error]
    assert fences(db)["Depot North"].updated_by == "test-analyst"
    bigger = {"type": "Polygon", "coordinates": [[[106.76, 10.84], [106.78, 10.84],
                                                   [106.78, 10.86], [106.76, 10.86],
                                                   [106.76, 10.84]]]}
    page.text_area(key=f"reshape_{depot.id}").input(json.dumps(bigger))
    page.button(key="reshape").click().run()
    assert not page.error, [e.value for e in page.error]
    assert fences(db)["Depot North"].geometry.bounds == (106.76, 10.84, 106.78, 10.86)
    assert page.button(key="delete_fence").disabled
    page.checkbox(key=f"confirm_{depot.id}").check().run()
    page.button(key="delete_fence").click().run()
    assert not page.error, [e.value for e in page.error]
    assert fences(db) == {}
    assert any("No fences yet" in i.value for i in page.info)


def test_edit_on_map_puts_the_fence_on_the_draw_layer(page: AppTest, db: Path) -> None:
    page.button(key="edit_on_map").click().run()
    assert not page.exception
    assert any("Editing the shape of" in m.value for m in page.markdown)
    page.button(key="stop_editing").click().run()
    assert not any("Editing the shape of" in m.value for m in page.markdown)


def watch_part(at: AppTest) -> None:
    at.segmented_control(key="fences_part").set_value("Watchlist").run()
    assert not at.exception, at.exception


def test_watchlist_add_and_remove_are_audited(page: AppTest, db: Path) -> None:
    give_reason(page)
    watch_part(page)
    page.text_input(key="watch_pattern").input("51A-123.45")
    page.text_input(key="watch_reason").input("reported stolen")
    page.button(key="watch_add").click().run()
    assert not page.error, [e.value for e in page.error]
    with Store(db) as store:
        entries = wl.list_watches(store)
    assert [(e.pattern, e.created_by) for e in entries] == [("51A-123.45", "test-analyst")]
    assert list(page.dataframe[0].value["pattern"]) == ["51A-123.45"]
    page.selectbox(key="remove_pick").select(entries[0]).run()
    page.button(key="remove_watch").click().run()
    assert not page.error, [e.value for e in page.error]
    with Store(db) as store:
        assert wl.list_watches(store) == []
    assert audited(db) == ["watchlist.add", "watchlist.remove"]


def test_bad_watch_entry_is_refused_in_words(page: AppTest, db: Path) -> None:
    give_reason(page)
    watch_part(page)
    page.text_input(key="watch_pattern").input("51A-12*")
    page.text_input(key="watch_reason").input("a wildcard given as exact")
    page.button(key="watch_add").click().run()
    assert not page.exception
    assert page.error, "an exact pattern with a wildcard must be refused"
    assert page.text_input(key="watch_pattern").value == "51A-12*"
    with Store(db) as store:
        assert wl.list_watches(store) == []


def test_csv_import_reports_each_refused_line(page: AppTest, db: Path) -> None:
    give_reason(page)
    watch_part(page)
    text = ("pattern,match_kind,reason,priority\n"
            "51A-123.45,exact,stolen,1\n"
            "not a plate,exact,typo,1\n"
            "51F-*,wildcard,fleet,9\n"
            "59-X1 123.45,fuzzy,suspect,2\n")
    page.file_uploader(key="watch_csv").set_value(("watch.csv", text.encode(), "text/csv")).run()
    page.button(key="watch_import").click().run()
    assert not page.exception, page.exception
    assert any("2 watch entries imported" in s.value for s in page.success)
    refused = [w.value for w in page.warning]
    assert len(refused) == 2 and refused[0].startswith("line 3") and "line 4" in refused[1]
    with Store(db) as store:
        assert sorted(e.pattern for e in wl.list_watches(store)) == ["51A-123.45",
                                                                     "59-X1 123.45"]


def test_investigators_may_not_manage_fences(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("app_pages/geofences.py", db, monkeypatch, role="investigator")
    assert any("Not allowed" in e.value for e in at.error)
    assert not at.dataframe
