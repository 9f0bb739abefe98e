"""Plate recognition from camera video and images (OpenCV + EasyOCR, fully offline).

Flow: :mod:`~recognition.sources` (video, image folder, image, RTSP/HTTP stream) →
:mod:`~recognition.localise` (OpenCV plate candidates) → :mod:`~recognition.prepare`
(deskew, border trim, line split) → :mod:`~recognition.ocr` (EasyOCR's recogniser,
batched) → :mod:`~recognition.decode` (grammar-constrained decoding, per-character
confidence) → :mod:`~recognition.colour` (plate colour, vehicle class) →
:mod:`~recognition.consensus` (tracking and voting across frames) →
:mod:`~recognition.ingest` (crops and reads through the spool into the store).
:class:`~recognition.pipeline.Recogniser` ties them together;
``python -m recognition ingest`` is the command line; :mod:`~recognition.synth` renders
synthetic plates and video for tests and benchmarks.

Submodules are imported on demand: importing this package loads neither OpenCV nor torch.
"""
