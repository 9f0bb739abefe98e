"""Validate, normalise and store a prepared batch of reads inside the caller's transaction.

Everything is set-based (Arrow kernels, numpy and DuckDB queries; no Python loop over rows):

1. every row is checked and its plate normalised (:mod:`tracing.store.checks`): each gets
   a ``reason`` or none;
2. valid rows are classified by 63-bit keys of read_id and content, hashed by DuckDB (a
   join with ``read_keys``, or an IN list for a few rows): a repeat of a read_id inside the
   batch or a stored one is a duplicate when the content is the same and a rejected row
   otherwise;
3. new rows are appended to ``reads`` sorted by plate and time — each row group then
   covers a narrow plate range and a plate lookup reads few of them — and their keys to
   ``read_keys`` sorted by key; every rejected row goes to ``rejects`` as JSON with its
   reason. Nothing is dropped.

Measured costs that shaped this (1 M reads, DuckDB 1.5.5, 2 cores): DuckDB's insert is
about half of the CPU time; it converts the whole dictionary of a dictionary-encoded Arrow
column for every record batch it scans, so no column handed to it is dictionary-encoded;
Arrow's ``take`` of strings costs ~0.1 s a column, gathering 16-byte string views ~0.02 s;
numpy's ``argsort`` of 1 M keys is ~6× its ``sort``, so the plate order is one ``sort`` of
keys that carry the row position in their low bits; normalising every plate is cheaper
than dictionary-encoding them first (0.4 s of hashing to save 0.2 s of normalisation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, ParamSpec, TypeVar

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tracing.plates import plate_columns
from tracing.store import checks, schema
from tracing.store.sources import ROW_NUMBER, in_row_order, register

logger = logging.getLogger(__name__)

STORED_CONFLICT: Final = "read_id already stored with different content"
BATCH_CONFLICT: Final = "read_id repeated in the batch with different content"
DETAIL_CONFLICT: Final = ("read_id already stored with a different vehicle_class, "
                          "plate_colour or crop_ref")
"""A re-sent read whose camera, time, plate and confidence match but whose details differ
(a detail left empty in the new row counts as the same)."""
BATCH_DETAIL_CONFLICT: Final = ("read_id repeated in the batch with a different "
                                "vehicle_class, plate_colour or crop_ref")
DETAILS: Final = ("vehicle_class", "plate_colour", "crop_ref")
_RID_KEY: Final = schema.RID_KEY_SQL.format(read_id="s.read_id")
"""Keys are computed by DuckDB, like those ``read_keys`` was filled with in migrations."""
_CONTENT_KEY: Final = schema.CONTENT_KEY_SQL.format(
    camera_id="s.camera_id", ts="s.ts", plate_raw="s.plate_raw",
    confidence="s.confidence::REAL")
_REGISTERED: Final = ("_orig", "_src", "_keys", "_outcome")
_HASHED: Final = (ROW_NUMBER, "read_id", "camera_id", "ts", "plate_raw", "confidence")
_INSERTED: Final = ("read_id", "camera_id", "ts", "plate", "plate_compact", "plate_raw",
                    "confidence", "vehicle_class", "plate_colour", "crop_ref", "source")
_INLINED: Final = 12
"""Strings up to this many bytes sit inside an Arrow (and DuckDB) string view."""
_FEW_KEYS: Final = 512
"""Up to this many valid rows, stored keys are looked up with an IN list (zone maps)
rather than a join, and appended unsorted (they land in one row group anyway)."""

_THREADED_ROWS: Final = 50_000
"""From this many rows on, numpy and Arrow work runs beside DuckDB's in a second thread;
below, handing work between threads costs more than it saves (on a busy machine each
handoff may wait for a CPU)."""

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
P = ParamSpec("P")
T = TypeVar("T")


class _Inline(Executor):
    """An executor that runs each task at once in the calling thread."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one ingest did: rows inserted, skipped as duplicates, and rejected (by reason)."""

    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def rows(self) -> int:
        """Rows seen."""
        return self.inserted + self.duplicates + self.rejected

    def __str__(self) -> str:
        """``3 reads: 1 new, 0 duplicates, 2 rejected``, then a line per reason of rejects."""
        lines = [f"{self.rows:,} read{'' if self.rows == 1 else 's'}: {self.inserted:,} new, "
                 f"{self.duplicates:,} duplicates, {self.rejected:,} rejected"]
        lines += [f"  {count:,} rejected: {reason}" for reason, count in self.reasons.items()]
        return "\n".join(lines)

    def __add__(self, other: IngestReport) -> IngestReport:
        reasons = dict(self.reasons)
        for reason, count in other.reasons.items():
            reasons[reason] = reasons.get(reason, 0) + count
        return IngestReport(self.inserted + other.inserted, self.duplicates + other.duplicates,
                            self.rejected + other.rejected,
                            MappingProxyType(dict(sorted(reasons.items()))))


@dataclass(frozen=True, slots=True)
class _Keys:
    """Valid rows (positions in the batch, ascending) and their read_id and content keys."""

    rows: Ints
    rid: Ints
    content: Ints


def ingest_batch(con: duckdb.DuckDBPyConnection, batch: pa.Table, *,
                 source: str | None) -> IngestReport:
    """Store a batch prepared by :func:`tracing.store.sources.prepare` (in con's transaction).

    Its ``_rn`` column numbers the rows from 0, so a row number is also a position. In a
    big batch numpy and Arrow work runs in a second thread while DuckDB works (both release
    the GIL): plate normalisation beside parsing and key hashing, the plate order beside
    the duplicate check, the key order beside the insert.
    """
    if batch.num_rows == 0:
        return IngestReport()
    try:
        threaded = batch.num_rows >= _THREADED_ROWS
        with ThreadPoolExecutor(1) if threaded else _Inline() as pool:
            plates = pool.submit(plate_columns, batch.column("plate_raw"))
            cameras = con.execute("SELECT DISTINCT id FROM cameras").to_arrow_table().column(0)
            parsed = checks.parse(con, batch)
            hashed = _hashed(con, parsed)
            checked = checks.check(parsed, plates.result(), cameras)
            keys = _keys(checked, hashed)
            ordered = pool.submit(_ordered, checked, keys.rows)
            outcome = _outcome(con, checked, keys)
            dropped = np.zeros(batch.num_rows, np.bool_)
            dropped[outcome.column("_rn").to_numpy()] = True
            kept = ~dropped[keys.rows]
            inserted = _insert(con, pool, ordered.result(), keys, kept, source)
        rejected = _rejected(checked, outcome)
        _store_rejects(con, batch, rejected, source)
    finally:
        for name in _REGISTERED:
            con.unregister(name)
    report = IngestReport(inserted, outcome.num_rows - _count_reasons(outcome),
                          rejected.num_rows, _summary(rejected))
    logger.debug("ingest %s: %s", source, report)
    return report


def _hashed(con: duckdb.DuckDBPyConnection, parsed: pa.Table) -> pa.Table:
    """The 63-bit read_id and content keys of every row (see :mod:`tracing.store.schema`),
    in row order; only those of valid rows are used."""
    register(con, "_src", parsed.select(_HASHED))
    return in_row_order(con.execute(
        f"SELECT _rn, {_RID_KEY} AS rid_key, {_CONTENT_KEY} AS content_key FROM _src s"  # noqa: S608
    ).to_arrow_table())


def _keys(checked: pa.Table, hashed: pa.Table) -> _Keys:
    """The valid rows and their keys."""
    rows = np.flatnonzero(
        np.asarray(pc.is_null(checked.column("reason")).to_numpy(zero_copy_only=False),
                   np.bool_))
    return _Keys(rows, _numbers(hashed.column(1))[rows], _numbers(hashed.column(2))[rows])


def _numbers(column: pa.ChunkedArray) -> Ints:
    return np.asarray(column.to_numpy(), np.int64)


def _outcome(con: duckdb.DuckDBPyConnection, checked: pa.Table, keys: _Keys) -> pa.Table:
    """Valid rows not to insert, (_rn, reason): reason NULL = duplicate, else a conflict."""
    table = pa.table({"_rn": keys.rows, "rid_key": keys.rid, "content_key": keys.content})
    few = len(keys.rows) <= _FEW_KEYS
    if not few:
        register(con, "_keys", table)
    repeats = _repeats(con, checked, table) if _repeated(keys.rid) else pa.table(
        {"_rn": pa.array([], pa.int64()), "reason": pa.array([], pa.string())})
    hits = _hits(con, table) if few else _hits_joined(con)
    hits = hits.filter(pc.invert(pc.is_in(hits.column("_rn"), repeats.column("_rn"))))
    conflicts = hits.filter(pc.invert(hits.column("same")))
    if conflicts.num_rows:
        conflicts = _confirmed(con, checked, conflicts)
    duplicates = hits.filter(hits.column("same")).select(["_rn"])
    changed = _changed_details(con, checked, duplicates)
    duplicates = duplicates.filter(pc.invert(pc.is_in(duplicates.column("_rn"), changed)))
    return pa.concat_tables([
        repeats,
        duplicates.append_column("reason", pa.nulls(duplicates.num_rows, pa.string())),
        conflicts.select(["_rn"]).append_column(
            "reason", pa.array([STORED_CONFLICT] * conflicts.num_rows, pa.string())),
        pa.table({"_rn": changed,
                  "reason": pa.array([DETAIL_CONFLICT] * len(changed), pa.string())}),
    ])


def _changed_details(con: duckdb.DuckDBPyConnection, checked: pa.Table,
                     duplicates: pa.Table) -> pa.Array:
    """Rows of ``duplicates`` (same read_id and content as a stored read) that give a
    vehicle_class, plate_colour or crop_ref other than the stored one: rejected, not lost
    silently. Only duplicates with a detail are compared (a join on ``reads.read_id``)."""
    rows = duplicates.column("_rn")
    if not len(rows):
        return pa.array([], pa.int64())
    table = pa.table({"_rn": rows, "read_id": checked.column("read_id").take(rows),
                      **{name: checked.column(name).take(rows) for name in DETAILS}})
    given = pc.is_valid(table.column(DETAILS[0]))
    for name in DETAILS[1:]:
        given = pc.or_(given, pc.is_valid(table.column(name)))
    table = table.filter(given)
    if not table.num_rows:
        return pa.array([], pa.int64())
    register(con, "_outcome", table)
    differs = " OR ".join(f"(d.{c} IS NOT NULL AND d.{c} IS DISTINCT FROM r.{c})"
                          for c in DETAILS)
    found = con.execute(
        f"SELECT DISTINCT d._rn FROM _outcome d JOIN reads r ON r.read_id = d.read_id "  # noqa: S608
        f"WHERE {differs}").to_arrow_table()
    return found.column(0).combine_chunks().cast(pa.int64())


def _repeated(rid: Ints) -> bool:
    """Whether a key occurs twice (sorting values beats numpy's hashed unique)."""
    ordered = np.sort(rid)
    return bool((ordered[1:] == ordered[:-1]).any())


def _hits_joined(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """(_rn, same content) of valid rows whose key is in ``read_keys`` (a join). A key
    stored twice (a hash collision) gives two matches: merged here, cheaper than a GROUP
    BY in the join."""
    hits = con.execute("""
        SELECT s._rn, k.content_key = s.content_key AS same
        FROM _keys s JOIN read_keys k ON k.rid_key = s.rid_key
    """).to_arrow_table()
    rows = _numbers(hits.column("_rn"))
    if not _repeated(rows):
        return hits
    by_row = np.argsort(rows, kind="stable")
    rows = rows[by_row]
    same = np.asarray(hits.column("same").to_numpy(), np.bool_)[by_row]
    first = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
    return pa.table({"_rn": rows[first], "same": np.logical_or.reduceat(same, first)})


def _hits(con: duckdb.DuckDBPyConnection, table: pa.Table) -> pa.Table:
    """Like :func:`_hits_joined` for a few rows: an IN list of keys is pruned by zone maps
    (about 1 ms instead of 5 ms for a join on 10 M keys)."""
    keys = table.column("rid_key").to_pylist()
    found: dict[int, set[int]] = {}
    if keys:
        marks = ", ".join("?" * len(keys))
        for rid, content in con.execute(
                f"SELECT rid_key, content_key FROM read_keys WHERE rid_key IN ({marks})",  # noqa: S608
                keys).fetchall():
            found.setdefault(rid, set()).add(content)
    rows = [(rn, content in found[rid]) for rn, rid, content
            in zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True)
            if rid in found]
    return pa.table({"_rn": pa.array([r[0] for r in rows], pa.int64()),
                     "same": pa.array([r[1] for r in rows], pa.bool_())})


def _repeats(con: duckdb.DuckDBPyConnection, checked: pa.Table, table: pa.Table) -> pa.Table:
    """Later rows of a read_id repeated in the batch: duplicates, or conflicts when their
    content (or a detail they give) differs from the first row's."""
    rows = table.column("_rn")
    register(con, "_src", table.append_column("read_id", checked.column("read_id").take(rows))
             .append_column("details", pc.binary_join_element_wise(
                 *[pc.fill_null(checked.column(c).take(rows), "") for c in DETAILS], "\x1f")))
    return con.execute(f"""
        SELECT _rn, CASE WHEN content_key <> first_content THEN '{BATCH_CONFLICT}'
                         WHEN {_DETAIL_DIFFERS} THEN '{BATCH_DETAIL_CONFLICT}' END AS reason
        FROM (SELECT s._rn, s.content_key, s.details,
                     first_value(s.content_key) OVER w AS first_content,
                     first_value(s.details) OVER w AS first_details,
                     row_number() OVER w AS k
              FROM _src s
              WHERE s.rid_key IN (SELECT rid_key FROM _src GROUP BY rid_key
                                  HAVING count(*) > 1)
              WINDOW w AS (PARTITION BY s.read_id ORDER BY s._rn))
        WHERE k > 1
    """).to_arrow_table()  # noqa: S608 - constants only


_DETAIL_DIFFERS: Final = " OR ".join(
    f"(split_part(details, chr(31), {i}) <> '' AND split_part(details, chr(31), {i}) "
    f"<> split_part(first_details, chr(31), {i}))" for i in range(1, len(DETAILS) + 1))
"""SQL: a later repeat gives a detail (the ``\x1f``-joined DETAILS) unlike the first row's."""


def _confirmed(con: duckdb.DuckDBPyConnection, checked: pa.Table,
               conflicts: pa.Table) -> pa.Table:
    """Key hits with other content whose read_id is really stored (not a 64-bit hash
    collision). Rare, so a scan of ``reads.read_id`` is affordable."""
    rows = conflicts.column("_rn")
    register(con, "_outcome", pa.table({"_rn": rows,
                                        "read_id": checked.column("read_id").take(rows)}))
    return con.execute(
        "SELECT _rn FROM _outcome o WHERE o.read_id IN (SELECT read_id FROM reads)"
    ).to_arrow_table()


def _ordered(checked: pa.Table, rows: Ints) -> tuple[Ints, pa.Table]:
    """The (plate, ts) order of ``rows`` (positions in it) and the columns to insert in
    that order."""
    order = _plate_order(checked.column("plate"), checked.column("ts"), rows)
    ordered_rows = rows[order]
    return order, pa.table({name: _take(checked.column(name), ordered_rows)
                            for name in _INSERTED})


def _insert(con: duckdb.DuckDBPyConnection, pool: Executor,
            ordered: tuple[Ints, pa.Table], keys: _Keys, kept: Bools,
            source: str | None) -> int:
    """Append the kept rows to ``reads`` in :func:`_ordered` order, and their keys; return
    the count. ``ordered`` covers every valid row: duplicates (rare) are dropped here."""
    order, table = ordered
    if not kept.all():
        still = np.flatnonzero(kept[order])
        table = pa.table({name: _take(table.column(name), still) for name in _INSERTED})
    if not table.num_rows:
        return 0
    rid, content = keys.rid[kept], keys.content[kept]
    by_key = pool.submit(_clustered, rid) if len(rid) > _FEW_KEYS else None
    register(con, "_src", table)
    con.execute("""
        INSERT INTO reads
        SELECT read_id, camera_id, ts, plate, plate_compact, plate_raw, confidence::REAL,
               vehicle_class, plate_colour, crop_ref, coalesce(source, ?::VARCHAR), now()
        FROM _src
    """, [source])
    if by_key is not None:  # clustered by key, so zone maps prune key lookups
        rid, content = rid[by_key.result()], content[by_key.result()]
    register(con, "_src", pa.table({"rid_key": rid, "content_key": content}))
    con.execute("INSERT INTO read_keys SELECT rid_key, content_key FROM _src")
    return int(table.num_rows)


def _take(column: pa.ChunkedArray | pa.Array, order: Ints) -> pa.Array:
    """Rows ``order`` of a column. Short text (all values inlined in 12 bytes) goes through
    Arrow's string_view layout: gathering its 16-byte views costs a fraction of Arrow's
    ``take`` of strings, and DuckDB reads inlined views as fast as strings (longer ones
    slower, so those are taken as strings)."""
    values = _flat(column)
    if values.null_count == len(values):
        return pa.nulls(len(order), values.type)
    if pa.types.is_string(values.type) and _longest(values) <= _INLINED:
        values = values.cast(pa.string_view())
    elif not pa.types.is_string_view(values.type):
        return values.take(pa.array(order))
    validity, view_buffer, *data = values.buffers()
    gathered = np.frombuffer(view_buffer, "V16")[values.offset:][order]
    bitmap = None if validity is None else pa.array(
        values.is_valid().to_numpy(zero_copy_only=False)[order]).buffers()[1]
    return pa.Array.from_buffers(pa.string_view(), len(order),
                                 [bitmap, pa.py_buffer(gathered), *data])


def _longest(values: pa.Array) -> int:
    """Length in bytes of the longest string of a string array."""
    offsets = np.frombuffer(values.buffers()[1], np.int32)[values.offset:][: len(values) + 1]
    return int(np.diff(offsets).max()) if len(values) else 0


def _clustered(keys: Ints) -> Ints:
    """An order of ``keys`` by their top bits (row groups then cover narrow key ranges):
    one sort of the top bits with the position in the low bits."""
    bits = max(1, (len(keys) - 1).bit_length())
    packed = (keys.astype(np.uint64) >> np.uint64(bits)) << np.uint64(bits)
    return np.asarray(np.sort(packed | np.arange(len(keys), dtype=np.uint64))
                      & np.uint64((1 << bits) - 1), np.int64)


_SORT_CODE: Final = np.zeros(256, np.uint8)
_SORT_CODE[np.frombuffer(b" -.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)] = np.arange(
    1, 40, dtype=np.uint8)
"""6-bit codes of the bytes of canonical plates, in byte order (0: past the end)."""


def _plate_order(plates: pa.ChunkedArray, ts: pa.ChunkedArray, rows: Ints) -> Ints:
    """Positions in ``rows`` ordering them by plate, then time: one sort of 64-bit keys
    made of the plate's first characters (6 bits each; 7–8 fit beside the position, as
    fine as DuckDB's zone maps, which compare 8-byte prefixes) over the row's time rank."""
    times = _times(ts, rows)
    if len(times) < 2 or bool((times[1:] >= times[:-1]).all()):
        rank = np.arange(len(rows), dtype=np.uint64)
    else:
        rank = np.empty(len(rows), np.uint64)
        rank[np.argsort(times, kind="stable")] = np.arange(len(rows), dtype=np.uint64)
    bits = max(1, (len(rows) - 1).bit_length())
    key = _prefix_code(_flat(plates), rows, min(8, (64 - bits) // 6)) << np.uint64(bits)
    ordered = np.sort(key | rank) & np.uint64((1 << bits) - 1)
    by_time = np.empty(len(rows), np.int64)
    by_time[rank.astype(np.int64)] = np.arange(len(rows))
    return by_time[ordered.astype(np.int64)]


def _times(ts: pa.ChunkedArray, rows: Ints) -> Ints:
    """Microseconds since the epoch of ``rows`` of a valid ``ts`` column."""
    micros = pc.fill_null(_flat(ts).cast(pa.int64()), 0)  # nulls are in invalid rows only
    return np.asarray(micros.to_numpy(), np.int64)[rows]


def _prefix_code(plates: pa.Array, rows: Ints, chars: int) -> npt.NDArray[np.uint64]:
    """The first ``chars`` bytes of ``rows`` of a string array as 6-bit codes, big-endian."""
    _, offsets_buf, data_buf = plates.buffers()
    width = np.int64 if pa.types.is_large_string(plates.type) else np.int32
    offsets = np.frombuffer(offsets_buf, width)[plates.offset:][: len(plates) + 1]
    data = np.frombuffer(data_buf, np.uint8) if data_buf is not None else np.zeros(1, np.uint8)
    codes = _SORT_CODE[data]
    start, end = offsets[rows].astype(np.int64), offsets[rows + 1].astype(np.int64)
    short = bool((end - start < chars).any())  # never for canonical plates (8+ characters)
    code = np.zeros(len(rows), np.uint64)
    for place in range(chars):
        at = start + place
        code <<= np.uint64(6)
        if short:
            code |= np.where(at < end, codes[np.minimum(at, len(codes) - 1)], 0)
        else:
            code |= codes[at]
    return code


def _flat(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One array (combining chunks copies; a single chunk is taken as is)."""
    if isinstance(column, pa.Array):
        return column
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _rejected(checked: pa.Table, outcome: pa.Table) -> pa.Table:
    """(_rn, reason) of every rejected row: failed checks and read_id conflicts."""
    failed = checked.select([ROW_NUMBER, "reason"]).filter(pc.is_valid(checked.column("reason")))
    conflicts = outcome.filter(pc.is_valid(outcome.column("reason")))
    return pa.concat_tables([failed.rename_columns(["_rn", "reason"]),
                             conflicts.cast(failed.rename_columns(["_rn", "reason"]).schema)])


def _store_rejects(con: duckdb.DuckDBPyConnection, original: pa.Table, rejected: pa.Table,
                   source: str | None) -> None:
    """Copy rejected source rows to ``rejects`` as JSON of their original values; a row
    already there with the same reason from the same source is not copied again
    (re-ingesting a file adds nothing; the same bad row in another file is kept with that
    file's name)."""
    if not rejected.num_rows:
        return
    register(con, "_outcome", rejected)
    register(con, "_orig", original)
    con.execute(f"""
        INSERT INTO rejects (rejected_at, source, reason, row_json)
        SELECT now(), source, reason, row_json FROM (
            SELECT coalesce(s.source, ?::VARCHAR) AS source, o.reason, o._rn,
                   to_json(struct_pack(read_id := s.read_id, camera_id := s.camera_id,
                                       ts := s.ts, plate_raw := s.plate_raw,
                                       confidence := s.confidence,
                                       vehicle_class := s.vehicle_class,
                                       plate_colour := s.plate_colour,
                                       crop_ref := s.crop_ref, source := s.source)) AS row_json
            FROM _outcome o JOIN _orig s ON s.{ROW_NUMBER} = o._rn
        ) n ANTI JOIN rejects e ON e.row_json = n.row_json AND e.reason = n.reason
                                AND e.source IS NOT DISTINCT FROM n.source
        ORDER BY n._rn
    """, [source])  # noqa: S608 - constants only; values are parameters


def _count_reasons(table: pa.Table) -> int:
    return int(table.num_rows - table.column("reason").null_count)


def _summary(rejected: pa.Table) -> Mapping[str, int]:
    counts = pc.value_counts(rejected.column("reason").combine_chunks())
    pairs = zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(),
                strict=True)
    return MappingProxyType(dict(sorted((str(k), int(v)) for k, v in pairs)))
