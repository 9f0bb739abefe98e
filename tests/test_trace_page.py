"""AppTest of the Trace page: a plate's route, flags, legs, exports; errors, no traceback."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import deferred_downloads, open_page
from tests.test_trace_cli import PLATE, small_registry, trace_reads
from tracing.access import audit, cases
from tracing.store import Store


@pytest.fixture(scope="module")
def trace_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trace_app") / "trace.duckdb"
    with Store(path) as store:
        store.replace_cameras(small_registry())
        store.ingest(trace_reads())
    return path


@pytest.fixture
def page(trace_db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    at = open_page("app_pages/trace.py", trace_db, monkeypatch)
    return at.text_input(key="trace_reason").input("CASE-9").run()


def test_a_trace_needs_a_reason_is_audited_and_attaches_to_a_case(
        trace_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = deferred_downloads(monkeypatch)
    at = open_page("app_pages/trace.py", trace_db, monkeypatch, role="investigator")
    at.text_input[0].input("51F12345").run()
    assert any("reason" in i.value for i in at.info) and not at.metric and not files
    at.text_input(key="trace_reason").input("CASE-9").run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Sightings"] == "3"
    with Store(trace_db) as store:
        before = len(audit.entries(store, who="test-investigator", action="export"))
    assert b"FeatureCollection" in files["51F-12345.geojson"]()  # a click
    with Store(trace_db) as store:
        exported = audit.entries(store, who="test-investigator", action="export")
    assert len(exported) == before + 1 and '"geojson"' in exported["params"].iloc[0]
    next(b for b in at.button if b.label == "Attach to case").click().run()
    assert any("attached to case CASE-9" in s.value for s in at.success)
    with Store(trace_db) as store:
        assert len(cases.case_reads(store, "CASE-9")) == store.reads_of_plate(PLATE).num_rows
        logged = audit.entries(store, who="test-investigator")
    assert {"trace", "case.attach"} <= set(logged["action"])


def test_page_traces_a_plate(page: AppTest) -> None:
    page.text_input[0].input("51F12345").run()
    assert not page.exception, page.exception
    assert not page.error, [e.value for e in page.error]
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Sightings"] == "3" and metrics["Legs"] == "2"
    legs = page.dataframe[0].value
    assert list(legs["leg"]) == [1, 2] and legs["best path"].str.endswith("%").all()
    assert len(page.dataframe[1].value) == 3
    assert len(page.get("download_button")) == 3
    page.slider[0].set_value(page.slider[0].value + timedelta(minutes=3)).run()
    assert not page.exception, page.exception


def test_page_reports_bad_input_in_words(page: AppTest) -> None:
    page.text_input[0].input("not a plate").run()
    assert not page.exception
    assert any("Cannot trace" in e.value for e in page.error)
    page.text_input[0].input("99Z-000.00").run()
    assert not page.exception
    assert any("No reads" in w.value for w in page.warning)
    assert PLATE
