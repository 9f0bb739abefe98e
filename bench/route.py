"""Benchmark of route reconstruction on simulated days with known truth, regime by regime.

Run from the repository root: ``python bench/route.py`` (evaluation, seed 2) or
``python bench/route.py --fit`` (fits the scoring constants on seed 1 and prints them;
settings.ROUTE_* hold the values it printed, so evaluation never sees the fitting data).

Regimes (each simulates its own day; motorbikes keep off expressways in all of them):
``default`` (plate-reading cameras read the direction they are snapped to, detection 0.9),
``both_directions`` (cameras also read oncoming traffic: front plates, so no motorbikes),
``registry_errors`` (both directions; every registry camera reads plates while the engine
gets a registry where the 27 road-class guesses stay unmarked and another 10% of the readers
are unmarked, and 15% of the readers point the wrong way) and ``sparse`` (every other
plate-reading camera, detection 0.8). The reconstruction sees what a plate lookup returns:
the reads whose text is the vehicle's plate (misreads are lost), times with camera clock
skew, the registry as the centre knows it, camera health from all reads of the day, and the
vehicle class from the plate. Every leg between two reads of the same true trip is compared
with the true node sequence between the two cameras' edges, beside the naive baseline (the
networkx fastest path between the two cameras' points over either direction of their roads,
same legs, same run).

Keys per regime: ``f1_top1``, ``naive_f1_top1``, ``error_reduction`` (of the naive error),
``top3_hit``, ``calibration_error``, ``false_impossible`` (legs of single vehicles flagged
impossible travel), ``false_splits`` (single-vehicle plates split into tracks),
``failed_plates`` (plates with ≥ 2 reads that trace refused). Clones: pairs of simulated
vehicles whose merged reads no single vehicle can explain; ``clone_split_accuracy`` is the
share split into tracks with no impossible leg, ``clone_exact_split`` the share split exactly
into the two vehicles' reads. Prism: on legs that hold a trip's stop, ``prism_recall`` (the
stop inside the prism) and ``prism_rank`` (median share of the prism's road length where a
longer stay was possible than at the stop). Speed: ``cache_build_s`` (every registry
camera, candidates of every pair included), ``add_camera_s`` (one more camera into a stored
cache), ``ms_per_plate`` (20 sightings at random cameras, pair memo cleared),
``speedup_vs_naive`` (networkx shortest path per leg vs a candidate lookup). The last line
reads ``RESULT route ...``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracing import boundaries, cameras, network, settings
from tracing.routes import Route, ScoringModel, Sighting, load_path_cache, reconstruct_route
from tracing.routes.candidates import pair_paths, passed_cameras, reading_sites
from tracing.routes.evidence import CameraActivity
from tracing.routes.pathcache import PathCache
from tracing.routes.prism import leg_prism, node_stay_s
from tracing.simulate import SimulationConfig, simulate
from tracing.simulate.truth import passes_table, reads_table, trips_table
from tracing.travel import impossible
from tracing.vehicles import class_of_plate

OCR_ERROR = settings.SIM_OCR_ERROR_RATE
BUCKETS = ((0, 1000, "lt1km"), (1000, 3000, "1to3km"), (3000, 6000, "3to6km"),
           (6000, 1e12, "gt6km"))
CLONE_CASES = 40


@dataclass(frozen=True)
class Regime:
    """What the simulated world does that the registry may not say."""

    share: float = 1.0
    """Share of the registry's plate-reading cameras kept (the others read nothing)."""
    detection: float = 0.9
    trips: int = 4000
    both_directions: bool = False
    all_cameras_read: bool = False
    heading_error_rate: float = 0.0
    unmarked_rate: float = 0.0


REGIMES = {
    "default": Regime(),
    "both_directions": Regime(both_directions=True),
    "registry_errors": Regime(both_directions=True, all_cameras_read=True,
                              heading_error_rate=0.15, unmarked_rate=0.1),
    "sparse": Regime(share=0.5, detection=0.8, trips=12000),
}


@dataclass
class Leg:
    """One evaluated leg: truth, our candidates, the naive path."""

    true_edges: list[tuple[int, int]]
    observed_s: float
    candidates: list[tuple[list[tuple[int, int]], float]]
    naive_edges: list[tuple[int, int]]
    pool: list[dict[str, Any]] = field(default_factory=list)
    pair: tuple[int, int] = (-1, -1)
    """Camera indices in the path cache (start, end)."""
    variant: int = 0
    """The true trip's driver type (simulator route variant; 0 drives fastest paths)."""
    detour: bool = False
    """The true trip detours or stops at an intermediate place."""
    vehicle_class: str = "car"
    """The routing class of the plate (its cache: Engine.caches)."""
    stop_stay_s: float | None = None
    """On a leg that holds the true trip's stop: the longest stay the prism allows there
    (negative: the stop lies outside the prism)."""
    stop_rank: float | None = None
    """Share of the prism's road length ranked above the true stop by that stay."""


def registry_for(share: float) -> pd.DataFrame:
    """The shipped registry with every other LPR camera made a non-LPR one (share 0.5)."""
    reg = cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv")
    if share >= 1:
        return reg
    lpr = reg.index[reg["is_lpr"].astype(bool)].to_numpy()
    order = reg.loc[lpr].sort_values("id").index.to_numpy()
    reg = reg.copy()
    reg.loc[order[1::2], "is_lpr"] = False
    return reg


@dataclass
class SimDay:
    """One simulated day: truth tables and the registry as the centre knows it."""

    trips: pd.DataFrame
    passes: pd.DataFrame
    reads: pd.DataFrame
    vehicles: pd.DataFrame
    registry: pd.DataFrame


def run_sim(graph: nx.MultiDiGraph, regime: Regime, *, seed: int) -> SimDay:
    """Trips, passes, reads and the known registry of one simulated day."""
    config = SimulationConfig.for_hours(
        hours=24.0, trips=regime.trips, seed=seed, detection_rate=regime.detection,
        planted=False, both_directions=regime.both_directions,
        all_cameras_read=regime.all_cameras_read,
        heading_error_rate=regime.heading_error_rate, unmarked_rate=regime.unmarked_rate)
    sim = simulate(graph, registry_for(regime.share), wards=boundaries.load_wards(),
                   outline=boundaries.load_outline(), config=config)
    start_us = int(config.start.timestamp() * 1e6)
    vehicles = pd.DataFrame({"vehicle_id": np.arange(len(sim.fleet.plate)),
                             "plate": sim.fleet.plate, "kind": sim.fleet.kind})
    return SimDay(trips_table(sim, start_us).to_pandas(), passes_table(sim, start_us).to_pandas(),
                  reads_table(sim, start_us).to_pandas(), vehicles, sim.registry)


def edge_pairs(nodes: list[int] | tuple[int, ...]) -> list[tuple[int, int]]:
    return list(itertools.pairwise(nodes))


def vehicle_sightings(reads: pd.DataFrame) -> dict[int, list[Sighting]]:
    """What a plate lookup returns per vehicle: correctly read reads."""
    good = reads[reads["valid"] & reads["ocr_error"].isna()].sort_values("ts")
    out: dict[int, list[Sighting]] = {}
    for row in good.itertuples():
        out.setdefault(int(row.vehicle_id), []).append(
            Sighting(camera_id=str(row.camera_id), ts=row.ts.to_pydatetime(),
                     read_id=str(row.read_id), confidence=float(row.confidence)))
    return out


@dataclass
class Engine:
    """The caches of the registry as known, per routing class, and the day's activity."""

    caches: dict[str, PathCache]
    activity: CameraActivity

    def cache_of(self, plate: str) -> PathCache:
        return self.caches["motorbike" if class_of_plate(plate) == "motorbike" else "car"]


def engine_for(graph: nx.MultiDiGraph, day: SimDay, cache_dir: Path) -> Engine:
    caches = {c: load_path_cache(graph, day.registry, cache_dir=cache_dir,
                                 vehicle_class=c)  # type: ignore[arg-type]
              for c in ("car", "motorbike")}
    return Engine(caches, CameraActivity.from_reads(day.reads["camera_id"], day.reads["ts"]))


def trace(graph: nx.MultiDiGraph, engine: Engine, plate: str, sightings: list[Sighting],
          model: ScoringModel) -> Route:
    """What `trace` does for a plate: its class's network, the day's camera health."""
    cache = engine.cache_of(plate)
    cache.memo.clear()
    return reconstruct_route(graph, sightings, cache=cache, k=3, model=model,
                             activity=engine.activity,
                             front_plate=class_of_plate(plate) != "motorbike")


def naive_path(graph: nx.MultiDiGraph, cache: PathCache, a: int, b: int) -> list[int]:
    """networkx fastest path from camera a's point to camera b's point, either direction of
    each road, by travel time: OSM nodes from the head of a's edge to the tail of b's."""
    best: tuple[float, list[int]] = (np.inf, [])
    weight = _weight(cache)
    for ea, pa in reading_sites(cache, a):
        for eb, pb in reading_sites(cache, b):
            s, t = int(cache.node_ids[cache.edge_v[ea]]), int(cache.node_ids[cache.edge_u[eb]])
            try:
                d, nodes = nx.bidirectional_dijkstra(graph, s, t, weight=weight)
            except nx.NetworkXNoPath:
                continue
            total = (1 - pa) * cache.edge_tt[ea] + d + pb * cache.edge_tt[eb]
            if total < best[0]:
                best = (total, list(nodes))
    return best[1]


_WEIGHTS: dict[str, Any] = {}


def _weight(cache: PathCache) -> Any:
    """networkx weight: the class's travel time, closed edges hidden."""
    if cache.key not in _WEIGHTS:
        n = len(cache.node_ids)
        time_of = {int(u) * n + int(v): float(t) for u, v, t, o in zip(
            cache.edge_u, cache.edge_v, cache.edge_tt, cache.edge_open, strict=True) if o}
        index = {int(x): i for i, x in enumerate(cache.node_ids)}

        def weight(u: int, v: int, _: Any) -> float | None:
            return time_of.get(index[u] * n + index[v])
        _WEIGHTS[cache.key] = weight
    return _WEIGHTS[cache.key]


def evaluate(graph: nx.MultiDiGraph, engine: Engine, day: SimDay, *, model: ScoringModel,
             with_pool: bool = False) -> dict[str, Any]:
    """Reconstruct every vehicle's reads; collect the legs inside one true trip."""
    trips, passes, reads = day.trips, day.passes, day.reads
    nodes_of = dict(zip(trips["trip_id"], trips["nodes"], strict=True))
    variant_of = dict(zip(trips["trip_id"], trips["variant"], strict=True))
    detour_of = dict(zip(trips["trip_id"], trips["via_node"].notna(), strict=True))
    stop_of = {int(t): int(v) for t, v, d in zip(trips["trip_id"], trips["via_node"],
                                                  trips["dwell_s"], strict=True) if d > 0}
    plate_of = dict(zip(day.vehicles["vehicle_id"], day.vehicles["plate"], strict=True))
    pass_of = reads.set_index("read_id")[["trip_id", "pass_id"]]
    step_of = passes.set_index("pass_id")["step"]
    legs: list[Leg] = []
    ours_s = naive_s = lookup_s = 0.0
    all_legs = flagged = split = failed = plates = 0
    trips_seen: set[int] = set()
    for vehicle, sightings in vehicle_sightings(reads).items():
        plate = str(plate_of[vehicle])
        plates += len(sightings) > 1
        started = time.perf_counter()
        try:
            route = trace(graph, engine, plate, sightings, model)
        except Exception:
            failed += len(sightings) > 1
            continue
        ours_s += time.perf_counter() - started
        cache = engine.cache_of(plate)
        all_legs += len(route.legs)
        split += route.tracks > 1
        flagged += sum("impossible_travel" in leg.flags for leg in route.legs)
        for leg in route.legs:
            ta, tb = pass_of.loc[leg.start.read_id], pass_of.loc[leg.end.read_id]
            if ta.trip_id != tb.trip_id or not leg.candidates:
                continue
            sa, sb = int(step_of[ta.pass_id]), int(step_of[tb.pass_id])
            true_nodes = [int(n) for n in nodes_of[int(ta.trip_id)][sa + 1:sb + 1]]
            trips_seen.add(int(ta.trip_id))
            pair = (cache.camera_index[leg.start.camera_id], cache.camera_index[leg.end.camera_id])
            started = time.perf_counter()
            naive = naive_path(graph, cache, *pair)
            naive_s += time.perf_counter() - started
            cache.memo.pop((*pair, settings.ROUTE_POOL), None)
            started = time.perf_counter()
            pair_paths(cache, *pair)
            lookup_s += time.perf_counter() - started
            item = Leg(edge_pairs(true_nodes), leg.duration_s,
                       [(edge_pairs(c.osm_nodes[1:-1]), c.probability) for c in leg.candidates],
                       edge_pairs(naive), pair=pair,
                       variant=int(variant_of[int(ta.trip_id)]),
                       detour=bool(detour_of[int(ta.trip_id)]),
                       vehicle_class=cache.vehicle_class)
            if with_pool:
                item.pool = pool_features(cache, pair, true_nodes)
            stop = stop_of.get(int(ta.trip_id))
            if stop is not None and stop in true_nodes[1:]:
                item.stop_stay_s, item.stop_rank = stop_in_prism(cache, pair, leg.duration_s,
                                                                 stop)
            legs.append(item)
    return {"legs": legs, "trips": len(trips_seen),
            "ms_per_leg": 1000 * ours_s / max(all_legs, 1),
            "lookup_ms_per_leg": 1000 * lookup_s / max(len(legs), 1),
            "naive_ms_per_leg": 1000 * naive_s / max(len(legs), 1),
            "false_impossible": flagged / max(all_legs, 1),
            "false_splits": split / max(plates, 1), "failed_plates": failed}


def stop_in_prism(cache: PathCache, pair: tuple[int, int], observed_s: float, stop: int
                  ) -> tuple[float, float]:
    """The prism's longest stay at the true stop (OSM node) and its rank in the prism."""
    node = int(np.searchsorted(cache.node_ids, stop))
    stay = node_stay_s(cache, *pair, observed_s, node)
    return stay, leg_prism(cache, *pair, observed_s).rank_of(stay)


def pool_features(cache: PathCache, pair: tuple[int, int], true_nodes: list[int]
                  ) -> list[dict[str, Any]]:
    """Every pool candidate's features and whether it is the true path (for fitting)."""
    truth = set(edge_pairs(true_nodes))
    out = []
    for p in pair_paths(cache, *pair):
        edges = set(edge_pairs([int(n) for n in cache.node_ids[p.nodes[1:-1]]]))
        rear, _ = passed_cameras(cache, p)
        out.append({"free": p.free_flow_s, "minor": p.minor_s,
                    "missed": sum(1 for c in rear if cache.expected(c)),
                    "true": _match(edges, truth)})
    return out


_LENGTHS: dict[tuple[int, int], float] = {}


def load_lengths(graph: nx.MultiDiGraph) -> None:
    """Remember every node pair's length (the shortest of parallel edges) for the scores."""
    for u, v, d in graph.edges(data=True):
        old = _LENGTHS.get((u, v))
        _LENGTHS[(u, v)] = float(d["length"]) if old is None else min(old, float(d["length"]))


def length_of(edges: set[tuple[int, int]]) -> float:
    return float(sum(_LENGTHS.get(e, 0.0) for e in edges))


def _match(pred: set[tuple[int, int]], truth: set[tuple[int, int]]) -> bool:
    lt, lp = length_of(truth), length_of(pred)
    common = length_of(pred & truth)
    if lt <= 0 and lp <= 0:
        return True
    return lt > 0 and lp > 0 and common / lt >= 0.9 and common / lp >= 0.9


def leg_scores(pred: list[tuple[int, int]], truth: list[tuple[int, int]]
               ) -> tuple[float, float, float]:
    """(F1, mismatch length, true length) of a predicted path."""
    p, t = set(pred), set(truth)
    lp, lt, common = length_of(p), length_of(t), length_of(p & t)
    precision = common / lp if lp > 0 else (1.0 if lt == 0 else 0.0)
    recall = common / lt if lt > 0 else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return f1, (lp - common) + (lt - common), lt


def ece(probs: list[float], hits: list[bool], bins: int = 10) -> float:
    p, y = np.asarray(probs), np.asarray(hits, float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.sum() / len(p) * abs(p[mask].mean() - y[mask].mean())
    return float(total)


def metrics(result: dict[str, Any], regime: str) -> dict[str, float]:
    """The issue's keys for one regime."""
    legs = [leg for leg in result["legs"] if length_of(set(leg.true_edges)) >= 1.0]
    out: dict[str, float] = {f"legs_{regime}": len(legs), f"trips_{regime}": result["trips"]}
    for key in ("false_impossible", "false_splits", "failed_plates"):
        out[f"{key}_{regime}"] = result[key]
    probs, hits = [], []
    rows = []
    for leg in legs:
        truth = set(leg.true_edges)
        f1, mis, lt = leg_scores(leg.candidates[0][0], leg.true_edges)
        nf1, nmis, _ = leg_scores(leg.naive_edges, leg.true_edges)
        matched = [_match(set(c), truth) for c, _ in leg.candidates]
        probs += [p for _, p in leg.candidates]
        hits += matched
        best = max(leg_scores(c, leg.true_edges)[0] for c, _ in leg.candidates)
        rows.append((lt, f1, nf1, mis, nmis, any(matched[:3]), best, leg.detour))
    frame = pd.DataFrame(rows, columns=["true_m", "f1", "nf1", "mis", "nmis", "hit", "oracle",
                                        "detour"])

    def add(suffix: str, part: pd.DataFrame) -> None:
        if part.empty:
            return
        w = part["true_m"]
        f1, nf1 = float((part.f1 * w).sum() / w.sum()), float((part.nf1 * w).sum() / w.sum())
        out[f"f1_top1{suffix}"] = f1
        out[f"naive_f1_top1{suffix}"] = nf1
        out[f"error_reduction{suffix}"] = 1 - (1 - f1) / (1 - nf1) if nf1 < 1 else 0.0
        out[f"top3_hit{suffix}"] = float(part.hit.mean())
        oracle = float((part.oracle * w).sum() / w.sum())
        out[f"oracle_f1_top3{suffix}"] = oracle
        out[f"oracle_error_reduction{suffix}"] = 1 - (1 - oracle) / (1 - nf1) if nf1 < 1 else 0.0
        error = ((1 - part.nf1) * w).sum()
        out[f"naive_error_share_detour{suffix}"] = float(
            ((1 - part.nf1) * w)[part.detour].sum() / error) if error > 0 else 0.0
        out[f"mismatch_fraction{suffix}"] = float(part.mis.sum() / w.sum())
        out[f"naive_mismatch_fraction{suffix}"] = float(part.nmis.sum() / w.sum())

    add(f"_{regime}", frame)
    for low, high, name in BUCKETS:
        add(f"_{regime}_{name}", frame[(frame.true_m >= low) & (frame.true_m < high)])
    out[f"calibration_error_{regime}"] = ece(probs, hits)
    stops = [leg for leg in result["legs"] if leg.stop_stay_s is not None]
    out[f"stop_legs_{regime}"] = len(stops)
    if stops:
        out[f"prism_recall_{regime}"] = float(np.mean([leg.stop_stay_s >= 0 for leg in stops]))
        out[f"prism_rank_{regime}"] = float(np.median([leg.stop_rank for leg in stops]))
    return out


def clone_cases(graph: nx.MultiDiGraph, engine: Engine, day: SimDay, rng: np.random.Generator,
                model: ScoringModel) -> dict[str, float]:
    """Pairs of vehicles of one routing class given one plate, where their merged reads
    cannot be one vehicle: ``clone_split_accuracy`` is the share split into tracks with no
    impossible leg, ``clone_exact_split`` the share whose two tracks are exactly the two
    vehicles' reads (reads hours apart can follow either track: not always decidable)."""
    by_vehicle = {v: s for v, s in vehicle_sightings(day.reads).items() if len(s) >= 2}
    kinds = dict(zip(day.vehicles["vehicle_id"], day.vehicles["kind"], strict=True))
    plates = dict(zip(day.vehicles["vehicle_id"], day.vehicles["plate"], strict=True))
    ids = sorted(by_vehicle)
    tried = split = exact = 0
    for _ in range(4000):
        if tried >= CLONE_CASES:
            break
        a, b = (int(x) for x in rng.choice(ids, 2, replace=False))
        if (kinds[a] == "motorbike") != (kinds[b] == "motorbike"):
            continue
        plate = str(plates[a])
        merged = sorted(by_vehicle[a] + by_vehicle[b], key=lambda s: s.ts)
        cache = engine.cache_of(plate)
        t = np.array([s.ts.timestamp() for s in merged])
        rows = np.array([cache.camera_index[s.camera_id] for s in merged])
        if not impossible(np.diff(t), cache.bound_s[rows[:-1], rows[1:]],
                          cache.bound_s[rows[1:], rows[:-1]]).any():
            continue  # both vehicles' reads are drivable as one: no clone to see
        tried += 1
        route = trace(graph, engine, plate, merged, model)
        owner = {s.read_id: 0 for s in by_vehicle[a]} | {s.read_id: 1 for s in by_vehicle[b]}
        groups: dict[int, set[int]] = {}
        for s, track in zip(route.sightings, route.track_of_sighting, strict=True):
            groups.setdefault(track, set()).add(owner[s.read_id])
        split += route.tracks >= 2 and not any("impossible_travel" in leg.flags
                                               for leg in route.legs)
        exact += route.tracks == 2 and all(len(g) == 1 for g in groups.values())
    return {"clone_cases": tried, "clone_split_accuracy": split / max(tried, 1),
            "clone_exact_split": exact / max(tried, 1)}


def speed(graph: nx.MultiDiGraph, cache: PathCache, rng: np.random.Generator,
          *, plates: int = 20, sightings: int = 20) -> float:
    """ms per plate-day of ``sightings`` sightings at random cameras, cold pair memo."""
    t0 = pd.Timestamp("2026-03-02T08:00:00+07:00").to_pydatetime()
    ids = sorted(cache.camera_index)
    total = 0.0
    for _ in range(plates):
        chosen = rng.choice(len(ids), sightings)
        seq = [Sighting(ids[int(c)], t0 + pd.Timedelta(minutes=8 * i).to_pytimedelta(),
                        f"r{i}") for i, c in enumerate(chosen)]
        cache.memo.clear()
        started = time.perf_counter()
        reconstruct_route(graph, seq, cache=cache, k=3)
        total += time.perf_counter() - started
    return 1000 * total / plates


def build_figures(graph: nx.MultiDiGraph, cache_dir: Path
                  ) -> tuple[dict[str, float], PathCache]:
    """cache_build_s (every camera of the registry, pairs included: all but one built, then
    the last one added) and add_camera_s (that last camera into the stored cache)."""
    registry = registry_for(1.0)
    first = sorted(registry["id"].astype(str))[0]
    started = time.perf_counter()
    load_path_cache(graph, registry[registry["id"].astype(str) != first], cache_dir=cache_dir)
    built = time.perf_counter() - started
    started = time.perf_counter()
    full = load_path_cache(graph, registry, cache_dir=cache_dir)
    added = time.perf_counter() - started
    return {"cache_build_s": built + added, "add_camera_s": added,
            "cameras": float(len(full.camera_index))}, full


def _pool_matrices(samples: list[tuple[float, list[dict[str, Any]], float]]
                   ) -> dict[str, np.ndarray]:
    width = max(len(pool) for _, pool, _ in samples)
    n = len(samples)
    free, missed = np.full((n, width), np.inf), np.zeros((n, width))
    minor = np.zeros((n, width))
    truth = np.zeros((n, width), bool)
    for i, (_, pool, _) in enumerate(samples):
        free[i, :len(pool)] = [p["free"] for p in pool]
        minor[i, :len(pool)] = [p["minor"] for p in pool]
        missed[i, :len(pool)] = [p["missed"] for p in pool]
        truth[i, :len(pool)] = [p["true"] for p in pool]
    return {"free": free, "missed": missed, "truth": truth, "minor": minor,
            "observed": np.array([o for o, _, _ in samples])[:, None],
            "rate": np.array([r for _, _, r in samples])[:, None]}


def _scores(m: dict[str, np.ndarray], model: ScoringModel) -> np.ndarray:
    """scoring.log_scores over a padded matrix of pools (padding scores -inf)."""
    from tracing.routes.scoring import time_fit

    valid = np.isfinite(m["free"])
    free = np.where(valid, m["free"], 1.0)
    fastest = np.maximum(np.where(valid, free, np.inf).min(axis=1, keepdims=True), 1.0)
    s = (time_fit(m["observed"], free, model) + m["missed"] * np.log1p(-m["rate"])
         - model.detour_penalty * (free / fastest - 1)
         - model.minor_road_penalty * m["minor"] / fastest)
    return np.where(valid, s, -np.inf)


def _reported(scores: np.ndarray, truth: np.ndarray, temperature: float, k: int = 3
              ) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of the top k renormalised (as reconstruct_route reports them)."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(scores, order, axis=1) / temperature
    p = np.exp(top - top.max(axis=1, keepdims=True))
    p = p / p.sum(axis=1, keepdims=True)
    return p, np.take_along_axis(truth, order, axis=1)


def fit_samples(graph: nx.MultiDiGraph, seed: int) -> dict[str, np.ndarray]:
    """Pool features of every leg of every regime on ``seed``."""
    samples = []
    with tempfile.TemporaryDirectory() as cache_dir:
        for regime_name, regime in REGIMES.items():
            day = run_sim(graph, regime, seed=seed)
            engine = engine_for(graph, day, Path(cache_dir))
            model = ScoringModel(detection_rate=regime.detection * (1 - OCR_ERROR))
            result = evaluate(graph, engine, day, model=model, with_pool=True)
            samples += [(leg.observed_s, leg.pool, model.detection_rate)
                        for leg in result["legs"]
                        if leg.pool and length_of(set(leg.true_edges)) >= 1.0]
            print(f"{regime_name}: {len(result['legs'])} legs, {len(samples)} samples so far",
                  flush=True)
    return _pool_matrices(samples)


def _model(x: np.ndarray, mu: float, sigma: float) -> ScoringModel:
    penalty, minor = x
    return ScoringModel(time_mu=mu, time_sigma=sigma, detour_penalty=float(abs(penalty)),
                        minor_road_penalty=float(abs(minor)))


def fit(graph: nx.MultiDiGraph, seed: int) -> None:
    """Fit the scoring constants on ``seed`` (both regimes pooled): the time fit's mean and
    spread are the moments of the true paths' log ratio; the detour and minor-road penalties
    maximise the likelihood of the true candidate; the temperature is chosen by calibration
    error. Prints them."""
    from scipy.optimize import minimize

    m = fit_samples(graph, seed)
    truth = m["truth"]
    has = truth.any(axis=1)
    true_free = m["free"][np.arange(len(truth)), np.argmax(truth, axis=1)][has]
    offset = settings.ROUTE_TIME_OFFSET_S
    x = np.log((m["observed"][has, 0] + offset) / (true_free + offset))
    mu, sigma = float(x.mean()), float(x.std())
    found = has & (np.isfinite(m["free"]).sum(axis=1) > 1)
    sub = {k: v[found] for k, v in m.items()}

    def loss(params: np.ndarray) -> float:
        s = _scores(sub, _model(params, mu, sigma))
        t = sub["truth"]
        return -float((np.logaddexp.reduce(np.where(t, s, -np.inf), axis=1)
                       - np.logaddexp.reduce(s, axis=1)).sum())

    res = minimize(loss, np.array([4.0, 0.5]), method="Nelder-Mead")
    model = _model(res.x, mu, sigma)
    print(f"fit on {int(found.sum())} legs (of {len(found)}; fastest is true in "
          f"{truth[:, 0].mean():.3f}): loss {res.fun:.1f}; {model}")
    scores = _scores(m, model)
    for temperature in (0.6, 0.8, 1.0, 1.2, 1.5, 2.0):
        probs, hits = _reported(scores, truth, temperature)
        ok = probs > 0
        print(f"temperature {temperature}: ECE {ece(list(probs[ok]), list(hits[ok])):.4f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--regime", choices=sorted(REGIMES), action="append")
    args = parser.parse_args()
    began = time.perf_counter()
    graph = network.load_network()
    load_lengths(graph)
    if args.fit:
        fit(graph, 1)
        return 0
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = Path(tmp)
        figures, full = build_figures(graph, cache_dir)
        results.update(figures)
        results["ms_per_plate"] = speed(graph, full, np.random.default_rng(0))
        for name in args.regime or list(REGIMES):
            regime = REGIMES[name]
            day = run_sim(graph, regime, seed=args.seed)
            engine = engine_for(graph, day, cache_dir)
            model = replace(ScoringModel(), detection_rate=regime.detection * (1 - OCR_ERROR))
            result = evaluate(graph, engine, day, model=model)
            results.update(metrics(result, name))
            if name == "default":
                results["ms_per_leg"] = result["ms_per_leg"]
                results["naive_ms_per_leg"] = result["naive_ms_per_leg"]
                results["lookup_ms_per_leg"] = result["lookup_ms_per_leg"]
                results["speedup_vs_naive"] = (result["naive_ms_per_leg"]
                                               / result["lookup_ms_per_leg"])
                results.update(clone_cases(graph, engine, day, np.random.default_rng(3), model))
            print(name, {k: round(v, 3) for k, v in results.items() if name in k}, flush=True)
    results["bench_s"] = time.perf_counter() - began
    main_keys = [k for k in results if not any(b[2] in k for b in BUCKETS)]
    print("by leg length:", {k: round(v, 3) for k, v in results.items() if k not in main_keys})
    print("RESULT route " + " ".join(f"{k}={results[k]:.4f}" if isinstance(results[k], float)
                                     else f"{k}={results[k]}" for k in main_keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
