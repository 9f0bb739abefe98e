"""Retention: forget plate reads and crop images older than the retention period.

Reads attached to a case (``case_reads``) or to an alert (``alerts.read_id``: watchlist
hits, geofence entries) are kept whatever their age, with their crops. The purge runs in
one transaction with its audit entry, so the store is never half purged:

- crops of reads older than ``crops_days``: ``crop_ref`` is cleared, then the files are
  deleted from :data:`settings.CROPS_DIR` (after the commit; a file shared with a read that
  stays is kept; a ``crop_ref`` that would leave the crops folder is never followed);
- reads older than ``reads_days`` are deleted with their ``read_keys`` rows: a purged
  read_id is *forgotten*, so ``read_keys`` always describes exactly the stored reads.
  Ingesting an old file again re-adds its reads; the next purge removes them again;
  operators' reviews of purged reads (:mod:`tracing.reviews`) go with them;
- reads timed outside the accepted window (:mod:`tracing.store.window`: before
  2000-01-01 or more than a day ahead of the clock, which an older store may hold and
  which would never age out) are moved to ``rejects`` with the reason (quarantined).

Run it on demand (Admin page, ``python -m tracing retention purge``) and on a schedule:
``python -m tracing retention purge --every-hours 24`` keeps running (:func:`purge_every`),
or daily from cron: ``15 3 * * * cd /srv/tracing && .venv/bin/python -m tracing retention
purge``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import duckdb
import pyarrow as pa

from tracing import settings
from tracing.access import audit
from tracing.access.actor import Actor, Who, name_of, permit
from tracing.access.paths import contained
from tracing.errors import AccessError, RetentionError, TracingError
from tracing.store import Store, schema, window
from tracing.store.store import touch_reads

logger = logging.getLogger(__name__)

SYSTEM: Final = "system:retention"
_KEYS: Final = ("retention_reads_days", "retention_crops_days")
_RID_KEY: Final = schema.RID_KEY_SQL.format(read_id="read_id")
_CONTENT_KEY: Final = schema.CONTENT_KEY_SQL.format(
    camera_id="camera_id", ts="ts", plate_raw="plate_raw", confidence="confidence")


@dataclass(frozen=True)
class RetentionPolicy:
    """How many days reads and crop images are kept (crops at most as long as reads)."""

    reads_days: int = settings.RETENTION_READS_DAYS
    crops_days: int = settings.RETENTION_CROPS_DAYS

    def __post_init__(self) -> None:
        for name, days in (("reads", self.reads_days), ("crops", self.crops_days)):
            if not isinstance(days, int) or not 1 <= days <= settings.RETENTION_MAX_DAYS:
                raise RetentionError(f"{name} retention must be 1–{settings.RETENTION_MAX_DAYS}"
                                     f" days, got {days!r}")
        if self.crops_days > self.reads_days:
            raise RetentionError(f"crops cannot be kept longer ({self.crops_days} days) than "
                                 f"their reads ({self.reads_days} days)")


def load_policy(store: Store) -> RetentionPolicy:
    """The store's policy (set by an administrator) or the defaults of :mod:`settings`."""
    with store.reader() as con:
        rows = dict(con.execute("SELECT key, value FROM store_meta WHERE key IN (?, ?)",
                                list(_KEYS)).fetchall())
    defaults = RetentionPolicy()
    return RetentionPolicy(int(rows.get(_KEYS[0], defaults.reads_days)),
                           int(rows.get(_KEYS[1], defaults.crops_days)))


def save_policy(store: Store, policy: RetentionPolicy, *, who: Who,
                reason: str | None = None) -> None:
    """Store a new policy, checked (``retention``) and audited in its transaction; the
    reason is the Actor's, or ``reason`` for a system name."""
    what = {"reads_days": policy.reads_days, "crops_days": policy.crops_days}
    permit(store, who, "retention", "retention.policy", what)
    with store.writer() as con:
        con.execute("DELETE FROM store_meta WHERE key IN (?, ?)", list(_KEYS))
        con.executemany("INSERT INTO store_meta VALUES (?, ?)",
                        [[_KEYS[0], str(policy.reads_days)], [_KEYS[1], str(policy.crops_days)]])
        audit.record_in(con, who=name_of(who), action="retention.policy", params=what,
                        reason=_reason(who, reason))


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed (or, for a dry run, would remove)."""

    reads_before: datetime
    crops_before: datetime
    reads_deleted: int
    reads_kept: int
    """Reads older than the period kept because a case or an alert holds them."""
    crops_cleared: int
    crop_files_deleted: int
    dry_run: bool = False
    out_of_window: int = 0
    """Reads timed outside the accepted window, moved to ``rejects``."""

    def __str__(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return (f"retention {verb} {self.reads_deleted} reads older than "
                f"{self.reads_before:%Y-%m-%d %H:%M} UTC and the crops of "
                f"{self.crops_cleared} reads older than {self.crops_before:%Y-%m-%d %H:%M} UTC "
                f"({self.crop_files_deleted} files); kept {self.reads_kept} older reads held "
                f"by a case or an alert; {'would move' if self.dry_run else 'moved'} "
                f"{self.out_of_window} reads timed outside the accepted window to rejects")


def purge(store: Store, *, now: datetime | None = None, policy: RetentionPolicy | None = None,
          who: Who = SYSTEM, reason: str = "scheduled retention purge",
          crops_dir: Path = settings.CROPS_DIR, dry_run: bool = False) -> PurgeReport:
    """Remove what the policy no longer allows to keep; see the module docstring. ``who``
    needs ``retention`` (a system name is not checked); every purge is audited, with the
    Actor's reason or ``reason``."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    policy = policy or load_policy(store)
    reads_cut = when - timedelta(days=policy.reads_days)
    crops_cut = when - timedelta(days=policy.crops_days)
    if dry_run:
        with store.reader() as con:
            return _preview(con, reads_cut, crops_cut, when)
    permit(store, who, "retention", "retention.purge", {"reads_days": policy.reads_days})
    with store.writer() as con:
        files, cleared = _clear_crops(con, crops_cut)
        deleted = _delete_reads(con, reads_cut)
        quarantined = schema.quarantine(con, now=when)
        if deleted or quarantined:
            con.execute("DELETE FROM read_reviews WHERE read_id NOT IN "
                        "(SELECT read_id FROM reads)")
            touch_reads(con)
        kept = _count(con, "SELECT count(*) FROM reads WHERE ts < ?", reads_cut)
        audit.record_in(con, who=name_of(who), action="retention.purge",
                        reason=_reason(who, reason), params={
            "reads_before": reads_cut.isoformat(), "crops_before": crops_cut.isoformat(),
            "reads_deleted": deleted, "reads_kept": kept, "crops_cleared": cleared,
            "crop_files": len(files), "reads_days": policy.reads_days,
            "crops_days": policy.crops_days, "out_of_window": quarantined})
    removed = _delete_files(files, crops_dir)
    report = PurgeReport(reads_cut, crops_cut, deleted, kept, cleared, removed,
                         out_of_window=quarantined)
    logger.info("%s", report)
    return report


def _reason(who: Who, reason: str | None) -> str | None:
    return who.reason if isinstance(who, Actor) else reason


def _count(con: duckdb.DuckDBPyConnection, sql: str, *args: object) -> int:
    row = con.execute(sql, list(args)).fetchone()
    return int(row[0]) if row else 0


def _preview(con: duckdb.DuckDBPyConnection, reads_cut: datetime, crops_cut: datetime,
             when: datetime) -> PurgeReport:
    old = _count(con, "SELECT count(*) FROM reads WHERE ts < ?", reads_cut)
    doomed = _count(con, "SELECT count(*) FROM reads WHERE ts < ? AND read_id NOT IN (SELECT "
                    "read_id FROM case_reads) AND read_id NOT IN (SELECT read_id FROM alerts "
                    "WHERE read_id IS NOT NULL)", reads_cut)
    crops = _count(con, "SELECT count(*) FROM reads WHERE ts < ? AND crop_ref IS NOT NULL AND "
                   "read_id NOT IN (SELECT read_id FROM case_reads) AND read_id NOT IN (SELECT "
                   "read_id FROM alerts WHERE read_id IS NOT NULL)", crops_cut)
    outside = _count(con, "SELECT count(*) FROM reads WHERE ts > ? OR (ts < ? AND (read_id IN "
                     "(SELECT read_id FROM case_reads) OR read_id IN (SELECT read_id FROM alerts "
                     "WHERE read_id IS NOT NULL)))", window.latest(when), settings.READ_TS_EARLIEST)
    return PurgeReport(reads_cut, crops_cut, doomed, old - doomed, crops, 0, dry_run=True,
                       out_of_window=outside)


def _clear_crops(con: duckdb.DuckDBPyConnection, cut: datetime) -> tuple[list[str], int]:
    """Clear ``crop_ref`` of old reads that are not kept; return the files no stored read
    refers to any more, and how many reads were cleared."""
    refs = con.execute(
        "SELECT DISTINCT crop_ref FROM reads WHERE ts < ? AND crop_ref IS NOT NULL AND read_id "
        "NOT IN (SELECT read_id FROM case_reads) AND read_id NOT IN (SELECT read_id FROM alerts "
        "WHERE read_id IS NOT NULL)", [cut]).fetchall()
    cleared = _count(con, "UPDATE reads SET crop_ref = NULL WHERE ts < ? AND crop_ref IS NOT "
                     "NULL AND read_id NOT IN (SELECT read_id FROM case_reads) AND read_id NOT IN "
                     "(SELECT read_id FROM alerts WHERE read_id IS NOT NULL)", cut)
    if not refs:
        return [], cleared
    con.register("_crops", pa.table({"crop_ref": [str(r[0]) for r in refs]}))
    try:
        files = [str(r[0]) for r in con.execute(
            "SELECT crop_ref FROM _crops WHERE crop_ref NOT IN "
            "(SELECT crop_ref FROM reads WHERE crop_ref IS NOT NULL)").fetchall()]
    finally:
        con.unregister("_crops")
    return files, cleared


def _delete_reads(con: duckdb.DuckDBPyConnection, cut: datetime) -> int:
    """Delete old reads that are not kept, and their ``read_keys`` rows (keys another read
    shares through a hash collision are put back). Keys are taken first and the DELETE is
    plain: ``DELETE … RETURNING`` took 5.7 s for 0.5 M reads, a plain DELETE 0.1 s."""
    con.execute(f"CREATE TEMP TABLE _gone_keys AS SELECT DISTINCT {_RID_KEY} AS k "  # noqa: S608
                "FROM reads WHERE ts < ? AND read_id NOT IN (SELECT read_id FROM case_reads) "
                "AND read_id NOT IN (SELECT read_id FROM alerts WHERE read_id IS NOT NULL)",
                [cut])
    try:
        deleted = _count(con, "DELETE FROM reads WHERE ts < ? AND read_id NOT IN (SELECT "
                         "read_id FROM case_reads) AND read_id NOT IN (SELECT read_id FROM "
                         "alerts WHERE read_id IS NOT NULL)", cut)
        if deleted:
            con.execute("DELETE FROM read_keys WHERE rid_key IN (SELECT k FROM _gone_keys)")
            con.execute(f"INSERT INTO read_keys SELECT {_RID_KEY} AS k, {_CONTENT_KEY} "  # noqa: S608
                        "FROM reads WHERE k IN (SELECT k FROM _gone_keys)")
    finally:
        con.execute("DROP TABLE _gone_keys")
    return deleted


def _delete_files(refs: list[str], crops_dir: Path) -> int:
    removed = 0
    for ref in refs:
        try:
            path = contained(crops_dir, ref)
        except AccessError as exc:
            logger.warning("retention: crop not deleted: %s", exc)
            continue
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
        except OSError as exc:
            logger.warning("retention: cannot delete crop %s: %s", path, exc)
    return removed


def purge_every(store: Store, hours: float, stop: threading.Event, *,
                crops_dir: Path = settings.CROPS_DIR) -> int:
    """Purge now and then every ``hours`` until ``stop`` is set; return the purges run.
    A failed purge is logged and retried at the next turn."""
    if not 0 < hours <= 24 * 7:
        raise RetentionError(f"purge interval must be in (0, 168] hours, got {hours!r}")
    runs = 0
    while not stop.is_set():
        try:
            purge(store, crops_dir=crops_dir)
            runs += 1
        except TracingError as exc:
            logger.error("retention: purge failed, retrying in %s h: %s", hours, exc)
        stop.wait(hours * 3600)
    return runs
