"""The ingest spool: durable batch files, ordered idempotent loading, failed files kept."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from tests.test_store_support import count, new_store, plate_read, reads_table
from tracing.errors import IngestError
from tracing.store import IngestReport, Spool, Store, run_ingest_service


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with new_store(tmp_path / "store.duckdb") as opened:
        yield opened


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "spool")


def test_write_is_atomic_and_names_sort_by_time(spool: Spool) -> None:
    paths = [spool.write(reads_table(3, start=10 * k)) for k in range(5)]
    assert spool.pending() == paths == sorted(paths)
    assert not list(spool.directory.glob(".*"))  # no temp file left behind
    table = pa.ipc.open_file(paths[0]).read_all()
    assert table.num_rows == 3
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")


def test_producer_gets_column_errors_at_once(spool: Spool) -> None:
    with pytest.raises(IngestError, match="unknown columns"):
        spool.write(reads_table(2).append_column("junk", pa.array([1, 2])))
    assert spool.pending() == []


def test_load_ingests_in_order_and_deletes_after_commit(store: Store, spool: Spool) -> None:
    spool.write([plate_read(i) for i in range(4)])
    spool.write(reads_table(5))
    report = store.load_spool(spool)
    assert report == IngestReport(9, 0, 0)
    assert spool.pending() == []
    with store.reader() as con:
        sources = {r[0] for r in con.execute("SELECT source FROM reads").fetchall()}
    assert all(s.startswith("spool:") for s in sources)


def test_crash_between_commit_and_delete_is_harmless(store: Store, spool: Spool,
                                                     tmp_path: Path) -> None:
    path = spool.write(reads_table(6))
    kept = tmp_path / "copy.arrow"
    shutil.copy(path, kept)
    store.load_spool(spool)
    shutil.copy(kept, path)  # as if the loader died before deleting the file
    assert store.load_spool(spool) == IngestReport(0, 6, 0)
    assert spool.pending() == []
    assert store.count_reads() == 6


def test_unreadable_file_moves_to_failed_with_its_reason(store: Store, spool: Spool) -> None:
    good = spool.write(reads_table(2))
    bad = spool.directory / "00000000000000000001-0000001-000000.arrow"
    bad.write_bytes(b"not arrow at all")
    report = store.load_spool(spool)
    assert report.inserted == 2
    assert spool.pending() == []
    assert [p.name for p in spool.failed()] == [bad.name]
    reason = (spool.failed_dir / (bad.name + ".reason.txt")).read_text(encoding="utf-8")
    assert "not a readable Arrow file" in reason
    assert not good.exists()


def test_rows_with_problems_go_to_rejects_not_failed(store: Store, spool: Spool) -> None:
    spool.write([plate_read(1), plate_read(2, plate="XX")])
    report = store.load_spool(spool)
    assert (report.inserted, report.rejected) == (1, 1)
    assert spool.failed() == []
    assert count(store, "rejects") == 1


def test_many_files_load_in_one_transaction_up_to_max_rows(store: Store,
                                                          spool: Spool) -> None:
    for k in range(6):
        spool.write(reads_table(10, start=10 * k))
    first = store.load_spool(spool, max_rows=25)
    assert first.inserted == 30  # whole files: it stops after reaching max_rows
    assert len(spool.pending()) == 3
    assert store.load_spool(spool).inserted == 30


def test_service_loop_loads_until_stopped(store: Store, spool: Spool) -> None:
    stop = threading.Event()
    result: list[IngestReport] = []
    worker = threading.Thread(target=lambda: result.append(
        run_ingest_service(store, spool, poll_s=0.01, stop_event=stop)))
    worker.start()
    try:
        for k in range(5):
            spool.write(reads_table(4, start=4 * k))
        for _ in range(500):
            if store.count_reads() == 20 and not spool.pending():
                break
            threading.Event().wait(0.01)
    finally:
        stop.set()
        worker.join(10)
    assert result and result[0].inserted == 20
    assert store.count_reads() == 20
