"""AppTest of the Trace page: a plate's route, flags, legs, exports; errors, no traceback."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page
from tests.test_trace_cli import PLATE, small_registry, trace_reads


@pytest.fixture(scope="module")
def trace_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tracing.store import Store

    path = tmp_path_factory.mktemp("trace_app") / "trace.duckdb"
    with Store(path) as store:
        store.replace_cameras(small_registry())
        store.ingest(trace_reads())
    return path


@pytest.fixture
def page(trace_db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return open_page("app_pages/trace.py", trace_db, monkeypatch)


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
