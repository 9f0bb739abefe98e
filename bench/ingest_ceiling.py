"""How fast could bulk ingest be on this machine? DuckDB's own insert, measured alone.

    python bench/ingest_ceiling.py [--rows 1000000] [--repeat 3]

Creates a store with the real schema (migrations included), then appends already
validated, normalised and sorted reads straight into ``reads`` with one ``INSERT …
SELECT`` from Arrow through the store's writer (its row-group size; no checks, no keys,
no duplicate test): the part of ``Store.ingest`` no code of ours can make cheaper.
Measured as ingest runs (string compression off, ``STORE_INGEST_DISABLED_COMPRESSION``)
and, for comparison, with all of DuckDB's compression on. ``ceiling_rows_per_s`` = CPUs ÷
CPU-seconds per row of the ingest-mode insert: the best any ingest could reach here if
validation, normalisation, hashing and sorting were free and both cores busy all the
time. Last line ``RESULT ingest_ceiling …``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.store import synthetic_plates, synthetic_reads
from tracing import settings
from tracing.store import Store

INSERT = """
    INSERT INTO reads
    SELECT read_id, camera_id, ts, plate, plate_compact, plate_raw, confidence::REAL,
           NULL, NULL, NULL, 'bench', now()
    FROM _src
"""


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def prepared_reads(rows: int) -> pa.Table:
    """Valid reads as ingest hands them to DuckDB: normalised, sorted by plate and time,
    in record batches of DuckDB's row-group size (so the insert may run in parallel)."""
    rng = np.random.default_rng(0)
    cameras = [f"{x:024x}" for x in rng.integers(0, 2**62, 100)]
    table = synthetic_reads(rows, synthetic_plates(rows, rng), cameras, first=0,
                            span=timedelta(days=3), rng=rng)
    table = table.append_column("plate_compact",
                                pc.replace_substring_regex(table["plate"], "[-.]", ""))
    table = table.append_column("plate_raw", table["plate"])
    table = table.sort_by([("plate", "ascending"), ("ts", "ascending")])
    return pa.Table.from_batches(table.to_batches(max_chunksize=122_880))


def measure(path: Path, table: pa.Table, repeat: int, disabled: str) -> float:
    """Median CPU-seconds of inserting ``table`` through the store's own writer (its row
    group size), with ``disabled`` compression methods."""
    cpu = []
    with Store(path) as store:
        for _ in range(repeat):
            started_cpu, started = cpu_seconds(), time.perf_counter()
            with store.writer() as con:
                con.execute("SET GLOBAL disabled_compression_methods = ?", [disabled])
                con.register("_src", table)
                con.execute(INSERT)
                con.unregister("_src")
            cpu.append(cpu_seconds() - started_cpu)
            print(f"disabled '{disabled}': {table.num_rows:,} rows in "
                  f"{time.perf_counter() - started:.2f} s wall, {cpu[-1]:.2f} CPU-s", flush=True)
    print(f"disabled '{disabled}': file {path.stat().st_size / 1e6:,.0f} MB for "
          f"{repeat * table.num_rows:,} rows", flush=True)
    return float(np.median(cpu))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    table = prepared_reads(args.rows)
    cpus = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        ingest = measure(Path(tmp) / "ingest.duckdb", table, args.repeat,
                         settings.STORE_INGEST_DISABLED_COMPRESSION)
        full = measure(Path(tmp) / "compressed.duckdb", table, args.repeat, "")
    per_million = 1e6 / args.rows
    print(f"RESULT ingest_ceiling insert_cpu_s_per_m={ingest * per_million:.2f} "
          f"compressed_insert_cpu_s_per_m={full * per_million:.2f} "
          f"ceiling_rows_per_s={cpus * args.rows / ingest:.0f} cpus={cpus} "
          f"duckdb={duckdb.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
