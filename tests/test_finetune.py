"""Model versions and fine-tuning on reviewed crops (issue 17): a fine-tuned head that reads
the held-out crops worse is kept but not activated, a better one is activated, rollback
restores the previous head, a corrupt model file is a clear error, and the held-out split
never puts one plate on both sides."""

from __future__ import annotations

import functools
from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from recognition import finetune as ft
from recognition import models
from recognition.__main__ import main
from recognition.errors import RecognitionError
from recognition.ocr import HEAD_PATH, new_reader
from recognition.pipeline import Recogniser
from recognition.synth import degrade, random_plate, render_plate
from recognition.training import head_weights
from tests.alerts_support import T0, new_store
from tracing.access.actor import Actor
from tracing.plates import parse_plate
from tracing.reads import PlateRead
from tracing.reviews import confirm_read
from tracing.store import Store

ADMIN = Actor("system:test", "admin", "fine-tuning test")
CROPS = 24


def _weights(*, broken: bool) -> bytes:
    """The shipped head's weights; ``broken``: its class layer zeroed (reads nothing)."""
    return head_weights(_model(broken=broken))


def _model(*, broken: bool) -> Any:
    import torch

    reader = new_reader(head=HEAD_PATH, quantise=False, detector=False)
    if broken:
        with torch.no_grad():
            reader.recognizer.Prediction.weight.zero_()
            reader.recognizer.Prediction.bias.zero_()
    return reader.recognizer


@pytest.fixture(autouse=True)
def first_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Held-out crops read by the first recogniser alone: the head under test decides."""
    monkeypatch.setattr(ft, "Recogniser", functools.partial(Recogniser, mode="first"))


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A store of synthetic plate reads whose crops (in the crops folder) were confirmed."""
    folder = tmp_path_factory.mktemp("finetune")
    crops = folder / "crops"
    crops.mkdir()
    rng = np.random.default_rng(3)
    reads = []
    for i in range(CROPS):
        spec = random_plate(rng)
        cv2.imwrite(str(crops / f"c{i}.png"), degrade(render_plate(spec, px_per_mm=0.8), rng,
                                                      strength=0.3))
        reads.append(PlateRead(f"r{i}", "A", T0 + timedelta(seconds=i), spec.plate.text, 0.5,
                               crop_ref=f"c{i}.png"))
    with new_store(folder / "s.duckdb") as store:
        store.ingest_reads(reads)
        for read in reads:
            confirm_read(store, read.read_id, who=ADMIN)
    return folder / "s.duckdb", crops


def test_the_held_out_split_keeps_each_plate_on_one_side() -> None:
    image = np.zeros((10, 10, 3), np.uint8)
    plates = [parse_plate(f"51A-{n:03d}.45") for n in range(200)]
    examples = [ft.Example(f"{p.compact}-{k}", image, p) for p in plates for k in range(2)]
    train, held = ft.split_by_plate(examples, 0.2)
    assert {e.plate for e in train}.isdisjoint({e.plate for e in held})
    assert 0.1 < len(held) / len(examples) < 0.3
    assert ft.split_by_plate(examples, 0.2) == (train, held)  # the same on every run


def test_a_worse_model_is_kept_but_not_activated(reviewed: tuple[Path, Path], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    db, crops = reviewed
    monkeypatch.setattr(ft, "train_on_examples",
                        lambda *a, **k: (_model(broken=True), _charset(), 0))
    with Store(db) as store:
        report = ft.finetune(store, who=ADMIN, crops_dir=crops, root=tmp_path, hold_out=0.3)
    assert not report.activated and report.new_acc < report.current_acc
    assert report.current == "shipped" and models.active_model(tmp_path).name == "shipped"
    kept = models.list_models(tmp_path)[-1]
    assert kept.name == report.version == "v0001" and kept.exact_acc == report.new_acc


def test_a_better_model_is_activated_and_rollback_restores_the_previous(
        reviewed: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, crops = reviewed
    broken = models.add_model(_weights(broken=True), parent="shipped", exact_acc=None,
                              parent_exact_acc=None, held_out=0, trained_on={}, root=tmp_path)
    models.activate(broken.name, tmp_path)
    monkeypatch.setattr(ft, "train_on_examples",
                        lambda *a, **k: (_model(broken=False), _charset(), 0))
    with Store(db) as store:
        report = ft.finetune(store, who=ADMIN, crops_dir=crops, root=tmp_path, hold_out=0.3)
    assert report.activated and report.current == "v0001" and report.version == "v0002"
    assert report.new_acc > report.current_acc
    assert models.active_head(tmp_path) == tmp_path / "v0002" / "head.pt"
    assert models.rollback(tmp_path).name == "v0001"
    assert models.rollback(tmp_path).name == "shipped"
    with pytest.raises(RecognitionError, match="nothing to roll back"):
        models.rollback(tmp_path)


def _charset() -> str:
    reader = new_reader(head=None, quantise=False, detector=False)
    return "".join(reader.converter.character[1:])


def test_a_corrupt_model_file_is_a_clear_error(tmp_path: Path) -> None:
    good = models.add_model(HEAD_PATH.read_bytes(), parent="shipped", exact_acc=0.9,
                            parent_exact_acc=0.8, held_out=10, trained_on={}, root=tmp_path)
    models.activate(good.name, tmp_path)
    good.path.write_bytes(b"\x00 not the weights that were trained")
    with pytest.raises(RecognitionError, match=r"v0001.*corrupt"):
        models.active_head(tmp_path)
    garbage = models.add_model(b"no weights at all", parent="v0001", exact_acc=None,
                               parent_exact_acc=None, held_out=0, trained_on={}, root=tmp_path)
    with pytest.raises(RecognitionError, match="not a readable weights file"):
        models.activate(garbage.name, tmp_path)
    (tmp_path / "active.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(RecognitionError, match=r"active\.json is unreadable or corrupt"):
        models.active_model(tmp_path)


def test_the_models_command_lists_activates_and_refuses_unknown_versions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models.add_model(HEAD_PATH.read_bytes(), parent="shipped", exact_acc=0.91,
                     parent_exact_acc=0.85, held_out=40, trained_on={"reviewed crops": 160},
                     root=tmp_path)
    assert main(["models", "activate", "v0001", "--models", str(tmp_path)]) == 0
    assert main(["models", "list", "--models", str(tmp_path)]) == 0
    listed = capsys.readouterr().out
    assert "* v0001" in listed and "held-out exact 0.910 vs 0.850 for shipped on 40" in listed
    assert main(["models", "activate", "v0007", "--models", str(tmp_path)]) == 2
    assert "error: no model version 'v0007'" in capsys.readouterr().err


def test_finetune_needs_enough_reviewed_crops(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with new_store(tmp_path / "empty.duckdb"):
        pass
    code = main(["finetune", "--db", str(tmp_path / "empty.duckdb"), "--models",
                 str(tmp_path / "m"), "--crops", str(tmp_path)])
    assert code == 2 and "only 0 reviewed crops" in capsys.readouterr().err


def test_the_pipeline_reads_with_the_active_version(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    rng = np.random.default_rng(5)
    spec = random_plate(rng, layout="one_line")
    photo = degrade(render_plate(spec, px_per_mm=0.8), rng, strength=0.3)
    assert ft.plate_read(Recogniser(mode="first"), photo) == spec.plate.compact
    broken = models.add_model(_weights(broken=True), parent="shipped", exact_acc=None,
                              parent_exact_acc=None, held_out=0, trained_on={})
    models.activate(broken.name)
    assert ft.plate_read(Recogniser(mode="first"), photo) == ""
    models.rollback()
    assert ft.plate_read(Recogniser(mode="first"), photo) == spec.plate.compact
