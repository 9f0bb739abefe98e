"""Training of the recogniser's sequence head on synthetic plates: the open-top "4" of the
renderer, the training lines, a few real training steps and the weights' round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import ImageFont

from recognition.__main__ import main
from recognition.errors import RecognitionError
from recognition.ocr import LINE_HEIGHT, install_head, new_reader
from recognition.synth import FONTS_DIR, PlateStyle, _open_top, _row_mask, plate_rows
from recognition.training import fonts, save_head, synthetic_lines, train_head

FONT = ImageFont.truetype(str(FONTS_DIR / "Barlow-SemiBold.ttf"), 120)


def ink(image: object) -> np.ndarray:
    return np.asarray(image, np.uint8) > 127


def closed_four() -> np.ndarray:
    """A "4" whose stem runs from top to bottom (as in DIN): diagonal, bar, stem."""
    glyph = np.zeros((100, 80), np.uint8)
    for y in range(10, 70):  # the diagonal, from the stem's top down to the bar's left
        x = 50 - (y - 10) * 40 // 60
        glyph[y, x : x + 10] = 255
    glyph[65:75, 5:70] = 255  # the bar
    glyph[10:95, 50:60] = 255  # the stem
    return glyph


def test_open_four_cuts_a_stem_that_reaches_the_top() -> None:
    from PIL import Image

    closed = closed_four() > 127
    opened = ink(_open_top(Image.fromarray(closed_four())))
    lost = closed & ~opened
    assert lost[10:40, 50:60].all()  # the stem's top two fifths are gone
    assert not lost[45:].any() and not lost[:, :40].any()  # bar, foot, diagonal kept
    assert not opened[10:40, 50:60].any() and opened[20, 40:49].any()


def test_barlow_four_is_already_open() -> None:
    glyph = _row_mask("4", FONT, PlateStyle(open_four=False))
    lost = ink(glyph) & ~ink(_open_top(glyph))
    assert lost.sum() < 0.05 * ink(glyph).sum()  # at most a sliver beside the stem
    rows = np.flatnonzero(ink(glyph).any(axis=1))
    assert ink(_open_top(glyph))[rows[0]].any()  # the diagonal still reaches the top
    columns = ink(glyph).sum(axis=0)
    assert columns.max() < 0.8 * (rows[-1] - rows[0] + 1)  # its stem starts below the top


def test_other_characters_are_drawn_unchanged() -> None:
    assert (ink(_row_mask("51A-123.56", FONT, PlateStyle()))
            == ink(_row_mask("51A-123.56", FONT, PlateStyle(open_four=False)))).all()


def test_fonts_include_the_shipped_faces() -> None:
    names = {f.name for f in fonts()}
    assert {"Barlow-SemiBold.ttf", "BarlowCondensed-SemiBold.ttf"} <= names


def test_synthetic_lines_are_prepared_and_labelled() -> None:
    lines = synthetic_lines(24, seed=3)
    assert len(lines) == 24
    assert all(line.image.shape[0] == LINE_HEIGHT and line.image.dtype == np.uint8
               for line in lines)
    texts = [line.text for line in lines]
    assert all(set(t) <= set("0123456789ABCDEFGHKLMNPSTUVXYZ-.") for t in texts)
    assert any("-" in t and "." in t for t in texts)  # one-line car plates
    assert any("." in t and "-" not in t for t in texts)  # bottom rows of two-line plates
    assert synthetic_lines(24, seed=3)[5].text == texts[5]  # reproducible


@pytest.fixture(scope="module")
def trained() -> tuple[object, list[float]]:
    reader = new_reader(head=None, quantise=False)
    charset = "".join(reader.converter.character[1:])
    losses = train_head(reader.recognizer, charset, synthetic_lines(48, seed=1), epochs=3,
                        lr=1e-3, batch_size=16)
    return reader.recognizer, losses


def test_training_lowers_the_loss(trained: tuple[object, list[float]]) -> None:
    _, losses = trained
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert losses[-1] < losses[0]


def test_saved_head_is_installed(trained: tuple[object, list[float]], tmp_path: Path) -> None:
    model, _ = trained
    path = save_head(model, tmp_path / "head.pt")
    fresh = new_reader(head=path, quantise=False).recognizer
    mine, theirs = model.state_dict(), fresh.state_dict()  # type: ignore[attr-defined]
    head = [k for k in mine if k.startswith(("SequenceModeling", "Prediction"))]
    assert head and all(np.allclose(mine[k].half().float(), theirs[k]) for k in head)
    stock = new_reader(head=None, quantise=False).recognizer.state_dict()
    assert not np.allclose(stock[head[-1]], theirs[head[-1]])


def test_bad_head_file_is_refused(tmp_path: Path) -> None:
    import torch

    bad = tmp_path / "bad.pt"
    torch.save({"other": torch.zeros(2)}, bad)
    model = new_reader(head=None, quantise=False).recognizer
    with pytest.raises(RecognitionError, match="no recogniser head"):
        install_head(model, bad)
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(RecognitionError, match="not a readable weights file"):
        install_head(model, bad)


def test_cli_trains_and_writes_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    out = tmp_path / "head.pt"
    assert main(["train", "--lines", "16", "--epochs", "1", "--out", str(out)]) == 0
    assert out.is_file() and "head weights written" in capsys.readouterr().out


def test_plate_rows_follow_the_layout() -> None:
    from recognition.synth import PlateSpec
    from tracing.plates import parse_plate

    assert plate_rows(PlateSpec(parse_plate("51A-123.45"), "one_line", "white")) == [
        "51A-123.45"]
    assert plate_rows(PlateSpec(parse_plate("59-P1 123.45"), "two_line", "white")) == [
        "59-P1", "123.45"]
