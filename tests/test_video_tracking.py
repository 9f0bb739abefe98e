"""Video tracking: a settled track follows its own plate only (another plate beside it is
still read), and the synthetic traffic video's vehicles keep their distance."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from recognition.consensus import Observation, Tracker
from recognition.decode import Reading
from recognition.pipeline import Frame, Recogniser
from recognition.synth import _scene_plate, _speed, _traffic, random_plate, scene_frames
from tracing.plates import parse_plate

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def _reading(text: str) -> Reading:
    plate = parse_plate(text)
    return Reading(plate, (0.99,) * len(plate.compact))


def _settled(tracker: Tracker, box: tuple[int, int, int, int], step: int) -> None:
    """Four confident reads of one plate moving down ``step`` px per frame."""
    crop = np.zeros((4, 4, 3), np.uint8)
    for f in range(4):
        tracker.advance(f)
        moved = (box[0], box[1] + step * f, box[2], box[3] + step * f)
        tracker.add(Observation(f, NOW, moved, _reading("50M-469.28"), "white", crop))


def test_settled_track_follows_its_own_plate_only() -> None:
    tracker = Tracker()
    _settled(tracker, (538, 100, 928, 182), 12)
    tracker.advance(4)
    beside = (154, 148, 544, 230)  # the next lane, same height: another plate
    assert tracker.settled_track(beside) is None
    own = tracker.settled_track((538, 148, 928, 230))  # where the motion puts it
    assert own is not None
    tracker.follow(own, (538, 148, 928, 230), 4)
    assert tracker.settled_track((540, 150, 930, 232)) is None  # followed once a frame


@pytest.fixture(scope="module")
def recogniser() -> Recogniser:
    rec = Recogniser()
    rec.engine  # noqa: B018 - load now
    return rec


def test_plate_entering_beside_a_settled_one_is_read(recogniser: Recogniser) -> None:
    # the first plate settles before the second enters the next lane; a settled track
    # used to take any box within 1.5 plate widths, so the second was never read
    rng = np.random.default_rng(3)
    first, second = random_plate(rng, layout="one_line"), random_plate(rng, layout="one_line")
    plan = [(first, 0, 640 - 195), (second, 5, 640 - 195 - 427)]
    images, visible = scene_frames(plan, frames=60, seed=3)  # 24 px a frame
    assert visible[0][0] + 4 < visible[1][0] < 30
    frames = [Frame(i, NOW, image) for i, image in enumerate(images[:30])]
    tracks = recogniser.track(frames)
    texts = {t.best().reading.text for t in tracks}
    assert {first.plate.text, second.plate.text} <= texts
    assert any(t.followed for t in tracks)  # settled tracks still skip OCR


def test_traffic_keeps_vehicles_apart_and_in_view() -> None:
    rng = np.random.default_rng(11)
    specs = [random_plate(rng) for _ in range(12)]
    frames, size = 120, (1280, 720)
    plan = _traffic(specs, frames=frames, size=size)
    speed = _speed(frames, size[1])
    lanes = [round((x + _scene_plate(spec).shape[1] / 2) * 3 / size[0] - 0.5)
             for spec, _, x in plan]
    for i, (spec, start, x) in enumerate(plan):
        ph, pw = _scene_plate(spec).shape[:2]
        assert 0 <= x <= size[0] - pw  # the whole plate comes into view
        for j in range(i + 1, len(plan)):  # the next vehicle of its lane enters behind it
            if lanes[j] == lanes[i]:
                assert (plan[j][1] - start) * speed >= 4 * ph
