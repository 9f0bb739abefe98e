"""What ``python -m recognition`` prints: a summary for people, the same result with
``--json``, warnings and one ``error:`` line on stderr. ``models`` runs for real; ``ingest``,
``workers``, ``train`` and ``finetune`` with the recogniser's work replaced (their own tests,
``test_recognition``, ``test_workers``, ``test_recognition_training`` and ``test_finetune``,
run it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from recognition import models
from recognition.__main__ import main
from recognition.finetune import FinetuneReport
from recognition.ingest import IngestSummary
from recognition.ocr import HEAD_PATH
from tests.test_store_support import new_store
from tests.test_workers import registry_csv
from tracing.reads import PlateRead
from tracing.store import IngestReport


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def db(tmp_path: Path) -> Path:
    new_store(tmp_path / "rec.duckdb").close()
    return tmp_path / "rec.duckdb"


def test_models_list_activate_rollback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models.add_model(HEAD_PATH.read_bytes(), parent="shipped", exact_acc=0.91,
                     parent_exact_acc=0.85, held_out=40, trained_on={"reviewed crops": 160},
                     root=tmp_path)
    root = ["--models", str(tmp_path)]
    code, out, _ = run(capsys, "models", "activate", "v0001", *root)
    assert code == 0 and out.startswith("active: v0001: ")
    code, out, _ = run(capsys, "models", "list", *root, "--json")
    listed = {m["name"]: m for m in json.loads(out)}
    assert listed["v0001"]["active"] and not listed["shipped"]["active"]
    assert listed["v0001"]["exact_acc"] == 0.91 and listed["v0001"]["path"].endswith("head.pt")
    code, out, _ = run(capsys, "models", "rollback", *root, "--json")
    assert code == 0 and json.loads(out)["name"] == "shipped"
    code, out, err = run(capsys, "models", "rollback", *root)
    assert (code, out) == (2, "") and err.startswith("error: nothing to roll back to")


def summary(source: str) -> IngestSummary:
    read = PlateRead("r1", "cam-a", datetime(2026, 3, 2, 1, tzinfo=UTC), "51A-123.45", 0.9)
    return IngestSummary(source, frames=12, detections=5, reads=[read],
                         report=IngestReport(1, 0, 0), problems=["frame 7 unreadable"],
                         seconds=2.04)


def test_ingest_summary_warnings_and_json(db: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import recognition.ingest

    monkeypatch.setattr(recognition.ingest, "ingest_source", lambda spec, **kw: summary(spec))
    argv = ["ingest", "--camera", "cam-a", "road.mp4", "--db", str(db), "--start",
            "2026-03-02T08:00:00+07:00"]
    code, out, err = run(capsys, *argv)
    assert code == 0 and out == ("road.mp4: 12 frames, 5 plate detections, 0 plates, 1 reads "
                                 "spooled, stored 1 (duplicates 0, rejected 0), 1 problems in "
                                 "2.0 s\n")
    assert err.endswith("warning: frame 7 unreadable\n")
    code, out, _ = run(capsys, *argv, "--json")
    doc = json.loads(out)
    assert doc["frames"] == 12 and doc["stored"]["inserted"] == 1
    assert doc["reads"][0]["plate_raw"] == "51A-123.45"
    assert doc["reads"][0]["ts"] == "2026-03-02T01:00:00+00:00"


@pytest.mark.parametrize(("argv", "message"), [
    (["--camera", "no-such-camera"], "camera 'no-such-camera' is not in the registry"),
    (["--camera", "cam-a", "--start", "yesterday"],
     "argument --start: 'yesterday' is not an ISO 8601 time"),
    (["--camera", "cam-a", "--start", "2026-03-02T08:00:00"], "has no time zone offset"),
    (["--camera", "cam-a", "--every", "0"], "--every 0 must be ≥ 1"),
])
def test_ingest_errors_are_one_line(argv: list[str], message: str, db: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ingest", str(tmp_path), "--db", str(db), *argv)
    assert (code, out) == (2, "") and err.startswith("error: ") and message in err
    assert err.count("\n") == 1


def test_ingest_into_a_missing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "none.duckdb"
    assert run(capsys, "ingest", str(tmp_path), "--camera", "cam-a", "--db", str(db)) == (
        2, "", f"error: database not found: {db}\n")
    assert not db.exists()


def test_workers_summary_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    import recognition.workers

    monkeypatch.setattr(recognition.workers, "run_workers", lambda *a, **kw: 0)
    path, _ = registry_csv(tmp_path, ["rtsp://127.0.0.1:9/x"])
    argv = ["workers", "--cameras", str(path), "--spool", str(tmp_path / "spool"), "--crops",
            str(tmp_path / "crops"), "--live-dir", str(tmp_path / "live")]
    code, out, err = run(capsys, *argv)
    assert code == 0 and out == "stopped: 1 cameras, 0 frames, 0 recognised, 0 reads spooled\n"
    assert err.startswith("watching 1 camera stream(s) in 1 process(es)")
    code, out, _ = run(capsys, *argv, "--json")
    assert json.loads(out) == {"cameras": 1, "frames": 0, "recognised": 0, "reads": 0}


def test_train_summary_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    import recognition.training

    def trained(lines: int, **kw: Any) -> str:
        kw["progress"]("epoch 1/1")
        return "weights"

    monkeypatch.setattr(recognition.training, "train_from_scratch", trained)
    monkeypatch.setattr(recognition.training, "save_head", lambda model, path: path)
    out_file = str(tmp_path / "head.pt")
    code, out, err = run(capsys, "train", "--lines", "8", "--out", out_file)
    assert (code, out, err) == (0, f"head weights written to {out_file}\n", "epoch 1/1\n")
    code, out, _ = run(capsys, "train", "--lines", "8", "--out", out_file, "--json")
    assert json.loads(out) == {"weights": out_file}


def test_finetune_report_warnings_and_json(db: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    import recognition.finetune

    report = FinetuneReport(examples=50, held_out=10, real_lines=40, synthetic_lines=100,
                            current="shipped", current_acc=0.8, new_acc=0.9, version="v0001",
                            activated=True, seconds=12.0, skipped=("read r9: crop missing",))
    monkeypatch.setattr(recognition.finetune, "finetune", lambda store, **kw: report)
    argv = ["finetune", "--db", str(db), "--models", str(tmp_path / "m")]
    code, out, err = run(capsys, *argv)
    assert (code, out) == (0, f"{report}\n")
    assert err == "warning: read r9: crop missing\n"
    code, out, _ = run(capsys, *argv, "--json")
    doc = json.loads(out)
    assert doc["version"] == "v0001" and doc["activated"] and doc["skipped"] == [
        "read r9: crop missing"]
