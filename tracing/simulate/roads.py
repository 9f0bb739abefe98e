"""The road graph as flat arrays (nodes and directed edges) for vectorised simulation.

Nodes get an index ``0..N-1`` in ascending OSM id; edges an index in ``(u, v, key)``
order. Ragged per-trip sequences (nodes of a path, its edges) are :class:`Ragged`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import csr_matrix

from tracing import settings
from tracing.errors import SimulationError

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MIN_EDGE_COST_S = 1e-3
"""Edge costs are at least this: scipy's csgraph reads an explicit 0 as "no edge"."""


@dataclass(frozen=True, slots=True)
class Ragged:
    """Variable-length rows: row ``i`` is ``values[offsets[i]:offsets[i + 1]]``."""

    values: npt.NDArray[Any]
    offsets: IntArray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> IntArray:
        """Length of every row."""
        return np.diff(self.offsets)

    def row(self, i: int) -> npt.NDArray[Any]:
        """Row ``i``."""
        return self.values[self.offsets[i]:self.offsets[i + 1]]

    @property
    def row_of_value(self) -> IntArray:
        """Row index of every value."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.lengths)

    def take(self, rows: IntArray) -> Ragged:
        """The rows ``rows``, in that order."""
        lengths = self.lengths[rows]
        offsets = np.zeros(len(rows) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        within = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1], lengths)
        return Ragged(self.values[np.repeat(self.offsets[:-1][rows], lengths) + within], offsets)


def ragged_from_lengths(values: npt.NDArray[Any], lengths: IntArray) -> Ragged:
    """Rows of the given lengths over ``values``."""
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] != len(values):
        raise ValueError(f"lengths sum to {offsets[-1]}, not {len(values)}")
    return Ragged(values, offsets)


@dataclass(frozen=True, slots=True, eq=False)
class Roads:
    """Nodes and directed edges of a road graph, with free-flow travel times."""

    node_ids: IntArray
    x: FloatArray
    y: FloatArray
    edge_u: IntArray
    edge_v: IntArray
    edge_key: IntArray
    travel_time: FloatArray
    length: FloatArray
    main: BoolArray
    highway: npt.NDArray[np.object_]
    name: npt.NDArray[np.object_]
    geometry: npt.NDArray[np.object_]
    pair_keys: IntArray
    """Sorted distinct ``u * N + v`` of the edges (node pairs joined by an edge)."""

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    def edge_index(self, u: npt.ArrayLike, v: npt.ArrayLike, key: npt.ArrayLike) -> IntArray:
        """Edge indices of OSM ``(u, v, key)`` triples; -1 where there is no such edge."""
        uu, vv, kk = (np.asarray(a, dtype=np.int64) for a in (u, v, key))
        edges = {(int(a), int(b), int(k)): i for i, (a, b, k) in enumerate(zip(
            self.node_ids[self.edge_u], self.node_ids[self.edge_v], self.edge_key, strict=True))}
        return np.array([edges.get((int(a), int(b), int(k)), -1)
                         for a, b, k in zip(uu, vv, kk, strict=True)], dtype=np.int64)

    def pair_position(self, a: IntArray, b: IntArray) -> IntArray:
        """Position in :attr:`pair_keys` of each node pair (a[i], b[i]); they must be edges."""
        keys = a.astype(np.int64) * self.n_nodes + b.astype(np.int64)
        pos = np.searchsorted(self.pair_keys, keys)
        return pos.astype(np.int64)


def _first(value: object) -> str:
    if isinstance(value, list | tuple):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def roads_from_graph(graph: nx.MultiDiGraph) -> Roads:
    """Flat arrays of an osmnx-style graph (edges need ``travel_time`` and ``length``)."""
    if graph.number_of_edges() == 0:
        raise SimulationError("the road graph has no edges")
    node_ids = np.array(sorted(graph.nodes), dtype=np.int64)
    x = np.array([graph.nodes[n]["x"] for n in node_ids], dtype=float)
    y = np.array([graph.nodes[n]["y"] for n in node_ids], dtype=float)
    rows = sorted(graph.edges(keys=True, data=True), key=lambda e: (e[0], e[1], e[2]))
    try:
        travel = np.array([float(d["travel_time"]) for *_, d in rows])
        length = np.array([float(d["length"]) for *_, d in rows])
    except KeyError as exc:
        raise SimulationError(f"road graph edges need {exc.args[0]!r} (load_network sets it)"
                              ) from exc
    if not (np.isfinite(travel).all() and (travel >= 0).all()):
        raise SimulationError("road graph has edges with a negative or missing travel_time")
    u = np.searchsorted(node_ids, np.array([r[0] for r in rows], dtype=np.int64))
    v = np.searchsorted(node_ids, np.array([r[1] for r in rows], dtype=np.int64))
    highway = np.array([_first(d.get("highway")) for *_, d in rows], dtype=object)
    n = len(node_ids)
    return Roads(
        node_ids=node_ids, x=x, y=y, edge_u=u.astype(np.int64), edge_v=v.astype(np.int64),
        edge_key=np.array([r[2] for r in rows], dtype=np.int64),
        travel_time=np.maximum(travel, MIN_EDGE_COST_S), length=length,
        main=np.isin(highway, list(settings.MAIN_ROAD_CLASSES)), highway=highway,
        name=np.array([_first(d.get("name")) or None for *_, d in rows], dtype=object),
        geometry=np.array([d.get("geometry") for *_, d in rows], dtype=object),
        pair_keys=np.unique(u.astype(np.int64) * n + v.astype(np.int64)),
    )


@dataclass(frozen=True, slots=True, eq=False)
class CostVariant:
    """One driver type: edge costs, the edge used for each node pair, the CSR matrix."""

    cost: FloatArray
    pair_edge: IntArray
    """Edge index (cheapest of parallel edges) for each entry of ``Roads.pair_keys``."""
    matrix: csr_matrix


def cost_variant(roads: Roads, cost: FloatArray) -> CostVariant:
    """The variant of edge costs ``cost`` (one per edge, > 0)."""
    n = roads.n_nodes
    keys = roads.edge_u * n + roads.edge_v
    order = np.lexsort((cost, keys))
    first = np.ones(len(order), bool)
    first[1:] = keys[order][1:] != keys[order][:-1]
    chosen = order[first]  # cheapest edge per pair, in pair_keys order
    matrix = csr_matrix((cost[chosen], (roads.edge_u[chosen], roads.edge_v[chosen])),
                        shape=(n, n))
    return CostVariant(cost=cost, pair_edge=chosen.astype(np.int64), matrix=matrix)


def cost_variants(roads: Roads, rng: np.random.Generator, *, count: int) -> list[CostVariant]:
    """``count`` driver types. Variant 0 is plain travel time (the fastest path); the others
    add lognormal per-edge noise and a preference for or against main roads."""
    variants = [cost_variant(roads, roads.travel_time)]
    for i in range(1, count):
        noise = rng.lognormal(0.0, settings.SIM_EDGE_COST_SIGMA, len(roads.travel_time))
        minor = np.where(roads.main, 1.0, settings.SIM_MINOR_ROAD_COST[i])
        cost = np.maximum(roads.travel_time * noise * minor, MIN_EDGE_COST_S)
        variants.append(cost_variant(roads, cost))
    return variants


def position_on_edge(roads: Roads, edge: int, lon: float, lat: float) -> float:
    """Where along ``edge`` (0 = start, 1 = end) the point lies nearest; 0.5 without geometry."""
    line = roads.geometry[edge]
    if line is None or not isinstance(line, shapely.LineString) or line.length == 0:
        return 0.5
    return float(line.project(shapely.Point(lon, lat), normalized=True))
