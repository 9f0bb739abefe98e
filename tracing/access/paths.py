"""Paths that come from users or from stored data never leave their folder."""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from tracing.errors import AccessError


def contained(base: Path, relative: str) -> Path:
    """``base / relative`` resolved; AccessError when it is absolute, climbs out of
    ``base`` (``..``, a symbolic link) or is empty."""
    text = (relative or "").strip()
    if not text or "\x00" in text:
        raise AccessError(f"path {relative!r} is empty or invalid")
    if PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute() or \
            PureWindowsPath(text).drive:
        raise AccessError(f"path {relative!r} is absolute; only paths inside {base} are allowed")
    root = base.resolve()
    path = (root / text).resolve()
    if path == root or not path.is_relative_to(root):
        raise AccessError(f"path {relative!r} leaves {base}")
    return path

