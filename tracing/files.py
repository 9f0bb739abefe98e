"""Replacing a file atomically: readers see the old content or the new, never a part.

The one way the library rewrites a small file that other processes read while it runs
(device keys, the owner's status, heartbeats, crops, caches): write a temporary file of
this process and thread beside it, optionally fsync it, and rename it over the target.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO


def replace_file(path: Path, write: Callable[[IO[bytes]], object] | bytes, *,
                 durable: bool = False) -> Path:
    """Replace ``path`` with ``write``'s output (or the bytes given); ``durable``: the data
    is fsync'd before the rename (fsync the folder too, with
    :func:`tracing.store.spool.fsync_dir`, to make the rename durable). OSError on failure,
    the temporary file removed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as handle:
            if isinstance(write, bytes):
                handle.write(write)
            else:
                write(handle)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    return path
