"""Benchmark of the coverage analysis and the placement planner on the Thủ Đức graph.

Run from the repository root: ``python bench/coverage.py [TRIPS]`` (default 12,000 trips).
``analysis_s``: sample the demand-model trips, route them and measure road coverage,
gateways and observability of the shipped registry (graph loading excluded). ``plan_s``:
the greedy planner for K = 100. ``gain_vs_baseline``: trips newly observed by the plan's
100 sites divided by those of one camera on the busiest approach of each of the 100
busiest intersections (by sampled traffic), same trips. Last line ``RESULT coverage …``.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracing import boundaries, cameras, network, settings
from tracing.coverage import analyse, baseline_sites, newly_observed

TRIPS = 12_000
K = 100

logger = logging.getLogger("bench.coverage")


def main() -> int:
    """Analyse, plan K sites, compare with the baseline; print the RESULT line."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    trips = int(sys.argv[1]) if len(sys.argv) > 1 else TRIPS
    graph = network.load_network()
    wards, outline = boundaries.load_wards(), boundaries.load_outline()
    registry = cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv")
    started = time.perf_counter()
    result = analyse(graph, registry, wards=wards, outline=outline, trips=trips)
    analysis_s = time.perf_counter() - started
    started = time.perf_counter()
    plan = result.plan(k=K)
    plan_s = time.perf_counter() - started
    base = baseline_sites(result.sample.roads, result.matrix, k=K)
    base_new = newly_observed(result.matrix, result.seen, base)
    after = result.with_sites(plan.sites)
    obs, gw, rc = result.observability, result.gateways, result.roads
    logger.info("trips %s; roads watched %.1f of %.0f km (%.2f%%)", len(result.sample),
                rc.watched_km, rc.total_km, 100 * rc.share)
    logger.info("gateways %s edges, %s covered, %.0f%% of gateway traffic covered",
                len(gw.table), int(gw.table["covered"].sum()), 100 * gw.traffic_share_covered)
    logger.info("today: seen by >=1 %.1f%%, >=2 %.1f%%, longest unobserved mean %.0f m, "
                "worst %.0f m", 100 * obs.seen_1, 100 * obs.seen_2, obs.mean_gap_m,
                obs.worst_gap_m)
    logger.info("with the plan: >=1 %.1f%%, >=2 %.1f%%, mean gap %.0f m", 100 * after.seen_1,
                100 * after.seen_2, after.mean_gap_m)
    logger.info("plan %s sites: +%s trips (first gains %s); baseline %s sites: +%s trips",
                len(plan.sites), plan.added, plan.gains[:5].tolist(), len(base), base_new)
    gain = plan.added / base_new if base_new else float("inf")
    print(f"RESULT coverage analysis_s={analysis_s:.2f} plan_s={plan_s:.2f} "
          f"gain_vs_baseline={gain:.2f} trips={len(result.sample)} k={K} "
          f"seen1={obs.seen_1:.3f} seen2={obs.seen_2:.3f} seen1_plan={after.seen_1:.3f} "
          f"plan_new={plan.added} baseline_new={base_new}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
