"""Learning from the centre's own reads: fine-tune the recogniser on the crops operators
confirmed or corrected (:mod:`tracing.reviews`), keep the result only if it reads better.

``python -m recognition finetune`` takes every reviewed read whose crop is still stored,
holds a share of them out (split by plate text, so one plate is never on both sides),
and trains the active head further on the rest — each crop prepared as the pipeline
prepares a still (three cuts), together with fresh synthetic lines so the head keeps what
it knows — with :func:`recognition.training.train_head`. The active and the new head then
read the held-out crops through the whole pipeline; the new head becomes a model version
(:mod:`recognition.models`) and is activated only if its exact accuracy is higher. Nothing
leaves the machine: crops are read from the crops folder, weights written under
``var/models``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import Levenshtein

from recognition import models
from recognition.decode import ALLOWLIST, greedy_text
from recognition.errors import RecognitionError
from recognition.localise import Candidate, find_plates, whole_image_candidate
from recognition.network import load_network, onnx_network
from recognition.ocr import OcrEngine, new_reader, resize_line
from recognition.pipeline import STILL_WIDENS, Recogniser
from recognition.prepare import prepare_crop
from recognition.synth import PlateSpec, plate_rows
from recognition.training import TrainingLine, draw_lines, head_weights, train_head
from tracing import settings
from tracing.access.actor import Who
from tracing.access.paths import contained
from tracing.errors import TracingError
from tracing.plates import Plate, parse_plate
from tracing.reviews import reviewed_crops
from tracing.store import Store

__all__ = ["Example", "FinetuneReport", "exact_accuracy", "finetune", "fold_of", "load_examples",
           "plate_read", "split_by_plate", "train_on_examples"]

log = logging.getLogger(__name__)
Image = npt.NDArray[np.uint8]

MIN_EXAMPLES: Final = 20
"""Fewest usable reviewed crops a fine-tuning run needs."""
REAL_SHARE: Final = 0.4
"""Share of the training lines drawn from real crops (repeated as needed); the rest are
synthetic lines, so the head does not forget the plates it has not seen yet."""


@dataclass(frozen=True, slots=True)
class Example:
    """A photo or crop of one plate with the plate it shows."""

    name: str
    image: Image = field(repr=False)
    plate: Plate


@dataclass(frozen=True, slots=True)
class FinetuneReport:
    """One run: what it trained on, both heads' held-out accuracy, the version it made."""

    examples: int
    held_out: int
    real_lines: int
    synthetic_lines: int
    current: str
    current_acc: float
    new_acc: float
    version: str
    activated: bool
    seconds: float
    skipped: tuple[str, ...] = ()

    def __str__(self) -> str:
        verdict = (f"activated {self.version}" if self.activated else
                   f"kept {self.current} active ({self.version} is not better; "
                   f"'models activate {self.version}' would use it anyway)")
        return (f"fine-tuned on {self.examples - self.held_out} reviewed crops "
                f"({self.real_lines} lines) + {self.synthetic_lines} synthetic lines in "
                f"{self.seconds:.0f} s; held-out exact accuracy on {self.held_out} crops: "
                f"{self.current} {self.current_acc:.3f} → new {self.new_acc:.3f}; {verdict}"
                + (f"; skipped {len(self.skipped)} crops" if self.skipped else ""))


def load_examples(store: Store, *, who: Who, crops_dir: Path = settings.CROPS_DIR
                  ) -> tuple[list[Example], list[str]]:
    """The reviewed crops still stored, with their plates; and why others were skipped."""
    examples, skipped = [], []
    for crop in reviewed_crops(store, who=who):
        try:
            path = contained(crops_dir, crop.crop_ref)
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise RecognitionError(f"{path} is missing or not an image")
            examples.append(Example(crop.crop_ref, np.asarray(image, np.uint8),
                                    parse_plate(crop.plate)))
        except (TracingError, OSError) as exc:
            skipped.append(f"read {crop.read_id}: {exc}")
    return examples, skipped


def fold_of(plate: Plate, folds: int) -> int:
    """The fold (0 … folds − 1) of a plate: a hash of its text, the same on every run."""
    digest = hashlib.sha256(plate.compact.encode("ascii")).digest()
    return int.from_bytes(digest[:8], "big") % folds


def split_by_plate(examples: Sequence[Example], share: float
                   ) -> tuple[list[Example], list[Example]]:
    """(train, held out): about ``share`` of the examples held out, whole plates at a time
    (by a hash of the plate text, so the split is the same on every run)."""
    if not 0.0 < share < 1.0:
        raise RecognitionError(f"held-out share {share!r} must be between 0 and 1")
    cut = round(share * 1000)
    held = [e for e in examples if fold_of(e.plate, 1000) < cut]
    train = [e for e in examples if fold_of(e.plate, 1000) >= cut]
    return train, held


def plate_read(recogniser: Recogniser, image: Image) -> str:
    """The compact plate the pipeline reads from a still ('' when none): its most
    confident plate."""
    found = recogniser.detect(image, still=True)
    return max(found, key=lambda d: d.reading.confidence).reading.compact if found else ""


def exact_accuracy(recogniser: Recogniser, examples: Iterable[Example]) -> float:
    """Share of ``examples`` whose plate the pipeline reads exactly."""
    hits = [plate_read(recogniser, e.image) == e.plate.compact for e in examples]
    return float(np.mean(hits)) if hits else float("nan")


def _candidates(image: Image) -> list[Candidate]:
    whole = whole_image_candidate(image)
    return [*find_plates(image, max_share=1.0), *([whole] if whole is not None else [])]


def example_lines(engine: OcrEngine, example: Example) -> list[TrainingLine]:
    """The example's plate lines as the pipeline prepares them (every still cut), with the
    text of each: from the candidate whose reading comes closest to the plate (none when
    no candidate comes within a third of its characters)."""
    truth = example.plate.compact
    best: tuple[int, list[TrainingLine]] = (max(2, len(truth) // 3) + 1, [])
    for cand in _candidates(example.image):
        lines: list[TrainingLine] = []
        distance = best[0]
        for widen in STILL_WIDENS:
            prepared = prepare_crop(cand.crop, widen=widen)
            rows = plate_rows(PlateSpec(example.plate, prepared.layout, "white"))
            if len(rows) != len(prepared.lines):
                continue
            read = "".join(greedy_text(p) for p in engine.recognise(list(prepared.lines)))
            distance = min(distance, Levenshtein.distance(read.replace("-", "")
                                                          .replace(".", ""), truth))
            lines += [TrainingLine(resize_line(g), t) for g, t in
                      zip(prepared.lines, rows, strict=True)]
        if lines and distance < best[0]:
            best = (distance, lines)
    return best[1]


def _mixed(real: list[TrainingLine], synthetic: list[TrainingLine]) -> list[TrainingLine]:
    """Real lines repeated until they are :data:`REAL_SHARE` of the set."""
    if not real:
        return synthetic
    want = round(REAL_SHARE / (1 - REAL_SHARE) * len(synthetic))
    repeats = max(1, round(want / len(real)))
    return [*real * repeats, *synthetic]


def train_on_examples(base: Path | None, train: Sequence[Example], *, synthetic: int,
                      epochs: int, seed: int = 0,
                      progress: Callable[[str], None] = log.info) -> tuple[Any, str, int]:
    """A float recogniser with the head at ``base`` trained further on ``train`` plus
    ``synthetic`` fresh synthetic lines: (model, charset, real lines used)."""
    import torch

    torch.manual_seed(seed)
    reader = new_reader(head=base, quantise=False, detector=False)
    charset = "".join(reader.converter.character[1:])
    engine = OcrEngine(onnx_network(reader.recognizer, charset), allowlist=ALLOWLIST)
    real = [line for example in train for line in example_lines(engine, example)]
    progress(f"{len(real):,} lines from {len(train):,} reviewed crops")
    drawn = draw_lines(synthetic, seed=seed + 1)
    train_head(reader.recognizer, charset, _mixed(real, drawn), epochs=epochs, lr=1e-4,
               progress=progress)
    return reader.recognizer, charset, len(real)


def finetune(store: Store, *, who: Who, crops_dir: Path = settings.CROPS_DIR,
             root: Path | None = None, hold_out: float = 0.2, synthetic: int = 4000,
             epochs: int = 4, seed: int = 0,
             progress: Callable[[str], None] = log.info) -> FinetuneReport:
    """Train a new head on the store's reviewed crops; keep it as a version and activate it
    only if it reads the held-out crops better than the active head."""
    started = time.perf_counter()
    examples, skipped = load_examples(store, who=who, crops_dir=crops_dir)
    if len(examples) < MIN_EXAMPLES:
        raise RecognitionError(f"only {len(examples)} reviewed crops are stored; fine-tuning "
                               f"needs at least {MIN_EXAMPLES} (confirm or correct reads on "
                               "the Review reads page)")
    train, held = split_by_plate(examples, hold_out)
    if not held or not train:
        raise RecognitionError("the reviewed crops hold too few distinct plates to hold some "
                               "out; review more reads")
    current = models.active_model(root)
    model, charset, real = train_on_examples(current.path if current.path.exists() else None,
                                             train, synthetic=synthetic, epochs=epochs,
                                             seed=seed, progress=progress)
    before = exact_accuracy(Recogniser(load_network(head=models.active_head(root))), held)
    after = exact_accuracy(Recogniser(onnx_network(model, charset)), held)
    version = models.add_model(
        head_weights(model), parent=current.name, exact_acc=after, parent_exact_acc=before,
        held_out=len(held), trained_on={"reviewed crops": len(train), "real lines": real,
                                        "synthetic lines": synthetic}, root=root)
    better = after > before
    if better:
        models.activate(version.name, root)
    return FinetuneReport(len(examples), len(held), real, synthetic, current.name, before,
                          after, version.name, better, time.perf_counter() - started,
                          tuple(skipped))

