"""Benchmark of plate search: speed on 50 M synthetic reads, accuracy on a simulated day.

    python bench/search.py [--rows 50000000] [--plates 1500000] [--vehicles 300] [--keep]

Speed: a temporary store of ``--rows`` synthetic reads (400 cameras, 30 days, car plates
spread over 11 HCMC codes × 20 series letters, read counts skewed so some vehicles are
read often, each vehicle on 6 cameras of its routes) is generated inside DuckDB and stored
sorted by plate, as ``Store.compact`` leaves it. ``exact_ms``, ``wildcard_ms``, ``fuzzy_ms`` are
medians of several queries with the plate index warm (its one-off build is reported as
``index_s``); ``convoy_ms`` is one target read 150 times over the 30 days.

Accuracy: one simulated day (25,000 trips, default OCR error rate). For a sample of
vehicles that have misread reads in the store, ``link_recall`` = share of their misread
reads that :func:`link_reads` links, ``link_precision`` = share of linked reads that are
truly theirs; ``baseline_link_precision`` links every read of every plate within the fuzzy
limit (string only). ``clones_found`` = planted clone pairs found / planted.
Final line: ``RESULT search exact_ms=… wildcard_ms=… fuzzy_ms=… convoy_ms=… link_recall=…
link_precision=… baseline_link_precision=… clones_found=…/…``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracing.cameras import load_registry
from tracing.network import load_network
from tracing.plates import compact_plate
from tracing.search import (
    find_clones,
    find_convoy,
    fuzzy_matches,
    link_reads,
    load_reachability,
    plate_index,
    search_plates,
)
from tracing.simulate import SimulationConfig, load_truth, run_simulation
from tracing.store import Store

BENCH = "system:bench"
"""Who the benchmark acts as (a system process: neither checked nor audited)."""
CONVOY_TARGET_READS = 150
"""Reads of the convoy target over the 30 days (a commuter read 5 times a day)."""
GENERATE = """
INSERT INTO reads
WITH draws AS (
    SELECT i,
           floor(? * pow(random(), 2.5))::BIGINT AS v,
           floor(random() * 6)::BIGINT AS route,
           TIMESTAMPTZ '2026-03-01 00:00:00+07' + to_microseconds(
               floor(random() * 30 * 86400e6)::BIGINT) AS ts,
           random() AS r
    FROM range(?) t(i)
), plated AS (
    SELECT *, v * 14 + (hash(v) % 14)::BIGINT AS p, (v * 37 + route * 53) % 400 AS cam
    FROM draws
), texts AS (
    SELECT *,
        (['41','50','51','52','53','54','55','56','57','58','59'])[1 + (p // 2000000)::INT]
        || (['A','B','C','D','E','F','G','H','K','L','M','N','P','S','T','U','V','X','Y','Z'])
           [1 + ((p // 100000) % 20)::INT] AS series,
        lpad((p % 100000)::VARCHAR, 5, '0') AS num
    FROM plated
)
SELECT 'b' || i, 'cam-' || cam, ts, series || '-' || num[1:3] || '.' || num[4:5],
       series || num, '', (0.6 + 0.4 * r)::REAL, 'car', 'white', NULL, 'bench', now()
FROM texts ORDER BY v, ts
"""


def median_ms(fn: Callable[[], Any], repeat: int = 7) -> float:
    """Median wall time of ``fn`` in ms, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


def speed(folder: Path, rows: int, plates: int) -> dict[str, float]:
    """Generate the synthetic store and time the four queries."""
    store = Store(folder / "speed.duckdb", timeout_s=600)
    started = time.perf_counter()
    with store.writer() as con:
        con.execute(GENERATE, [plates, rows])
    gen_s = time.perf_counter() - started
    print(f"generated {rows:,} reads in {gen_s:.1f} s", flush=True)
    started = time.perf_counter()
    index = plate_index(store)
    index_s = time.perf_counter() - started
    print(f"plate index: {len(index):,} plates in {index_s:.1f} s", flush=True)
    order = np.argsort(index.n_reads)
    typical = str(index.plates[order[len(order) // 2]])
    busy = str(index.plates[int(np.argmin(np.abs(index.n_reads - CONVOY_TARGET_READS)))])
    queries = [str(index.plates[order[k]]) for k in (len(order) // 3, len(order) // 2,
                                                       2 * len(order) // 3)]
    exact = median_ms(lambda: [search_plates(store, q, who=BENCH, mode="exact")
                               for q in queries]) / 3
    wild = median_ms(lambda: [search_plates(store, compact_plate(q)[:5] + "*" + q[-1],
                                            mode="wildcard", who=BENCH) for q in queries]) / 3
    fuzzy = median_ms(lambda: [search_plates(store, q, who=BENCH, mode="fuzzy")
                               for q in queries]) / 3
    convoy = median_ms(lambda: find_convoy(store, busy, who=BENCH), repeat=3)
    busy_reads = int(index.n_reads[index.plates == busy][0])
    print(f"exact {exact:.1f} ms, wildcard {wild:.1f} ms, fuzzy {fuzzy:.1f} ms, convoy "
          f"{convoy:.1f} ms (target {busy}, {busy_reads} reads; typical {typical})", flush=True)
    store.close()
    return {"exact_ms": exact, "wildcard_ms": wild, "fuzzy_ms": fuzzy, "convoy_ms": convoy,
            "index_s": index_s}


def accuracy(folder: Path, vehicles: int) -> dict[str, Any]:
    """Simulate a day, then score linking against the truth and count planted clones."""
    db, truth_dir = folder / "day.duckdb", folder / "truth"
    run_simulation(db, truth_dir, config=SimulationConfig.for_hours(hours=24.0, trips=25_000,
                                                                    seed=11))
    truth = load_truth(truth_dir)
    store = Store(db)
    reach = load_reachability(load_network(), load_registry(store))
    with store.reader() as con:
        stored = con.execute("SELECT read_id, plate FROM reads").df()
    reads = truth.reads.merge(stored, on="read_id", suffixes=("_true", "_stored"))
    misread = reads[reads["plate_true"] != reads["plate_stored"]]
    rng = np.random.default_rng(0)
    pool = misread["vehicle_id"].unique()
    sample = rng.choice(pool, size=min(vehicles, len(pool)), replace=False)
    scores = _link_scores(store, reach, reads, sample)
    return scores | {"clones_found": _clones_found(store, reach, truth.planted, reads)}


def _clones_found(store: Store, reach: Any, planted: list[dict[str, Any]],
                  reads: pd.DataFrame) -> str:
    """Planted clone cases with an impossible pair joining reads of its two vehicles."""
    vehicle_of = dict(zip(reads["read_id"], reads["vehicle_id"], strict=True))
    pairs = find_clones(store, reach, who=BENCH)
    cases = [c for c in planted if c["case"] == "cloned_plate"]
    found = sum(any({vehicle_of.get(p.read_a), vehicle_of.get(p.read_b)}
                    == set(c["vehicle_ids"]) for p in pairs) for c in cases)
    print(f"clones: {len(pairs)} impossible pairs in the store", flush=True)
    return f"{found}/{len(cases)}"


def _link_scores(store: Store, reach: Any, reads: pd.DataFrame,
                 sample: np.ndarray) -> dict[str, Any]:
    index = plate_index(store)
    tp = fn = fp = base_tp = base_fp = 0
    by_vehicle = reads.groupby("vehicle_id")
    for vehicle in sample:
        own = by_vehicle.get_group(vehicle)
        plate = str(own["plate_true"].iloc[0])
        if not (own["plate_stored"] == plate).any():
            continue
        mine, wrong = set(own["read_id"]), set(own["read_id"][own["plate_stored"] != plate])
        linked = {k.read_id for k in link_reads(store, plate, reach, who=BENCH).linked}
        tp, fn, fp = tp + len(linked & wrong), fn + len(wrong - linked), fp + len(linked - mine)
        near = {str(index.plates[p]) for p, _ in fuzzy_matches(compact_plate(plate),
                                                               index.compacts)} - {plate}
        baseline = set(reads["read_id"][reads["plate_stored"].isin(near)])
        base_tp, base_fp = base_tp + len(baseline & mine), base_fp + len(baseline - mine)
    print(f"linking: {tp} misreads linked, {fn} missed, {fp} wrong links; baseline "
          f"{base_tp} right, {base_fp} wrong", flush=True)
    return {"link_recall": tp / max(tp + fn, 1), "link_precision": tp / max(tp + fp, 1),
            "baseline_link_precision": base_tp / max(base_tp + base_fp, 1)}


def main() -> int:
    """Run both parts; print the RESULT line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--plates", type=int, default=1_500_000)
    parser.add_argument("--vehicles", type=int, default=300)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    folder = Path(tempfile.mkdtemp(prefix="bench-search-"))
    started = time.perf_counter()
    try:
        acc = accuracy(folder, args.vehicles)
        print(f"accuracy part {time.perf_counter() - started:.0f} s: {acc}", flush=True)
        fast = speed(folder, args.rows, args.plates)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"total {time.perf_counter() - started:.0f} s")
    print(f"RESULT search exact_ms={fast['exact_ms']:.1f} wildcard_ms={fast['wildcard_ms']:.1f} "
          f"fuzzy_ms={fast['fuzzy_ms']:.1f} convoy_ms={fast['convoy_ms']:.0f} "
          f"link_recall={acc['link_recall']:.3f} link_precision={acc['link_precision']:.3f} "
          f"baseline_link_precision={acc['baseline_link_precision']:.3f} "
          f"clones_found={acc['clones_found']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
