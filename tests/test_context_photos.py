"""Plates in photos of a whole vehicle or a street scene (synthetic composites): found by
the localiser, the candidate tight on the plate, and read."""

from __future__ import annotations

import numpy as np
import pytest

from recognition.localise import _Region, _select, find_plates, iou
from recognition.pipeline import Recogniser
from recognition.synth import context_photo, random_plate, render_plate

SCENES = [((1600, 1200), 360), ((1920, 1080), 150), ((1280, 960), 220)]
"""Vehicle-sized photos with a large plate, street-sized ones with a small plate."""


@pytest.mark.parametrize(("size", "plate_width"), SCENES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_plate_found_in_a_context_photo(size: tuple[int, int], plate_width: int,
                                        seed: int) -> None:
    rng = np.random.default_rng(seed)
    image, box = context_photo(random_plate(rng), rng, size=size, plate_width=plate_width)
    assert image.shape[:2] == size[::-1]
    assert any(iou(c.box, box) > 0.5 for c in find_plates(image, max_share=1.0))


def test_candidate_is_the_plate_not_what_holds_it() -> None:
    # a plate whose edges join those of what holds it (a mudguard, a bag) gives a loose
    # plate-shaped region around it too; the plate fills its own rectangle better
    rng = np.random.default_rng(4)
    plate = render_plate(random_plate(rng, layout="two_line"))
    ph, pw = plate.shape[:2]
    frame = np.full((600, 800, 3), 120, np.uint8)
    frame[200 : 200 + ph, 300 : 300 + pw] = plate
    centre = (300 + pw / 2, 200 + ph / 2)
    loose = _Region(1.15 * pw * 1.2 * ph, 0.8, ((centre[0], centre[1] + 0.1 * ph),
                                                (1.15 * pw, 1.2 * ph), 0.0),
                    (300 - pw // 12, 200 - ph // 10, 300 + pw + pw // 12, 200 + ph + ph // 4))
    tight = _Region(pw * ph, 0.98, (centre, (pw, ph), 0.0), (300, 200, 300 + pw, 200 + ph))
    found = _select(frame, [loose, tight], max_candidates=4)
    assert [c.box for c in found] == [tight.box]
    mere = _Region(pw * ph, 0.85, tight.rect, tight.box)  # not clearly tighter: the loose stays
    assert [c.box for c in _select(frame, [loose, mere], max_candidates=4)] == [loose.box]


@pytest.fixture(scope="module")
def recogniser() -> Recogniser:
    rec = Recogniser()
    rec.engine  # noqa: B018 - load now
    return rec


@pytest.mark.parametrize(("size", "plate_width", "seed"), [(*SCENES[0], 2), (*SCENES[1], 3)])
def test_plate_read_in_a_context_photo(recogniser: Recogniser, size: tuple[int, int],
                                       plate_width: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    spec = random_plate(rng)
    image, _ = context_photo(spec, rng, size=size, plate_width=plate_width)
    found = recogniser.detect(image, still=True)
    assert max(found, key=lambda d: d.reading.confidence).reading.text == spec.plate.text
