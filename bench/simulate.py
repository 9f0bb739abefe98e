"""Benchmark of the traffic simulator: one full day of city traffic into a fresh store.

Run from the repository root: ``python bench/simulate.py [TRIPS]`` (default 100,000 trips).
``sim_s`` is the wall time of the whole run as ``python -m tracing simulate`` does it: load
the road graph and cameras, route and time the trips, sense the reads, ingest them into a
new DuckDB store through ``Store.ingest`` and write the ground truth. The last line reads
``RESULT simulate sim_s=… trips=… reads=… reads_per_lpr_camera_day=…``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracing.simulate import SimulationConfig, run_simulation

TRIPS = 100_000


def main() -> int:
    """Simulate one day with TRIPS background trips; print the stages and the RESULT line."""
    trips = int(sys.argv[1]) if len(sys.argv) > 1 else TRIPS
    config = SimulationConfig.for_hours(hours=24.0, trips=trips, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        started = time.perf_counter()
        summary = run_simulation(db, Path(tmp) / "bench-truth", config=config)
        sim_s = time.perf_counter() - started
        truth_mb = sum(p.stat().st_size for p in (Path(tmp) / "bench-truth").iterdir()) / 1e6
        db_mb = db.stat().st_size / 1e6
    sim = summary.simulation
    counts = sim.counts
    stages = ", ".join(f"{k} {v:.1f}" for k, v in sim.timings.items())
    print(summary)
    print(f"stages (s): {stages}; graph load and the rest: "
          f"{sim_s - sum(sim.timings.values()):.1f}")
    print(f"vehicles {counts['vehicles']:,} ({counts['vehicles_by_kind']}); passes "
          f"{counts['passes']:,}; misreads {counts['misreads']:,} ({counts['invalid_plates']:,} "
          f"rejected by the store); duplicates {counts['duplicates']:,}")
    print(f"store {db_mb:.1f} MB, truth {truth_mb:.1f} MB")
    print(f"RESULT simulate sim_s={sim_s:.1f} trips={counts['trips']} reads={counts['reads']} "
          f"reads_per_lpr_camera_day={counts['reads_per_lpr_camera_day']:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
