"""Recognition without EasyOCR: grammar decoding, voting, crop preparation, colour,
localisation, sources and the torchvision shim (fast, pure OpenCV / numpy)."""

from __future__ import annotations

import socket
import string
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recognition.colour import classify_colour, vehicle_class
from recognition.consensus import Observation, Tracker, vote
from recognition.decode import Reading, decode_plate, greedy_text
from recognition.errors import SourceError
from recognition.localise import find_plates, iou
from recognition.ocr import LineProbs
from recognition.prepare import prepare_crop
from recognition.sources import open_source, read_image
from recognition.synth import degrade, random_plate, render_plate, scene_frames, write_video
from tracing import settings as settings_
from tracing.plates import parse_plate

CHARSET = string.digits + string.ascii_uppercase + "-."
CONFUSABLE = {"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B", "4": "A",
              "O": "0", "I": "1", "Z": "2", "S": "5", "G": "6", "B": "8", "A": "4", "D": "0"}


def line(text: str, *, swap: dict[int, float] | None = None) -> LineProbs:
    """CTC frames spelling ``text`` (a blank between characters). ``swap[i] = p``: the
    i-th character loses to its confusable look-alike, which gets probability p."""
    rows = []
    for i, ch in enumerate(text):
        row = np.full(len(CHARSET) + 1, 1e-4, np.float32)
        if swap and i in swap and ch in CONFUSABLE:
            row[CHARSET.index(CONFUSABLE[ch]) + 1] = swap[i]
            row[CHARSET.index(ch) + 1] = (1 - swap[i]) * 0.9
        else:
            row[CHARSET.index(ch) + 1] = 0.97
        blank = np.full(len(CHARSET) + 1, 1e-4, np.float32)
        blank[0] = 0.99
        rows += [row / row.sum(), blank / blank.sum()]
    return LineProbs(np.array(rows, np.float32), CHARSET)


def test_greedy_text_collapses_frames() -> None:
    assert greedy_text(line("51A-123.45")) == "51A-123.45"


def test_digit_where_grammar_wants_one() -> None:
    # "5" read as "S" (p 0.8) and "8" read as "B": the grammar puts digits there
    got = decode_plate([line("51A-128.45", swap={0: 0.8, 6: 0.7})], "one_line")
    assert got is not None and got.text == "51A-128.45"
    assert got.char_conf[0] < 0.5  # the corrected character keeps its low probability


def test_two_line_plate_and_extra_border_character() -> None:
    lines = [line("159-P1"), line("332.02")]
    probs = lines[0].probs.copy()
    probs[0, :] = 1e-4
    probs[0, CHARSET.index("1") + 1] = 0.6  # a border read as "1", less sure than the rest
    lines[0] = LineProbs(probs / probs.sum(axis=1, keepdims=True), CHARSET)
    got = decode_plate(lines, "two_line")
    assert got is not None and got.text == "59-P1 332.02"


def test_a_digit_below_the_blank_is_kept_where_the_pattern_needs_it() -> None:
    probs = line("51A-123.45").probs.copy()
    last = len(probs) - 2  # the final "5": the network is 55 % sure there is no character
    probs[last, :] = 1e-4
    probs[last, 0], probs[last, CHARSET.index("5") + 1] = 0.55, 0.45
    weak = LineProbs(probs / probs.sum(axis=1, keepdims=True), CHARSET)
    assert greedy_text(weak) == "51A-123.4"
    got = decode_plate([weak], "one_line")
    assert got is not None and got.text == "51A-123.45"
    assert got.char_conf[-1] == pytest.approx(0.45, abs=0.01)


def test_a_repeated_digit_needs_a_blank_between() -> None:
    probs = line("51A-1234").probs
    doubled = np.insert(probs, 15, probs[14], axis=0)  # the "4" held two frames: one "4"
    got = decode_plate([LineProbs(doubled, CHARSET)], "one_line")
    assert got is not None and got.text == "51A-1234"  # not the more usual 5-digit 12344


def test_military_only_on_red_plates() -> None:
    assert decode_plate([line("TM-1234")], "one_line") is None
    got = decode_plate([line("TM-1234")], "one_line", military=True)
    assert got is not None and got.text == "TM-12-34"


def test_nothing_valid_gives_none() -> None:
    assert decode_plate([line("12")], "one_line") is None
    assert decode_plate([LineProbs(np.zeros((0, 39), np.float32), CHARSET)], "one_line") is None


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), data=st.data())
def test_confusions_corrected_by_position(seed: int, data: st.DataObject) -> None:
    spec = random_plate(np.random.default_rng(seed))
    compact = spec.plate.compact
    swaps = {i: data.draw(st.floats(0.5, 0.9)) for i in
             data.draw(st.sets(st.integers(0, len(compact) - 1), max_size=3))}
    plate = spec.plate
    if spec.layout == "one_line":
        lines, layout = [line(compact, swap=swaps)], "one_line"
    else:  # the series digit of a motorbike may be a letter: no swap there
        cut = 4 if plate.kind == "motorbike" else len(plate.province + plate.series)
        top = {i: p for i, p in swaps.items() if i < cut and not (i == 3 and cut == 4)}
        bottom = {i - cut: p for i, p in swaps.items() if i >= cut}
        lines = [line(compact[:cut], swap=top), line(compact[cut:], swap=bottom)]
        layout = "two_line"
    got = decode_plate(lines, layout)  # type: ignore[arg-type]
    assert got is not None and got.compact == compact


def reading(text: str, conf: float = 0.9) -> Reading:
    plate = parse_plate(text)
    return Reading(plate, (conf ** (1 / len(plate.compact)),) * len(plate.compact))


def test_vote_beats_single_frames() -> None:
    frames = [reading("51A-123.45"), reading("51A-128.45", 0.95), reading("51A-123.46", 0.95),
              reading("51A-123.45", 0.7)]
    plate, confidence = vote(frames)
    assert plate.text == "51A-123.45" and 0 < confidence <= 1
    motorbike = vote([reading("59-X1 123.45")])[0]
    assert motorbike.text == "59-X1 123.45" and vehicle_class(motorbike) == "motorbike"
    assert vehicle_class(plate) == vehicle_class(parse_plate("30A-995.24")) == "car"
    with pytest.raises(ValueError):
        vote([])


def test_agreeing_worthless_reads_stay_worthless() -> None:
    # a track of garbage the decoder gave ~0 confidence must not be saved as a plate
    assert vote([reading("99C-331.23", 1e-6)] * 6)[1] < settings_.RECOGNITION_MIN_CONFIDENCE
    unsure = vote([reading("51A-123.45", 0.3)] * 4)[1]
    assert 0.3 < unsure < 1.0  # agreeing unsure reads add up


def test_tracker_joins_consecutive_frames_and_splits_distant_ones() -> None:
    tracker = Tracker(max_gap=2)
    crop = np.zeros((4, 4, 3), np.uint8)
    now = datetime(2026, 3, 2, tzinfo=UTC)
    seen = [(0, (0, 0, 100, 40), "51A-123.45"), (1, (10, 20, 110, 60), "51A-128.45"),
            (1, (800, 0, 900, 40), "60C-555.55"), (9, (10, 20, 110, 60), "51A-123.45")]
    for f, box, text in seen:
        tracker.advance(f)
        tracker.add(Observation(f, now, box, reading(text), "white", crop))
    tracks = tracker.close()
    assert [len(t.observations) for t in tracks] == [2, 1, 1]


@pytest.mark.parametrize(("layout", "lines"), [("one_line", 1), ("two_line", 2)])
def test_prepare_splits_lines(layout: str, lines: int) -> None:
    rng = np.random.default_rng(3)
    for _ in range(4):
        spec = random_plate(rng, layout=layout)  # type: ignore[arg-type]
        prepared = prepare_crop(degrade(render_plate(spec), rng))
        assert prepared.layout == layout and len(prepared.lines) == lines
        assert all(ln.shape[0] >= 10 and ln.shape[1] > ln.shape[0] for ln in prepared.lines)


@pytest.mark.parametrize("colour", ["white", "yellow", "blue", "red"])
def test_colour_of_the_plate_background(colour: str) -> None:
    rng = np.random.default_rng(5)
    spec = random_plate(rng, colour=colour)  # type: ignore[arg-type]
    prepared = prepare_crop(degrade(render_plate(spec), rng, strength=0.5))
    assert classify_colour(prepared.plate, prepared.background) == colour


def test_localise_plates_in_a_720p_frame() -> None:
    rng = np.random.default_rng(7)
    plan = [(random_plate(rng, layout="one_line"), 0, 150),
            (random_plate(rng, layout="two_line"), 0, 700)]
    frames, visible = scene_frames(plan, frames=20, seed=1)
    frame = next(f for f in range(20) if all(f in v for v in visible))
    found = find_plates(frames[frame])
    assert len(found) == 2
    lefts = sorted(c.box[0] for c in found)
    assert abs(lefts[0] - 150) <= 4 and abs(lefts[1] - 700) <= 4
    assert iou(found[0].box, found[0].box) == 1.0
    assert find_plates(np.zeros((720, 1280, 3), np.uint8)) == []


def test_sources_refuse_bad_input(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="scheme 'ftp'"):
        open_source("ftp://example.invalid/cam")
    with socket.socket() as s:  # a local port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SourceError, match="cannot be opened"):
        open_source(f"rtsp://127.0.0.1:{port}/cam", timeout_s=2)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SourceError, match="unsupported format"):
        open_source(tmp_path / "notes.txt")
    with pytest.raises(SourceError, match="holds no images"):
        open_source(tmp_path)
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(SourceError, match="corrupt"):
        list(open_source(tmp_path / "bad.jpg").frames())
    with pytest.raises(SourceError, match="empty"):
        read_image(b"", "x.png")
    with pytest.raises(SourceError, match="frame step"):
        open_source(tmp_path, every=0)
    with pytest.raises(SourceError, match="not a file"):
        open_source(tmp_path / "missing.mp4")


def test_folder_keeps_good_images_and_reports_bad_ones(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    cv2.imwrite(str(tmp_path / "a.png"), render_plate(random_plate(rng)))
    (tmp_path / "b.jpg").write_bytes(b"truncated")
    source = open_source(tmp_path)
    frames = list(source.frames())
    assert [f.name for f in frames] == ["a.png"] and len(source.problems) == 1


def test_truncated_video_keeps_its_first_frames(tmp_path: Path) -> None:
    path = tmp_path / "v.mp4"
    truth = write_video(path, vehicles=1, frames=12, size=(320, 240))
    assert truth and truth[0].first_frame <= truth[0].last_frame
    assert len(list(open_source(path).frames())) == 12
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    try:
        source = open_source(cut)
    except SourceError:
        return  # the container index is gone: refused with a clear error
    assert len(list(source.frames())) < 12


def test_nms_shim_matches_greedy_suppression() -> None:
    torch = pytest.importorskip("torch")
    from recognition.torch_compat import nms_cpu

    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30], [0, 0, 9, 9]],
                         dtype=torch.float32)
    scores = torch.tensor([0.9, 0.95, 0.5, 0.1])
    assert nms_cpu(boxes, scores, 0.5).tolist() == [1, 2]
