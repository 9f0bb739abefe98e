"""Row checks of a prepared batch of reads, vectorised (Arrow kernels; DuckDB parses text).

:func:`check` returns the batch with ``ts`` as instants, ``confidence`` as numbers, every
valid row's ``read_id`` filled in and a ``reason`` column: NULL for a valid row, otherwise
the first failed check, in this order: plate, camera, timestamp, confidence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tracing.plates import normalize_plates
from tracing.store.sources import TS_UTC, in_row_order, is_text, register

logger = logging.getLogger(__name__)

MISSING_PLATE: Final = "missing plate"
MISSING_CAMERA: Final = "missing camera id"
UNKNOWN_CAMERA: Final = "unknown camera id"
MISSING_TS: Final = "missing timestamp"
BAD_TS: Final = "unparseable timestamp"
NO_OFFSET: Final = "timestamp has no timezone offset"
CONF_NAN: Final = "confidence is not a number"
CONF_RANGE: Final = "confidence outside [0, 1]"
DERIVED_ID_PREFIX: Final = "d-"
"""Prefix of read_ids derived from (camera_id, ts, plate_raw)."""

_NO_REASON: Final = pa.scalar(None, pa.string())


@dataclass(frozen=True, slots=True)
class PlateCodes:
    """A batch's raw plates dictionary-encoded, with each distinct value normalised once."""

    indices: pa.Array
    """Row → position in the dictionary (null where the raw plate is null)."""
    raw: pa.Array
    plate: pa.Array
    """Canonical plate of each dictionary entry (null where invalid)."""
    compact: pa.Array
    error: pa.Array
    """Why an entry is invalid (null where valid)."""
    sort_key: npt.NDArray[np.uint64]
    """First 8 bytes of the canonical plate as a big-endian number: sorting by it orders
    rows exactly as finely as DuckDB's string zone maps (8-byte prefixes) can use."""

    def column(self, values: pa.Array) -> pa.DictionaryArray:
        """Per-row column of dictionary ``values`` (no strings copied)."""
        return pa.DictionaryArray.from_arrays(self.indices, values)


def plate_codes(batch: pa.Table) -> PlateCodes:
    """Dictionary-encode ``plate_raw`` and normalise each distinct value once."""
    column = batch.column("plate_raw")
    encoded = pc.dictionary_encode(
        column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column)
    raw = encoded.dictionary
    plates, errors = normalize_plates(raw)
    return PlateCodes(encoded.indices, raw, plates, _compact(plates), errors,
                      _prefix_key(plates))


def _string_buffers(values: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """Offsets (n + 1, from 0) and UTF-8 bytes of a string array."""
    n = len(values)
    _, offsets_buf, data_buf = values.buffers()
    if n == 0 or offsets_buf is None:
        return np.zeros(n + 1, np.int64), np.zeros(0, np.uint8)
    offsets = np.frombuffer(offsets_buf, np.int32)[values.offset: values.offset + n + 1]
    offsets = offsets.astype(np.int64)
    data = np.zeros(0, np.uint8) if data_buf is None else np.frombuffer(data_buf, np.uint8)
    return offsets - offsets[0], data[offsets[0]: offsets[-1]]


def _compact(plates: pa.Array) -> pa.Array:
    """Canonical plates without their separators (``-``, ``.``, space), null kept."""
    offsets, data = _string_buffers(plates)
    drop = (data == ord("-")) | (data == ord(".")) | (data == ord(" "))
    lengths = np.diff(offsets)
    if len(plates):  # separators per string; the sentinel keeps every start a valid index
        dropped = np.add.reduceat(np.append(drop, False), offsets[:-1])
        lengths = lengths - np.where(lengths > 0, dropped, 0)
    kept = np.zeros(len(plates) + 1, np.int32)
    np.cumsum(lengths, out=kept[1:])
    stripped = pa.StringArray.from_buffers(len(plates), pa.py_buffer(kept),
                                           pa.py_buffer(data[~drop].tobytes()))
    return pc.if_else(plates.is_valid(), stripped, pa.scalar(None, pa.string()))


def _prefix_key(values: pa.Array) -> npt.NDArray[np.uint64]:
    """Big-endian number of each string's first 8 bytes (0 for null)."""
    offsets, data = _string_buffers(values)
    if len(data) == 0:
        return np.zeros(len(values), np.uint64)
    width = np.arange(8)
    take = offsets[:-1, None] + width
    inside = width < (offsets[1:] - offsets[:-1])[:, None]
    head = np.where(inside, data[np.minimum(take, len(data) - 1)], 0).astype(np.uint8)
    key = head.view(">u8").ravel().astype(np.uint64)
    key[~np.asarray(values.is_valid().to_numpy(zero_copy_only=False), bool)] = 0
    return key


def check(con: duckdb.DuckDBPyConnection, batch: pa.Table, plates: PlateCodes,
          cameras: pa.Array) -> pa.Table:
    """The batch with parsed values, filled read_ids and ``reason`` (see module doc)."""
    ts, ts_reason = _timestamps(con, batch)
    confidence, conf_reason = _confidences(con, batch)
    batch = (batch.set_column(batch.schema.get_field_index("ts"), "ts", ts)
             .set_column(batch.schema.get_field_index("confidence"), "confidence", confidence))
    reason = pc.coalesce(*_plate_reasons(batch, plates), *_camera_reasons(batch, cameras),
                         ts_reason, conf_reason)
    read_id = _read_ids(con, batch, reason)
    return (batch.set_column(batch.schema.get_field_index("read_id"), "read_id", read_id)
            .append_column("reason", reason))


def _when(mask: pa.ChunkedArray | pa.Array, reason: str) -> pa.ChunkedArray | pa.Array:
    return pc.if_else(mask, pa.scalar(reason), _NO_REASON)


def _plate_reasons(batch: pa.Table, plates: PlateCodes) -> list[pa.ChunkedArray | pa.Array]:
    return [_when(pc.is_null(batch.column("plate_raw")), MISSING_PLATE),
            pc.take(plates.error, plates.indices)]


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
                        WHEN NOT zoned THEN '{NO_OFFSET}' END AS reason
            FROM (SELECT _rn, text, try_cast(text AS TIMESTAMPTZ) AS value,
                         regexp_matches(text, ':.*[+\-A-Za-z]') AS zoned
                  FROM (SELECT _rn, nullif(trim(ts), '') AS text FROM _orig))
        """).to_arrow_table())  # noqa: S608 - constants only
        return parsed.column("ts").cast(TS_UTC), parsed.column("reason")
    if column.type.tz is not None:
        return column, _when(pc.is_null(column), MISSING_TS)
    reason = pc.if_else(pc.is_null(column), pa.scalar(MISSING_TS), pa.scalar(NO_OFFSET))
    return pa.nulls(len(column), TS_UTC), reason


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


def _read_ids(con: duckdb.DuckDBPyConnection, batch: pa.Table,
              reason: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Given read_ids ("" counts as none); valid rows without one get a derived id."""
    given = batch.column("read_id")
    given = pc.if_else(pc.equal(given, ""), pa.scalar(None, pa.string()), given)
    need = pc.and_(pc.is_null(given), pc.is_null(reason))
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
