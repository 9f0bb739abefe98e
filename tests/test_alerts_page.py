"""AppTest of the Alerts page: the list newest first with filters, an alert's evidence (raw
vs normalised plate, camera, local time, crop), its recent path, acknowledge / dismiss."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page
from tests.test_trace_cli import PLATE, small_registry, trace_reads
from tracing import settings
from tracing.alerts import geofences as gf
from tracing.alerts import list_alerts
from tracing.alerts.records import AlertRow, insert_alerts
from tracing.alerts.watchlist import add_watch
from tracing.store import Store

STOLEN = "51A-999.99"


def _recent_read(camera_id: str) -> pd.DataFrame:
    when = datetime.now(UTC) - timedelta(hours=1)
    return pd.DataFrame({"read_id": ["recent-1"], "plate": ["51A-99999"],
                         "camera_id": [camera_id], "ts": [when.isoformat()],
                         "confidence": [0.71], "crop_ref": ["cam/recent-1.png"]})


def make_store(path: Path) -> Path:
    """Reads of PLATE at three cameras (March 2026) and a recent read of STOLEN; a
    retroactive alert on STOLEN (priority 1), then a geofence-entry alert on PLATE (2)."""
    registry = small_registry()
    with Store(path) as store:
        store.replace_cameras(registry)
        store.ingest(trace_reads())
        lpr = registry[registry["is_lpr"]].sort_values("id")
        store.ingest(_recent_read(str(lpr["id"].iloc[-1])))
        add_watch(store, STOLEN, match_kind="exact", reason="reported stolen", priority=1,
                  who="ana")
        last = trace_reads().iloc[2]
        camera = registry.set_index("id").loc[last["camera_id"]]
        disc = gf.point_fence(float(camera["lon"]), float(camera["lat"]), 500)
        fence = gf.create_fence(store, "Market", disc, who="ana")
        watch, _ = add_watch(store, PLATE, match_kind="fuzzy", reason="suspect", priority=2,
                             who="ana", retro_days=0)
        with store.writer() as con:
            insert_alerts(con, [AlertRow(
                alert_key="test-entry", kind="geofence_entry", read_id=str(last["read_id"]),
                plate=PLATE, geofence_id=fence, watch_id=watch, camera_id=str(last["camera_id"]),
                read_ts=datetime.fromisoformat(str(last["ts"])), plate_raw="51F-I23.45",
                confidence=0.83, crop_ref="../outside.png", priority=2,
                detail="entered Market")], raised_at=datetime.now(UTC) + timedelta(seconds=1))
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_store(tmp_path_factory.mktemp("alerts_page") / "alerts.duckdb")


@pytest.fixture
def crops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "crops"
    (folder / "cam").mkdir(parents=True)
    Image.new("RGB", (60, 20), "white").save(folder / "cam" / "recent-1.png")
    Image.new("RGB", (60, 20), "black").save(tmp_path / "outside.png")
    monkeypatch.setattr(settings, "CROPS_DIR", folder)
    return folder


def alert_ids(db: Path) -> dict[str, int]:
    with Store(db) as store:
        frame = list_alerts(store)
    return dict(zip(frame["kind"], frame["id"].astype(int), strict=True))


def show(at: AppTest, alert_id: int) -> AppTest:
    """Pick an alert as a click on its row does."""
    at.session_state["alert_selected"] = alert_id
    at.run()
    assert not at.exception, at.exception
    return at


def evidence(at: AppTest) -> dict[str, str]:
    table = at.table[0].value
    return dict(zip(table.index, table.iloc[:, 0], strict=True))


def test_list_is_newest_first_with_priorities_and_filters(db: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    at = open_page("app_pages/alerts.py", db, monkeypatch, role="analyst")
    assert not at.error, [e.value for e in at.error]
    listed = at.dataframe[0].value
    assert list(listed["kind"]) == ["geofence entry", "retroactive hit"]
    assert list(listed["priority"]) == ["2 · medium", "1 · high"]
    assert list(listed["read as"]) == ["51F-I23.45", "51A-99999"]
    assert list(listed["fence"]) == ["Market", ""]
    at.multiselect(key="alert_kind").select("retroactive").run()
    assert list(at.dataframe[0].value["plate"]) == [STOLEN]
    at.toggle(key="alert_live").set_value(False).run()
    at.selectbox(key="alert_since").select("last hour").run()
    assert not at.exception
    assert list(at.dataframe[0].value["plate"]) == [STOLEN]


def test_alert_shows_its_evidence_crop_and_camera(db: Path, crops: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    at = show(open_page("app_pages/alerts.py", db, monkeypatch, role="analyst"),
              alert_ids(db)["retroactive"])
    shown = evidence(at)
    assert shown["Plate (normalised)"] == STOLEN and shown["Read as (raw OCR text)"] == "51A-99999"
    assert shown["Confidence"] == "71%"
    read_at = datetime.now(UTC) - timedelta(hours=1)
    assert shown[f"Read at ({settings.LOCAL_TZ})"][:13] == \
        read_at.astimezone(ZoneInfo(settings.LOCAL_TZ)).strftime("%Y-%m-%d %H")
    assert "reported stolen" in shown["Watch entry"]
    assert len(at.get("image")) == 1
    assert any("no path to draw" in c.value for c in at.caption)


def test_entry_alert_draws_the_recent_path_and_no_crop_outside_the_folder(
        db: Path, crops: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = show(open_page("app_pages/alerts.py", db, monkeypatch, role="analyst"),
              alert_ids(db)["geofence_entry"])
    shown = evidence(at)
    assert shown["Fence"] == "Market" and shown["Read as (raw OCR text)"] == "51F-I23.45"
    assert not at.get("image"), "a crop_ref leaving the crops folder must not be shown"
    assert any("No crop image" in i.value for i in at.info)
    assert any("the 3 reads of 51F-123.45" in c.value for c in at.caption), \
        [c.value for c in at.caption]


def test_acknowledge_and_dismiss_with_a_note(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    db = make_store(tmp_path / "decide.duckdb")
    ids = alert_ids(db)
    at = show(open_page("app_pages/alerts.py", db, monkeypatch, role="analyst"),
              ids["retroactive"])
    at.text_input(key=f"alert_note_{ids['retroactive']}").input("patrol sent")
    at.button(key=f"acknowledged_{ids['retroactive']}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("acknowledged" in s.value for s in at.success)
    assert list(at.dataframe[0].value["plate"]) == [PLATE]  # the "new" filter hides it now
    show(at, ids["geofence_entry"])
    at.button(key=f"dismissed_{ids['geofence_entry']}").click().run()
    with Store(db) as store:
        frame = list_alerts(store).set_index("kind")
    assert frame.at["retroactive", "status"] == "acknowledged"
    assert frame.at["retroactive", "note"] == "patrol sent"
    assert frame.at["retroactive", "status_by"] == "test-analyst"
    assert frame.at["geofence_entry", "status"] == "dismissed"
    show(at, ids["retroactive"])
    assert any("Acknowledged** by test-analyst" in i.value for i in at.info)


def test_investigators_see_alerts_but_do_not_decide(db: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    at = show(open_page("app_pages/alerts.py", db, monkeypatch, role="investigator"),
              alert_ids(db)["retroactive"])
    assert {b.label for b in at.button} == {"Confirm plate", "Correct plate"}  # the read only
    assert any("may see alerts but not" in c.value for c in at.caption)
    at = open_page("app_pages/alerts.py", db, monkeypatch, role="supervisor")
    assert any("Not allowed" in e.value for e in at.error)
