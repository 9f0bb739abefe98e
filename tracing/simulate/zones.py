"""Where trips start and end: zone nodes in every ward and the city's gateway nodes.

*Zones*: a few nodes per ward on non-trunk roads (the places trips start and end, weighted
by the ward's 2019 population) and the gateway nodes just outside the city where the
boundary-crossing main roads start (entries) and end (exits), weighted by road class
(``SIM_GATEWAY_WEIGHTS``). Zone rows are the roots of the route searches.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import shapely

from tracing import boundaries, settings
from tracing.errors import SimulationError
from tracing.roads import BoolArray, FloatArray, IntArray, Roads, position_on_edge

logger = logging.getLogger(__name__)

_TRUNK_CLASSES: Final = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})


@dataclass(frozen=True, slots=True, eq=False)
class Zones:
    """Rows of the route searches: ward nodes first, then gateway entries."""

    sources: IntArray
    """Node index of each row."""
    ward: IntArray
    """Ward (index into ``ward_names``) of each row; -1 for a gateway entry."""
    ward_names: tuple[str, ...]
    weight: FloatArray
    """Attraction of each row (ward population shared among its nodes; 0 for entries)."""
    entry_rows: IntArray
    entry_weight: FloatArray
    entry_edge: IntArray
    """Boundary-crossing edge that each entry node starts."""
    entry_position: FloatArray
    """Where along its edge each entry crosses the city outline (0–1)."""
    exit_nodes: IntArray
    exit_weight: FloatArray
    exit_edge: IntArray
    """Boundary-crossing edge that ends at each exit node."""
    entry_exit: IntArray
    """For each entry, the nearest exit (the same road, the other direction)."""
    exit_entry: IntArray
    """For each exit, the nearest entry."""

    @property
    def ward_rows(self) -> IntArray:
        """Rows of ward nodes."""
        return np.flatnonzero(self.ward >= 0).astype(np.int64)

    @property
    def has_gateways(self) -> bool:
        """Whether vehicles can enter and leave the city."""
        return len(self.entry_rows) > 0 and len(self.exit_nodes) > 0


# --- zones -------------------------------------------------------------------------------


def _node_wards(roads: Roads, wards: gpd.GeoDataFrame) -> IntArray:
    """Ward index of each node (-1 outside every ward; the first ward wins on borders)."""
    out = np.full(roads.n_nodes, -1, np.int64)
    geoms = wards.geometry.to_crs(settings.WGS84) if wards.crs else wards.geometry
    for i, geom in enumerate(geoms):
        inside = shapely.contains_xy(geom, roads.x, roads.y) & (out < 0)
        out[inside] = i
    return out


def _local_nodes(roads: Roads) -> BoolArray:
    """Nodes with an incoming and an outgoing edge off trunk roads (where trips start)."""
    local = ~np.isin(roads.highway, list(_TRUNK_CLASSES))
    has_out = np.zeros(roads.n_nodes, bool)
    has_in = np.zeros(roads.n_nodes, bool)
    has_out[roads.edge_u[local]] = True
    has_in[roads.edge_v[local]] = True
    return has_out & has_in


def edges_geoframe(roads: Roads) -> gpd.GeoDataFrame:
    """Edges as a GeoDataFrame (u, v, key as OSM ids, highway, geometry) in EPSG:4326."""
    straight = np.asarray(shapely.linestrings(np.stack([
        np.stack([roads.x[roads.edge_u], roads.y[roads.edge_u]], axis=1),
        np.stack([roads.x[roads.edge_v], roads.y[roads.edge_v]], axis=1)], axis=1)), dtype=object)
    geoms = [s if g is None else g for g, s in zip(roads.geometry, straight, strict=True)]
    return gpd.GeoDataFrame({
        "u": roads.node_ids[roads.edge_u], "v": roads.node_ids[roads.edge_v],
        "key": roads.edge_key, "highway": roads.highway, "edge": np.arange(len(roads.edge_u)),
    }, geometry=geoms, crs=settings.WGS84)


def build_zones(roads: Roads, wards: gpd.GeoDataFrame, outline: boundaries.Outline,
                rng: np.random.Generator, *, per_ward: int) -> Zones:
    """Zone nodes of every ward and the gateway entries and exits of ``outline``."""
    if "Pop_2019" not in wards.columns:
        raise SimulationError("the ward boundaries need a Pop_2019 column")
    node_ward = _node_wards(roads, wards)
    local = _local_nodes(roads)
    names = tuple(str(w) for w in wards.get("ward", wards.index.astype(str)))
    rows: list[IntArray] = []
    row_ward: list[IntArray] = []
    weight: list[FloatArray] = []
    population = wards["Pop_2019"].to_numpy(dtype=float)
    for w in range(len(wards)):
        candidates = np.flatnonzero((node_ward == w) & local)
        if len(candidates) == 0:
            logger.warning("ward %s has no road node: no trips start there", names[w])
            continue
        chosen = np.sort(rng.choice(candidates, min(per_ward, len(candidates)), replace=False))
        rows.append(chosen)
        row_ward.append(np.full(len(chosen), w, np.int64))
        weight.append(np.full(len(chosen), max(population[w], 0.0) / len(chosen)))
    if not rows:
        raise SimulationError("no ward contains a node of the road graph")
    ward_nodes = np.concatenate(rows)
    ward_weight = np.concatenate(weight)
    if ward_weight.sum() <= 0:
        raise SimulationError("the wards have no population (Pop_2019)")
    entries, exits = _gateways(roads, outline)
    entry_nodes = np.asarray(list(entries), dtype=np.int64)
    exit_nodes = np.asarray(list(exits), dtype=np.int64)
    return Zones(
        sources=np.concatenate([ward_nodes, entry_nodes]),
        ward=np.concatenate([*row_ward, np.full(len(entry_nodes), -1, np.int64)]),
        ward_names=names,
        weight=np.concatenate([ward_weight / ward_weight.sum(), np.zeros(len(entry_nodes))]),
        entry_rows=np.arange(len(ward_nodes), len(ward_nodes) + len(entry_nodes)),
        entry_weight=_normalised([entries[n][0] for n in entry_nodes]),
        entry_edge=np.asarray([entries[n][1] for n in entry_nodes], dtype=np.int64),
        entry_position=np.asarray([entries[n][2] for n in entry_nodes], dtype=float),
        exit_nodes=exit_nodes,
        exit_weight=_normalised([exits[n][0] for n in exit_nodes]),
        exit_edge=np.asarray([exits[n][1] for n in exit_nodes], dtype=np.int64),
        entry_exit=_nearest(roads, entry_nodes, exit_nodes),
        exit_entry=_nearest(roads, exit_nodes, entry_nodes),
    )


def _normalised(values: list[float]) -> FloatArray:
    array = np.asarray(values, float)
    return array / array.sum() if len(array) else array


def _nearest(roads: Roads, nodes: IntArray, targets: IntArray) -> IntArray:
    if len(nodes) == 0 or len(targets) == 0:
        return np.zeros(len(nodes), np.int64)
    scale = math.cos(math.radians(float(np.mean(roads.y))))
    dx = (roads.x[nodes][:, None] - roads.x[targets][None, :]) * scale
    dy = roads.y[nodes][:, None] - roads.y[targets][None, :]
    return np.asarray(np.argmin(dx * dx + dy * dy, axis=1), dtype=np.int64)


_Gateway = tuple[float, int, float]
"""(weight, crossing edge, where along that edge it crosses the outline: 0–1)."""


def _gateways(roads: Roads, outline: boundaries.Outline
              ) -> tuple[dict[int, _Gateway], dict[int, _Gateway]]:
    """Entry and exit nodes (node index → gateway), in node order."""
    crossings = boundaries.boundary_crossings(edges_geoframe(roads), outline)
    entries: dict[int, _Gateway] = {}
    exits: dict[int, _Gateway] = {}
    for row in crossings.itertuples(index=False):
        w = settings.SIM_GATEWAY_WEIGHTS.get(str(row.highway), 0.0)
        if w <= 0:
            continue
        edge = int(row.edge)
        inbound = row.direction == "inbound"
        node = int(roads.edge_u[edge] if inbound else roads.edge_v[edge])
        table = entries if inbound else exits
        old = table.get(node)
        if old is None:
            at = position_on_edge(roads, edge, float(row.crossing_lon), float(row.crossing_lat))
            table[node] = (w, edge, at)
        else:
            table[node] = (old[0] + w, old[1], old[2])
    return dict(sorted(entries.items())), dict(sorted(exits.items()))
