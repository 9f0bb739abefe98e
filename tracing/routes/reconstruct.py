"""Route reconstruction: a plate's sightings → trips → legs with scored candidate paths."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import networkx as nx
import numpy as np
import numpy.typing as npt
import shapely

from tracing import settings
from tracing.errors import RouteError
from tracing.routes.candidates import PairPath, pair_paths, passed_cameras, turns_back
from tracing.routes.evidence import CameraActivity
from tracing.routes.model import CandidatePath, Route, RouteLeg, RouteSummary, Sighting
from tracing.routes.pathcache import PathCache
from tracing.routes.prism import leg_prism
from tracing.routes.scoring import (
    ScoringModel,
    direction_prior,
    is_long_gap,
    log_scores,
    probabilities,
)
from tracing.routes.sightings import collapse_repeats, ordered, split_trips
from tracing.travel import impossible, split_tracks

logger = logging.getLogger(__name__)


def reconstruct_route(graph: nx.MultiDiGraph, sightings: Iterable[Sighting], *,
                      cache: PathCache, k: int = settings.ROUTE_K, plate: str = "",
                      model: ScoringModel | None = None, activity: CameraActivity | None = None,
                      front_plate: bool = True) -> Route:
    """The most plausible routes of a vehicle between its sightings.

    Sightings at cameras the cache does not know are dropped (with a note); the rest are
    ordered by time and repeats at one camera collapsed. Reads no single vehicle can explain
    are split into the fewest drivable tracks (:func:`tracing.travel.split_tracks`), each
    track into trips. Each pair of consecutive sightings of a trip is a leg with up to ``k``
    candidate paths, best first, whose probabilities sum to 1. ``activity`` says which
    cameras were working when (else the registry's status); ``front_plate`` False (a
    motorbike) means cameras see the vehicle only from behind. RouteError when no sighting
    is usable.
    """
    if not cache.matches(graph):
        raise RouteError("the path cache was built for another road graph")
    if not 1 <= k <= settings.ROUTE_MAX_K:
        raise RouteError(f"k={k} is not in 1..{settings.ROUTE_MAX_K}")
    context = _Context(cache, ScoringModel() if model is None else model, activity,
                       front_plate, k)
    usable, notes = _usable(cache, list(sightings))
    chain, reordered = ordered(usable)
    if reordered:
        notes.append("sightings were not in time order: sorted by time")
    chain = collapse_repeats(chain)
    tracks = _tracks(cache, chain)
    if tracks.max(initial=0) > 0:
        notes.append(f"the reads need {int(tracks.max()) + 1} vehicles: no single vehicle can "
                     "have made them all (a cloned plate or a misread); each track is shown "
                     "on its own")
    trips, legs = _trips_and_legs(context, chain, tracks)
    notes += _unconnected(cache, chain, trips)
    if len(chain) == 1:
        notes.append("only one sighting: there is no route to reconstruct")
    return Route(plate=plate, sightings=tuple(chain), trip_of_sighting=tuple(trips),
                 legs=tuple(legs), summary=summarize(chain, trips, legs), notes=tuple(notes),
                 track_of_sighting=tuple(int(t) for t in tracks))


@dataclass(frozen=True, slots=True)
class _Context:
    cache: PathCache
    model: ScoringModel
    activity: CameraActivity | None
    front_plate: bool
    k: int


def _tracks(cache: PathCache, chain: Sequence[Sighting]) -> npt.NDArray[np.int64]:
    times = np.array([s.ts.timestamp() for s in chain], np.float64)
    rows = np.array([cache.camera_index[s.camera_id] for s in chain], np.int64)
    return split_tracks(times, rows, cache.bound_s)


def _trips_and_legs(context: _Context, chain: Sequence[Sighting],
                    tracks: npt.NDArray[np.int64]) -> tuple[list[int], list[RouteLeg]]:
    """Trip numbers (unique over all tracks) and the legs of every track's trips."""
    trips = [0] * len(chain)
    legs: list[RouteLeg] = []
    next_trip = 0
    for track in range(int(tracks.max(initial=-1)) + 1):
        members = [i for i in range(len(chain)) if tracks[i] == track]
        own = [chain[i] for i in members]
        numbers = split_trips(own, lambda a, b: _fastest_s(context.cache, a, b))
        for i, number in zip(members, numbers, strict=True):
            trips[i] = next_trip + number
        for j in range(1, len(own)):
            if numbers[j] == numbers[j - 1]:
                legs.append(_leg(context, len(legs), next_trip + numbers[j], own[j - 1], own[j],
                                 track))
        next_trip += max(numbers, default=-1) + 1
    return trips, legs


def _usable(cache: PathCache, given: list[Sighting]) -> tuple[list[Sighting], list[str]]:
    if not given:
        raise RouteError("no sightings: the plate was not read in this period")
    unknown = sorted({s.camera_id for s in given if s.camera_id not in cache.camera_index})
    usable = [s for s in given if s.camera_id in cache.camera_index]
    notes = []
    if unknown:
        notes.append(f"{len(given) - len(usable)} sightings at {len(unknown)} cameras that are "
                     f"not in the camera registry on the road graph were left out: "
                     f"{', '.join(unknown[:5])}")
    if not usable:
        raise RouteError(f"no sighting is at a camera of the registry on the road graph "
                         f"(unknown cameras: {', '.join(unknown[:5])})")
    if any(s.ts.tzinfo is None for s in usable):
        raise RouteError("sighting times must be time-zone aware")
    return usable, notes


def _unconnected(cache: PathCache, chain: Sequence[Sighting], trips: Sequence[int]
                 ) -> list[str]:
    return [f"cameras {a.camera_id} and {b.camera_id} are not connected by the road graph: "
            f"a new trip starts at {b.ts.isoformat()}"
            for a, b, t0, t1 in zip(chain, chain[1:], trips, trips[1:], strict=False)
            if t0 != t1 and _fastest_s(cache, a.camera_id, b.camera_id) is None]


def _fastest_s(cache: PathCache, a: str, b: str) -> float | None:
    paths = pair_paths(cache, cache.camera_index[a], cache.camera_index[b])
    return min(p.free_flow_s for p in paths) if paths else None


def _leg(context: _Context, index: int, trip: int, a: Sighting, b: Sighting, track: int
         ) -> RouteLeg:
    cache, model = context.cache, context.model
    ia, ib = cache.camera_index[a.camera_id], cache.camera_index[b.camera_id]
    paths = pair_paths(cache, ia, ib)
    if not paths:
        return RouteLeg(index, trip, a, b, (), ("unreachable",), track)
    observed = (b.ts - a.ts).total_seconds()
    missed = [_missed(context, p, ia, ib, a.ts) for p in paths]
    free = np.array([p.free_flow_s for p in paths])
    reversed_ends = np.array([int(p.edges[0] != cache.camera_edge[ia])
                              + int(p.edges[-1] != cache.camera_edge[ib]) for p in paths], float)
    scores = (log_scores(observed, free, np.array([len(m[0]) for m in missed], float), model,
                         minor_s=np.array([p.minor_s for p in paths]),
                         oncoming=np.array([len(m[1]) for m in missed], float))
              + direction_prior(reversed_ends, model, front_plate=context.front_plate))
    probs = probabilities(scores, temperature=model.temperature)
    order = np.argsort(-probs, kind="stable")[:context.k]
    kept = probs[order] / probs[order].sum()
    candidates = tuple(
        _candidate(cache, paths[j], missed[j][0] + missed[j][1], a.ts, observed, float(p), rank)
        for rank, (j, p) in enumerate(zip(order, kept, strict=True)))
    impossible_leg = bool(impossible(observed, cache.bound_s[ia, ib], cache.bound_s[ib, ia]))
    flags = _flags(observed, float(free.min()), float(kept[0]), impossible=impossible_leg,
                   turned=turns_back(cache, paths[int(order[0])], ia, ib))
    prism = leg_prism(cache, ia, ib, observed) if "long_gap" in flags else None
    return RouteLeg(index, trip, a, b, candidates, flags, track, prism)


def _missed(context: _Context, path: PairPath, a: int, b: int, depart: datetime
            ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Cameras on the path that would have read the vehicle (from behind; oncoming, when it
    has a front plate), were working, and did not."""
    cache = context.cache
    rear, oncoming = passed_cameras(cache, path)
    if not context.front_plate:
        oncoming = ()
    if context.activity is None:
        working = [c for c in (*rear, *oncoming) if cache.expected(c)]
    else:
        working = [c for c in (*rear, *oncoming)
                   if context.activity.working(cache.camera_ids[c], depart)]
    return (tuple(cache.camera_ids[c] for c in rear if c in working),
            tuple(cache.camera_ids[c] for c in oncoming if c in working))


def _flags(observed_s: float, fastest_s: float, best_probability: float, *, impossible: bool,
           turned: bool) -> tuple[str, ...]:
    flags = []
    if impossible:
        flags.append("impossible_travel")
    if is_long_gap(observed_s, fastest_s):
        flags.append("long_gap")
    if best_probability < settings.ROUTE_LOW_CONFIDENCE:
        flags.append("low_confidence")
    if turned:
        flags.append("turn_back")
    return tuple(flags)


def _candidate(cache: PathCache, path: PairPath, missed: tuple[str, ...], depart: datetime,
               observed_s: float, probability: float, rank: int) -> CandidatePath:
    return CandidatePath(
        osm_nodes=tuple(cache.node_ids[path.nodes].tolist()),
        times=node_times(cache, path, depart, observed_s),
        geometry=path_geometry(cache, path.edges), length_m=path.length_m,
        free_flow_s=path.free_flow_s, missed_cameras=missed, probability=probability,
        rank=rank)


def node_times(cache: PathCache, path: PairPath, depart: datetime, observed_s: float
               ) -> tuple[datetime, ...]:
    """Estimated time at each node: free-flow times scaled to the observed leg time, the
    first camera passed at ``depart``."""
    tt = cache.edge_tt[path.edges]
    cumulative = np.concatenate([[0.0], np.cumsum(tt)]) - path.start_position * tt[0]
    scale = observed_s / path.free_flow_s if path.free_flow_s > 0 else 1.0
    offsets = np.rint(cumulative * scale * 1e6).astype("timedelta64[us]").tolist()
    return tuple(map(depart.__add__, offsets))


def path_geometry(cache: PathCache, edges: Sequence[int] | np.ndarray) -> shapely.LineString:
    """The path's line (lon, lat), edge geometries joined (each edge's first vertex, the
    previous edge's last, dropped after the first edge)."""
    e = np.asarray(edges, np.int64)
    first = cache.vertex_offsets[e] + (np.arange(len(e)) > 0)
    counts = cache.vertex_offsets[e + 1] - first
    starts = np.repeat(first - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return shapely.LineString(cache.vertices[starts + np.arange(int(counts.sum()))])


def summarize(chain: Sequence[Sighting], trips: Sequence[int], legs: Sequence[RouteLeg]
              ) -> RouteSummary:
    """Distance, duration and stops over the best path of every leg."""
    flagged: dict[str, int] = {}
    for leg in legs:
        for flag in leg.flags:
            flagged[flag] = flagged.get(flag, 0) + 1
    return RouteSummary(
        sightings=len(chain), trips=(max(trips) + 1) if trips else 0, legs=len(legs),
        distance_m=sum(leg.best.length_m for leg in legs if leg.best is not None),
        duration_s=sum(leg.duration_s for leg in legs), stops=flagged.get("long_gap", 0),
        flagged=flagged)
