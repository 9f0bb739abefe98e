"""Route choice and travel times, vectorised over many trips.

One single-source search per zone node and driver type (``scipy.sparse.csgraph.dijkstra``
with predecessors), never one per trip: a trip's route is read off the predecessor array of
its origin, for its driver type. Travel time of an edge = free-flow travel time × vehicle
kind factor × trip speed factor × lognormal noise × congestion at the local hour the
vehicle enters it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse.csgraph import dijkstra

from tracing import settings
from tracing.errors import SimulationError
from tracing.roads import (
    BoolArray,
    CostVariant,
    FloatArray,
    IntArray,
    Ragged,
    Roads,
    ragged_from_lengths,
)

logger = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
"""Callback ``(stage, fraction done in [0, 1])``."""

_NO_PREDECESSOR = -9999


@dataclass(frozen=True, slots=True, eq=False)
class Router:
    """Shortest-path trees from every zone node (row) for every driver type (variant)."""

    roads: Roads
    variants: list[CostVariant]
    sources: IntArray
    """Node index of the root of each row."""
    pred: npt.NDArray[np.int32]
    """Predecessor of each node on the path from the row's root: shape (variants, rows, nodes)."""
    dist: FloatArray
    """Variant-0 (free-flow fastest) travel time from each row's root to each node (s)."""
    pair_edge: IntArray
    """Edge used for each node pair (``Roads.pair_keys``) by each variant: (variants, pairs)."""


def build_router(roads: Roads, variants: list[CostVariant], sources: IntArray, *,
                 progress: Progress | None = None) -> Router:
    """Search from every source for every variant (the dominant fixed cost of a run)."""
    sources = np.asarray(sources, dtype=np.int64)
    pred = np.empty((len(variants), len(sources), roads.n_nodes), np.int32)
    dist = np.empty((0, roads.n_nodes))
    for i, variant in enumerate(variants):
        d, p = dijkstra(variant.matrix, directed=True, indices=sources,
                        return_predecessors=True)
        pred[i] = p
        if i == 0:
            dist = d
        if progress is not None:
            progress("routes", (i + 1) / len(variants))
    logger.debug("router: %s sources x %s variants", len(sources), len(variants))
    return Router(roads, variants, sources, pred, dist,
                  np.stack([v.pair_edge for v in variants]))


def walk(router: Router, variant: IntArray, row: IntArray, dest: IntArray) -> Ragged:
    """Node paths from the root of ``row[i]`` to node ``dest[i]`` under ``variant[i]``."""
    m = len(dest)
    root = router.sources[row]
    cur = np.asarray(dest, dtype=np.int64).copy()
    path_ids = [np.arange(m, dtype=np.int64)]
    path_nodes = [cur.copy()]
    active = np.flatnonzero(cur != root)
    while len(active):
        nxt = router.pred[variant[active], row[active], cur[active]].astype(np.int64)
        if (nxt == _NO_PREDECESSOR).any():
            bad = active[nxt == _NO_PREDECESSOR][0]
            raise SimulationError(f"node {router.roads.node_ids[dest[bad]]} cannot be reached "
                                  f"from node {router.roads.node_ids[root[bad]]}")
        cur[active] = nxt
        path_ids.append(active)
        path_nodes.append(nxt)
        active = active[nxt != root[active]]
    ids = np.concatenate(path_ids)
    nodes = np.concatenate(path_nodes)
    order = np.argsort(ids, kind="stable")  # per path: dest first, root last
    lengths = np.bincount(ids, minlength=m).astype(np.int64)
    offsets = np.zeros(m + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    within = np.arange(len(ids)) - np.repeat(offsets[:-1], lengths)
    reversed_pos = np.repeat(offsets[:-1], lengths) + np.repeat(lengths, lengths) - 1 - within
    out = np.empty(len(ids), np.int64)
    out[reversed_pos] = nodes[order]
    return Ragged(out, offsets)


def join(first: Ragged, second: Ragged, has_second: BoolArray) -> Ragged:
    """Row i: ``first[i]`` followed by ``second[i][1:]`` where ``has_second[i]`` (the
    second path starts where the first ends)."""
    n = len(first)
    idx = np.flatnonzero(has_second)
    tail_len = np.zeros(n, np.int64)
    tail_len[idx] = second.lengths - 1
    lengths = first.lengths + tail_len
    out = np.empty(int(lengths.sum()), np.int64)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    head_pos = np.repeat(offsets[:-1], first.lengths) + (
        np.arange(len(first.values)) - np.repeat(first.offsets[:-1], first.lengths))
    out[head_pos] = first.values
    keep = np.ones(len(second.values), bool)
    keep[second.offsets[:-1]] = False
    tail_rows = np.repeat(idx, second.lengths)[keep]
    tail_within = (np.arange(len(second.values)) - np.repeat(second.offsets[:-1],
                                                             second.lengths))[keep]
    out[offsets[tail_rows] + first.lengths[tail_rows] + tail_within - 1] = second.values[keep]
    return Ragged(out, offsets)


def edges_of(router: Router, nodes: Ragged, variant: IntArray) -> Ragged:
    """Edge indices along each node path (the edge its variant uses between two nodes)."""
    values = nodes.values.astype(np.int64)
    first = np.zeros(len(values), bool)
    first[nodes.offsets[:-1][nodes.lengths > 0]] = True
    tail = np.flatnonzero(~first)  # position of the second node of every pair
    pos = router.roads.pair_position(values[tail - 1], values[tail])
    ok = pos < len(router.roads.pair_keys)
    ok[ok] = router.roads.pair_keys[pos[ok]] == (
        values[tail - 1][ok] * router.roads.n_nodes + values[tail][ok])
    if not ok.all():
        bad = tail[~ok][0]
        raise SimulationError(f"consecutive nodes {values[bad - 1]}, {values[bad]} of a path "
                              "are not joined by an edge")
    row = nodes.row_of_value[tail]
    edges = router.pair_edge[variant[row], pos]
    return ragged_from_lengths(edges, np.maximum(nodes.lengths - 1, 0))


# --- travel times ---------------------------------------------------------------------------


def congestion(local_hour: FloatArray, main: BoolArray) -> FloatArray:
    """Travel-time factor by local clock hour (``SIM_CONGESTION_BY_HOUR``, periodic, linear
    between hour midpoints); minor roads get ``SIM_MINOR_ROAD_CONGESTION`` of the excess."""
    table = np.asarray(settings.SIM_CONGESTION_BY_HOUR, float)
    xp = np.arange(-0.5, 25.0, 1.0)
    fp = np.concatenate(([table[-1]], table, [table[0]]))
    factor = np.interp(np.mod(local_hour, 24.0), xp, fp)
    minor = 1.0 + (factor - 1.0) * settings.SIM_MINOR_ROAD_CONGESTION
    return np.asarray(np.where(main, factor, minor), dtype=np.float64)


def node_offsets(roads: Roads, edges: Ragged, depart: FloatArray, *, local_hour0: float,
                 speed_factor: FloatArray, rng: np.random.Generator) -> Ragged:
    """Seconds after departure at which each trip reaches each of its nodes.

    ``depart`` is in seconds after the period start, whose local clock hour is
    ``local_hour0``; ``speed_factor`` is the per-trip factor (kind × driver). Congestion is
    taken at each edge's entry time, estimated in two passes.
    """
    e = edges.values.astype(np.int64)
    row = edges.row_of_value
    base = roads.travel_time[e] * speed_factor[row] * rng.lognormal(
        0.0, settings.SIM_EDGE_TIME_SIGMA, len(e))
    main = roads.main[e]
    hour_at_depart = local_hour0 + depart[row] / 3600.0
    t = base * congestion(hour_at_depart, main)
    entry = _exclusive_cumsum(t, edges)
    t = base * congestion(hour_at_depart + entry / 3600.0, main)
    return _with_start(_exclusive_cumsum(t, edges) + t, edges)


def _exclusive_cumsum(values: FloatArray, rows: Ragged) -> FloatArray:
    """Per row, the sum of the values before each value."""
    total = np.cumsum(values)
    start = np.concatenate(([0.0], total))[rows.offsets[:-1]]
    return np.asarray(total - values - np.repeat(start, rows.lengths), dtype=np.float64)


def _with_start(cumulative: FloatArray, edges: Ragged) -> Ragged:
    """Node times: 0 at the first node, then the cumulative edge times."""
    n = len(edges)
    lengths = edges.lengths + 1
    out = np.zeros(int(lengths.sum()))
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    pos = np.repeat(offsets[:-1] + 1, edges.lengths) + (
        np.arange(len(edges.values)) - np.repeat(edges.offsets[:-1], edges.lengths))
    out[pos] = cumulative
    return Ragged(out, offsets)


def add_dwell(offsets: Ragged, at: IntArray, dwell_s: FloatArray) -> Ragged:
    """Node times with a stop of ``dwell_s[i]`` at node position ``at[i]`` of row i
    (``at < 0``: no stop). The stop's node keeps its arrival time."""
    within = np.arange(len(offsets.values)) - np.repeat(offsets.offsets[:-1], offsets.lengths)
    after = (at[offsets.row_of_value] >= 0) & (within > at[offsets.row_of_value])
    values = offsets.values + np.where(after, dwell_s[offsets.row_of_value], 0.0)
    return Ragged(values, offsets.offsets)


# --- trips with times ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class TripSet:
    """Routed, timed trips: who, where (node and edge indices) and when."""

    vehicle: IntArray
    depart: FloatArray
    """Departure, seconds after the period start."""
    nodes: Ragged
    edges: Ragged
    offsets: Ragged
    """Seconds after departure at which the trip reaches each of its nodes."""
    variant: IntArray
    purpose: npt.NDArray[np.object_]
    via_node: IntArray
    """Node index of a detour's or stop's intermediate place; -1 for none."""
    dwell_s: FloatArray
    """Length of the stop at ``via_node`` (0: a detour without stopping)."""

    def __len__(self) -> int:
        return len(self.vehicle)

    @property
    def arrive(self) -> FloatArray:
        """Arrival, seconds after the period start."""
        last = np.asarray(self.offsets.values[self.offsets.offsets[1:] - 1], dtype=np.float64)
        return self.depart + last

    def take(self, rows: IntArray) -> TripSet:
        """The trips ``rows`` in that order."""
        return TripSet(
            vehicle=self.vehicle[rows], depart=self.depart[rows], nodes=self.nodes.take(rows),
            edges=self.edges.take(rows), offsets=self.offsets.take(rows),
            variant=self.variant[rows], purpose=self.purpose[rows], via_node=self.via_node[rows],
            dwell_s=self.dwell_s[rows])


def concat_ragged(parts: list[Ragged]) -> Ragged:
    """Rows of several Ragged, in order."""
    lengths = np.concatenate([p.lengths for p in parts])
    return ragged_from_lengths(np.concatenate([p.values for p in parts]), lengths)


def concat_trips(parts: list[TripSet]) -> TripSet:
    """Trips of several sets, in order."""
    return TripSet(
        vehicle=np.concatenate([p.vehicle for p in parts]),
        depart=np.concatenate([p.depart for p in parts]),
        nodes=concat_ragged([p.nodes for p in parts]),
        edges=concat_ragged([p.edges for p in parts]),
        offsets=concat_ragged([p.offsets for p in parts]),
        variant=np.concatenate([p.variant for p in parts]),
        purpose=np.concatenate([p.purpose for p in parts]),
        via_node=np.concatenate([p.via_node for p in parts]),
        dwell_s=np.concatenate([p.dwell_s for p in parts]),
    )
