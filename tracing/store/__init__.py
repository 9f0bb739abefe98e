"""The DuckDB store of reads and everything hung on them; see :mod:`tracing.store.store`.

Public API: :class:`Store`, :class:`IngestReport`, :class:`Spool`,
:func:`run_ingest_service`.
"""

from __future__ import annotations

from tracing.store.ingest import IngestReport
from tracing.store.service import run_ingest_service
from tracing.store.spool import Spool
from tracing.store.store import Store

__all__ = ["IngestReport", "Spool", "Store", "run_ingest_service"]
