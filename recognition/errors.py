"""Exceptions of the recognition package (all are :class:`tracing.errors.TracingError`)."""

from __future__ import annotations

from tracing.errors import TracingError

__all__ = ["RecognitionError", "SourceError"]


class RecognitionError(TracingError):
    """Plates cannot be recognised: the OCR model cannot load, or a parameter is invalid."""


class SourceError(RecognitionError, ValueError):
    """A video, image, folder or stream cannot be opened or read (corrupt, unsupported,
    unreachable, too large)."""
