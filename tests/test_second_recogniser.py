"""The second line recogniser (PP-OCRv6 from the rapidocr wheel), its charset mapping, the
fusion of two recognisers under the plate grammar, and the pipeline in each mode."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from recognition.decode import ALLOWLIST, decode_plate, greedy_text
from recognition.errors import RecognitionError
from recognition.fusion import FusedEngine, fuse, resample
from recognition.ocr import LineProbs
from recognition.pipeline import Recogniser
from recognition.second import SecondEngine, charset_map, load_second, model_path
from recognition.synth import degrade, random_plate, render_plate
from recognition.training import synthetic_lines

Gray = npt.NDArray[np.uint8]


def spelled(text: str, doubt: dict[int, dict[str, float]] | None = None) -> LineProbs:
    """CTC frames over the plate alphabet spelling ``text``, a blank frame around each
    character; ``doubt[i]``: the i-th character's frame has these probabilities instead."""
    rows = []
    for i, char in enumerate(text):
        for probs in ({"": 1.0}, (doubt or {}).get(i, {char: 1.0})):
            row = np.full(len(ALLOWLIST) + 1, 1e-4, np.float32)
            for c, p in probs.items():
                row[ALLOWLIST.index(c) + 1 if c else 0] = p
            rows.append(row / row.sum())
    rows.append(rows[0])
    return LineProbs(np.stack(rows), ALLOWLIST)


class Fixed:
    """An engine that always returns the same readings."""

    def __init__(self, lines: list[LineProbs]) -> None:
        self.lines = lines

    def recognise(self, lines: Sequence[Gray]) -> list[LineProbs]:
        assert len(lines) == len(self.lines)
        return self.lines


def test_the_second_model_loads_from_the_installed_wheel() -> None:
    path = model_path()
    assert path.is_file() and path.parent.parent.name == "rapidocr"
    engine = load_second()
    lines = synthetic_lines(12, seed=3)
    read = engine.recognise([line.image for line in lines])
    assert all(r.charset == ALLOWLIST for r in read)
    np.testing.assert_allclose(np.concatenate([r.probs for r in read]).sum(axis=1), 1.0,
                               atol=1e-4)
    texts = [greedy_text(r) for r in read]
    assert sum(t == line.text for t, line in zip(texts, lines, strict=True)) >= 6


def test_the_charset_maps_onto_the_plate_alphabet() -> None:
    matrix = charset_map(["a", "A", "0", "-", "·", " ", "中", "|"])
    assert matrix.shape == (9, len(ALLOWLIST) + 1)
    ours = {k: [j for j in np.flatnonzero(row)] for k, row in enumerate(matrix)}
    at = {c: ALLOWLIST.index(c) + 1 for c in "A0-."}
    assert ours == {0: [0], 1: [at["A"]], 2: [at["A"]], 3: [at["0"]], 4: [at["-"]],
                    5: [at["."]], 6: [0], 7: [], 8: []}


def test_resampling_keeps_a_one_frame_peak_and_the_mass() -> None:
    probs = np.full((9, 3), [1.0, 0.0, 0.0], np.float32)
    probs[4] = [0.0, 1.0, 0.0]
    coarse = resample(probs, 3)
    np.testing.assert_allclose(coarse.sum(axis=1), 1.0, atol=1e-6)
    assert coarse[1, 1] == pytest.approx(1 / 3) and coarse[[0, 2], 1].max() == 0


def test_fusion_reads_the_plate_neither_recogniser_reads_alone() -> None:
    first = spelled("30A12345", {2: {"A": 0.4, "R": 0.6}})
    second = spelled("30A12345", {2: {"A": 0.4, "H": 0.6}})
    alone = [decode_plate([line], "one_line") for line in (first, second)]
    assert [r.compact if r else None for r in alone] == ["30R12345", "30H12345"]
    engine = FusedEngine(Fixed([first]), Fixed([second]))
    fused = engine.recognise([np.zeros((48, 200), np.uint8)])
    reading = decode_plate(fused, "one_line")
    assert reading is not None and reading.compact == "30A12345"
    assert fuse(first, LineProbs(np.zeros((0, 39), np.float32), ALLOWLIST)).probs.shape == (
        len(first.probs), len(ALLOWLIST) + 1)


def test_a_missing_or_corrupt_second_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecognitionError, match="second recogniser model missing"):
        SecondEngine(tmp_path / "none.onnx")
    corrupt = tmp_path / "rec.onnx"
    corrupt.write_bytes(b"not an onnx model" * 10)
    with pytest.raises(RecognitionError, match="cannot load the second recogniser"):
        SecondEngine(corrupt)


@pytest.mark.parametrize("mode", ["second", "fused"])
def test_the_pipeline_reads_a_synthetic_plate(mode: str) -> None:
    rng = np.random.default_rng(4)
    spec = random_plate(rng, layout="one_line")
    recogniser = Recogniser(mode=mode)  # type: ignore[arg-type]
    found = recogniser.detect(degrade(render_plate(spec), rng, strength=0.5), still=True)
    assert [d.reading.text for d in found] == [spec.plate.text]
