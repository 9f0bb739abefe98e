"""Validate, normalise and store a prepared batch of reads inside the caller's transaction.

Everything is set-based (Arrow kernels and DuckDB queries; no Python loop over rows):

1. distinct raw plates are normalised once (:func:`tracing.plates.normalize_plates`) and
   every row is checked (:mod:`tracing.store.checks`): each gets a ``reason`` or none;
2. valid rows are classified by 63-bit keys of read_id and content (a join with
   ``read_keys``, or an IN list for a few rows): a repeat of a read_id inside the batch or
   a stored one is a duplicate when the content is the same and a rejected row otherwise;
3. new rows are appended to ``reads`` sorted by plate (its first 8 bytes: all that
   DuckDB's zone maps compare) and time — each row group then covers a narrow plate range
   and a plate lookup reads few of them — and their keys to ``read_keys`` sorted by key;
   every rejected row goes to ``rejects`` as JSON with its reason. Nothing is dropped.

Tables go to DuckDB as Arrow record batches of 64 K rows (parallel scans), plates and
camera ids as dictionary arrays (the sort moves indices, not strings).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tracing.store import checks, schema
from tracing.store.sources import ROW_NUMBER, in_row_order, register

logger = logging.getLogger(__name__)

STORED_CONFLICT: Final = "read_id already stored with different content"
BATCH_CONFLICT: Final = "read_id repeated in the batch with different content"
_RID_KEY: Final = schema.RID_KEY_SQL.format(read_id="s.read_id")
"""Keys are computed by DuckDB, like those ``read_keys`` was filled with in migrations."""
_CONTENT_KEY: Final = schema.CONTENT_KEY_SQL.format(
    camera_id="s.camera_id", ts="s.ts", plate_raw="s.plate_raw",
    confidence="s.confidence::REAL")
_REGISTERED: Final = ("_orig", "_src", "_outcome")
_INSERTED: Final = ("read_id", "camera_id", "ts", "plate", "plate_compact", "plate_raw",
                    "confidence", "vehicle_class", "plate_colour", "crop_ref", "source",
                    "rid_key", "content_key")
_FEW_KEYS: Final = 512
"""Up to this many valid rows, stored keys are looked up with an IN list (zone maps)
rather than a join, and appended unsorted (they land in one row group anyway)."""


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

    def __add__(self, other: IngestReport) -> IngestReport:
        reasons = dict(self.reasons)
        for reason, count in other.reasons.items():
            reasons[reason] = reasons.get(reason, 0) + count
        return IngestReport(self.inserted + other.inserted, self.duplicates + other.duplicates,
                            self.rejected + other.rejected,
                            MappingProxyType(dict(sorted(reasons.items()))))


def ingest_batch(con: duckdb.DuckDBPyConnection, batch: pa.Table, *,
                 source: str | None) -> IngestReport:
    """Store a batch prepared by :func:`tracing.store.sources.prepare` (in con's transaction)."""
    if batch.num_rows == 0:
        return IngestReport()
    try:
        plates = checks.plate_codes(batch)
        cameras = con.execute("SELECT DISTINCT id FROM cameras").to_arrow_table().column(0)
        checked = _with_keys(con, _encoded(checks.check(con, batch, plates, cameras),
                                               plates, cameras))
        outcome = _outcome(con, checked)
        keep = pc.and_(pc.is_null(checked.column("reason")),
                       pc.invert(pc.is_in(checked.column(ROW_NUMBER), outcome.column("_rn"))))
        inserted = _insert(con, checked, keep, source)
        rejected = _rejected(checked, outcome)
        _store_rejects(con, batch, rejected, source)
    finally:
        for name in _REGISTERED:
            con.unregister(name)
    report = IngestReport(inserted, outcome.num_rows - _count_reasons(outcome),
                          rejected.num_rows, _summary(rejected))
    logger.debug("ingest %s: %s", source, report)
    return report


def _encoded(checked: pa.Table, plates: checks.PlateCodes, cameras: pa.Array) -> pa.Table:
    """Add canonical plate, compact form and sort key; plates and camera ids become Arrow
    dictionary arrays, so sorting and inserting move indices, not strings."""
    camera = _flat(pc.index_in(checked.column("camera_id"), value_set=cameras))
    checked = (checked
               .set_column(checked.schema.get_field_index("camera_id"), "camera_id",
                           pa.DictionaryArray.from_arrays(camera, _flat(cameras)))
               .set_column(checked.schema.get_field_index("plate_raw"), "plate_raw",
                           plates.column(plates.raw)))
    indices = pc.fill_null(plates.indices, 0).to_numpy()  # no plate at all: nothing to sort
    rank = plates.sort_key[indices] if len(plates.sort_key) else np.zeros(len(indices), np.uint64)
    return (checked.append_column("plate", plates.column(plates.plate))
            .append_column("plate_compact", plates.column(plates.compact))
            .append_column("rank", pa.array(rank, pa.uint64())))


def _flat(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _with_keys(con: duckdb.DuckDBPyConnection, checked: pa.Table) -> pa.Table:
    """The 64-bit read_id and content keys of every row (see :mod:`tracing.store.schema`)."""
    register(con, "_src", checked)
    keys = in_row_order(con.execute(
        f"SELECT _rn, {_RID_KEY} AS rid_key, {_CONTENT_KEY} AS content_key FROM _src s"  # noqa: S608
    ).to_arrow_table())
    return checked.append_column("rid_key", keys.column(1)).append_column(
        "content_key", keys.column(2))


def _outcome(con: duckdb.DuckDBPyConnection, checked: pa.Table) -> pa.Table:
    """Valid rows not to insert, (_rn, reason): reason NULL = duplicate, else a conflict."""
    valid = checked.filter(pc.is_null(checked.column("reason"))).select(
        [ROW_NUMBER, "read_id", "rid_key", "content_key"])
    keys = np.sort(valid.column("rid_key").to_numpy())
    repeated = bool((keys[1:] == keys[:-1]).any())  # sorting beats numpy's hashed unique
    few = valid.num_rows <= _FEW_KEYS
    if repeated or not few:
        register(con, "_src", checked)  # the SQL below reads the rows with their keys
    repeats = _repeats(con) if repeated else pa.table(
        {"_rn": pa.array([], pa.int64()), "reason": pa.array([], pa.string())})
    hits = _hits(con, valid) if few else _hits_joined(con)
    hits = hits.filter(pc.invert(pc.is_in(hits.column("_rn"), repeats.column("_rn"))))
    conflicts = hits.filter(pc.invert(hits.column("same")))
    if conflicts.num_rows:
        conflicts = _confirmed(con, conflicts)
    duplicates = hits.filter(hits.column("same")).select(["_rn"])
    return pa.concat_tables([
        repeats,
        duplicates.append_column("reason", pa.nulls(duplicates.num_rows, pa.string())),
        conflicts.select(["_rn"]).append_column(
            "reason", pa.array([STORED_CONFLICT] * conflicts.num_rows, pa.string())),
    ])


def _hits_joined(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """(_rn, read_id, same content) of valid rows whose key is in ``read_keys`` (a join)."""
    return con.execute(f"""
        SELECT s.{ROW_NUMBER} AS _rn, any_value(s.read_id) AS read_id,
               bool_or(k.content_key = s.content_key) AS same
        FROM _src s JOIN read_keys k ON k.rid_key = s.rid_key
        WHERE s.reason IS NULL
        GROUP BY s.{ROW_NUMBER}
    """).to_arrow_table()  # noqa: S608 - constants only


def _hits(con: duckdb.DuckDBPyConnection, valid: pa.Table) -> pa.Table:
    """Like :func:`_hits_joined` for a few rows: an IN list of keys is pruned by zone maps
    (about 1 ms instead of 5 ms for a join on 10 M keys)."""
    keys = valid.column("rid_key").to_pylist()
    found: dict[int, set[int]] = {}
    if keys:
        marks = ", ".join("?" * len(keys))
        for rid, content in con.execute(
                f"SELECT rid_key, content_key FROM read_keys WHERE rid_key IN ({marks})",  # noqa: S608
                keys).fetchall():
            found.setdefault(rid, set()).add(content)
    rows = [(rn, read_id, content in found[rid]) for rn, read_id, rid, content
            in zip(*(valid.column(c).to_pylist() for c in valid.column_names), strict=True)
            if rid in found]
    return pa.table({"_rn": pa.array([r[0] for r in rows], pa.int64()),
                     "read_id": pa.array([r[1] for r in rows], pa.string()),
                     "same": pa.array([r[2] for r in rows], pa.bool_())})


def _repeats(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Later rows of a read_id repeated in the batch: duplicates, or conflicts when their
    content differs from the first row's."""
    return con.execute(f"""
        SELECT _rn, CASE WHEN content_key <> first_content THEN '{BATCH_CONFLICT}' END
               AS reason
        FROM (SELECT s.{ROW_NUMBER} AS _rn, s.content_key,
                     first_value(s.content_key) OVER w AS first_content,
                     row_number() OVER w AS k
              FROM _src s
              WHERE s.reason IS NULL AND s.rid_key IN (
                  SELECT rid_key FROM _src WHERE reason IS NULL
                  GROUP BY rid_key HAVING count(*) > 1)
              WINDOW w AS (PARTITION BY s.read_id ORDER BY s.{ROW_NUMBER}))
        WHERE k > 1
    """).to_arrow_table()  # noqa: S608 - constants only


def _confirmed(con: duckdb.DuckDBPyConnection, conflicts: pa.Table) -> pa.Table:
    """Key hits with other content whose read_id is really stored (not a 64-bit hash
    collision). Rare, so a scan of ``reads.read_id`` is affordable."""
    register(con, "_outcome", conflicts)
    return con.execute(
        "SELECT _rn FROM _outcome o WHERE o.read_id IN (SELECT read_id FROM reads)"
    ).to_arrow_table()


def _insert(con: duckdb.DuckDBPyConnection, checked: pa.Table, keep: pa.ChunkedArray,
            source: str | None) -> int:
    """Append the kept rows to ``reads`` sorted by (plate, ts), and their keys; return count.

    The sort is an index sort of two integer columns (plate sort key, ts) and one Arrow
    take: about half the cost of DuckDB's ORDER BY, which sorts whole rows.
    """
    kept = np.flatnonzero(keep.to_numpy(zero_copy_only=False))
    ts = checked.column("ts").cast(pa.int64()).to_numpy()[kept]
    order = kept[np.lexsort((ts, checked.column("rank").to_numpy()[kept]))]
    rows = checked.select(_INSERTED).take(pa.array(order))
    register(con, "_src", rows)
    con.execute("""
        INSERT INTO reads
        SELECT read_id, camera_id, ts, plate, plate_compact, plate_raw, confidence::REAL,
               vehicle_class, plate_colour, crop_ref, coalesce(source, ?::VARCHAR), now()
        FROM _src
    """, [source])
    if len(order) > _FEW_KEYS:  # sorted, so zone maps prune key lookups
        keys = rows.select(["rid_key", "content_key"])
        by_key = keys.take(pa.array(np.argsort(keys.column("rid_key").to_numpy())))
        register(con, "_src", by_key)
    con.execute("INSERT INTO read_keys SELECT rid_key, content_key FROM _src")
    return len(order)


def _rejected(checked: pa.Table, outcome: pa.Table) -> pa.Table:
    """(_rn, reason) of every rejected row: failed checks and read_id conflicts."""
    failed = checked.select([ROW_NUMBER, "reason"]).filter(pc.is_valid(checked.column("reason")))
    conflicts = outcome.filter(pc.is_valid(outcome.column("reason")))
    return pa.concat_tables([failed.rename_columns(["_rn", "reason"]),
                             conflicts.cast(failed.rename_columns(["_rn", "reason"]).schema)])


def _store_rejects(con: duckdb.DuckDBPyConnection, original: pa.Table, rejected: pa.Table,
                   source: str | None) -> None:
    """Copy rejected source rows to ``rejects`` as JSON of their original values; a row
    already there with the same reason is not copied again (re-ingest adds nothing)."""
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
        ORDER BY n._rn
    """, [source])  # noqa: S608 - constants only; values are parameters


def _count_reasons(table: pa.Table) -> int:
    return int(table.num_rows - table.column("reason").null_count)


def _summary(rejected: pa.Table) -> Mapping[str, int]:
    counts = pc.value_counts(rejected.column("reason").combine_chunks())
    pairs = zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(),
                strict=True)
    return MappingProxyType(dict(sorted((str(k), int(v)) for k, v in pairs)))
