"""Row checks of a prepared batch of reads, vectorised (Arrow kernels; DuckDB parses text).

In two steps, so that the plates can be normalised meanwhile (another thread):
:func:`parse` gives the batch with ``ts`` as instants, ``confidence`` as numbers and every
``read_id`` filled in; :func:`check` adds the canonical ``plate`` and ``plate_compact`` of
every row (:func:`tracing.plates.plate_columns`, null where invalid) and a ``reason``
column: NULL for a valid row, otherwise the first failed check, in this order: plate,
camera, timestamp (:mod:`tracing.store.window`: the accepted time window and UTC
offsets), confidence, length of the text values.
"""

from __future__ import annotations

import logging
from typing import Final

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from tracing import settings
from tracing.plates import PlateColumns
from tracing.store import window
from tracing.store.sources import TEXT_COLUMNS, TS_UTC, in_row_order, is_text, register

logger = logging.getLogger(__name__)

MISSING_PLATE: Final = "missing plate"
MISSING_CAMERA: Final = "missing camera id"
UNKNOWN_CAMERA: Final = "unknown camera id"
MISSING_TS: Final = "missing timestamp"
BAD_TS: Final = "unparseable timestamp"
NO_OFFSET: Final = "timestamp has no timezone offset"
CONF_NAN: Final = "confidence is not a number"
CONF_RANGE: Final = "confidence outside [0, 1]"
TEXT_TOO_LONG: Final = f"a text value is longer than {settings.INGEST_MAX_TEXT_CHARS} characters"
DERIVED_ID_PREFIX: Final = "d-"
"""Prefix of read_ids derived from (camera_id, ts, plate_raw)."""

_NO_REASON: Final = pa.scalar(None, pa.string())


def parse(con: duckdb.DuckDBPyConnection, batch: pa.Table) -> pa.Table:
    """The batch with ``ts`` as instants, ``confidence`` as numbers, a derived ``read_id``
    where it has none and the ``reason`` of a bad timestamp or confidence (else null)."""
    ts, ts_reason = _timestamps(con, batch)
    ts_reason = pc.coalesce(ts_reason, *_window_reasons(ts))
    confidence, conf_reason = _confidences(con, batch)
    batch = (batch.set_column(batch.schema.get_field_index("ts"), "ts", ts)
             .set_column(batch.schema.get_field_index("confidence"), "confidence", confidence))
    return (batch.set_column(batch.schema.get_field_index("read_id"), "read_id",
                             _read_ids(con, batch))
            .append_column("reason", pc.coalesce(ts_reason, conf_reason)))


def check(parsed: pa.Table, plates: PlateColumns, cameras: pa.Array) -> pa.Table:
    """A batch from :func:`parse` with the columns of ``plates`` (the
    :func:`tracing.plates.plate_columns` of its ``plate_raw``) and every check's
    ``reason`` (see module doc)."""
    reason = pc.coalesce(plates.reason, *_camera_reasons(parsed, cameras),
                         parsed.column("reason"), _long_text_reason(parsed))
    return (parsed.set_column(parsed.schema.get_field_index("reason"), "reason", reason)
            .append_column("plate", plates.plate)
            .append_column("plate_compact", plates.compact))


def _long_text_reason(batch: pa.Table) -> pa.ChunkedArray | pa.Array:
    """TEXT_TOO_LONG where a text column holds a value over the limit (else null); the
    lengths are only counted in a column whose longest value in bytes is over it."""
    reason: pa.ChunkedArray | pa.Array = pa.nulls(batch.num_rows, pa.string())
    for name in TEXT_COLUMNS:
        column = batch.column(name)
        longest = pc.max(pc.binary_length(column)).as_py()
        if longest is not None and longest > settings.INGEST_MAX_TEXT_CHARS:
            over = pc.fill_null(pc.greater(pc.utf8_length(column),
                                           settings.INGEST_MAX_TEXT_CHARS), False)
            reason = pc.coalesce(reason, _when(over, TEXT_TOO_LONG))
    return reason


def _when(mask: pa.ChunkedArray | pa.Array, reason: str) -> pa.ChunkedArray | pa.Array:
    return pc.if_else(mask, pa.scalar(reason), _NO_REASON)


def _camera_reasons(batch: pa.Table, cameras: pa.Array) -> list[pa.ChunkedArray | pa.Array]:
    camera = batch.column("camera_id")
    missing = pc.or_kleene(pc.is_null(camera), pc.equal(camera, ""))
    unknown = pc.invert(pc.is_in(camera, value_set=cameras))
    return [_when(missing, MISSING_CAMERA), _when(unknown, UNKNOWN_CAMERA)]


def _timestamps(con: duckdb.DuckDBPyConnection,
                batch: pa.Table) -> tuple[pa.ChunkedArray | pa.Array, pa.ChunkedArray | pa.Array]:
    """(instants, reason) of the ``ts`` column: typed instants, naive times, or text."""
    column = batch.column("ts")
    if is_text(column):
        register(con, "_orig", batch)
        parsed = in_row_order(con.execute(rf"""
            SELECT _rn, CASE WHEN zoned THEN value END AS ts,
                   CASE WHEN text IS NULL THEN '{MISSING_TS}'
                        WHEN value IS NULL THEN '{BAD_TS}'
                        WHEN NOT zoned THEN '{NO_OFFSET}'
                        WHEN abs(epoch_us(try_cast(text AS TIMESTAMP)) - epoch_us(value))
                             > {window.MAX_OFFSET_US} THEN '{window.OFFSET_RANGE}' END AS reason
            FROM (SELECT _rn, text, try_cast(text AS TIMESTAMPTZ) AS value,
                         regexp_matches(text, ':.*[+\-A-Za-z]') AS zoned
                  FROM (SELECT _rn, nullif(trim(ts), '') AS text FROM _orig))
        """).to_arrow_table())  # noqa: S608 - constants only
        return parsed.column("ts").cast(TS_UTC), parsed.column("reason")
    if column.type.tz is not None:
        return column, _when(pc.is_null(column), MISSING_TS)
    reason = pc.if_else(pc.is_null(column), pa.scalar(MISSING_TS), pa.scalar(NO_OFFSET))
    return pa.nulls(len(column), TS_UTC), reason


def _window_reasons(ts: pa.ChunkedArray | pa.Array) -> list[pa.ChunkedArray | pa.Array]:
    """Reasons of instants outside the accepted window (see :mod:`tracing.store.window`)."""
    earliest = pa.scalar(settings.READ_TS_EARLIEST, TS_UTC)
    latest = pa.scalar(window.latest(), TS_UTC)
    return [_when(pc.fill_null(pc.less(ts, earliest), False), window.TOO_OLD),
            _when(pc.fill_null(pc.greater(ts, latest), False), window.TOO_FAR_AHEAD)]


def _confidences(con: duckdb.DuckDBPyConnection,
                 batch: pa.Table) -> tuple[pa.ChunkedArray | pa.Array, pa.ChunkedArray | pa.Array]:
    """(numbers, reason) of the ``confidence`` column (numbers or text)."""
    column = batch.column("confidence")
    if is_text(column):
        register(con, "_orig", batch)
        parsed = in_row_order(con.execute(f"""
            SELECT _rn, value,
                   CASE WHEN text IS NOT NULL AND value IS NULL THEN '{CONF_NAN}' END AS reason
            FROM (SELECT _rn, text, try_cast(text AS DOUBLE) AS value
                  FROM (SELECT _rn, nullif(trim(confidence), '') AS text FROM _orig))
        """).to_arrow_table())  # noqa: S608 - constants only
        column, text_reason = parsed.column("value"), parsed.column("reason")
    else:
        text_reason = pa.nulls(len(column), pa.string())
    outside = pc.or_kleene(pc.is_nan(column),
                           pc.or_kleene(pc.less(column, 0.0), pc.greater(column, 1.0)))
    return column, pc.coalesce(text_reason, _when(pc.fill_null(outside, False), CONF_RANGE))


def _read_ids(con: duckdb.DuckDBPyConnection, batch: pa.Table) -> pa.ChunkedArray | pa.Array:
    """Given read_ids ("" counts as none); rows without one get a derived id (only those
    of valid rows are used)."""
    given = batch.column("read_id")
    given = pc.if_else(pc.equal(given, ""), pa.scalar(None, pa.string()), given)
    need = pc.is_null(given)
    if not pc.any(need).as_py():
        return given
    register(con, "_need", batch.filter(need).select(["_rn", "camera_id", "ts", "plate_raw"]))
    try:
        derived = in_row_order(con.execute(f"""
            SELECT _rn, '{DERIVED_ID_PREFIX}' || md5(concat_ws(chr(31), camera_id,
                                                         epoch_us(ts)::VARCHAR, plate_raw))
            FROM _need
        """).to_arrow_table()).column(1)  # noqa: S608 - constants only
    finally:
        con.unregister("_need")
    return pc.replace_with_mask(given.combine_chunks() if isinstance(given, pa.ChunkedArray)
                                else given, _flat(need), derived.combine_chunks())


def _flat(mask: pa.ChunkedArray | pa.Array) -> pa.Array:
    return mask.combine_chunks() if isinstance(mask, pa.ChunkedArray) else mask
