"""The store: schema and migrations, ingest, idempotency, rejects, queries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from tests.test_store_support import CAMERAS, T0, count, new_store, plate_read, reads_table
from tracing.errors import PlateError, QueryError, RegistryError, StoreError
from tracing.plates import compact_plate, normalize_plate, plate_columns
from tracing.reads import READ_COLUMNS, PlateRead
from tracing.store import IngestReport, Store, schema


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with new_store(tmp_path / "store.duckdb") as opened:
        yield opened


def reject_rows(store: Store) -> list[tuple[str, dict[str, object]]]:
    with store.reader() as con:
        rows = con.execute("SELECT reason, row_json FROM rejects ORDER BY id").fetchall()
    return [(reason, json.loads(text)) for reason, text in rows]


# --- PlateRead ---------------------------------------------------------------------------

def test_plate_read_refuses_naive_time_and_bad_confidence() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        PlateRead(None, "cam-a", datetime(2026, 3, 1, 8, 0), "51A-123.45")
    with pytest.raises(ValueError, match="outside"):
        PlateRead(None, "cam-a", T0, "51A-123.45", confidence=1.5)
    read = plate_read(1)
    with pytest.raises(AttributeError):
        read.plate_raw = "x"  # type: ignore[misc]


# --- schema and migrations ---------------------------------------------------------------

def test_new_store_is_at_latest_version_with_every_table(store: Store) -> None:
    assert store.schema_version == schema.LATEST_VERSION
    with store.reader() as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        columns = [r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'reads' "
            "ORDER BY column_index").fetchall()]
    assert {"cameras", "reads", "rejects", "watchlist", "geofences", "alerts", "audit_log",
            "schema_version", "read_keys"} <= tables
    assert tuple(columns) == READ_COLUMNS


def test_version_1_database_migrates_and_keeps_idempotency(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    assert schema.migrate(con, target=1) == 1
    con.execute("INSERT INTO cameras (id) VALUES ('cam-a')")
    con.execute("""INSERT INTO reads VALUES ('old-1', 'cam-a', TIMESTAMPTZ '2026-03-01 01:15:00+00',
                   '51A-123.45', '51A12345', '51A-123.45', 0.9, NULL, NULL, NULL, 'v1', now())""")
    con.close()
    with Store(path) as store:
        assert store.schema_version == schema.LATEST_VERSION
        assert count(store, "read_keys") == 1
        again = PlateRead("old-1", "cam-a", datetime(2026, 3, 1, 1, 15, tzinfo=UTC),
                          "51A-123.45", 0.9)
        assert store.ingest_read(again) == IngestReport(0, 1, 0)
        changed = PlateRead("old-1", "cam-a", again.ts, "51A-999.99", 0.9)
        assert store.ingest_read(changed).reasons == {
            "read_id already stored with different content": 1}
        with store.reader() as con:
            versions = con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
        assert [v[0] for v in versions] == [m.version for m in schema.MIGRATIONS]


def test_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    with Store(path) as store, store.writer() as con:
        con.execute("INSERT INTO schema_version (version, description) VALUES (99, 'future')")
    with pytest.raises(StoreError, match="newer than this software"):
        Store(path)


def test_a_duckdb_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE something (x INTEGER)")
    con.close()
    with pytest.raises(StoreError, match="not a tracing store"):
        Store(path)


def test_failed_migration_step_leaves_the_previous_version(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "m.duckdb"))
    schema.migrate(con, target=1)
    con.execute("CREATE TABLE watchlist (x INTEGER)")  # step 2 will collide with this
    with pytest.raises(StoreError, match="migration to schema version 2"):
        schema.migrate(con)
    assert schema.schema_version(con) == 1
    con.close()


# --- ingest: happy path and idempotency --------------------------------------------------

def test_ingest_normalises_plates_and_keeps_instants(store: Store) -> None:
    frame = pd.DataFrame({
        "read_id": ["a", "b"], "camera_id": ["cam-a", "cam-b"],
        "ts": ["2026-03-01T08:15:00+07:00", "2026-03-01T01:16:00Z"],
        "plate_raw": ["51a 12345", "59-x1/123.45"], "confidence": [0.7, None],
        "vehicle_class": ["car", None], "plate_colour": ["white", None],
    })
    report = store.ingest(frame, source="test")
    assert report == IngestReport(inserted=2, duplicates=0, rejected=0)
    reads = store.reads_of_plate("51A12345").to_pylist()
    assert len(reads) == 1
    read = reads[0]
    assert read["plate"] == "51A-123.45" == normalize_plate("51a 12345")
    assert read["plate_compact"] == compact_plate("51A-123.45") == "51A12345"
    assert read["plate_raw"] == "51a 12345"
    assert read["ts"] == datetime(2026, 3, 1, 1, 15, tzinfo=UTC)
    assert read["source"] == "test"
    assert store.reads_of_plate("59-X1 123.45").num_rows == 1


def test_pandas_local_times_are_stored_as_instants(store: Store) -> None:
    local = pd.Timestamp("2026-03-01 08:15:00", tz="Asia/Ho_Chi_Minh")
    frame = pd.DataFrame({"camera_id": ["cam-a"], "ts": [local], "plate": ["51A-123.45"]})
    assert store.ingest(frame).inserted == 1
    [read] = store.reads_of_plate("51A-123.45").to_pylist()
    assert read["ts"] == datetime(2026, 3, 1, 1, 15, tzinfo=UTC)
    naive = frame.assign(ts=[pd.Timestamp("2026-03-01 08:16:00")])
    assert store.ingest(naive).reasons == {"timestamp has no timezone offset": 1}


def test_reingesting_the_same_file_adds_nothing(store: Store, tmp_path: Path) -> None:
    csv = tmp_path / "reads.csv"
    csv.write_text(
        "read_id,camera_id,ts,plate,confidence\n"
        "r1,cam-a,2026-03-01T08:15:00+07:00,51A-123.45,0.9\n"
        "r2,cam-b,2026-03-01T08:16:00+07:00,51A12345,0.8\n"
        ",cam-c,2026-03-01T08:17:00+07:00,59-X1 123.45,\n"
        "r3,cam-z,2026-03-01T08:18:00+07:00,51A-123.45,0.9\n",
        encoding="utf-8")
    first = store.ingest(csv)
    assert (first.inserted, first.duplicates, first.rejected) == (3, 0, 1)
    counts = (count(store, "reads"), count(store, "rejects"), count(store, "read_keys"))
    second = store.ingest(csv)
    assert (second.inserted, second.duplicates, second.rejected) == (0, 3, 1)
    assert (count(store, "reads"), count(store, "rejects"), count(store, "read_keys")) == counts
    with store.reader() as con:
        sources = con.execute("SELECT DISTINCT source FROM reads").fetchall()
    assert sources == [("file:reads.csv",)]


def test_missing_read_id_is_derived_from_camera_time_and_plate(store: Store) -> None:
    table = reads_table(5).drop_columns(["read_id"])
    assert store.ingest(table).inserted == 5
    assert store.ingest(table) == IngestReport(0, 5, 0)
    # the same instant written with another offset is the same read
    shifted = table.set_column(table.schema.get_field_index("ts"), "ts", pa.array(
        [t.astimezone(timezone(timedelta(hours=7))).isoformat()
         for t in table.column("ts").to_pylist()]))
    assert store.ingest(shifted) == IngestReport(0, 5, 0)
    with store.reader() as con:
        ids = [r[0] for r in con.execute("SELECT read_id FROM reads").fetchall()]
    assert all(i.startswith("d-") and len(i) == 34 for i in ids)


def test_read_id_with_other_content_is_rejected_not_overwritten(store: Store) -> None:
    store.ingest(reads_table(3))
    clash = reads_table(1).set_column(3, "plate", pa.array(["30K-111.11"]))
    report = store.ingest(clash)
    assert report.rejected == 1
    assert report.reasons == {"read_id already stored with different content": 1}
    assert store.reads_of_plate("30K-111.11").num_rows == 0
    assert store.reads_of_plate("51A-123.45").num_rows == 1


def test_repeats_inside_one_batch(store: Store) -> None:
    table = pa.concat_tables([reads_table(2), reads_table(1),
                              reads_table(1, start=1).set_column(
                                  3, "plate", pa.array(["30K-111.11"]))])
    report = store.ingest(table)
    assert (report.inserted, report.duplicates, report.rejected) == (2, 1, 1)
    assert report.reasons == {"read_id repeated in the batch with different content": 1}


def test_big_batches_take_the_join_path(store: Store) -> None:
    table = reads_table(700)
    assert store.ingest(table).inserted == 700
    plates = table.column("plate").to_pylist()
    changed = table.set_column(3, "plate", pa.array(["30K-111.11", *plates[1:]]))
    report = store.ingest(pa.concat_tables([changed, reads_table(50, start=700)]))
    assert (report.inserted, report.duplicates, report.rejected) == (50, 699, 1)
    assert report.reasons == {"read_id already stored with different content": 1}
    assert store.count_reads() == 750


def test_single_read_ingest_is_idempotent(store: Store) -> None:
    assert store.ingest_read(plate_read(1)) == IngestReport(1, 0, 0)
    assert store.ingest_read(plate_read(1)) == IngestReport(0, 1, 0)
    no_id = plate_read(2, read_id=None)
    assert store.ingest_read(no_id).inserted == 1
    assert store.ingest_read(no_id).duplicates == 1
    assert store.count_reads() == 2


@pytest.mark.parametrize("start", [0, 1, 3])
def test_compact_forms_match_the_scalar_function(start: int) -> None:
    canonical = ["51A-123.45", None, "59-X1 123.45", "TM-12-34", "51LD-123.45", None]
    values = pa.array(canonical, pa.string()).slice(start)
    expected = [None if v is None else compact_plate(v) for v in canonical[start:]]
    assert plate_columns(values).compact.to_pylist() == expected


def test_report_adds_up() -> None:
    a = IngestReport(1, 2, 3, {"x": 2, "y": 1})
    b = IngestReport(4, 0, 1, {"x": 1})
    assert a + b == IngestReport(5, 2, 4, {"x": 3, "y": 1})
    assert (a + b).rows == 11


# --- rejects -----------------------------------------------------------------------------

BAD_ROWS = [
    ("plate", "XX", "too short: fewer than 6 letters and digits"),
    ("plate", "42A-123.45", "province code 42 is not issued"),
    ("plate", None, "missing plate"),
    ("camera_id", "cam-zz", "unknown camera id"),
    ("camera_id", None, "missing camera id"),
    ("ts", "2026-03-01 08:15:00", "timestamp has no timezone offset"),
    ("ts", "2026-03-01", "timestamp has no timezone offset"),
    ("ts", "yesterday at noon", "unparseable timestamp"),
    ("ts", "2026-02-30T08:15:00+07:00", "unparseable timestamp"),
    ("ts", None, "missing timestamp"),
    ("confidence", "1.5", "confidence outside [0, 1]"),
    ("confidence", "-0.1", "confidence outside [0, 1]"),
    ("confidence", "NaN", "confidence outside [0, 1]"),
    ("confidence", "high", "confidence is not a number"),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD_ROWS)
def test_each_bad_row_goes_to_rejects_with_its_reason(
        store: Store, column: str, value: str | None, reason: str) -> None:
    good = {"read_id": "ok", "camera_id": "cam-a", "ts": "2026-03-01T08:15:00+07:00",
            "plate": "51A-123.45", "confidence": "0.9"}
    bad = good | {"read_id": "bad", column: value}
    table = pa.table({k: pa.array([good[k], bad[k]], pa.string()) for k in good})
    report = store.ingest(table, source="upload")
    assert (report.inserted, report.rejected) == (1, 1)
    assert report.reasons == {reason: 1}
    [(stored_reason, row)] = reject_rows(store)
    assert stored_reason == reason
    assert row["read_id"] == "bad"
    assert row[column if column != "plate" else "plate_raw"] == value


def test_typed_naive_timestamps_are_rejected_not_guessed(store: Store) -> None:
    table = reads_table(3)
    table = table.set_column(2, "ts", table.column("ts").cast(pa.timestamp("us")))
    report = store.ingest(table)
    assert report == IngestReport(0, 0, 3, {"timestamp has no timezone offset": 3})


def test_typed_confidence_outside_range(store: Store) -> None:
    table = reads_table(2).set_column(4, "confidence", pa.array([1.2, float("nan")]))
    assert store.ingest(table).reasons == {"confidence outside [0, 1]": 2}


def test_injection_shaped_values_are_stored_or_rejected_cleanly(store: Store) -> None:
    evil = "'); DROP TABLE reads; --"
    table = pa.table({
        "read_id": [evil, "x2", "x3"],
        "camera_id": ["cam-a", evil, "cam-a"],
        "ts": ["2026-03-01T08:15:00+07:00"] * 3,
        "plate": ["51A-123.45", "51A-123.45", evil],
        "source": [evil, None, None],
    })
    report = store.ingest(table, source=evil)
    assert (report.inserted, report.rejected) == (1, 2)
    assert report.reasons == {"unknown camera id": 1,
                              "contains a character that is not a letter, a digit or a "
                              "separator": 1}
    [read] = store.reads_of_plate("51A-123.45").to_pylist()
    assert read["read_id"] == evil and read["source"] == evil
    with pytest.raises(PlateError):
        store.reads_of_plate(evil)
    assert {"reads", "rejects", "cameras"} <= {
        r[0] for r in duckdb_tables(store)}
    assert count(store, "reads") == 1


def duckdb_tables(store: Store) -> list[tuple[str]]:
    with store.reader() as con:
        return [(str(r[0]),) for r in con.execute(
            "SELECT table_name FROM duckdb_tables()").fetchall()]


# --- whole-batch errors ------------------------------------------------------------------

def test_unknown_and_missing_columns_refuse_the_whole_batch(store: Store) -> None:
    with pytest.raises(StoreError, match=r"unknown columns \['colour', 'speed'\]"):
        store.ingest(reads_table(2).append_column("speed", pa.array([1, 2]))
                     .append_column("colour", pa.array(["a", "b"])))
    with pytest.raises(StoreError, match=r"missing required columns \['camera_id'\]"):
        store.ingest(reads_table(2).drop_columns(["camera_id"]))
    with pytest.raises(StoreError, match=r"plate \(or plate_raw\)"):
        store.ingest(reads_table(2).drop_columns(["plate"]))
    with pytest.raises(StoreError, match="column ts has type int64"):
        store.ingest(reads_table(2).set_column(2, "ts", pa.array([1, 2])))
    assert count(store, "reads") == count(store, "rejects") == 0


@pytest.mark.parametrize(("content", "message"), [
    (b"", "is empty"),
    (b"\n\n", "is empty"),
    (b"read_id,camera_id,ts,plate\nr1,cam-a,2026-03-01T08:15:00+07:00,51A-123.45,extra,x\n",
     "not a readable CSV"),
    ("read_id,camera_id,ts,plate\nr1,cam-a,2026-03-01T08:15:00+07:00,Đinh 51A\n"
     .encode("cp1258"), "not UTF-8"),
    ("read_id,camera_id,ts,plate\n".encode("utf-16"), "not UTF-8"),
    ("pläte,camera_id,ts\n".encode("latin-1"), "not UTF-8"),
])
def test_unreadable_csv_files_are_refused(
        store: Store, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=message):
        store.ingest(path)
    assert count(store, "reads") == count(store, "rejects") == 0


def test_header_only_csv_adds_nothing(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("read_id,camera_id,ts,plate\n", encoding="utf-8")
    assert store.ingest(path) == IngestReport()


def test_parquet_and_utf8_bom_csv(store: Store, tmp_path: Path) -> None:
    pq_path = tmp_path / "reads.parquet"
    pa.parquet.write_table(reads_table(4), pq_path)
    assert store.ingest(pq_path).inserted == 4
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffREAD_ID, Camera_ID ,ts,plate\nz1,cam-b,2026-03-01T09:00:00+07:00,"
                    "51A-123.45\n".encode())
    assert store.ingest(bom).inserted == 1
    with pytest.raises(StoreError, match="unknown file type"):
        store.ingest(tmp_path / "reads.xlsx")


def test_exported_reads_can_be_ingested_again(store: Store) -> None:
    store.ingest(reads_table(4))
    exported = store.reads_of_plate("51A-123.45")
    assert store.ingest(exported) == IngestReport(0, 1, 0)


# --- queries and maintenance ------------------------------------------------------------

def test_reads_of_plate_any_spelling_and_time_bounds(store: Store) -> None:
    store.ingest(reads_table(12))
    every = store.reads_of_plate("51 a 123 45")
    assert every.num_rows == 3
    assert every.column("ts").to_pylist() == sorted(every.column("ts").to_pylist())
    later = store.reads_of_plate("51A-123.45", start=T0 + timedelta(seconds=1),
                                 end=T0 + timedelta(seconds=8))
    assert later.num_rows == 1
    with pytest.raises(QueryError, match="no time zone"):  # a TracingError: pages catch it
        store.reads_of_plate("51A-123.45", start=datetime(2026, 3, 1))
    with pytest.raises(PlateError):
        store.reads_of_plate("not a plate")


def test_compact_keeps_every_read_and_idempotency(store: Store) -> None:
    for k in range(3):
        store.ingest(reads_table(10, start=10 * k))
    store.ingest_read(plate_read(99))
    before = store.reads_of_plate("51A-123.45")
    store.compact()
    assert store.count_reads() == 31
    assert store.reads_of_plate("51A-123.45").equals(before)
    assert store.ingest(reads_table(30)) == IngestReport(0, 30, 0)
    assert store.schema_version == schema.LATEST_VERSION


def test_replace_cameras_checks_ids(store: Store) -> None:
    with pytest.raises(RegistryError, match="unique"):
        store.replace_cameras(pd.DataFrame({"id": ["x", "x"]}))
    with pytest.raises(RegistryError, match="no id column"):
        store.replace_cameras(pd.DataFrame({"name": ["x"]}))
    assert store.replace_cameras(pd.DataFrame({"id": [*CAMERAS, "cam-d"],
                                               "geometry": [None] * 4})) == 4


def test_hash_probe_change_rebuilds_read_keys(tmp_path: Path) -> None:
    path = tmp_path / "probe.duckdb"
    with new_store(path) as store:
        store.ingest(reads_table(5))
        with store.writer() as con:
            con.execute("UPDATE store_meta SET value = 'stale' WHERE key = 'hash_probe'")
            con.execute("DELETE FROM read_keys")
    with Store(path) as store:
        assert count(store, "read_keys") == 5
        assert store.ingest(reads_table(5)) == IngestReport(0, 5, 0)


def test_a_batch_without_any_plate_is_rejected_row_by_row(store: Store) -> None:
    batch = pa.table({"camera_id": [CAMERAS[0], CAMERAS[1]],
                      "ts": pa.array([T0, T0 + timedelta(seconds=5)], pa.timestamp("us", "UTC")),
                      "plate": pa.array([None, None], pa.string())})
    report = store.ingest(batch, source="no-plates")
    assert (report.inserted, report.rejected) == (0, 2)
    assert [reason for reason, _ in reject_rows(store)] == ["missing plate", "missing plate"]
