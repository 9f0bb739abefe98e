"""Benchmark of the store: bulk ingest, plate lookup, single-read ingest, open cost.

    python bench/store.py [--rows 10000000] [--plates 1000000] [--cameras 100]

Writes a store of synthetic reads into a temporary directory (removed afterwards unless
``--keep``) and prints one line per measurement and a final
``RESULT store ingest_rows_per_s=… lookup_ms=… single_p99_ms=… rows=…
ingest_rows_per_cpu_s=…``. Targets: ingest ≥ 1,000,000 rows/s (validation and
normalisation included), lookup median ≤ 10 ms, single-read p99 ≤ 50 ms. On a shared
machine compare ``ingest_rows_per_cpu_s`` (CPU time of every thread), which load barely
moves.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracing.reads import PlateRead
from tracing.store import Store

START = datetime(2026, 3, 1, tzinfo=UTC)
HCMC = np.array(["41", "50", "51", "52", "53", "54", "55", "56", "57", "58", "59"])
LETTERS = np.array(list("ABCDEFGHKLMNPSTUVXYZ"))


def synthetic_plates(n: int, rng: np.random.Generator) -> pa.Array:
    """n distinct-ish car plates such as ``51A-123.45`` (HCMC codes, 5 digits)."""
    numbers = rng.choice(100_000 * len(HCMC) * len(LETTERS), size=n, replace=False)
    digits, rest = numbers % 100_000, numbers // 100_000
    letter, code = LETTERS[rest % len(LETTERS)], HCMC[rest // len(LETTERS)]
    text = np.char.add(np.char.add(code, letter), "-")
    text = np.char.add(text, np.char.zfill((digits // 100).astype(str), 3))
    text = np.char.add(np.char.add(text, "."), np.char.zfill((digits % 100).astype(str), 2))
    return pa.array(text.tolist(), pa.string())


def synthetic_reads(n: int, plates: pa.Array, cameras: list[str], *, first: int,
                    span: timedelta, rng: np.random.Generator) -> pa.Table:
    """n reads in time order over ``span`` from START + first*span, as producers send them."""
    ids = pc.binary_join_element_wise(
        "bench-", pc.cast(pa.array(np.arange(first * n, (first + 1) * n)), pa.string()), "")
    offsets = np.sort(rng.integers(0, int(span.total_seconds() * 1e6), n))
    start_us = int((START + first * span).timestamp() * 1e6)
    return pa.table({
        "read_id": ids,
        "camera_id": pa.array(cameras).take(pa.array(rng.integers(0, len(cameras), n))),
        "ts": pa.array(start_us + offsets, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "plate": plates.take(pa.array(rng.integers(0, len(plates), n))),
        "confidence": pa.array(rng.uniform(0.5, 1.0, n)),
    })


def timed_ms(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def cpu_seconds() -> float:
    """CPU time of this process, every thread, user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def p99(values: list[float]) -> float:
    return float(np.percentile(values, 99))


def bench(args: argparse.Namespace, root: Path) -> dict[str, float]:
    rng = np.random.default_rng(args.seed)
    cameras = [f"{x:024x}" for x in rng.integers(0, 2**62, args.cameras)]
    plates = synthetic_plates(args.plates, rng)
    store = Store(root / "bench.duckdb")
    store.replace_cameras(pd.DataFrame({"id": cameras, "is_lpr": True}))
    batches = max(1, args.rows // args.batch)
    ingest_s = cpu_s = 0.0
    for k in range(batches):
        table = synthetic_reads(args.rows // batches, plates, cameras, first=k,
                                span=timedelta(days=3), rng=rng)
        started, cpu = time.perf_counter(), cpu_seconds()
        report = store.ingest(table, source="bench")
        ingest_s += time.perf_counter() - started
        cpu_s += cpu_seconds() - cpu
        print(f"batch {k + 1}/{batches}: {report.inserted:,} rows in "
              f"{time.perf_counter() - started:.2f} s", flush=True)
    rows = store.count_reads()
    out: dict[str, float] = {"rows": rows, "ingest_rows_per_s": rows / ingest_s,
                             "ingest_rows_per_cpu_s": rows / cpu_s}
    print(f"ingest: {rows:,} rows in {ingest_s:.1f} s = {rows / ingest_s:,.0f} rows/s; "
          f"CPU {cpu_s:.1f} s (all threads) = {rows / cpu_s:,.0f} rows per CPU-second; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
          f"file {store.path.stat().st_size / 1e6:,.0f} MB", flush=True)

    sample = plates.take(pa.array(rng.integers(0, len(plates), args.lookups))).to_pylist()
    store.reads_of_plate(sample[0])  # the lease is held from here on (warm)
    it = iter(sample)
    lookups = timed_ms(lambda: store.reads_of_plate(next(it)), len(sample))
    out["lookup_ms"] = statistics.median(lookups)
    print(f"lookup (warm): median {out['lookup_ms']:.2f} ms, p99 {p99(lookups):.2f} ms")

    store.close()
    opens = timed_ms(lambda: duckdb.connect(str(store.path), read_only=True).close(), 10)
    out["open_ms"] = statistics.median(opens)
    print(f"duckdb.connect(read_only) on {rows:,} reads: median {out['open_ms']:.1f} ms")

    def cold_lookup() -> None:
        store.close()
        store.reads_of_plate(sample[0])

    cold = timed_ms(cold_lookup, 10)
    out["cold_lookup_ms"] = statistics.median(cold)
    print(f"lookup in a newly opened instance: median {out['cold_lookup_ms']:.1f} ms")

    singles = [
        PlateRead(f"single-{i}", cameras[i % len(cameras)],
                  START + timedelta(days=40, seconds=i), sample[i % len(sample)], 0.9)
        for i in range(args.singles)
    ]
    store.ingest_read(singles[0])
    it_s = iter(singles[1:])
    single = timed_ms(lambda: store.ingest_read(next(it_s)), len(singles) - 1)
    out["single_p99_ms"] = p99(single)
    print(f"single-read ingest: median {statistics.median(single):.1f} ms, "
          f"p99 {out['single_p99_ms']:.1f} ms")

    dup_s = timed_ms(lambda: store.ingest(table, source="bench"), 1)[0] / 1000
    print(f"re-ingest of the last batch (all duplicates): {len(table) / dup_s:,.0f} rows/s")

    if args.compact:
        compact_s = timed_ms(store.compact, 1)[0] / 1000
        after = timed_ms(lambda: store.reads_of_plate(sample[len(sample) // 2]), 50)
        out["compacted_lookup_ms"] = statistics.median(after)
        print(f"compact: {compact_s:.1f} s; lookup after: median "
              f"{out['compacted_lookup_ms']:.2f} ms; file "
              f"{store.path.stat().st_size / 1e6:,.0f} MB")
    store.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--plates", type=int, default=1_000_000)
    parser.add_argument("--cameras", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--singles", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-compact", dest="compact", action="store_false")
    parser.add_argument("--dir", type=Path, help="where to write (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    root = args.dir or Path(tempfile.mkdtemp(prefix="store-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        out = bench(args, root)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"RESULT store ingest_rows_per_s={out['ingest_rows_per_s']:.0f} "
          f"lookup_ms={out['lookup_ms']:.2f} single_p99_ms={out['single_p99_ms']:.1f} "
          f"rows={out['rows']:.0f} ingest_rows_per_cpu_s={out['ingest_rows_per_cpu_s']:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
