"""The distinct plates of a store, kept in memory for wildcard and fuzzy matching.

Fuzzy and wildcard matching run over the distinct plates (about a million for a month of
the city), never over the reads (tens of millions); the reads of the few matching plates
are then fetched by plate, which the store's ordering by plate makes cheap.

The index is built with one ``GROUP BY plate`` and cached per store file and process; it is
rebuilt when the store's reads version changes (ingest, purge or an operator's correction). A later
schema step may keep it as a table in the store; the API stays the same.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tracing.store import Store

logger = logging.getLogger(__name__)

__all__ = ["PlateIndex", "build_plate_index", "plate_index"]


@dataclass(frozen=True, slots=True, eq=False)
class PlateIndex:
    """Distinct plates: canonical text, compact form and read count, aligned by position."""

    plates: npt.NDArray[np.object_]
    compacts: npt.NDArray[np.object_]
    compact_array: pa.Array
    n_reads: npt.NDArray[np.int64]
    total_reads: int

    def __len__(self) -> int:
        return len(self.plates)


_LOCK = threading.Lock()
_CACHE: dict[str, tuple[tuple[int, int], PlateIndex]] = {}


def build_plate_index(store: Store) -> PlateIndex:
    """Read the distinct plates of ``store`` (one aggregation over ``reads``)."""
    started = time.perf_counter()
    with store.reader() as con:
        table = con.execute(
            "SELECT plate, any_value(plate_compact) AS plate_compact, count(*) AS n "
            "FROM reads GROUP BY plate ORDER BY plate").to_arrow_table()
    compact_array = table.column("plate_compact").combine_chunks()
    n_reads = np.asarray(table.column("n").to_numpy(), np.int64)
    index = PlateIndex(
        plates=np.asarray(table.column("plate").to_numpy(zero_copy_only=False), object),
        compacts=np.asarray(compact_array.to_numpy(zero_copy_only=False), object),
        compact_array=compact_array,
        n_reads=n_reads,
        total_reads=int(n_reads.sum()),
    )
    logger.info("plate index of %s: %s plates, %s reads in %.2f s", store.path.name,
                len(index), index.total_reads, time.perf_counter() - started)
    return index


def plate_index(store: Store) -> PlateIndex:
    """The cached index of ``store``, rebuilt when its reads changed
    (:meth:`Store.reads_version`)."""
    key = str(store.path.resolve())
    version = store.reads_version()
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        index = build_plate_index(store)
        _CACHE[key] = (version, index)
        return index
