"""AppTest of the pages: they render from the store, filter, export, and never show a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page


@pytest.fixture
def app(app_db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return open_page("app.py", app_db, monkeypatch)


def test_city_page_shows_the_registry(app: AppTest) -> None:
    assert app.title[0].value.startswith("Thủ Đức City")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Cameras"] == "108"
    assert int(metrics["Plate-reading"]) > 50
    assert len(app.dataframe[0].value) == 108


def test_registry_filters(app: AppTest) -> None:
    app.text_input[0].input("Võ Văn Ngân").run()
    shown = app.dataframe[0].value
    assert 0 < len(shown) < 108
    assert shown["name"].str.contains("Võ Văn Ngân").any() or shown["road"].str.contains(
        "Võ Văn Ngân").any()
    app.text_input[0].input("").run()
    app.toggle[0].set_value(True).run()
    assert app.dataframe[0].value["is_lpr"].all()


def test_missing_database_shows_an_error_not_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("app.py", tmp_path / "empty.duckdb", monkeypatch)
    assert any("holds no cameras" in e.value for e in at.error)
