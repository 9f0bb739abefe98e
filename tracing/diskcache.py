"""The one disk-cache mechanism: content-keyed files under settings.CACHE_DIR.

A cache file is named ``<kind>-<key>.<suffix>``, ``key`` a digest of everything the content
depends on (:func:`content_key`). Writes go to a temporary file of this process and are
renamed into place, so readers never see a half-written file and two processes never share
a temporary name. Reads are tolerant: a missing, truncated or foreign file reads as
``None`` (the caller rebuilds). :func:`prune` keeps the newest few of a kind.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import numpy.typing as npt

from tracing.files import replace_file

logger = logging.getLogger(__name__)

Arrays = dict[str, npt.NDArray[Any]]
T = TypeVar("T")


def content_key(*parts: str | bytes | npt.NDArray[Any]) -> str:
    """20 hex digits of SHA-256 over the parts (arrays by their bytes, dtype and shape)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(f"{part.dtype}{part.shape}".encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\x00")
    return digest.hexdigest()[:20]


def cache_file(cache_dir: Path, kind: str, key: str, suffix: str = "npz") -> Path:
    """Where the ``kind`` cache of ``key`` lives."""
    return Path(cache_dir) / f"{kind}-{key}.{suffix}"


def write_atomic(path: Path, write: Callable[[IO[bytes]], None]) -> bool:
    """Write ``path`` through ``write`` (:func:`tracing.files.replace_file`).
    False (logged) when the folder cannot be written: a cache is never required."""
    try:
        replace_file(path, write)
    except OSError as exc:
        logger.warning("cache %s not written: %s", path, exc)
        return False
    return True


def write_arrays(path: Path, arrays: Arrays) -> bool:
    """Store named arrays (numpy .npz, no pickles)."""
    named: dict[str, Any] = dict(arrays)
    return write_atomic(path, lambda handle: np.savez(handle, **named))


def read_arrays(path: Path, names: tuple[str, ...]) -> Arrays | None:
    """The named arrays of a cache file, or None when it is absent, unreadable or lacks one."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            return {name: data[name] for name in names}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("cache %s unreadable, rebuilding: %s", path, exc)
        return None


def write_pickle(path: Path, value: object) -> bool:
    """Store a Python object (our own cache files only: never read a pickle from elsewhere)."""
    return write_atomic(path, lambda handle: pickle.dump(value, handle,
                                                         protocol=pickle.HIGHEST_PROTOCOL))


def read_pickle(path: Path, kind: type[T]) -> T | None:
    """The object of a cache file written by :func:`write_pickle`, or None when it is
    absent, unreadable or not a ``kind``."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            value = pickle.load(handle)
    except Exception as exc:
        logger.warning("cache %s unreadable, rebuilding: %s", path, exc)
        return None
    if not isinstance(value, kind):
        logger.warning("cache %s holds a %s, not a %s: rebuilding", path, type(value).__name__,
                       kind.__name__)
        return None
    return value


def prune(cache_dir: Path, kind: str, *, keep: int) -> None:
    """Delete all but the ``keep`` most recently written caches of ``kind``."""
    try:
        found = sorted(Path(cache_dir).glob(f"{kind}-*"), key=lambda p: p.stat().st_mtime)
    except OSError:
        return
    for old in found[:-keep] if keep > 0 else found:
        old.unlink(missing_ok=True)
        logger.info("cache %s removed (older than the %s kept)", old.name, keep)
