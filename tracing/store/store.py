"""The store: one DuckDB file of cameras, reads, rejects, watchlists, geofences and alerts.

``Store(path)`` creates or migrates the file and hands out short transactions:
``with store.reader() as con`` (a read-only transaction) and ``with store.writer() as con``
(a read-write transaction, committed on success, rolled back on error). Connections come
from this process's lease on the file (:mod:`tracing.store.lease`), so processes and
threads can share the file without DuckDB lock errors. Never call ``duckdb.connect`` on
the file yourself, and do not open a writer inside a reader block of the same thread.

Fetch results with ``.to_arrow_table()`` (``.to_pandas()`` on that): with DuckDB 1.5.5 and
pandas 3, ``.df()`` on a TIMESTAMPTZ column raises a Pandas4Warning (an error under the
test settings) and ``fetchall()``/``fetchone()`` on one need pytz, which is not installed.
Timestamps are instants (UTC); convert to :data:`tracing.settings.LOCAL_TZ` for display.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Final, TypeAlias

import duckdb
import pandas as pd
import pyarrow as pa

from tracing import settings
from tracing.errors import QueryError, RegistryError, StoreError
from tracing.plates import normalize_plate
from tracing.reads import PlateRead
from tracing.store import schema, sources
from tracing.store import spool as spool_mod
from tracing.store.ingest import IngestReport, ingest_batch
from tracing.store.lease import Lease, Mode, lease_for

logger = logging.getLogger(__name__)

CAMERA_COLUMNS: Final = (
    "id", "code", "name", "lon", "lat", "heading", "heading_known", "ward", "road",
    "is_lpr", "status", "edge_u", "edge_v", "edge_key", "snap_distance_m", "directions",
    "stream_url",
)
"""Columns of the ``cameras`` table (a registry frame may hold more; they are ignored)."""

Ingestible: TypeAlias = Path | str | pa.Table | pd.DataFrame
_AFTER_COMMIT: dict[int, list[Callable[[], None]]] = {}
"""Actions to run once the transaction of an open :meth:`Store.writer` cursor commits."""


def after_commit(con: duckdb.DuckDBPyConnection, action: Callable[[], None]) -> bool:
    """Run ``action`` once the :meth:`Store.writer` transaction of ``con`` has committed
    (never when it rolls back). False, and nothing is registered, when ``con`` is no
    writer's cursor. ``action`` must not raise (it runs after the commit: log failures)."""
    hooks = _AFTER_COMMIT.get(id(con))
    if hooks is None:
        return False
    hooks.append(action)
    return True


def touch_reads(con: duckdb.DuckDBPyConnection) -> None:
    """Count a change to stored reads that keeps their number (a correction, a purge), in
    con's transaction: caches keyed on :meth:`Store.reads_version` are rebuilt."""
    con.execute("UPDATE store_meta SET value = (value::BIGINT + 1)::VARCHAR "
                "WHERE key = 'reads_revision'")


class Store:
    """Handle on a store file; cheap to create, safe to share between threads."""

    def __init__(self, path: Path | str = settings.DEMO_DB, *,
                 timeout_s: float = settings.STORE_LOCK_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder of {self.path}: {exc}") from exc
        self._lease: Lease = lease_for(self.path)
        self._open_schema()

    # --- connections ---------------------------------------------------------------------

    @contextmanager
    def _connection(self, mode: Mode) -> Iterator[duckdb.DuckDBPyConnection]:
        deadline = time.monotonic() + self.timeout_s
        if mode == "read":
            with self._lease.connect("read", deadline=deadline) as con:
                yield con
            return
        if not self._lease.write_mutex.acquire(timeout=self.timeout_s):
            raise StoreError(f"store busy: another thread writes to {self.path}; try again")
        try:
            with self._lease.connect("write", deadline=deadline) as con:
                yield con
        finally:
            self._lease.write_mutex.release()

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only transaction (one consistent snapshot) on a short-lived cursor."""
        with self._connection("read") as con:
            con.execute("BEGIN TRANSACTION READ ONLY")
            try:
                yield con
            finally:
                con.execute("ROLLBACK")

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write transaction: committed when the block ends, rolled back on error.
        Actions registered with :func:`after_commit` run after a successful commit, still
        holding the write lease (so they run in commit order)."""
        with self._connection("write") as con:
            hooks: list[Callable[[], None]] = []
            _AFTER_COMMIT[id(con)] = hooks
            try:
                con.execute("BEGIN TRANSACTION")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                try:
                    con.execute("COMMIT")
                except duckdb.Error as exc:
                    raise StoreError(f"commit to {self.path} failed: {exc}") from exc
            finally:
                _AFTER_COMMIT.pop(id(con), None)
            for hook in hooks:
                hook()

    def close(self) -> None:
        """Hand this process's hold on the file back now (it is reopened on next use)."""
        self._lease.close(timeout_s=self.timeout_s)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # --- schema --------------------------------------------------------------------------

    def _open_schema(self) -> None:
        """Create, migrate or check the schema; refuse a database newer than this code."""
        if self.path.exists():
            with self.reader() as con:
                version = schema.schema_version(con)
                probe_ok = version < schema.READ_KEYS_VERSION or _hash_probe_ok(con)
            schema.check_supported(version)
            if version == schema.LATEST_VERSION and probe_ok:
                return
        with self._connection("write") as con:
            schema.migrate(con)
            schema.repair_read_keys(con)

    @property
    def schema_version(self) -> int:
        """Schema version of the file."""
        with self.reader() as con:
            return schema.schema_version(con)

    # --- cameras -------------------------------------------------------------------------

    def replace_cameras(self, cameras: pd.DataFrame | pa.Table, *,
                        within: Callable[[duckdb.DuckDBPyConnection], object] | None = None
                        ) -> int:
        """Replace the ``cameras`` table with a registry (columns :data:`CAMERA_COLUMNS`);
        ``within`` runs in the same transaction (the audit entry of
        :func:`tracing.access.registry.replace_registry`)."""
        frame = cameras.to_pandas() if isinstance(cameras, pa.Table) else cameras
        if "id" not in frame.columns:
            raise RegistryError("camera registry has no id column")
        ids = frame["id"]
        if ids.isna().any() or ids.duplicated().any():
            bad = sorted(map(str, ids[ids.isna() | ids.duplicated()].unique()))[:5]
            raise RegistryError(f"camera ids must be unique and present; bad: {bad}")
        table = pa.Table.from_pandas(
            pd.DataFrame(frame[[c for c in CAMERA_COLUMNS if c in frame.columns]]).assign(
                id=ids.astype(str)), preserve_index=False)
        with self.writer() as con:
            con.register("_cameras_in", table)
            try:
                con.execute("DELETE FROM cameras")
                con.execute("INSERT INTO cameras BY NAME SELECT * FROM _cameras_in")
                if within is not None:
                    within(con)
            finally:
                con.unregister("_cameras_in")
        logger.info("store: %s cameras", table.num_rows)
        return int(table.num_rows)

    # --- ingest --------------------------------------------------------------------------

    def ingest(self, data: Ingestible, *, source: str | None = None) -> IngestReport:
        """Validate, normalise and store a batch: a CSV/Parquet/Arrow path, Arrow or pandas.

        Raises IngestError when the batch as a whole is unusable (nothing is written);
        bad rows go to ``rejects`` with their reason; stored read_ids are skipped.
        """
        table, what = _as_table(data)
        batch = sources.prepare(table, what=what)
        if source is None and isinstance(data, str | Path):
            source = f"file:{Path(data).name}"
        with self.writer() as con:
            report = ingest_batch(con, batch, source=source)
        logger.info("store: ingested %s: %s", what, report)
        return self.signal_reads(report)

    def ingest_reads(self, reads: Sequence[PlateRead], *,
                     source: str | None = None) -> IngestReport:
        """Store PlateReads (same checks as :meth:`ingest`)."""
        batch = sources.prepare(sources.from_reads(reads), what="reads")
        with self.writer() as con:
            report = ingest_batch(con, batch, source=source)
        return self.signal_reads(report)

    def ingest_read(self, read: PlateRead, *, source: str | None = None) -> IngestReport:
        """Store one PlateRead."""
        return self.ingest_reads([read], source=source)

    @property
    def reads_signal(self) -> Path:
        """A file beside the database touched after every commit that stored reads: the
        alert engine watches its modification time instead of opening the store to ask."""
        return self.path.with_name(self.path.name + ".reads")

    def signal_reads(self, report: IngestReport) -> IngestReport:
        """Touch :attr:`reads_signal` when ``report`` inserted reads (call after the
        commit); a failure is only logged. Returns ``report``."""
        if report.inserted:
            self.signal_changed_reads()
        return report

    def signal_changed_reads(self) -> None:
        """Touch :attr:`reads_signal` (after a commit that stored or changed reads); a
        failure is only logged."""
        try:
            self.reads_signal.touch()  # sets the modification time to now
        except OSError as exc:
            logger.warning("store: cannot touch %s: %s", self.reads_signal, exc)

    def load_spool(self, spool: spool_mod.Spool, *,
                   max_rows: int = settings.INGEST_MAX_SPOOL_ROWS) -> IngestReport:
        """Ingest pending spool files in order (see :func:`tracing.store.spool.load_spool`)."""
        return spool_mod.load_spool(self, spool, max_rows=max_rows)

    # --- queries -------------------------------------------------------------------------

    def count_reads(self) -> int:
        """Number of stored reads."""
        with self.reader() as con:
            row = con.execute("SELECT count(*) FROM reads").fetchone()
        return int(row[0]) if row else 0

    def reads_version(self) -> tuple[int, int]:
        """Number of stored reads and the revision of their contents (:func:`touch_reads`):
        one of them changes whenever the stored reads change."""
        with self.reader() as con:
            row = con.execute("SELECT (SELECT count(*) FROM reads), (SELECT value::BIGINT "
                              "FROM store_meta WHERE key = 'reads_revision')").fetchone()
        return (int(row[0]), int(row[1] or 0)) if row else (0, 0)

    def reads_of_plate(self, plate: str, *, start: datetime | None = None,
                       end: datetime | None = None) -> pa.Table:
        """Every read of a plate (any spelling; PlateError if invalid), ordered by time.

        ``start``/``end`` (time-zone aware) bound ``ts`` as [start, end).
        """
        clauses, bounds = time_range("ts", start, end)
        sql = ["SELECT * FROM reads WHERE plate = ?", *clauses, "ORDER BY ts"]
        params: list[object] = [normalize_plate(plate), *bounds]
        with self.reader() as con:
            return con.execute(" ".join(sql), params).to_arrow_table()

    # --- maintenance ---------------------------------------------------------------------

    def compact(self) -> None:
        """Rewrite ``reads`` ordered by (plate, ts) and ``read_keys`` by key.

        Ingest appends each batch clustered by plate and without string compression (it
        halves the insert time); many small batches (live spool loads) leave row groups
        spanning every plate. Compaction sorts and compresses everything. Run it off-peak:
        it holds the write lease while it copies the table (seconds per million reads).
        """
        started = time.monotonic()
        with self._connection("write") as con:
            con.execute("SET GLOBAL disabled_compression_methods = ''")
            try:
                con.execute("BEGIN TRANSACTION")
                schema.rewrite_sorted(con, "reads", order_by="plate, ts")
                schema.rewrite_sorted(con, "read_keys", order_by="rid_key")
                con.execute("COMMIT")
                con.execute("CHECKPOINT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                con.execute("SET GLOBAL disabled_compression_methods = ?",
                            [settings.STORE_INGEST_DISABLED_COMPRESSION])
        logger.info("store: compacted in %.1f s", time.monotonic() - started)


def time_range(column: str, start: datetime | None,
               end: datetime | None) -> tuple[list[str], list[object]]:
    """``AND`` clauses (and their parameters) bounding ``column`` to [start, end); either
    bound may be None. ``column`` is a name from code, never user input. QueryError on a
    bound without a time zone."""
    clauses: list[str] = []
    params: list[object] = []
    for bound, clause in ((start, f"AND {column} >= ?"), (end, f"AND {column} < ?")):
        if bound is not None:
            if bound.tzinfo is None:
                raise QueryError(f"{bound.isoformat()} has no time zone")
            clauses.append(clause)
            params.append(bound)
    return clauses, params


def _hash_probe_ok(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        f"SELECT value = {schema.HASH_PROBE_SQL} FROM store_meta WHERE key = 'hash_probe'"  # noqa: S608
    ).fetchone()
    return bool(row and row[0])


def _as_table(data: Ingestible) -> tuple[pa.Table, str]:
    if isinstance(data, str | Path):
        path = Path(data)
        return sources.read_file(path), path.name
    if isinstance(data, pa.Table):
        return data, "table"
    if isinstance(data, pd.DataFrame):
        return sources.from_frame(data), "DataFrame"
    raise TypeError(f"cannot ingest a {type(data).__name__}; give a path, Arrow or pandas")
