"""Benchmark of the retention purge on a store of synthetic reads.

    python bench/retention.py [--rows 2000000] [--days 60] [--case-share 0.01]

Reads spread evenly over ``--days`` days; a share of them is attached to a case; the purge
keeps the last 30 days and the case reads. Prints a final
``RESULT retention rows=… purge_s=… deleted=… kept=… keys_consistent=…``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from store import START, synthetic_plates, synthetic_reads

from tracing.access import cases, retention
from tracing.store import Store


def bench(args: argparse.Namespace, root: Path) -> dict[str, float]:
    rng = np.random.default_rng(0)
    cameras = [f"cam{i:03d}" for i in range(100)]
    plates = synthetic_plates(max(1000, args.rows // 10), rng)
    store = Store(root / "retention.duckdb")
    store.replace_cameras(pd.DataFrame({"id": cameras, "is_lpr": True}))
    per_day = args.rows // args.days
    for day in range(args.days):
        store.ingest(synthetic_reads(per_day, plates, cameras, first=day,
                                     span=timedelta(days=1), rng=rng), source="bench")
    rows = store.count_reads()
    ids = [f"bench-{i}" for i in rng.choice(rows, int(rows * args.case_share), replace=False)]
    cases.attach_reads(store, "BENCH-1", ids, by="bench")
    started = time.perf_counter()
    report = retention.purge(store, now=START + timedelta(days=args.days),
                             crops_dir=root / "crops")
    purge_s = time.perf_counter() - started
    with store.reader() as con:
        keys = con.execute("SELECT count(*) FROM read_keys").fetchone()
    left = store.count_reads()
    print(f"{report}; {purge_s:.2f} s")
    return {"rows": rows, "purge_s": round(purge_s, 2), "deleted": report.reads_deleted,
            "kept": report.reads_kept, "keys_consistent": int(keys == (left,))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--case-share", type=float, default=0.01)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = bench(args, Path(folder))
    print("RESULT retention " + " ".join(f"{k}={v}" for k, v in out.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
