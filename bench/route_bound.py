"""How much of the naive fastest path's error can any reconstruction remove? An estimate.

Run from the repository root: ``python bench/route_bound.py [--regime default] [--seed 2]
[--trips 1500]``. It simulates a day of a regime of bench/route.py, reconstructs every plate
as the benchmark does, and compares, on the same legs, length-weighted edge F1 of:

- ``naive``: networkx fastest path; ``engine``: our best candidate;
- ``oracle_top3``: the best of our 3 candidates (knowing the truth: a ceiling of any rule
  that picks among them);
- ``bayes``: an idealised engine that knows the simulator's own route-choice law (driver
  types = perturbed edge costs with SIM_EDGE_COST_SIGMA and SIM_MINOR_ROAD_COST, the day's
  draws unknown). It samples driver cost fields, takes every sample's shortest path between
  the two cameras, weighs the sampled paths by the same evidence the engine has (observed time
  against free-flow time, cameras on the path that did not read the plate) and reports the
  path with the highest expected F1 (the Bayes decision for this score);
- ``bayes_prior``: the same without the evidence (road-class preference alone);
- ``bayes_known_type``: as ``bayes`` but told the trip's driver type (its variant).

Sampled paths start and end on the directions the simulated cameras read (either direction
of each road in ``both_directions`` and ``registry_errors``; the shortest under each cost
field wins), on the network of the plate's vehicle class.
Detour and stop trips are not modelled by the sampled paths (they are direct), so on those
legs the ``bayes`` figures are not a ceiling; the split ``*_direct`` (legs of trips without a
detour) is where the estimate is a ceiling up to Monte Carlo noise. Last line ``BOUND route``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path as FilePath
from typing import Any

import networkx as nx
import numpy as np
import route as bench
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from tracing import network, settings
from tracing.routes import ScoringModel
from tracing.routes.pathcache import PathCache
from tracing.routes.scoring import time_fit

Path = tuple[int, ...]
"""Node indices (cache numbering) from the head of the first camera's edge to the tail of
the second's."""


def driver_costs(cache: PathCache, rng: np.random.Generator, per_type: int
                 ) -> list[tuple[int, np.ndarray]]:
    """(driver type, edge costs): type 0 once (free-flow time), the others ``per_type``
    times each, drawn as the simulator draws its route variants."""
    tt, minor = cache.edge_tt, ~cache.edge_main
    out = [(0, tt)]
    for variant in range(1, settings.SIM_ROUTE_VARIANTS):
        factor = np.where(minor, settings.SIM_MINOR_ROAD_COST[variant], 1.0)
        for _ in range(per_type):
            noise = rng.lognormal(0.0, settings.SIM_EDGE_COST_SIGMA, len(tt))
            out.append((variant, np.maximum(tt * noise * factor, 1e-3)))
    return out


def _walk(pred: np.ndarray, s: int, t: int) -> Path | None:
    out = [t]
    while out[-1] != s:
        node = int(pred[out[-1]])
        if node < 0:
            return None
        out.append(node)
    return tuple(reversed(out))


def _sites(cache: PathCache, c: int, both: bool) -> list[tuple[int, float]]:
    """(edge, position) of each direction camera ``c`` reads in the simulated world (the
    ideal engine knows the law: with ``both`` False the cameras read one direction)."""
    p = float(cache.camera_position[c])
    out = [(int(cache.camera_edge[c]), p)]
    if both and cache.camera_both[c] and cache.camera_reverse[c] >= 0:
        out.append((int(cache.camera_reverse[c]), float(cache.camera_reverse_position[c])))
    return out


def sampled_paths(cache: PathCache, legs: list[bench.Leg], costs: list[tuple[int, np.ndarray]],
                  *, both: bool) -> list[list[tuple[int, Path, float]]]:
    """Per leg: (driver type, shortest path, free-flow time of the two partial camera edges)
    under every sampled cost field, over the directions the cameras read."""
    n = len(cache.node_ids)
    heads = sorted({int(cache.edge_v[e]) for leg in legs
                    for e, _ in _sites(cache, leg.pair[0], both)})
    row = {h: i for i, h in enumerate(heads)}
    out: list[list[tuple[int, Path, float]]] = [[] for _ in legs]
    for variant, cost in costs:
        o = cache.edge_open
        matrix = csr_matrix((cost[o], (cache.edge_u[o], cache.edge_v[o])), shape=(n, n))
        dist, pred = dijkstra(matrix, indices=heads, return_predecessors=True)
        for i, leg in enumerate(legs):
            best: tuple[float, Path | None, float] = (np.inf, None, 0.0)
            for ea, pa in _sites(cache, leg.pair[0], both):
                for eb, pb in _sites(cache, leg.pair[1], both):
                    s, t = int(cache.edge_v[ea]), int(cache.edge_u[eb])
                    ends = (1 - pa) * cost[ea] + pb * cost[eb]
                    total = float(dist[row[s], t] + ends)
                    if total < best[0]:
                        free = float((1 - pa) * cache.edge_tt[ea] + pb * cache.edge_tt[eb])
                        best = (total, _walk(pred[row[s]], s, t), free)
            if best[1] is not None:
                out[i].append((variant, best[1], best[2]))
    return out


def _osm_edges(cache: PathCache, path: Path) -> list[tuple[int, int]]:
    return bench.edge_pairs([int(x) for x in cache.node_ids[list(path)]])


def _evidence(cache: PathCache, leg: bench.Leg, paths: list[tuple[Path, float]],
              model: ScoringModel) -> np.ndarray:
    """Log-likelihood of the leg's observation for each path (time fit, missed cameras)."""
    a, b = leg.pair
    free, missed = [], []
    for path, ends in paths:
        edges = cache.edges_of(np.asarray(path, np.int64))
        free.append(float(cache.edge_tt[edges].sum() + ends))
        missed.append(sum(1 for e in edges.tolist() for c in cache.edge_cameras.get(e, ())
                          if c not in (a, b) and cache.expected(c)))
    return np.asarray(time_fit(leg.observed_s, np.array(free), model)
                      + np.array(missed) * np.log1p(-model.detection_rate))


def _decide(cache: PathCache, paths: list[Path], weight: np.ndarray) -> Path:
    """The path of highest expected F1 against the weighted paths."""
    edges = [_osm_edges(cache, p) for p in paths]
    expected = [sum(w * bench.leg_scores(x, y)[0] for y, w in zip(edges, weight, strict=True))
                for x in edges]
    return paths[int(np.argmax(expected))]


def bayes_choices(cache: PathCache, leg: bench.Leg, samples: list[tuple[int, Path, float]],
                  model: ScoringModel) -> dict[str, Path]:
    """The Bayes decisions of one leg: prior only, prior and evidence, known driver type."""
    types = settings.SIM_ROUTE_VARIANTS
    per_type = Counter(v for v, _, _ in samples)
    weights: dict[tuple[Path, float], float] = {}
    known: dict[tuple[Path, float], float] = {}
    for variant, path, ends in samples:
        key = (path, ends)
        weights[key] = weights.get(key, 0.0) + 1.0 / types / per_type[variant]
        if variant == leg.variant:
            known[key] = known.get(key, 0.0) + 1.0
    keys = list(weights)
    prior = np.array([weights[k] for k in keys])
    like = np.exp(_evidence(cache, leg, keys, model))
    kkeys = list(known) or keys
    kprior = np.array([known[k] for k in kkeys]) if known else prior
    klike = np.exp(_evidence(cache, leg, kkeys, model))
    paths, kpaths = [k[0] for k in keys], [k[0] for k in kkeys]
    return {"bayes_prior": _decide(cache, paths, prior / prior.sum()),
            "bayes": _decide(cache, paths, prior * like / (prior * like).sum()),
            "bayes_known_type": _decide(cache, kpaths, kprior * klike / (kprior * klike).sum())}


def summarise(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Length-weighted F1 and error reduction against naive, all legs and direct ones."""
    out: dict[str, float] = {"legs": float(len(rows))}
    names = [k for k in rows[0] if k not in ("w", "detour")]
    for part, chosen in (("", rows), ("_direct", [r for r in rows if not r["detour"]])):
        w = np.array([r["w"] for r in chosen])
        naive = float(np.dot(w, [r["naive"] for r in chosen]) / w.sum())
        for name in names:
            f1 = float(np.dot(w, [r[name] for r in chosen]) / w.sum())
            out[f"f1_{name}{part}"] = f1
            if name != "naive":
                out[f"error_reduction_{name}{part}"] = 1 - (1 - f1) / (1 - naive)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--regime", choices=sorted(bench.REGIMES), default="default")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--trips", type=int, default=1500)
    parser.add_argument("--per-type", type=int, default=10,
                        help="sampled cost fields per perturbed driver type")
    parser.add_argument("--legs", type=int, default=800, help="legs evaluated at most")
    args = parser.parse_args()
    began = time.perf_counter()
    graph: nx.MultiDiGraph = network.load_network()
    bench.load_lengths(graph)
    regime = replace(bench.REGIMES[args.regime], trips=args.trips)
    day = bench.run_sim(graph, regime, seed=args.seed)
    with tempfile.TemporaryDirectory() as cache_dir:
        engine = bench.engine_for(graph, day, FilePath(cache_dir))
    model = ScoringModel(detection_rate=regime.detection * (1 - bench.OCR_ERROR))
    legs = [leg for leg in bench.evaluate(graph, engine, day, model=model)["legs"]
            if bench.length_of(set(leg.true_edges)) >= 1.0]
    rng = np.random.default_rng(args.seed)
    if len(legs) > args.legs:
        legs = [legs[i] for i in sorted(rng.choice(len(legs), args.legs, replace=False))]
    samples: dict[int, list[tuple[int, Path, float]]] = {}
    for name, cache in engine.caches.items():  # each class on its own network
        mine = [i for i, leg in enumerate(legs) if leg.vehicle_class == name]
        drawn = sampled_paths(cache, [legs[i] for i in mine],
                              driver_costs(cache, rng, args.per_type),
                              both=regime.both_directions)
        samples.update(zip(mine, drawn, strict=True))
    rows = []
    for i, leg in enumerate(legs):
        drawn, cache = samples[i], engine.caches[leg.vehicle_class]
        row: dict[str, Any] = {
            "w": bench.length_of(set(leg.true_edges)), "detour": leg.detour,
            "naive": bench.leg_scores(leg.naive_edges, leg.true_edges)[0],
            "engine": bench.leg_scores(leg.candidates[0][0], leg.true_edges)[0],
            "oracle_top3": max(bench.leg_scores(c, leg.true_edges)[0]
                               for c, _ in leg.candidates)}
        if drawn:
            for name, path in bayes_choices(cache, leg, drawn, model).items():
                row[name] = bench.leg_scores(_osm_edges(cache, path), leg.true_edges)[0]
        else:
            row.update(bayes_prior=row["naive"], bayes=row["naive"],
                       bayes_known_type=row["naive"])
        rows.append(row)
    results = summarise(rows)
    results["bound_s"] = time.perf_counter() - began
    print(f"BOUND route regime={args.regime} "
          + " ".join(f"{k}={v:.3f}" for k, v in results.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
