"""Retention: old reads and crops go, reads held by a case or an alert stay, the store
stays consistent and the purge is audited."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tracing import cameras, settings
from tracing.access import audit, cases, retention
from tracing.access.paths import contained
from tracing.errors import AccessError, AuditError, RetentionError
from tracing.reads import PlateRead
from tracing.store import Store

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CAMERA = "cam-1"


def read(i: int, days_ago: float, crop: str | None = None) -> PlateRead:
    return PlateRead(f"r{i}", CAMERA, NOW - timedelta(days=days_ago),
                     f"51A-{100 + i:03d}.45", 0.9, crop_ref=crop)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    registry = cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv")
    registry = registry.head(1).assign(id=CAMERA)
    crops = tmp_path / "crops"
    (crops / "day").mkdir(parents=True)
    for i in range(6):
        (crops / "day" / f"{i}.jpg").write_bytes(b"jpeg")
    with Store(tmp_path / "retention.duckdb") as opened:
        opened.replace_cameras(registry)
        opened.ingest_reads([read(0, 40, "day/0.jpg"), read(1, 40, "day/1.jpg"),
                             read(2, 40, "day/2.jpg"), read(3, 10, "day/3.jpg"),
                             read(4, 20, "day/4.jpg"), read(5, 40, "../outside.jpg")])
        yield opened


def stored(store: Store) -> list[str]:
    with store.reader() as con:
        return [r[0] for r in con.execute("SELECT read_id FROM reads ORDER BY 1").fetchall()]


def test_purge_keeps_case_and_alert_reads_and_removes_the_rest(store: Store,
                                                                tmp_path: Path) -> None:
    assert cases.attach_reads(store, "CASE-2026-17", ["r0", "unknown"], by="ann") == 1
    with store.writer() as con:
        con.execute("INSERT INTO alerts (kind, read_id, plate) VALUES ('watchlist', 'r1', 'x')")
    crops = tmp_path / "crops"
    preview = retention.purge(store, now=NOW, crops_dir=crops, dry_run=True)
    assert (preview.reads_deleted, preview.reads_kept, preview.dry_run) == (2, 2, True)
    assert len(stored(store)) == 6
    report = retention.purge(store, now=NOW, crops_dir=crops, who="root", reason="monthly")
    assert (report.reads_deleted, report.reads_kept) == (2, 2)
    assert stored(store) == ["r0", "r1", "r3", "r4"]
    assert sorted(p.name for p in (crops / "day").iterdir()) == ["0.jpg", "1.jpg", "3.jpg",
                                                                  "4.jpg", "5.jpg"]
    assert report.crop_files_deleted == 1  # ../outside.jpg is never followed
    assert list(cases.case_reads(store, "CASE-2026-17")["read_id"]) == ["r0"]
    last = audit.entries(store, action="retention.purge").iloc[0]
    assert last["who"] == "root" and last["reason"] == "monthly"
    assert '"reads_deleted": 2' in last["params"]
    assert audit.verify(store).ok


def test_purged_reads_are_forgotten_and_the_keys_stay_consistent(store: Store,
                                                                  tmp_path: Path) -> None:
    retention.purge(store, now=NOW, crops_dir=tmp_path / "crops")
    with store.reader() as con:
        keys = con.execute("SELECT count(*) FROM read_keys").fetchone()
    assert keys == (len(stored(store)),)
    again = store.ingest_reads([read(3, 10), read(0, 40)])
    assert (again.inserted, again.duplicates) == (1, 1)  # r3 is known, purged r0 is new


def test_shorter_crop_period_clears_crops_but_keeps_reads(store: Store, tmp_path: Path) -> None:
    policy = retention.RetentionPolicy(reads_days=30, crops_days=15)
    retention.save_policy(store, policy, who="root", reason="privacy review")
    assert retention.load_policy(store) == policy
    report = retention.purge(store, now=NOW, crops_dir=tmp_path / "crops")
    assert report.crops_cleared == 5 and report.reads_deleted == 4
    with store.reader() as con:
        crops = dict(con.execute("SELECT read_id, crop_ref FROM reads").fetchall())
    assert crops == {"r3": "day/3.jpg", "r4": None}
    assert not (tmp_path / "crops" / "day" / "4.jpg").exists()


@pytest.mark.parametrize("reads, crops", [(0, 0), (31, 40), (10_000, 10), (30, 0)])
def test_bad_policies_are_refused(reads: int, crops: int) -> None:
    with pytest.raises(RetentionError, match=r"retention|longer"):
        retention.RetentionPolicy(reads_days=reads, crops_days=crops)


def test_default_policy_is_thirty_days(store: Store) -> None:
    assert retention.load_policy(store) == retention.RetentionPolicy(30, 30)


@pytest.mark.parametrize("case", ["", "x", "c" * 65])
def test_bad_case_numbers_are_refused(store: Store, case: str) -> None:
    with pytest.raises(AuditError, match="case number"):
        cases.attach_reads(store, case, ["r0"], by="ann")


@pytest.mark.parametrize("ref", ["../etc/passwd", "/etc/passwd", "a/../../b", "", "C:\\x",
                                 "day/\x00.jpg"])
def test_paths_never_leave_their_folder(tmp_path: Path, ref: str) -> None:
    with pytest.raises(AccessError):
        contained(tmp_path, ref)


def test_symlinks_out_of_the_folder_are_refused(tmp_path: Path) -> None:
    (tmp_path / "crops").mkdir()
    (tmp_path / "crops" / "link").symlink_to(tmp_path)
    assert contained(tmp_path / "crops", "day/a.jpg") == tmp_path / "crops" / "day" / "a.jpg"
    with pytest.raises(AccessError, match="leaves"):
        contained(tmp_path / "crops", "link/secret.txt")


def test_scheduled_purge_runs_until_stopped(store: Store, tmp_path: Path) -> None:
    class OneTurn(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            assert timeout == 24 * 3600
            self.set()
            return True

    assert retention.purge_every(store, 24, OneTurn(), crops_dir=tmp_path / "crops") == 1
    assert stored(store) == []  # every read is months older than the 30 days kept
    assert audit.entries(store, action="retention.purge")["who"].tolist() == [retention.SYSTEM]
    with pytest.raises(RetentionError, match="interval"):
        retention.purge_every(store, 0, threading.Event())
