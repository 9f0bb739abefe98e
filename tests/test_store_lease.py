"""The lease: one DuckDB instance per process, handed back when idle or when asked for."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import pytest

from tests.test_store_support import new_store
from tracing.errors import StoreError
from tracing.store.lease import Lease, lock_path, want_path


def wait_for(predicate: object, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return False


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "lease.duckdb"
    new_store(path).close()
    return path


def test_lease_upgrades_and_serves_readers_from_a_write_instance(db: Path) -> None:
    lease = Lease(db, idle_s=60)
    deadline = time.monotonic() + 5
    with lease.connect("read", deadline=deadline) as con:
        assert con.execute("SELECT count(*) FROM cameras").fetchone() == (3,)
    assert lease.mode == "read"
    with lease.connect("write", deadline=deadline) as con:
        con.execute("INSERT INTO cameras (id) VALUES ('cam-x')")
    assert lease.mode == "write"
    with lease.connect("read", deadline=deadline) as con:  # no reopen for a reader
        assert con.execute("SELECT count(*) FROM cameras").fetchone() == (4,)
    assert lease.mode == "write"
    lease.close()
    assert lease.mode is None


def test_idle_lease_is_handed_back(db: Path) -> None:
    lease = Lease(db, poll_s=0.005, idle_s=0.05)
    with lease.connect("read", deadline=time.monotonic() + 5):
        pass
    assert wait_for(lambda: lease.mode is None)


def test_lease_is_handed_back_when_another_process_waits(db: Path) -> None:
    lease = Lease(db, poll_s=0.005, idle_s=60)
    with lease.connect("write", deadline=time.monotonic() + 5):
        pass
    assert lease.mode == "write"
    want = os.open(want_path(db), os.O_RDWR)
    try:
        fcntl.flock(want, fcntl.LOCK_SH)  # what a waiting process does
        assert wait_for(lambda: lease.mode is None)
        probe = os.open(lock_path(db), os.O_RDWR)
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the file is free
            fcntl.flock(probe, fcntl.LOCK_UN)
        finally:
            os.close(probe)
    finally:
        os.close(want)


def test_waiting_for_a_held_lock_times_out(db: Path) -> None:
    holder = os.open(lock_path(db), os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        lease = Lease(db)
        with pytest.raises(StoreError, match="store busy"), \
                lease.connect("read", deadline=time.monotonic() + 0.2):
            pass
    finally:
        os.close(holder)


def test_a_writer_waits_for_readers_of_its_process(db: Path) -> None:
    lease = Lease(db, idle_s=60)
    order: list[str] = []
    reading = threading.Event()

    def reader() -> None:
        with lease.connect("read", deadline=time.monotonic() + 5):
            reading.set()
            time.sleep(0.2)
            order.append("read done")

    thread = threading.Thread(target=reader)
    thread.start()
    assert reading.wait(5)
    with lease.connect("write", deadline=time.monotonic() + 5):
        order.append("write")
    thread.join()
    assert order == ["read done", "write"]
    lease.close()
