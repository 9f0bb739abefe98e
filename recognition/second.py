"""A second line recogniser: PaddleOCR's PP-OCRv6 small multilingual CTC recogniser, as
shipped (ONNX) in the ``rapidocr`` wheel, run directly in ONNX Runtime.

Nothing is downloaded and rapidocr's own pipeline is not used: the model file and its
character list (the model's ``character`` metadata, which rapidocr reads too) come from
the installed package. Input as rapidocr feeds it: BGR lines 48 pixels high, values
``(x / 255 - 0.5) / 0.5``, padded on the right with zeros; output: softmax over class 0
(CTC blank), the model's characters, and a final space, one frame per 8 pixels of width.
The output layer is cut to the printable ASCII classes when the model is loaded (the
softmax then renormalises over them: the other ~18,600 characters are dropped, and the
layer costs nothing), and the classes are mapped onto the plate alphabet: lower case
folded into upper case, ``·`` read as ``.``, a space as blank; other symbols are dropped
and each frame renormalised.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from recognition.decode import ALLOWLIST
from recognition.errors import RecognitionError
from recognition.ocr import LineProbs, batched, own_frames

__all__ = ["LINE_HEIGHT", "SecondEngine", "charset_map", "load_second", "model_path"]

MODEL_FILE = "PP-OCRv6_rec_small.onnx"
LINE_HEIGHT = 48
"""Input height of the model (rapidocr's ``rec_img_shape``)."""
MAX_LINE_WIDTH = 480
"""Longest resized line width; wider lines are squeezed."""
WIDTH_STEP = 32
"""Batches are padded to a multiple of this width (few distinct input shapes)."""
_OUTPUT_WEIGHTS = ("linear_8.w_0", "linear_8.b_0")
"""The output layer's weight and bias (the last MatMul and Add before the softmax)."""
_SEPARATORS = {"·": "."}

Gray = npt.NDArray[np.uint8]
Probs = npt.NDArray[np.float32]


def model_path() -> Path:
    """Where the installed ``rapidocr`` package keeps the recogniser (not imported:
    only its files are used)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise RecognitionError("the rapidocr package (second recogniser) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / MODEL_FILE


def charset_map(model_chars: Sequence[str], charset: str = ALLOWLIST) -> npt.NDArray[np.float32]:
    """The 0/1 matrix taking the model's class probabilities (class 0 blank, then
    ``model_chars``) to ours (class 0 blank, then ``charset``): upper-cased characters
    of ``charset`` and the separators keep their mass, spaces join the blank, other
    classes map nowhere (dropped)."""
    matrix = np.zeros((len(model_chars) + 1, len(charset) + 1), np.float32)
    matrix[0, 0] = 1.0
    for k, char in enumerate(model_chars, start=1):
        mine = _SEPARATORS.get(char, char.upper())
        if char.isspace():
            matrix[k, 0] = 1.0
        elif len(mine) == 1 and mine in charset:
            matrix[k, charset.index(mine) + 1] = 1.0
    return matrix


def _kept(chars: Sequence[str]) -> list[int]:
    """Model classes kept in the output layer: blank, printable ASCII, ``·``."""
    return [0] + [k for k, c in enumerate(chars, start=1)
                  if c in _SEPARATORS or (len(c) == 1 and " " <= c <= "~")]


def _session(path: Path, threads: int) -> tuple[Any, list[str]]:
    """An ONNX Runtime session of the model with its output layer cut to the kept
    classes, and the characters of those classes (without the blank)."""
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    if not path.is_file():
        raise RecognitionError(f"second recogniser model missing: {path}")
    try:
        model = onnx.load(str(path))
        meta = {p.key: p.value for p in model.metadata_props}
        chars = [*meta["character"].splitlines(), " "]
        keep = _kept(chars)
        layers = {i.name: i for i in model.graph.initializer if i.name in _OUTPUT_WEIGHTS}
        for name in _OUTPUT_WEIGHTS:
            weights = numpy_helper.to_array(layers[name])[..., keep]
            layers[name].CopyFrom(numpy_helper.from_array(weights, name))
        for output in model.graph.output:  # the class axis shrinks with the layer
            output.type.tensor_type.shape.dim[-1].dim_value = len(keep)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(model.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnx and the runtime raise their own kinds
        raise RecognitionError(f"cannot load the second recogniser {path}: {exc}") from exc
    return session, [chars[k - 1] for k in keep[1:]]


def resize_line(gray: Gray) -> Gray:
    """A grey line scaled to the model's height (width in proportion, capped)."""
    h, w = gray.shape[:2]
    width = int(min(MAX_LINE_WIDTH, max(LINE_HEIGHT // 2, round(LINE_HEIGHT * w / max(h, 1)))))
    return np.asarray(cv2.resize(gray, (width, LINE_HEIGHT), interpolation=cv2.INTER_LINEAR),
                      np.uint8)


def line_batch(images: Sequence[Gray]) -> tuple[npt.NDArray[np.float32], list[float]]:
    """Lines of the model's height as its input (N × 3 × H × W, grey in all three
    channels, values in [−1, 1], zero-padded on the right to a multiple of
    ``WIDTH_STEP``) and each line's share of that width."""
    width = -(-max(g.shape[1] for g in images) // WIDTH_STEP) * WIDTH_STEP
    batch = np.zeros((len(images), 3, LINE_HEIGHT, width), np.float32)
    for i, gray in enumerate(images):
        batch[i, :, :, : gray.shape[1]] = gray / 127.5 - 1.0
    return batch, [g.shape[1] / width for g in images]


class SecondEngine:
    """Batched line recognition with the PP-OCRv6 recogniser: grey lines in,
    :class:`LineProbs` over the plate alphabet out (same contract as
    :class:`recognition.ocr.OcrEngine`)."""

    def __init__(self, path: Path | None = None, *, threads: int | None = None,
                 batch_size: int = 32) -> None:
        """``threads``: ONNX Runtime's threads (default: as many as torch uses when it is
        loaded, else one per core)."""
        if threads is None:
            torch = sys.modules.get("torch")
            threads = torch.get_num_threads() if torch else os.cpu_count() or 1
        self._session, chars = _session(path or model_path(), threads)
        self._map = charset_map(chars)
        self.charset = ALLOWLIST
        self._batch_size = batch_size

    def recognise(self, lines: Sequence[Gray]) -> list[LineProbs]:
        """Probabilities for every line (same order)."""
        return batched([resize_line(g) for g in lines], self._forward, self._batch_size,
                       self.charset)

    def _forward(self, images: list[Gray]) -> list[Probs]:
        batch, shares = line_batch(images)
        raw = self._session.run(None, {"x": batch})[0]
        probs = np.asarray(raw, np.float32) @ self._map
        probs /= np.maximum(probs.sum(axis=2, keepdims=True), 1e-12)
        return [np.asarray(p[: own_frames(probs.shape[1], share)], np.float32)
                for p, share in zip(probs, shares, strict=True)]


@functools.cache
def load_second() -> SecondEngine:
    """The second recogniser from the installed wheel (loaded once per process)."""
    return SecondEngine()
