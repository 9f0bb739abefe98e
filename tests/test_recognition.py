"""Recognition end to end with the real EasyOCR model (loaded once per test session):
synthetic stills, a synthetic 720p frame, and the CLI on a short synthetic video."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recognition.__main__ import main
from recognition.pipeline import Recogniser
from recognition.synth import degrade, random_plate, render_plate, scene_frames, write_video
from tracing import cameras, settings
from tracing.store import Store


@pytest.fixture(scope="session")
def recogniser() -> Recogniser:
    """One recogniser, its EasyOCR model loaded once for the whole session."""
    rec = Recogniser()
    rec.engine  # noqa: B018 - load now
    return rec


def first_camera(path: Path) -> str:
    with Store(path) as store, store.reader() as con:
        row = con.execute("SELECT id FROM cameras ORDER BY id LIMIT 1").fetchone()
    assert row is not None
    return str(row[0])


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    registry = cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv")
    path = tmp_path / "rec.duckdb"
    with Store(path) as store:
        store.replace_cameras(registry.head(3))
    return path


@pytest.mark.parametrize(("layout", "colour", "seed"), [
    ("one_line", "white", 1), ("one_line", "yellow", 2), ("two_line", "white", 3),
    ("two_line", "blue", 4)])
def test_still_plates_read_exactly(recogniser: Recogniser, layout: str, colour: str,
                                   seed: int) -> None:
    rng = np.random.default_rng(seed)
    spec = random_plate(rng, layout=layout, colour=colour)  # type: ignore[arg-type]
    found = recogniser.detect(degrade(render_plate(spec), rng, strength=0.5), still=True)
    assert [d.reading.text for d in found] == [spec.plate.text]
    det = found[0]
    assert det.colour == colour and det.layout == layout
    assert len(det.reading.char_conf) == len(spec.plate.compact)
    assert 0 < det.reading.confidence <= 1


def test_two_plates_in_a_720p_frame(recogniser: Recogniser) -> None:
    rng = np.random.default_rng(8)
    plan = [(random_plate(rng, layout="one_line"), 0, 150),
            (random_plate(rng, layout="two_line"), 0, 700)]
    frames, visible = scene_frames(plan, frames=20, seed=2)
    frame = next(f for f in range(20) if all(f in v for v in visible))
    got = sorted(d.reading.text for d in recogniser.detect(frames[frame]))
    assert got == sorted(spec.plate.text for spec, _, _ in plan)
    assert recogniser.detect(np.zeros((720, 1280, 3), np.uint8)) == []


def test_cli_ingests_a_synthetic_video(recogniser: Recogniser, store_path: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    # the CLI's Recogniser shares the session's model (load_reader is cached per process)
    video = tmp_path / "cam.mp4"
    truth = write_video(video, vehicles=2, frames=24, seed=4)
    camera = first_camera(store_path)
    args = ["ingest", "--camera", camera, str(video), "--db", str(store_path),
            "--spool", str(tmp_path / "spool"), "--crops", str(tmp_path / "crops"),
            "--start", "2026-03-02T08:00:00+07:00", "--every", "2"]
    assert main(args) == 0
    out = capsys.readouterr()
    assert "12 frames" in out.out and "stored" in out.out and "frame" in out.err  # progress bar
    with Store(store_path) as store, store.reader() as con:
        rows = con.execute("SELECT plate, crop_ref, camera_id FROM reads").fetchall()
    assert {r[0] for r in rows} == {v.spec.plate.text for v in truth}
    assert all((tmp_path / "crops" / r[1]).is_file() and r[2] == camera for r in rows)
    assert main(args) == 0  # the same video again adds nothing
    assert "stored 0 (duplicates" in capsys.readouterr().out


def test_cli_refuses_bad_input(store_path: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "--camera", "no-such-camera", str(tmp_path), "--db",
                 str(store_path)]) == 2
    assert "error: camera 'no-such-camera' is not in the registry" in capsys.readouterr().err
    camera = first_camera(store_path)
    assert main(["ingest", "--camera", camera, "ftp://x/y", "--db", str(store_path)]) == 2
    assert "scheme 'ftp'" in capsys.readouterr().err
