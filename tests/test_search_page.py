"""AppTest of the Find a vehicle page on a small store with the shipped registry."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page
from tracing import cameras, settings
from tracing.access import audit
from tracing.reads import PlateRead
from tracing.store import Store

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


@pytest.fixture(scope="session")
def search_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Registry plus a few reads: a target, a misread, a convoy partner, a cloned plate."""
    from tracing.store import Store

    path = tmp_path_factory.mktemp("search_page") / "search.duckdb"
    registry = cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv")
    lpr = registry[registry["is_lpr"]].sort_values("lon")
    west, mid, east = (str(lpr["id"].iloc[i]) for i in (0, len(lpr) // 2, -1))
    reads = [("51A-123.45", west, 0), ("51A-123.45", mid, 1800), ("51A-723.45", east, 3600),
             ("51A-128.45", west, 10), ("51A-128.45", mid, 1810),
             ("60A-111.11", west, 0), ("60A-111.11", east, 30)]
    with Store(path) as store:
        store.replace_cameras(registry)
        store.ingest_reads([PlateRead(f"p{i}", cam, T0 + timedelta(seconds=dt), plate, 0.9,
                                      "car", "white", f"crop/{i}.jpg")
                            for i, (plate, cam, dt) in enumerate(reads)])
    return path


@pytest.fixture
def page(search_db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    at = open_page("app_pages/search.py", search_db, monkeypatch)
    return at.text_input(key="search_reason").input("case 2026-17").run()


def test_a_search_needs_a_reason_and_is_audited(search_db: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("app_pages/search.py", search_db, monkeypatch, role="investigator")
    at.text_input[1].input("51A-123.45").run()
    assert any("reason" in i.value for i in at.info) and not at.dataframe
    at.text_input(key="search_reason").input("case 2026-17").run()
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["plate"])[:1] == ["51A-123.45"]
    at.run()  # a rerun (any click) asks for the same looks again: no new entry
    assert not at.exception, at.exception
    with Store(search_db) as store:
        logged = audit.entries(store, who="test-investigator", plate="51A-123.45")
    assert {"search", "search.vehicle"} <= set(logged["action"])
    assert not logged.duplicated(["action", "params"]).any()
    assert set(logged["reason"]) == {"case 2026-17"}


def test_empty_page_explains(page: AppTest) -> None:
    assert page.title[0].value == "Find a vehicle"
    assert any("wildcards" in i.value for i in page.info)


def test_search_selects_a_vehicle_with_panels(page: AppTest) -> None:
    page.text_input[1].input("51a12345").run()
    assert not page.exception, page.exception
    results = page.dataframe[0].value
    assert list(results["plate"])[:1] == ["51A-123.45"]
    assert "51A-723.45" in set(results["plate"])
    assert page.selectbox[0].value == "51A-123.45"
    assert page.get("download_button")
    labels = [t.label for t in page.tabs]
    assert labels[:3] == ["Linked misreads", "Impossible travel", "Convoy"]
    assert any(df.value is not None and "51A-128.45" in set(df.value.get("plate", []))
               for df in page.dataframe)


def test_clone_panel_warns(page: AppTest) -> None:
    page.text_input[1].input("60A-111.11").run()
    assert not page.exception, page.exception
    assert any("impossible pair" in w.value for w in page.warning)


@pytest.mark.parametrize("text", ["***", "'; DROP TABLE reads; --", "x" * 40])
def test_bad_input_is_an_error_not_a_traceback(page: AppTest, text: str) -> None:
    page.text_input[1].input(text).run()
    assert not page.exception, page.exception
    assert page.error or page.warning


def test_wildcard_mode(page: AppTest) -> None:
    page.text_input[1].input("51A-12*").run()
    assert not page.exception, page.exception
    assert set(page.dataframe[0].value["plate"]) == {"51A-123.45", "51A-128.45"}
