"""Fine-tuning of EasyOCR's sequence head on synthetic Vietnamese plates (offline).

EasyOCR's English recogniser was trained on general text: it reads the open-top "4" of
the plate font as ``7``, ``L`` or ``6`` and confuses the narrow plate digits. Its
convolutional feature extractor is kept frozen; its sequence head (two bidirectional
LSTMs and the class layer) is trained further with CTC on plate lines drawn by
:mod:`recognition.synth` in several free fonts, degraded and prepared exactly as the
pipeline prepares a crop (:func:`recognition.prepare.prepare_crop`). No real photo is
used for training. A run that also trained the last convolution (30,000 lines, more blur)
fitted the synthetic fonts better and the real photos worse (exact 0.711 against 0.719 on
plates-dev), so the whole feature extractor stays frozen and its features are computed
once (an epoch takes about 80 s for 12,000 lines on 2 cores). The result is a small file
of head weights
(:data:`recognition.ocr.HEAD_PATH`) that :func:`recognition.ocr.load_reader` installs
over the packaged ones.

    python -m recognition train [--lines 12000] [--epochs 6] [--out PATH]
"""

from __future__ import annotations

import io
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt

from recognition.ocr import HEAD_PATH, line_batch, new_reader, own_frames, resize_line
from recognition.prepare import prepare_crop
from recognition.synth import FONTS_DIR, PlateStyle, degrade, plate_rows, random_plate, render_plate
from tracing import settings

__all__ = ["TrainingLine", "draw_lines", "fonts", "head_weights", "save_head",
           "synthetic_lines", "train_from_scratch", "train_head"]

log = logging.getLogger(__name__)

Gray = npt.NDArray[np.uint8]

FONT_STRETCH: Final = {"OSP-DIN.ttf": (1.15, 1.45)}
"""Horizontal stretch per font (the narrow DIN face is widened to plate proportions)."""
DEFAULT_STRETCH: Final = (0.85, 1.15)


@dataclass(frozen=True, slots=True)
class TrainingLine:
    """A prepared grey text line (``LINE_HEIGHT`` tall) and the text printed on it."""

    image: Gray
    text: str


def fonts() -> list[Path]:
    """Font files to draw plates with: the shipped Barlow faces, and every OFL font of
    ``../shared/data/fonts`` when it is there."""
    found = sorted(FONTS_DIR.glob("*.ttf"))
    shared = settings.SHARED_DATA_DIR / "fonts"
    if shared.is_dir():
        names = {f.name for f in found}
        found += [f for f in sorted(shared.glob("*.ttf")) if f.name not in names]
    return found


def _jpeg(image: Gray, quality: int) -> Gray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return np.asarray(cv2.imdecode(data, cv2.IMREAD_UNCHANGED), np.uint8) if ok else image


def _framed(plate: Gray, rng: np.random.Generator) -> Gray:
    """The plate with a little of what surrounds it (a localiser's crop is never exact)."""
    h = plate.shape[0]
    top, bottom, left, right = (int(rng.integers(0, max(2, round(0.12 * h))))
                                for _ in range(4))
    value = [float(v) for v in rng.integers(0, 255, 3)]
    return np.asarray(cv2.copyMakeBorder(plate, top, bottom, left, right, cv2.BORDER_CONSTANT,
                                         value=value), np.uint8)


def _sample(rng: np.random.Generator, faces: Sequence[Path]) -> list[TrainingLine]:
    """The prepared lines of one random degraded plate with their texts; none when the
    preparation splits the plate differently from how it is printed."""
    spec = random_plate(rng)
    face = faces[int(rng.integers(len(faces)))]
    low, high = FONT_STRETCH.get(face.name, DEFAULT_STRETCH)
    style = PlateStyle(face, float(rng.uniform(low, high)), open_four=rng.random() < 0.8)
    scale = float(rng.uniform(0.25, 1.4))
    image = degrade(render_plate(spec, px_per_mm=scale, style=style), rng,
                    strength=float(rng.uniform(0.0, 1.8)))
    image = _jpeg(_framed(image, rng), int(rng.integers(35, 95)))
    # a quarter of the lines cut wide (0.75 pitch, ~0.45 character heights), with border
    prepared = prepare_crop(image, widen=0.75 if rng.random() < 0.25 else 0.0)
    rows = plate_rows(spec)
    if prepared.layout != spec.layout or len(prepared.lines) != len(rows):
        return []
    return [TrainingLine(resize_line(line), text) for line, text in
            zip(prepared.lines, rows, strict=True)]


def synthetic_lines(count: int, *, seed: int = 0) -> list[TrainingLine]:
    """``count`` prepared synthetic plate lines with their texts."""
    rng = np.random.default_rng(seed)
    faces = fonts()
    out: list[TrainingLine] = []
    while len(out) < count:
        out.extend(_sample(rng, faces))
    return out[:count]


def _batches(order: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(order), size):
        yield list(order[start : start + size])


def _features(model: Any, lines: Sequence[TrainingLine], batch_size: int) -> list[Any]:
    """Frozen convolutional features of every line: a (frames × channels) tensor each. A
    line given several times (the same object: real lines repeated among synthetic ones)
    is computed once and shares its tensor."""
    import torch

    first: dict[int, int] = {}
    for i, line in enumerate(lines):
        first.setdefault(id(line), i)
    out: list[Any] = [None] * len(lines)
    order = sorted(first.values(), key=lambda i: lines[i].image.shape[1])
    with torch.no_grad():
        for chunk in _batches(order, batch_size):
            batch, shares = line_batch([lines[i].image for i in chunk])
            feats = model.FeatureExtraction(torch.from_numpy(batch))
            feats = model.AdaptiveAvgPool(feats.permute(0, 3, 1, 2)).squeeze(3)
            for i, share, f in zip(chunk, shares, feats, strict=True):
                out[i] = f[: own_frames(f.shape[0], share)].to(torch.float16).clone()
    return [out[first[id(line)]] for line in lines]


def _targets(texts: Sequence[str], charset: str) -> tuple[Any, Any]:
    import torch

    codes = [charset.index(c) + 1 for text in texts for c in text]
    return torch.tensor(codes, dtype=torch.long), torch.tensor([len(t) for t in texts])


def train_head(model: Any, charset: str, lines: Sequence[TrainingLine], *, epochs: int,
               lr: float = 2e-4, batch_size: int = 64,
               progress: Callable[[str], None] = log.info) -> list[float]:
    """Train ``model``'s sequence head (float EasyOCR ``Model``) on ``lines`` in place,
    the feature extractor frozen; the mean CTC loss of every epoch."""
    import torch

    started = time.perf_counter()
    model.eval()
    feats = _features(model, lines, batch_size)
    progress(f"features of {len(lines):,} lines in {time.perf_counter() - started:.0f} s")
    head = torch.nn.Sequential(model.SequenceModeling, model.Prediction)
    head.train()
    optimiser = torch.optim.Adam(head.parameters(), lr=lr)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    rng = np.random.default_rng(0)
    by_length = sorted(range(len(lines)), key=lambda i: feats[i].shape[0])
    losses = []
    for epoch in range(epochs):
        chunks = list(_batches(by_length, batch_size))
        rng.shuffle(chunks)
        total = 0.0
        for chunk in chunks:
            steps = max(feats[i].shape[0] for i in chunk)
            x = torch.zeros(len(chunk), steps, feats[chunk[0]].shape[1])
            for row, i in enumerate(chunk):
                x[row, : feats[i].shape[0]] = feats[i].float()
            lengths = torch.tensor([feats[i].shape[0] for i in chunk])
            target, target_lengths = _targets([lines[i].text for i in chunk], charset)
            logp = head(x).log_softmax(2).permute(1, 0, 2)
            loss = ctc(logp, target, lengths, target_lengths)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(chunk)
        losses.append(total / len(lines))
        progress(f"epoch {epoch + 1}/{epochs}: CTC loss {losses[-1]:.4f} "
                 f"({time.perf_counter() - started:.0f} s)")
    model.eval()
    return losses


def _lines_part(args: tuple[int, int]) -> list[TrainingLine]:
    count, seed = args
    return synthetic_lines(count, seed=seed)


def draw_lines(count: int, *, seed: int = 0) -> list[TrainingLine]:
    """:func:`synthetic_lines` drawn on every CPU (the lines depend on the CPU count)."""
    workers = max(1, os.cpu_count() or 1)
    parts = [(count // workers + (k < count % workers), seed * 1000 + k)
             for k in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        return [line for part in pool.map(_lines_part, parts) for line in part]


def train_from_scratch(lines: int, *, epochs: int, seed: int = 0,
                       progress: Callable[[str], None] = log.info) -> Any:
    """Draw ``lines`` synthetic lines (on every CPU: the drawing depends on the CPU count,
    the shipped weights were drawn on 2), train a float copy of EasyOCR's recogniser on
    them and return it."""
    import torch

    started = time.perf_counter()
    drawn = draw_lines(lines, seed=seed)
    progress(f"{len(drawn):,} synthetic lines drawn in {time.perf_counter() - started:.0f} s")
    torch.manual_seed(seed)
    reader = new_reader(head=None, quantise=False, detector=False)
    charset = "".join(reader.converter.character[1:])
    train_head(reader.recognizer, charset, drawn, epochs=epochs, progress=progress)
    return reader.recognizer


def save_head(model: Any, path: Path | None = None) -> Path:
    """Write the sequence head of a trained model (half precision); return the path."""
    path = path or HEAD_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(head_weights(model))
    return path


def head_weights(model: Any) -> bytes:
    """The sequence head of a trained model as a weights file's bytes (half precision)."""
    import torch

    state = {k: v.half() for k, v in model.state_dict().items()
             if k.startswith(("SequenceModeling", "Prediction"))}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()
