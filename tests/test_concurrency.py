"""Processes and threads sharing one store: no lock errors, no lost or doubled read."""

from __future__ import annotations

import fcntl
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Iterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.test_store_support import PLATES, new_store, plate_read, reads_table
from tracing.errors import StoreError
from tracing.store import Spool, Store, run_ingest_service

BATCHES, BATCH_ROWS = 40, 100


def _writer_main(db: str, spool_dir: str, out: Queue[Any]) -> None:
    """Producer thread writes spool files while the ingest service loads them."""
    try:
        store, spool = Store(db), Spool(spool_dir)
        stop = threading.Event()
        loader = threading.Thread(target=run_ingest_service, args=(store, spool),
                                  kwargs={"poll_s": 0.01, "stop_event": stop})
        loader.start()
        for k in range(BATCHES):
            spool.write(reads_table(BATCH_ROWS, prefix="w", start=k * BATCH_ROWS))
            time.sleep(0.02)
        deadline = time.monotonic() + 30
        while spool.pending() and time.monotonic() < deadline:
            time.sleep(0.02)
        stop.set()
        loader.join()
        store.close()
        out.put(("writer", "ok", len(spool.failed())))
    except BaseException as exc:  # report anything to the test
        out.put(("writer", "error", repr(exc)))


def _reader_main(db: str, seconds: float, out: Queue[Any]) -> None:
    """Query in a loop: counts and a plate lookup."""
    try:
        store = Store(db)
        seen: list[int] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            seen.append(store.count_reads())
            store.reads_of_plate(PLATES[0])
        store.close()
        out.put(("reader", "ok", seen))
    except BaseException as exc:
        out.put(("reader", "error", repr(exc)))


def _hold_writer(db: str, seconds: float, ready: Event) -> None:
    store = Store(db)
    with store.writer():
        ready.set()
        time.sleep(seconds)
    store.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with new_store(tmp_path / "store.duckdb") as opened:
        yield opened


def test_writer_and_reader_processes_side_by_side(tmp_path: Path) -> None:
    db = tmp_path / "shared.duckdb"
    new_store(db).close()
    ctx = mp.get_context("spawn")
    out: Queue[Any] = ctx.Queue()
    reader = ctx.Process(target=_reader_main, args=(str(db), 6.0, out))
    writer = ctx.Process(target=_writer_main, args=(str(db), str(tmp_path / "spool"), out))
    reader.start()
    writer.start()
    results = {}
    for _ in range(2):
        kind, status, value = out.get(timeout=60)
        results[kind] = (status, value)
    writer.join(30)
    reader.join(30)
    assert results["writer"] == ("ok", 0), results
    assert results["reader"][0] == "ok", results
    seen = results["reader"][1]
    assert len(seen) > 10 and seen == sorted(seen)
    assert len(set(seen)) >= 2  # the reader saw the store grow while it was written
    with Store(db) as store, store.reader() as con:
        row = con.execute("SELECT count(*), count(DISTINCT read_id) FROM reads").fetchone()
    assert row == (BATCHES * BATCH_ROWS, BATCHES * BATCH_ROWS)


def test_busy_store_gives_store_error_after_the_timeout(tmp_path: Path) -> None:
    db = tmp_path / "busy.duckdb"
    new_store(db).close()
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_writer, args=(str(db), 3.0, ready))
    holder.start()
    try:
        assert ready.wait(30)
        started = time.monotonic()
        with pytest.raises(StoreError, match="store busy"):
            Store(db, timeout_s=0.3)
        assert time.monotonic() - started < 2.5
    finally:
        holder.join(30)
    with Store(db) as store:
        assert store.count_reads() == 0


def test_threads_mix_readers_and_writers(store: Store) -> None:
    errors: list[BaseException] = []

    def guarded(fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except BaseException as exc:
            errors.append(exc)

    def write(k: int) -> None:
        for i in range(15):
            store.ingest_read(plate_read(100 * k + i))

    def read() -> None:
        for _ in range(30):
            with store.reader() as con:
                con.execute("SELECT count(*) FROM reads").fetchone()
            store.reads_of_plate(PLATES[1])

    threads = [threading.Thread(target=guarded, args=(write, k)) for k in range(3)]
    threads += [threading.Thread(target=guarded, args=(read,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert store.count_reads() == 45


def test_flock_excludes_descriptors_of_one_process(tmp_path: Path) -> None:
    """flock locks belong to the open file description: two opens exclude each other,
    also from two threads of one process."""
    path = tmp_path / "x.lock"
    first = os.open(path, os.O_RDWR | os.O_CREAT)
    second = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(first, fcntl.LOCK_EX)
        outcome: list[bool] = []

        def try_shared() -> None:
            try:
                fcntl.flock(second, fcntl.LOCK_SH | fcntl.LOCK_NB)
                outcome.append(True)
            except BlockingIOError:
                outcome.append(False)

        thread = threading.Thread(target=try_shared)
        thread.start()
        thread.join()
        assert outcome == [False]
        fcntl.flock(first, fcntl.LOCK_UN)
        fcntl.flock(first, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(second, fcntl.LOCK_SH | fcntl.LOCK_NB)  # shared with shared is fine
    finally:
        os.close(first)
        os.close(second)


def test_duckdb_read_only_connections_in_one_process(tmp_path: Path) -> None:
    """Two read-only connections share one instance; a read-write one cannot join them
    (hence one instance per process in the lease)."""
    path = str(tmp_path / "ro.duckdb")
    con = duckdb.connect(path)
    con.execute("CREATE TABLE t AS SELECT range AS x FROM range(10)")
    con.close()
    first = duckdb.connect(path, read_only=True)
    second = duckdb.connect(path, read_only=True)
    try:
        assert first.execute("SELECT sum(x) FROM t").fetchone() == (45,)
        assert second.execute("SELECT count(*) FROM t").fetchone() == (10,)
        with pytest.raises(duckdb.Error):
            duckdb.connect(path)
    finally:
        first.close()
        second.close()
