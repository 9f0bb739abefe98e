"""Benchmark of the live alert pipeline: spool → ingest service → alert service.

Run from the repository root: ``python bench/alerts.py [SECONDS] [RATE] [combined|separate]``
(default 30 s at 2,000 reads/s, combined). Setup: an in-memory simulated day
(:func:`tracing.simulate.simulate`, its reads replayed in time order from 06:00), a fresh
store with the shipped cameras, 50 fences (the gateway fences plus discs around cameras)
and 1,000 watch entries (700 exact plates of the replayed vehicles, 200 wildcards, 100
fuzzy). Then real processes run as deployed, while this script writes the reads to the
spool in batches every 0.1 s at RATE reads/s: *combined*, one
``python -m tracing alerts --spool DIR`` that loads the spool and evaluates (impossible
travel on); *separate*, ``python -m tracing ingest-service --poll-s 0.05`` beside
``python -m tracing alerts`` (the two hand the file to each other for every batch).

* ``reads_per_s``: reads written per second of the main phase;
* ``p50_ms`` / ``p99_ms``: alert latency, from the moment a read's spool file was written
  to the alert's ``raised_at`` (taken just before the alert's transaction commits), over
  the main phase's alerts;
* then the alert service is killed with SIGKILL, 5 s of reads are written, and it restarts;
* ``lost_reads``: reads written but not stored (nor rejected with a reason), plus stored
  reads the engine never evaluated; ``duplicate_alerts``: alerts stored twice (same key, or
  same kind, read and fence); both must be 0;
* ``max_reads_per_s``: a burst of BURST reads written at once, divided by the time until
  the engine's checkpoint covers all of them (ingest and evaluation together): the highest
  sustainable rate.

Last line ``RESULT alerts …``.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracing import boundaries, cameras, network, settings
from tracing.alerts import (
    create_fence,
    ensure_gateway_fences,
    list_fences,
    list_watches,
    point_fence,
)
from tracing.alerts.watchlist import CSV_COLUMNS, import_watch_csv
from tracing.errors import PlateError
from tracing.plates import compact_plate, normalize_plate
from tracing.simulate import SimulationConfig, simulate
from tracing.store import Spool, Store

SECONDS, RATE, TRIPS, BURST, KILL_S = 30.0, 2000, 55_000, 20_000, 5.0
TICK_S = 0.1
FENCES, EXACT, WILDCARD, FUZZY = 50, 700, 200, 100
logger = logging.getLogger("bench.alerts")


def replay_reads(trips: int) -> pa.Table:
    """The simulated day's reads from 06:00 local time on, in time order."""
    graph = network.load_network()
    registry = cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv")
    config = SimulationConfig.for_hours(hours=24, trips=trips, seed=11)
    sim = simulate(graph, registry, wards=boundaries.load_wards(),
                   outline=boundaries.load_outline(), config=config)
    table = sim.reads_table().sort_by([("ts", "ascending"), ("read_id", "ascending")])
    six = config.start.timestamp() + 6 * 3600
    ts = table.column("ts").cast(pa.int64()).to_numpy() / 1e6
    logger.info("%s", sim.summary())
    return table.slice(int(np.searchsorted(ts, six)))


def _plates(table: pa.Table) -> list[str]:
    out = []
    for raw in pc.unique(table.column("plate_raw")).to_pylist():
        try:
            out.append(normalize_plate(str(raw)))
        except PlateError:
            continue
    return sorted(set(out))


def setup(db: Path, reads: pa.Table) -> tuple[int, int]:
    """Cameras, 50 fences and 1,000 watch entries; the engine has not run yet."""
    rng = random.Random(3)
    graph = network.load_network()
    registry = cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv")
    with Store(db) as store:
        store.replace_cameras(registry)
        gateways = ensure_gateway_fences(store, graph, boundaries.load_outline(), who="bench")
        lpr = registry[registry["is_lpr"]].sample(frac=1.0, random_state=3)
        for row in lpr.head(max(FENCES - gateways, 0)).itertuples():
            create_fence(store, f"Around {row.id}", point_fence(row.lon, row.lat, 400), who="bench")
        plates = _plates(reads)
        chosen = rng.sample(plates, EXACT + WILDCARD + FUZZY)
        lines = [",".join(CSV_COLUMNS)]
        lines += [f"{p},exact,bench,{1 + i % 3},," for i, p in enumerate(chosen[:EXACT])]
        lines += [f"{compact_plate(p)[:6]}*,wildcard,bench,3,,"
                  for p in chosen[EXACT:EXACT + WILDCARD]]
        lines += [f"{p},fuzzy,bench,2,," for p in chosen[EXACT + WILDCARD:]]
        report = import_watch_csv(store, "\n".join(lines) + "\n", who="bench", retro_days=0)
        counts = len(list_fences(store)), len(list_watches(store))
    logger.info("setup: %s fences (%s gateways), %s watch entries (%s refused: %s)",
                counts[0], gateways, counts[1], len(report.errors), report.errors[:2])
    return counts


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    try:
        return subprocess.Popen([sys.executable, "-m", "tracing", "-v", *args],
                                cwd=settings.REPO_ROOT, stdout=handle, stderr=handle)
    finally:
        handle.close()


def _wait_ready(db: Path, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with Store(db) as store, store.reader() as con:
            row = con.execute("SELECT count(*) FROM alert_checkpoint").fetchone()
        if row and row[0]:
            return
        time.sleep(0.5)
    raise SystemExit("the alert service did not start")


def produce(spool: Spool, reads: pa.Table, start: int, seconds: float, rate: int,
            arrivals: dict[str, float]) -> int:
    """Write reads[start:] at ``rate`` per second for ``seconds``; the next start."""
    per_tick = max(int(rate * TICK_S), 1)
    began = time.monotonic()
    ticks = int(seconds / TICK_S)
    for tick in range(ticks):
        batch = reads.slice(start, per_tick)
        if batch.num_rows == 0:
            break
        spool.write(batch)
        now = time.time()
        for read_id in batch.column("read_id").to_pylist():
            arrivals[read_id] = now
        start += batch.num_rows
        delay = began + (tick + 1) * TICK_S - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return start


def drained(db: Path, written: int, timeout_s: float) -> float:
    """Wait until every written read is stored or rejected and evaluated; seconds taken."""
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        with Store(db) as store, store.reader() as con:
            row = con.execute(
                "SELECT (SELECT count(*) FROM reads), (SELECT count(*) FROM rejects), "
                "(SELECT reads_seen FROM alert_checkpoint)").fetchone()
        assert row is not None
        if row[0] + row[1] >= written and row[2] >= row[0]:
            return time.monotonic() - began
        time.sleep(0.25)
    raise SystemExit(f"not drained after {timeout_s} s")


def _latencies(db: Path, arrivals: dict[str, float], phase: set[str]) -> np.ndarray:
    with Store(db) as store, store.reader() as con:
        rows = con.execute("SELECT read_id, epoch_us(raised_at) FROM alerts "
                           "WHERE kind <> 'retroactive'").fetchall()
    return np.array([(us / 1e6 - arrivals[r]) * 1000 for r, us in rows if r in phase])


def _integrity(db: Path, written: int) -> tuple[int, int, int]:
    with Store(db) as store, store.reader() as con:
        row = con.execute("""
            SELECT (SELECT count(*) FROM reads), (SELECT count(*) FROM rejects),
                   (SELECT reads_seen FROM alert_checkpoint),
                   (SELECT count(*) - count(DISTINCT alert_key) FROM alerts),
                   (SELECT count(*) - count(DISTINCT (kind, read_id, coalesce(geofence_id, -1)))
                    FROM alerts WHERE kind IN ('watchlist', 'geofence_entry')),
                   (SELECT count(*) FROM alerts)""").fetchone()
    assert row is not None
    stored, rejected, seen, dup_keys, dup_reads, alerts = (int(v) for v in row)
    return written - stored - rejected + stored - seen, dup_keys + dup_reads, alerts


def main() -> int:
    """Set up, run the phases, print the RESULT line."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else SECONDS
    rate = int(sys.argv[2]) if len(sys.argv) > 2 else RATE
    mode = sys.argv[3] if len(sys.argv) > 3 else "combined"
    if mode not in ("combined", "separate"):
        raise SystemExit(f"mode {mode!r} must be combined or separate")
    reads = replay_reads(TRIPS)
    need = int(seconds * rate + KILL_S * rate + BURST)
    if reads.num_rows < need:
        raise SystemExit(f"{reads.num_rows} simulated reads, {need} needed: raise TRIPS")
    work = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    db, spool = work / "alerts.duckdb", Spool(work / "spool")
    fences, watches = setup(db, reads)
    if mode == "combined":
        alerts_args = ["alerts", "--db", str(db), "--spool", str(spool.directory)]
        ingest = None
    else:
        alerts_args = ["alerts", "--db", str(db)]
        ingest = _start(["ingest-service", "--db", str(db), "--spool", str(spool.directory),
                         "--poll-s", "0.05"], work / "ingest.log")
    engine = _start(alerts_args, work / "alerts.log")
    try:
        _wait_ready(db)
        arrivals: dict[str, float] = {}
        began = time.monotonic()
        at = produce(spool, reads, 0, seconds, rate, arrivals)
        reads_per_s = at / (time.monotonic() - began)
        drained(db, at, 120)
        latency = _latencies(db, arrivals, set(arrivals))
        engine.send_signal(signal.SIGKILL)
        engine.wait()
        at = produce(spool, reads, at, KILL_S, rate, arrivals)
        engine = _start(alerts_args, work / "alerts.log")
        drained(db, at, 180)
        burst = reads.slice(at, BURST)
        for part in range(10):
            spool.write(burst.slice(part * BURST // 10, BURST // 10))
        at += burst.num_rows
        drain_s = drained(db, at, 180)
        lost, duplicates, alerts = _integrity(db, at)
    finally:
        for process in (engine, ingest):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(60)
    p50, p99 = np.percentile(latency, [50, 99]) if len(latency) else (float("nan"),) * 2
    logger.info("%s alerts in all, %s in the main phase", alerts, len(latency))
    shutil.rmtree(work)
    print(f"RESULT alerts reads_per_s={reads_per_s:.0f} p50_ms={p50:.0f} p99_ms={p99:.0f} "
          f"lost_reads={lost} duplicate_alerts={duplicates} "
          f"max_reads_per_s={BURST / drain_s:.0f} alerts={alerts} "
          f"main_alerts={len(latency)} restarts=1 watch_entries={watches} fences={fences} "
          f"mode={mode} "
          f"cpus={os.cpu_count()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
