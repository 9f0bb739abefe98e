"""The recognition network on ONNX Runtime (the CPU path) against the torch model it is
converted from, and a model that cannot be converted."""

from __future__ import annotations

import numpy as np
import pytest

from recognition.decode import greedy_text
from recognition.errors import RecognitionError
from recognition.network import load_network, onnx_network, torch_network
from recognition.ocr import LineProbs, line_batch, new_reader
from recognition.training import synthetic_lines


def test_onnx_network_reads_as_the_torch_model() -> None:
    lines = synthetic_lines(12, seed=3)
    batch, _ = line_batch([line.image for line in lines], 64)
    onnx = load_network()
    torch = torch_network(new_reader(quantise=False).recognizer, onnx.charset)
    got, want = onnx(batch), torch(batch)
    assert onnx.backend.startswith("onnxruntime")
    assert got.shape == want.shape
    np.testing.assert_allclose(got.sum(axis=2), 1.0, atol=1e-4)
    # int8 LSTM weights move probabilities a little, never the text read
    assert np.abs(got - want).max() < 0.25
    texts = [greedy_text(LineProbs(p, onnx.charset)) for p in got]
    assert texts == [greedy_text(LineProbs(p, onnx.charset)) for p in want]
    assert sum(t == line.text for t, line in zip(texts, lines, strict=True)) >= 6


def test_a_model_that_cannot_be_converted_is_a_clear_error() -> None:
    with pytest.raises(RecognitionError, match="cannot convert the recogniser"):
        onnx_network(object(), "0123456789")
