"""Benchmark of the road network: cold build from the PBF, warm (cached) load.

Run from the repository root: ``python bench/network.py``. The last line reads
``RESULT network build_s=… load_s=… nodes=… edges=…``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracing import network, settings

WARM_RUNS = 5


def main() -> int:
    """Build into a temporary folder, then time cold and warm loads of that build."""
    if not settings.OSM_PBF.is_file():
        print(f"SKIP network: {settings.OSM_PBF} is absent")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out_dir, cache_dir = Path(tmp) / "network", Path(tmp) / "cache"
        start = time.perf_counter()
        counts = network.build_network_artifacts(out_dir)
        build_s = time.perf_counter() - start

        start = time.perf_counter()
        network.load_network(out_dir, cache_dir=cache_dir)
        cold_s = time.perf_counter() - start
        warm = []
        for _ in range(WARM_RUNS):
            start = time.perf_counter()
            graph = network.load_network(out_dir, cache_dir=cache_dir)
            warm.append(time.perf_counter() - start)
        load_s = statistics.median(warm)

        same = all((out_dir / name).read_bytes() == (settings.NETWORK_DIR / name).read_bytes()
                   for name in (network.NODES_FILE, network.EDGES_FILE)
                   if (settings.NETWORK_DIR / name).is_file())
    print(f"artefacts: {counts['bytes'] / 1e6:.2f} MB; identical to the committed ones: {same}")
    print(f"cold load (artefacts -> graph + speeds + cache write): {cold_s:.2f} s")
    print(f"warm loads: {', '.join(f'{t:.2f}' for t in warm)} s")
    print(f"RESULT network build_s={build_s:.1f} load_s={load_s:.2f} "
          f"nodes={len(graph)} edges={len(graph.edges)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
