"""Watchlists: plates (exact, wildcard or fuzzy patterns) to alert on, with reason, priority
(1 highest), expiry, who added them, and an optional restriction to some fences.

Patterns follow the search rules (:mod:`tracing.alerts.matcher`). Adding an entry checks the
reads of the last ``retro_days`` days at once (*retroactive hits*: one alert per matching
plate, in the same transaction), but only reads the alert engine has already evaluated: the
engine sees the later ones with the new entry. Removing an entry marks it removed (who,
when): alerts raised on it keep naming it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import duckdb
import pandas as pd

from tracing import safecsv, settings
from tracing.access.actor import Who, name_of, permit, record_change
from tracing.alerts.common import (
    aware,
    check_who,
    fetch,
    local_text,
    optional,
    records,
    to_datetime,
    utc_now,
)
from tracing.alerts.fencemap import load_fence_map
from tracing.alerts.matcher import KIND_RANK, Matcher, MatchKind, Pattern, compile_pattern
from tracing.alerts.records import AlertRow, insert_alerts
from tracing.errors import WatchlistError
from tracing.store import Store

__all__ = ["CSV_COLUMNS", "ImportReport", "WatchEntry", "add_watch", "export_watch_csv",
           "import_watch_csv", "list_watches", "read_watches", "remove_watch"]

CSV_COLUMNS: Final = ("pattern", "match_kind", "reason", "priority", "expires_at", "fence_ids")
_EXPORT_ONLY: Final = frozenset({"id", "created_by", "created_at"})
CHECKPOINT: Final = "engine"
"""Name of the alert engine's row in ``alert_checkpoint``."""


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """A watchlist entry; ``fence_ids`` empty means everywhere."""

    id: int
    pattern: str
    match_kind: MatchKind
    reason: str
    priority: int
    expires_at: datetime | None
    created_by: str
    created_at: datetime
    fence_ids: tuple[int, ...] = ()

    @property
    def compiled(self) -> Pattern:
        """The pattern checked and compiled for matching."""
        return compile_pattern(self.pattern, self.match_kind)

    def allows(self, fence_id: int | None) -> bool:
        """Whether a hit in ``fence_id`` (None: outside every fence) may raise an alert."""
        return not self.fence_ids or fence_id in self.fence_ids

    @property
    def rank(self) -> tuple[int, int, int]:
        """Sort key: priority, then exact before wildcard before fuzzy, then age."""
        return self.priority, KIND_RANK[self.match_kind], self.id


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What a CSV import did: entries added, retroactive alerts, and the refused lines."""

    added: int
    retro_alerts: int
    errors: tuple[str, ...]


# --- checks ----------------------------------------------------------------------------------

def _reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise WatchlistError("a watch entry needs a reason (why the plate is watched)")
    text = " ".join(reason.split())
    if len(text) > settings.WATCH_MAX_REASON_LENGTH:
        raise WatchlistError(f"reason {text[:30]!r}… is longer than "
                             f"{settings.WATCH_MAX_REASON_LENGTH} characters")
    return text


def _priority(priority: object) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int) \
            or not 1 <= priority <= settings.WATCH_MAX_PRIORITY:
        raise WatchlistError(f"priority {priority!r} must be an integer from 1 (highest) to "
                             f"{settings.WATCH_MAX_PRIORITY}")
    return priority


def _expiry(expires_at: datetime | None) -> datetime | None:
    aware(expires_at, "expiry", WatchlistError)
    if expires_at is not None and expires_at <= utc_now():
        raise WatchlistError(f"expiry {expires_at.isoformat()} is in the past")
    return expires_at


def _retro_days(days: object) -> int:
    if isinstance(days, bool) or not isinstance(days, int) \
            or not 0 <= days <= settings.WATCH_MAX_RETRO_DAYS:
        raise WatchlistError(f"retroactive days {days!r} must be an integer in "
                             f"[0, {settings.WATCH_MAX_RETRO_DAYS}]")
    return days


def _fence_ids(con: duckdb.DuckDBPyConnection, fence_ids: Iterable[int]) -> tuple[int, ...]:
    try:
        ids = tuple(sorted({int(i) for i in fence_ids}))
    except (TypeError, ValueError) as exc:
        raise WatchlistError(f"fence ids {fence_ids!r} must be integers") from exc
    if ids:
        live = {int(r[0]) for r in con.execute(
            "SELECT id FROM geofences WHERE deleted_at IS NULL AND list_contains(?, id)",
            [list(ids)]).fetchall()}
        unknown = [i for i in ids if i not in live]
        if unknown:
            raise WatchlistError(f"unknown fence ids: {', '.join(map(str, unknown))}")
    return ids


# --- reading ---------------------------------------------------------------------------------

def read_watches(con: duckdb.DuckDBPyConnection, *, include_expired: bool = False
                 ) -> list[WatchEntry]:
    """Entries not removed (and not expired unless asked), best first (see ``rank``)."""
    expired = "" if include_expired else "AND (expires_at IS NULL OR expires_at > now())"
    frame = fetch(con, "SELECT id, pattern, match_kind, reason, priority, expires_at, "  # noqa: S608
                       "created_by, created_at, fence_ids FROM watchlist "
                       f"WHERE removed_at IS NULL {expired} ORDER BY id")
    entries = [WatchEntry(
        int(r["id"]), str(r["pattern"]), r["match_kind"], str(r["reason"]), int(r["priority"]),
        to_datetime(r["expires_at"]), str(r["created_by"]),
        to_datetime(r["created_at"]) or utc_now(),
        tuple(int(i) for i in r["fence_ids"]) if optional(r["fence_ids"]) is not None else ())
        for r in records(frame)]
    return sorted(entries, key=lambda e: e.rank)


def list_watches(store: Store, *, include_expired: bool = False) -> list[WatchEntry]:
    """The watchlist, best first."""
    with store.reader() as con:
        return read_watches(con, include_expired=include_expired)


# --- adding and removing -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _New:
    pattern: Pattern
    reason: str
    priority: int
    expires_at: datetime | None
    fence_ids: tuple[int, ...]


def _insert(con: duckdb.DuckDBPyConnection, new: _New, who: str) -> WatchEntry:
    twin = con.execute(
        "SELECT id FROM watchlist WHERE removed_at IS NULL AND pattern = ? AND match_kind = ? "
        "AND (expires_at IS NULL OR expires_at > now())",
        [new.pattern.text, new.pattern.kind]).fetchone()
    if twin:
        raise WatchlistError(f"{new.pattern.kind} pattern {new.pattern.text!r} is already on "
                             f"the watchlist (entry {twin[0]})")
    now = utc_now()
    row = con.execute(
        "INSERT INTO watchlist (pattern, match_kind, reason, priority, expires_at, created_by, "
        "created_at, fence_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [new.pattern.text, new.pattern.kind, new.reason, new.priority, new.expires_at, who,
         now, list(new.fence_ids) or None]).fetchone()
    assert row is not None
    return WatchEntry(int(row[0]), new.pattern.text, new.pattern.kind, new.reason,
                      new.priority, new.expires_at, who, now, new.fence_ids)


def add_watch(store: Store, pattern: str, *, match_kind: MatchKind, reason: str,
              priority: int, who: Who, expires_at: datetime | None = None,
              fence_ids: Sequence[int] = (), retro_days: int = settings.WATCH_RETRO_DAYS,
              ) -> tuple[int, int]:
    """Add an entry and check past reads; (entry id, retroactive alerts raised). ``who``:
    an :class:`~tracing.access.actor.Actor` (checked and audited) or a system name."""
    compiled = compile_pattern(pattern, match_kind)
    user = check_who(name_of(who), WatchlistError)
    days = _retro_days(retro_days)
    fields = (_reason(reason), _priority(priority), _expiry(expires_at))
    what: dict[str, object] = {"pattern": compiled.text, "match_kind": compiled.kind,
                               "priority": fields[1], "fence_ids": list(fence_ids)}
    permit(store, who, "watchlists", "watchlist.add", what)
    with store.writer() as con:
        entry = _insert(con, _New(compiled, *fields, _fence_ids(con, fence_ids)), user)
        retro = raise_retroactive(con, [entry], days=days)
        record_change(con, who, "watchlist.add", {"watch": entry.id, **what})
    return entry.id, retro


def remove_watch(store: Store, watch_id: int, *, who: Who) -> None:
    """Mark an entry removed (who, when)."""
    user = check_who(name_of(who), WatchlistError)
    permit(store, who, "watchlists", "watchlist.remove", {"watch": int(watch_id)})
    with store.writer() as con:
        row = con.execute("SELECT count(*) FROM watchlist WHERE id = ? AND removed_at IS NULL",
                          [int(watch_id)]).fetchone()
        if not row or not row[0]:
            raise WatchlistError(f"no watch entry with id {watch_id!r}")
        con.execute("UPDATE watchlist SET removed_at = ?, removed_by = ? WHERE id = ?",
                    [utc_now(), user, int(watch_id)])
        record_change(con, who, "watchlist.remove", {"watch": int(watch_id)})


# --- retroactive hits ------------------------------------------------------------------------

def raise_retroactive(con: duckdb.DuckDBPyConnection, entries: Sequence[WatchEntry], *,
                      days: int) -> int:
    """One alert per (entry, plate) seen in the last ``days`` days among reads the engine
    has evaluated (all reads when it never ran); how many were stored."""
    if not entries or days <= 0:
        return 0
    clauses: list[str] = ["ts >= ?"]
    params: list[object] = [utc_now() - timedelta(days=days)]
    row = con.execute("SELECT ingested_at IS NULL FROM alert_checkpoint WHERE name = ?",
                      [CHECKPOINT]).fetchone()
    if row is not None:
        if row[0]:
            return 0  # the engine started on an empty store: it evaluates every read
        clauses.append("ingested_at <= (SELECT ingested_at FROM alert_checkpoint "
                       "WHERE name = ?)")
        params.append(CHECKPOINT)
    where = " AND ".join(clauses)
    plates = fetch(con, f"SELECT DISTINCT plate_compact FROM reads WHERE {where}", params)  # noqa: S608
    compacts = plates["plate_compact"].astype(str).tolist()
    matcher = Matcher([(e.id, e.compiled) for e in entries])
    hits = matcher.match(compacts)
    if not hits:
        return 0
    matched = sorted({compacts[h.position] for h in hits})
    reads = fetch(con, "SELECT read_id, plate, plate_compact, camera_id, ts, plate_raw, "  # noqa: S608
                       f"confidence, crop_ref FROM reads WHERE {where} "
                       "AND list_contains(?, plate_compact) ORDER BY ts, read_id",
                  [*params, matched])
    fences = load_fence_map(con)
    by_id = {e.id: e for e in entries}
    rows = []
    for hit in hits:
        entry = by_id[hit.key]
        mine = reads[reads["plate_compact"] == compacts[hit.position]]
        if entry.fence_ids:
            inside = [any(f in entry.fence_ids for f in fences.of(c)) for c in mine["camera_id"]]
            mine = mine[pd.Series(inside, index=mine.index, dtype=bool)]
        if not mine.empty:
            rows.append(_retro_row(entry, mine, hit.distance))
    return len(insert_alerts(con, rows))


def _retro_row(entry: WatchEntry, reads: pd.DataFrame, distance: float) -> AlertRow:
    last = reads.iloc[-1]
    first_ts, last_ts = to_datetime(reads["ts"].iloc[0]), to_datetime(last["ts"])
    assert first_ts is not None and last_ts is not None
    plate = str(last["plate"])
    fuzzy = f"; {distance:g} from the fuzzy pattern" if entry.match_kind == "fuzzy" else ""
    detail = (f"retroactive: {plate} was read {len(reads)} times at "
              f"{reads['camera_id'].nunique()} cameras from {local_text(first_ts)} to "
              f"{local_text(last_ts)} before entry {entry.id} was added{fuzzy}")
    confidence = last["confidence"]
    return AlertRow(
        alert_key=f"retro:{entry.id}:{plate}", kind="retroactive", read_id=str(last["read_id"]),
        plate=plate, geofence_id=None, watch_id=entry.id, camera_id=str(last["camera_id"]),
        read_ts=last_ts, plate_raw=None if pd.isna(last["plate_raw"]) else str(last["plate_raw"]),
        confidence=None if pd.isna(confidence) else float(confidence),
        crop_ref=None if pd.isna(last["crop_ref"]) else str(last["crop_ref"]),
        priority=entry.priority, detail=detail)


# --- CSV -------------------------------------------------------------------------------------

def _parse_line(row: dict[str, str]) -> tuple[Pattern, str, int, datetime | None, list[int]]:
    compiled = compile_pattern(row.get("pattern") or "", (row.get("match_kind") or "").strip())
    text = (row.get("priority") or "1").strip()
    if not text.isdigit():
        raise WatchlistError(f"priority {text!r} must be an integer from 1 to "
                             f"{settings.WATCH_MAX_PRIORITY}")
    expiry = (row.get("expires_at") or "").strip()
    when = None
    if expiry:
        try:
            when = datetime.fromisoformat(expiry)
        except ValueError as exc:
            raise WatchlistError(f"expiry {expiry!r} is not an ISO 8601 date and time") from exc
    fences = [int(p) for p in (row.get("fence_ids") or "").replace(";", " ").split()
              if p.strip().isdigit()]
    return compiled, _reason(row.get("reason")), _priority(int(text)), _expiry(when), fences


def import_watch_csv(store: Store, text: str, *, who: Who,
                     retro_days: int = settings.WATCH_RETRO_DAYS) -> ImportReport:
    """Add the valid lines of a watchlist CSV (columns :data:`CSV_COLUMNS`; ``expires_at``,
    ``fence_ids`` (separated by ``;``) and ``priority`` optional); refused lines are listed
    with their line number and reason. A file that is not such a CSV is refused whole."""
    user = check_who(name_of(who), WatchlistError)
    days = _retro_days(retro_days)
    permit(store, who, "watchlists", "watchlist.import", {})
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in CSV_COLUMNS and h not in _EXPORT_ONLY]
    if not header or "pattern" not in header or "match_kind" not in header or unknown:
        raise WatchlistError(f"a watchlist CSV needs a header with pattern, match_kind, reason "
                             f"(optional {', '.join(CSV_COLUMNS[3:])}); got {header}"
                             + (f", unknown {unknown}" if unknown else ""))
    try:
        rows = list(reader)
    except csv.Error as exc:  # e.g. a value over the csv module's 128 KiB field limit
        raise WatchlistError(f"line {reader.line_num}: not a readable CSV line ({exc}); "
                             "nothing was imported") from exc
    if len(rows) > settings.WATCH_MAX_IMPORT_ROWS:
        raise WatchlistError(f"{len(rows)} lines; at most {settings.WATCH_MAX_IMPORT_ROWS} "
                             "are imported at once")
    errors, added = [], []
    with store.writer() as con:
        for number, row in enumerate(rows, start=2):
            clean = {(k or "").strip(): v for k, v in row.items()}
            try:
                compiled, reason, priority, expiry, fences = _parse_line(clean)
                new = _New(compiled, reason, priority, expiry, _fence_ids(con, fences))
                added.append(_insert(con, new, user))
            except WatchlistError as exc:
                errors.append(f"line {number}: {exc}")
        retro = raise_retroactive(con, added, days=days)
        record_change(con, who, "watchlist.import", {"added": [e.id for e in added],
                                                     "refused_lines": len(errors)})
    return ImportReport(len(added), retro, tuple(errors))


def export_watch_csv(store: Store, *, include_expired: bool = False) -> str:
    """The watchlist as CSV (importable again: the extra id/created_* columns are ignored;
    formula-like text made inert, :mod:`tracing.safecsv`)."""
    out = io.StringIO()
    writer = safecsv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, "id", "created_by", "created_at"])
    for e in list_watches(store, include_expired=include_expired):
        writer.writerow([e.pattern, e.match_kind, e.reason, e.priority,
                         e.expires_at.isoformat() if e.expires_at else "",
                         ";".join(map(str, e.fence_ids)), e.id, e.created_by,
                         e.created_at.isoformat()])
    return out.getvalue()
