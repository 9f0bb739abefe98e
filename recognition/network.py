"""The line-recognition network as a function: a batch of prepared lines in, per-frame
character probabilities out.

On a CPU the network runs in ONNX Runtime: the EasyOCR model (with the plate-trained head)
is exported to ONNX in memory when first needed and its LSTM and linear layers quantised to
int8 (weights; activations quantised on the fly), as EasyOCR quantises them in torch. The
convolutions stay float: ONNX Runtime's float kernels run them about twice as fast as
torch on this 2-core machine, while int8 convolutions ran slower
(``bench/recognition.py`` ``crops_per_s``). On a GPU the torch model runs as it is.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from recognition.errors import RecognitionError
from recognition.ocr import HEAD_PATH, LINE_HEIGHT, new_reader

__all__ = ["LineNetwork", "load_network", "onnx_network", "torch_network"]

Batch = npt.NDArray[np.float32]
Probs = npt.NDArray[np.float32]


class LineNetwork:
    """A recognition network: ``network(batch)`` maps lines (N × 1 × H × W, values in
    [−1, 1]) to probabilities (N × T × K: CTC frame t, class k; class 0 is the blank,
    class k ≥ 1 is ``charset[k - 1]``)."""

    def __init__(self, run: Callable[[Batch], Probs], charset: str, backend: str) -> None:
        self._run = run
        self.charset = charset
        self.backend = backend

    def __call__(self, batch: Batch) -> Probs:
        return self._run(batch)


@functools.cache
def load_network(*, gpu: bool = False, head: Path | None = HEAD_PATH) -> LineNetwork:
    """The recognition network (built once per process): torch on a GPU, ONNX Runtime on
    a CPU. ``head``: the plate-trained sequence head (None: EasyOCR's own weights)."""
    reader = new_reader(gpu=gpu, head=head, quantise=False, detector=False)
    charset = "".join(reader.converter.character[1:])
    if gpu:
        return torch_network(reader.recognizer, charset, reader.device)
    return onnx_network(reader.recognizer, charset)


def torch_network(model: Any, charset: str, device: str = "cpu") -> LineNetwork:
    """The torch model itself as a :class:`LineNetwork`."""
    import torch

    model.eval()

    def run(batch: Batch) -> Probs:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            logits = model(torch.from_numpy(batch).to(device), None)
            return np.asarray(logits.softmax(2).cpu().numpy(), np.float32)

    return LineNetwork(run, charset, f"torch ({device})")


def onnx_network(model: Any, charset: str) -> LineNetwork:
    """A float EasyOCR recognition model exported to ONNX, its recurrent and linear layers
    quantised, run by ONNX Runtime on as many threads as torch uses."""
    import torch

    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - pinned in requirements.txt
        raise RecognitionError(f"ONNX Runtime is not installed: {exc}") from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(_onnx_model(model), options,
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:  # the exporter, quantiser and runtime raise their own kinds
        raise RecognitionError(f"cannot convert the recogniser for ONNX Runtime: {exc}") from exc

    def run(batch: Batch) -> Probs:
        return np.asarray(session.run(None, {"lines": batch})[0], np.float32)

    return LineNetwork(run, charset, "onnxruntime (cpu, int8 LSTM)")


def _onnx_model(model: Any) -> bytes:
    """The model as ONNX with a softmax at the end, batch size and width left free, and
    int8 weights in its LSTM and MatMul nodes (dynamic quantisation). EasyOCR's adaptive
    pooling of the 3-pixel-high feature map to height 1 is written as the mean it is (ONNX
    cannot export adaptive pooling to a free size)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class Probabilities(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, lines: Any) -> Any:
            features = self.model.FeatureExtraction(lines).mean(2).permute(0, 2, 1)
            context = self.model.SequenceModeling(features).contiguous()
            return self.model.Prediction(context).softmax(2)

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), \
            _root_log_level(logging.ERROR):
        warnings.simplefilter("ignore")
        exported, quantised = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        torch.onnx.export(Probabilities().eval(), (torch.zeros(2, 1, LINE_HEIGHT, 128),), exported,
                          input_names=["lines"], output_names=["probs"],
                          dynamic_axes={"lines": {0: "n", 3: "width"}}, dynamo=False)
        quantize_dynamic(exported, quantised, op_types_to_quantize=["LSTM", "MatMul"],
                         weight_type=QuantType.QInt8)
        return quantised.read_bytes()


@contextlib.contextmanager
def _root_log_level(level: int) -> Iterator[None]:
    """Raise the root logger's level for a while (the quantiser logs advice on every call)."""
    root = logging.getLogger()
    before = root.level
    root.setLevel(max(level, before))
    try:
        yield
    finally:
        root.setLevel(before)
