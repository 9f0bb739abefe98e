"""The alert engine: evaluates reads as they are stored and raises alerts.

One :meth:`AlertEngine.step` is one store transaction:

1. the reads stored since the checkpoint (``reads.ingested_at`` later than the one in
   ``alert_checkpoint``; every transaction that stores reads stamps them with its start time,
   and such transactions are serialised by the store's lease, so stamps grow with commit
   order and a transaction's reads become visible all at once);
2. their plates matched against the live watchlist (:mod:`tracing.alerts.matcher`);
3. for each read of a watched plate: a **geofence entry** per fence its camera stands in
   (when the watch entry allows that fence) if the plate's previous read was outside the
   fence or older than ``entry_unseen_s``; a **watchlist hit** when the camera is in no
   allowed fence; **impossible travel** against the plate's neighbouring reads
   (:func:`tracing.search.clone_pairs`, the search's speed rule); an alert for the same
   plate and fence (or plate outside fences) within ``suppress_s`` of read time is not raised;
4. the alerts and the new checkpoint are written and committed together.

A crash before the commit loses nothing (the reads are evaluated again by the next step);
after it, nothing is evaluated twice. Each alert also has a unique key (kind, read, fence,
plate), so even a second evaluation could not store an alert twice. An operator's correction
of a read's plate (:mod:`tracing.reviews`) restamps the read, which is evaluated again under
its corrected plate.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tracing import settings
from tracing.alerts.common import fetch, local_text, optional, records, to_datetime
from tracing.alerts.fencemap import FenceMap, fingerprint, load_fence_map
from tracing.alerts.matcher import Matcher
from tracing.alerts.records import AlertKind, AlertRow, insert_alerts
from tracing.alerts.watchlist import CHECKPOINT, WatchEntry, read_watches
from tracing.errors import WatchlistError
from tracing.search.clones import ClonePair, clone_pairs
from tracing.search.reachability import Reachability
from tracing.store import Store

logger = logging.getLogger(__name__)

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_READ_COLUMNS: Final = ("read_id, camera_id, ts, plate, plate_compact, plate_raw, confidence, "
                        "crop_ref")


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Rules of the engine (defaults from :mod:`tracing.settings`)."""

    entry_unseen_s: float = settings.ALERT_ENTRY_UNSEEN_S
    suppress_s: float = settings.ALERT_SUPPRESS_S
    travel_lookback_s: float = settings.ALERT_TRAVEL_LOOKBACK_S
    fuzzy_limit: float = settings.WATCH_FUZZY_LIMIT
    max_batch_reads: int = settings.ALERT_MAX_BATCH_READS


@dataclass(frozen=True, slots=True)
class StepReport:
    """One step: reads evaluated, ids of the alerts stored, whether a backlog remains."""

    reads: int = 0
    alerts: tuple[int, ...] = ()
    more: bool = False
    seconds: float = 0.0


@dataclass(slots=True)
class _Context:
    """What reads are matched against; rebuilt when cameras, fences or watches change."""

    key: tuple[object, ...] = ()
    fences: FenceMap = field(default_factory=lambda: FenceMap({}, {}))
    entries: dict[int, WatchEntry] = field(default_factory=dict)
    matcher: Matcher = field(default_factory=lambda: Matcher([]))


def _from_us(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(micros))


class AlertEngine:
    """Evaluates new reads of one store; see the module docstring. Not thread-safe: run one
    engine per store (the ``alerts`` service)."""

    def __init__(self, store: Store, *, reach: Reachability | None = None,
                 config: EngineConfig | None = None) -> None:
        self.store = store
        self.reach = reach
        self.config = config or EngineConfig()
        self._context = _Context()

    # --- one step ------------------------------------------------------------------------

    def step(self) -> StepReport:
        """Evaluate the next batch of new reads and commit its alerts with the checkpoint."""
        started = time.perf_counter()
        with self.store.writer() as con:
            since = self._checkpoint(con)
            if since is None:
                return StepReport(seconds=time.perf_counter() - started)
            batch, upto, more = self._new_reads(con, since)
            if upto is None:
                return StepReport(seconds=time.perf_counter() - started)
            self._refresh(con)
            rows = self._evaluate(con, batch)
            ids = insert_alerts(con, rows)
            con.execute("UPDATE alert_checkpoint SET ingested_at = ?, "
                        "reads_seen = reads_seen + ?, updated_at = now() WHERE name = ?",
                        [upto, batch.num_rows, CHECKPOINT])
        report = StepReport(batch.num_rows, tuple(ids), more, time.perf_counter() - started)
        logger.debug("alert engine: %s", report)
        return report

    def _checkpoint(self, con: duckdb.DuckDBPyConnection) -> int | None:
        """Stamp (µs since 1970; -1 for "from the first read") after which reads are new.
        None on the very first run, which starts after the reads already stored."""
        row = con.execute("SELECT coalesce(epoch_us(ingested_at), -1) FROM alert_checkpoint "
                          "WHERE name = ?", [CHECKPOINT]).fetchone()
        if row is not None:
            return int(row[0])
        con.execute("INSERT INTO alert_checkpoint (name, ingested_at) "
                    "SELECT ?, max(ingested_at) FROM reads", [CHECKPOINT])
        logger.info("alert engine: first run, starting after the reads already stored")
        return None

    def _after(self, since: int) -> tuple[str, list[object]]:
        if since < 0:
            return "true", []
        return "ingested_at > ?", [_from_us(since)]

    def _new_reads(self, con: duckdb.DuckDBPyConnection, since: int
                   ) -> tuple[pa.Table, datetime | None, bool]:
        """The next batch: reads stored after ``since`` by whole transactions (about
        max_batch_reads rows, more when one transaction is larger), its last stamp, and
        whether later reads remain."""
        where, params = self._after(since)
        limit = self.config.max_batch_reads
        table = con.execute(
            f"SELECT {_READ_COLUMNS}, epoch_us(ingested_at) AS stamp FROM reads "  # noqa: S608
            f"WHERE {where} ORDER BY ingested_at LIMIT ?", [*params, limit + 1]).to_arrow_table()
        if table.num_rows == 0:
            return table, None, False
        stamps = table.column("stamp")
        last = int(stamps[-1].as_py())
        more = table.num_rows > limit
        if more:  # the last transaction may be cut: leave it to the next step
            whole = table.filter(pc.less(stamps, last))
            table = whole if whole.num_rows else con.execute(
                f"SELECT {_READ_COLUMNS}, epoch_us(ingested_at) AS stamp FROM reads "  # noqa: S608
                "WHERE ingested_at = ?", [_from_us(last)]).to_arrow_table()
            last = int(table.column("stamp")[-1].as_py())
        return table, _from_us(last), more

    def _refresh(self, con: duckdb.DuckDBPyConnection) -> None:
        key = fingerprint(con)
        if key == self._context.key:
            return
        entries, patterns = [], []
        for entry in read_watches(con):
            try:
                patterns.append((entry.id, entry.compiled))
            except WatchlistError as exc:  # stored by older rules: skip it, say so
                logger.error("alert engine: watch entry %s ignored: %s", entry.id, exc)
                continue
            entries.append(entry)
        self._context = _Context(key, load_fence_map(con), {e.id: e for e in entries},
                                 Matcher(patterns, fuzzy_limit=self.config.fuzzy_limit))
        logger.info("alert engine: %s watch entries, %s fences", len(entries),
                    len(self._context.fences.names))

    # --- evaluation ----------------------------------------------------------------------

    def _evaluate(self, con: duckdb.DuckDBPyConnection, batch: pa.Table) -> list[AlertRow]:
        """Alerts for a batch of new reads (empty when no plate is watched)."""
        if batch.num_rows == 0 or not len(self._context.matcher):
            return []
        compacts = [str(c) for c in pc.unique(batch.column("plate_compact")).to_pylist()]
        hits = self._context.matcher.match(compacts)
        if not hits:
            return []
        watched: dict[str, list[tuple[WatchEntry, float]]] = {}
        for hit in hits:
            watched.setdefault(compacts[hit.position], []).append(
                (self._context.entries[hit.key], hit.distance))
        for entries in watched.values():
            entries.sort(key=lambda item: item[0].rank)
        mask = pc.is_in(batch.column("plate_compact"), pa.array(list(watched), pa.string()))
        frame = batch.filter(mask).to_pandas().sort_values(["ts", "read_id"])
        plates = sorted(set(frame["plate"].astype(str)))
        history = _History(self._history(con, plates, frame["ts"].min(), frame["ts"].max()),
                           self.reach)
        state = _Suppression(self._recent_alerts(con, plates, frame["ts"].min()),
                             self.config.suppress_s)
        rows: list[AlertRow] = []
        for read in records(frame):
            rows.extend(self._read_alerts(read, watched[str(read["plate_compact"])], history,
                                          state))
        return rows

    def _history(self, con: duckdb.DuckDBPyConnection, plates: Sequence[str],
                 first: object, last: object) -> pd.DataFrame:
        """Reads of the plates around the batch (entries and travel look at neighbours)."""
        back = max(self.config.entry_unseen_s, self.config.travel_lookback_s)
        start, end = to_datetime(first), to_datetime(last)
        assert start is not None and end is not None
        marks = ", ".join("?" * len(plates))
        return fetch(con, "SELECT read_id, plate, camera_id, ts, epoch_us(ts) AS us "  # noqa: S608
                          f"FROM reads WHERE plate IN ({marks}) AND ts >= ? AND ts <= ? "
                          "ORDER BY plate, ts, read_id",
                     [*plates, start - timedelta(seconds=back),
                      end + timedelta(seconds=self.config.travel_lookback_s)])

    def _recent_alerts(self, con: duckdb.DuckDBPyConnection, plates: Sequence[str],
                       first: object) -> pd.DataFrame:
        start = to_datetime(first)
        assert start is not None
        marks = ", ".join("?" * len(plates))
        return fetch(con, "SELECT plate, geofence_id, read_ts FROM alerts "  # noqa: S608
                          f"WHERE plate IN ({marks}) AND read_ts >= ? "
                          "AND kind IN ('watchlist', 'geofence_entry')",
                     [*plates, start - timedelta(seconds=self.config.suppress_s)])

    def _read_alerts(self, read: dict[str, object], entries: list[tuple[WatchEntry, float]],
                     history: _History, state: _Suppression) -> list[AlertRow]:
        fences = self._context.fences
        ts = to_datetime(read["ts"])
        assert ts is not None
        plate, read_id = str(read["plate"]), str(read["read_id"])
        allowed = [f for f in fences.of(str(read["camera_id"]))
                   if any(e.allows(f) for e, _ in entries)]
        rows = []
        previous = history.previous(plate, ts, read_id)
        for fence in allowed:
            entry, distance = next((e, d) for e, d in entries if e.allows(fence))
            why = self._entry_reason(ts, fence, previous)
            if why is not None and state.claim(plate, fence, ts):
                rows.append(_row(read, ts, "geofence_entry", f"entry:{read_id}:{fence}:{plate}",
                                 entry, fence, f"entered {fences.names[fence]}: {why}; "
                                 f"{_match_text(plate, entry, distance)}"))
        if not allowed:
            free = [(e, d) for e, d in entries if e.allows(None)]
            if free and state.claim(plate, None, ts):
                entry, distance = free[0]
                rows.append(_row(read, ts, "watchlist", f"hit:{read_id}:{plate}", entry, None,
                                 f"watchlist hit: {_match_text(plate, entry, distance)}"))
        rows.extend(_row(read, ts, "impossible_travel",
                         f"travel:{pair.read_a}:{pair.read_b}:{plate}", entries[0][0], None,
                         _travel_text(pair))
                    for pair in history.pairs.get(read_id, ()))
        return rows

    def _entry_reason(self, ts: datetime, fence: int,
                      previous: tuple[datetime, str] | None) -> str | None:
        """Why a read at ``ts`` in ``fence`` is an entry; None when the vehicle was inside."""
        unseen = self.config.entry_unseen_s
        if previous is None:
            return f"first read (not seen in the {unseen / 60:g} min before)"
        then, camera = previous
        gap = (ts - then).total_seconds()
        if gap > unseen:
            return f"not seen for {gap / 60:.0f} min"
        if fence in self._context.fences.of(camera):
            return None
        return f"previous read outside it at camera {camera} at {local_text(then)}"


class _History:
    """Reads of the watched plates around a batch: each read's predecessor and the
    impossible-travel pairs (one :func:`clone_pairs` call for every plate at once)."""

    def __init__(self, frame: pd.DataFrame, reach: Reachability | None) -> None:
        self.keys: dict[str, list[tuple[int, str]]] = {}
        self.cameras: dict[str, list[str]] = {}
        for plate, us, read_id, camera in zip(frame["plate"], frame["us"], frame["read_id"],
                                              frame["camera_id"], strict=True):
            self.keys.setdefault(str(plate), []).append((int(us), str(read_id)))
            self.cameras.setdefault(str(plate), []).append(str(camera))
        self.pairs: dict[str, list[ClonePair]] = {}
        if reach is not None and len(frame) > 1:
            for pair in clone_pairs(frame[["read_id", "plate", "camera_id", "ts"]], reach):
                self.pairs.setdefault(pair.read_a, []).append(pair)
                self.pairs.setdefault(pair.read_b, []).append(pair)

    def previous(self, plate: str, ts: datetime, read_id: str) -> tuple[datetime, str] | None:
        """Time and camera of the plate's read just before (ts, read_id), if any."""
        keys = self.keys.get(plate, [])
        micros = (ts - _EPOCH) // timedelta(microseconds=1)
        at = bisect.bisect_left(keys, (micros, read_id)) - 1
        if at < 0:
            return None
        return _from_us(keys[at][0]), self.cameras[plate][at]


class _Suppression:
    """Alerts already raised per (plate, fence) by read time, including this batch's."""

    def __init__(self, recent: pd.DataFrame, window_s: float) -> None:
        self.window_s = window_s
        self.seen: dict[tuple[str, int | None], list[datetime]] = {}
        for row in records(recent):
            fence = optional(row["geofence_id"])
            when = to_datetime(row["read_ts"])
            if when is not None:
                key = (str(row["plate"]), None if fence is None else int(fence))
                self.seen.setdefault(key, []).append(when)

    def claim(self, plate: str, fence: int | None, ts: datetime) -> bool:
        """True (and remembered) unless an alert for plate and fence lies within the window."""
        times = self.seen.setdefault((plate, fence), [])
        if any(abs((ts - t).total_seconds()) <= self.window_s for t in times):
            return False
        times.append(ts)
        return True


def _match_text(plate: str, entry: WatchEntry, distance: float) -> str:
    how = {"exact": "exact plate", "wildcard": f"pattern {entry.pattern}",
           "fuzzy": f"fuzzy pattern {entry.pattern} (distance {distance:g})"}[entry.match_kind]
    return f"{plate} matches {how} of watch entry {entry.id} ({entry.reason})"


def _travel_text(pair: ClonePair) -> str:
    return (f"impossible travel: camera {pair.camera_a} at {local_text(pair.ts_a)} then "
            f"camera {pair.camera_b} at {local_text(pair.ts_b)}: {pair.distance_m / 1000:.1f} km "
            f"by road in {pair.gap_s:.0f} s (the fastest drive takes {pair.min_travel_s:.0f} s; "
            f"{pair.implied_kph:.0f} km/h): a cloned plate or a misread")


def _row(read: dict[str, object], ts: datetime, kind: AlertKind, key: str, entry: WatchEntry,
         fence: int | None, detail: str) -> AlertRow:
    confidence = optional(read["confidence"])
    raw, crop = optional(read["plate_raw"]), optional(read["crop_ref"])
    return AlertRow(
        alert_key=key, kind=kind, read_id=str(read["read_id"]), plate=str(read["plate"]),
        geofence_id=fence, watch_id=entry.id, camera_id=str(read["camera_id"]), read_ts=ts,
        plate_raw=None if raw is None else str(raw),
        confidence=None if confidence is None else float(str(confidence)),
        crop_ref=None if crop is None else str(crop), priority=entry.priority, detail=detail)


def evaluated_until(store: Store) -> datetime | None:
    """The engine's checkpoint: reads stored up to this instant are evaluated (None: the
    engine never ran, or has not evaluated a read yet)."""
    with store.reader() as con:
        frame = fetch(con, "SELECT ingested_at FROM alert_checkpoint WHERE name = ?",
                      [CHECKPOINT])
    return None if frame.empty else to_datetime(frame["ingested_at"].iloc[0])


__all__ = ["AlertEngine", "EngineConfig", "StepReport", "evaluated_until"]
