"""The Recognise page in AppTest: upload a synthetic plate photo, see the read, save it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from recognition.synth import degrade, random_plate, render_plate
from tests.apptest import open_page
from tracing import cameras, settings
from tracing.store import Store

PAGE = "app_pages/recognise.py"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(settings, "CROPS_DIR", tmp_path / "crops")
    path = tmp_path / "page.duckdb"
    with Store(path) as store:
        registry = cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv")
        store.replace_cameras(registry.head(5))
    return path


def photo(seed: int) -> tuple[str, bytes]:
    rng = np.random.default_rng(seed)
    spec = random_plate(rng, layout="one_line", colour="white")
    ok, data = cv2.imencode(".jpg", degrade(render_plate(spec), rng, strength=0.5))
    assert ok
    return spec.plate.text, data.tobytes()


def test_upload_read_and_save(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(PAGE, db, monkeypatch)
    assert "Active model version: shipped: trained on synthetic plates only" in at.caption[0].value
    text, data = photo(1)
    at.file_uploader[0].set_value(("plate.jpg", data, "image/jpeg"))
    at.run()
    assert not at.exception and not at.error
    assert not at.get("help_info")  # no object drawn by accident (Streamlit's "magic")
    assert list(at.dataframe[0].value["plate"]) == [text]
    at.button[0].click()
    at.run()
    assert not at.error and "1 new read" in at.success[0].value
    with Store(db) as store, store.reader() as con:
        row = con.execute("SELECT plate, crop_ref FROM reads").fetchone()
    assert row is not None
    plate, ref = row
    assert plate == text and (settings.CROPS_DIR / ref).is_file()


def test_bad_uploads_get_clear_errors(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(PAGE, db, monkeypatch)
    at.file_uploader[0].set_value(("broken.png", b"\x89PNG truncated", "image/png"))
    at.run()
    assert not at.exception and "corrupt" in at.error[0].value
    monkeypatch.setattr(settings, "RECOGNITION_MAX_UPLOAD_BYTES", 10)
    at.file_uploader[0].set_value(("big.jpg", photo(2)[1], "image/jpeg"))
    at.run()
    assert not at.exception and "the limit is" in at.error[0].value


def test_page_needs_the_recognise_permission(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(PAGE, db, monkeypatch, role=None)
    assert not at.file_uploader and at.warning


def test_the_page_names_the_active_model_version(db: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from recognition import models
    from recognition.ocr import HEAD_PATH

    version = models.add_model(HEAD_PATH.read_bytes(), parent="shipped", exact_acc=0.912,
                               parent_exact_acc=0.874, held_out=81, trained_on={},
                               root=tmp_path / "models")
    models.activate(version.name, tmp_path / "models")
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path / "models")
    at = open_page("app_pages/recognise.py", db, monkeypatch, role="analyst")
    assert "version: v0001" in at.caption[0].value
    assert "held-out exact 0.912 vs 0.874 for shipped on 81 crops" in at.caption[0].value
