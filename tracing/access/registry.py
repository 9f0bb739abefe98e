"""Replacing the camera registry: an administrator's change, checked and audited with it."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from tracing.access.actor import Who, permit, record_change
from tracing.store import Store


def replace_registry(store: Store, cameras: pd.DataFrame | pa.Table, *, who: Who,
                     source: str) -> int:
    """Replace the store's cameras with ``cameras`` (read from ``source``, e.g. the
    uploaded file's name); the audit entry is written in the same transaction. Returns the
    number of cameras."""
    what = {"file": source, "cameras": int(cameras.num_rows if isinstance(cameras, pa.Table)
                                           else len(cameras))}
    permit(store, who, "registry", "registry.replace", what)
    return store.replace_cameras(
        cameras, within=lambda con: record_change(con, who, "registry.replace", what))
