"""The ingest spool: a directory where producers drop batches of reads for one loader.

Producers (recognition workers, uploads) never open the database. :meth:`Spool.write`
checks a batch's columns, writes it as one Arrow IPC file under a temporary name, fsyncs
it, renames it atomically to ``<time ns>-<pid>-<seq>.arrow`` (names sort by time) and
fsyncs the directory: a file that is visible is complete and durable.

One loader (:func:`load_spool`, run by :func:`tracing.store.service.run_ingest_service`)
ingests pending files in name order in one transaction and deletes them only after the
commit. A crash between commit and delete is harmless: loading is idempotent on read_id.
A file that cannot be read or has the wrong columns moves to ``failed/`` beside a
``.reason.txt`` file; nothing is ever deleted unloaded.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tracing import settings
from tracing.errors import IngestError
from tracing.reads import SOURCE, PlateRead
from tracing.store import sources
from tracing.store.ingest import IngestReport, ingest_batch

if TYPE_CHECKING:
    from tracing.store.store import Store

logger = logging.getLogger(__name__)

SUFFIX: Final = ".arrow"
FAILED_DIR: Final = "failed"
_SEQUENCE = itertools.count()
_SEQUENCE_LOCK = threading.Lock()


class Spool:
    """A spool directory (created if missing); safe for many writer processes."""

    def __init__(self, directory: Path | str = settings.SPOOL_DIR) -> None:
        self.directory = Path(directory)
        self.failed_dir = self.directory / FAILED_DIR
        self.failed_dir.mkdir(parents=True, exist_ok=True)
        self._rows: dict[str, int] = {}

    def write(self, reads: Sequence[PlateRead] | pa.Table | pd.DataFrame) -> Path:
        """Durably add one batch (IngestError at once if its columns are wrong)."""
        table = _as_table(reads)
        batch = sources.prepare(table, what="spool batch").drop_columns([sources.ROW_NUMBER])
        with _SEQUENCE_LOCK:
            seq = next(_SEQUENCE)
        name = f"{time.time_ns():020d}-{os.getpid():07d}-{seq:06d}{SUFFIX}"
        final = self.directory / name
        temp = self.directory / f".{name}.tmp"
        with temp.open("wb") as handle:
            with pa.ipc.new_file(handle, batch.schema) as writer:
                writer.write_table(batch)
            handle.flush()
            os.fsync(handle.fileno())
        temp.rename(final)
        fsync_dir(self.directory)
        return final

    def pending(self) -> list[Path]:
        """Complete batch files, oldest first."""
        return sorted(self.directory.glob(f"*{SUFFIX}"))

    def backlog(self) -> tuple[int, float]:
        """Rows in pending files, and the age in seconds of the oldest (0 when none); each
        file's row count is read once (from its Arrow footer)."""
        pending = self.pending()
        names = {path.name for path in pending}
        self._rows = {name: rows for name, rows in self._rows.items() if name in names}
        for path in pending:
            if path.name not in self._rows:
                self._rows[path.name] = _row_count(path)
        if not pending:
            return 0, 0.0
        oldest_ns = int(pending[0].name.split("-", 1)[0])
        return sum(self._rows.values()), max(0.0, (time.time_ns() - oldest_ns) / 1e9)

    def failed(self) -> list[Path]:
        """Batch files set aside because they could not be loaded."""
        return sorted(self.failed_dir.glob(f"*{SUFFIX}"))

    def fail(self, path: Path, reason: str) -> Path:
        """Move a batch file to ``failed/`` with a ``.reason.txt`` beside it."""
        target = self.failed_dir / path.name
        target.with_name(path.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
        shutil.move(str(path), target)
        logger.error("spool: %s moved to %s: %s", path.name, self.failed_dir, reason)
        return target


def _as_table(reads: Sequence[PlateRead] | pa.Table | pd.DataFrame) -> pa.Table:
    if isinstance(reads, pa.Table):
        return reads
    if isinstance(reads, pd.DataFrame):
        return sources.from_frame(reads)
    return sources.from_reads(reads)


def _row_count(path: Path) -> int:
    """Rows of a spool file (0 when it vanished or cannot be read: the loader decides)."""
    try:
        with pa.memory_map(str(path)) as source:
            reader = pa.ipc.open_file(source)
            return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
    except (OSError, pa.ArrowInvalid):
        return 0


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- loading --------------------------------------------------------------------------------

def load_spool(store: Store, spool: Spool, *,
               max_rows: int = settings.INGEST_MAX_SPOOL_ROWS) -> IngestReport:
    """Ingest pending files (oldest first, up to about ``max_rows`` rows) in one transaction.

    Files are deleted after the commit. When the transaction fails, the files are retried
    one by one and a file that fails alone moves to ``failed/``. StoreError("store busy")
    propagates and leaves every file in place.
    """
    files = _readable(spool, max_rows=max_rows)
    if not files:
        return IngestReport()
    try:
        report = _ingest(store, files)
    except (IngestError, duckdb.Error) as exc:
        if len(files) == 1:
            spool.fail(files[0][0], f"ingest failed: {exc}")
            return IngestReport()
        logger.warning("spool: batch of %s files failed (%s); loading one by one", len(files), exc)
        return _one_by_one(store, spool, files)
    _delete(path for path, _ in files)
    return store.signal_reads(report)


def _readable(spool: Spool, *, max_rows: int) -> list[tuple[Path, pa.Table]]:
    """Pending files read and checked, up to max_rows rows; bad files moved to failed/."""
    out: list[tuple[Path, pa.Table]] = []
    rows = 0
    for path in spool.pending():
        try:
            table = sources.prepare(sources.read_arrow_ipc(path), what=path.name)
        except IngestError as exc:
            spool.fail(path, str(exc))
            continue
        except FileNotFoundError:  # another loader took it (there should be only one)
            continue
        source = pc.fill_null(table.column(SOURCE), f"spool:{path.name}")
        out.append((path, table.set_column(table.schema.get_field_index(SOURCE), SOURCE, source)))
        rows += table.num_rows
        if rows >= max_rows:
            break
    return out


def _ingest(store: Store, files: list[tuple[Path, pa.Table]]) -> IngestReport:
    """All files in one transaction; tables of one layout are ingested together."""
    report = IngestReport()
    with store.writer() as con:
        for group in _same_layout_runs([table for _, table in files]):
            batch = sources.prepare(pa.concat_tables(group).combine_chunks(), what="spool")
            report += ingest_batch(con, batch, source=None)
    return report


def _same_layout_runs(tables: list[pa.Table]) -> list[list[pa.Table]]:
    runs: list[list[pa.Table]] = []
    for table in (t.drop_columns([sources.ROW_NUMBER]) for t in tables):
        if runs and runs[-1][0].schema.equals(table.schema):
            runs[-1].append(table)
        else:
            runs.append([table])
    return runs


def _one_by_one(store: Store, spool: Spool, files: list[tuple[Path, pa.Table]]) -> IngestReport:
    report = IngestReport()
    for path, table in files:
        try:
            report += _ingest(store, [(path, table)])
        except (IngestError, duckdb.Error) as exc:
            spool.fail(path, f"ingest failed: {exc}")
            continue
        _delete([path])
    return store.signal_reads(report)


def _delete(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
