"""Where to put the next plate-reading cameras: greedy maximal flow capturing.

A site is one directed edge (one camera reads one direction): the approach edges of
intersections and the gateway edges. The greedy planner adds, K times, the site that
newly observes the most sampled trips not yet seen by any camera (today's or already
planned); greedy is within 1 − 1/e of the best plan (the objective is submodular).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csc_matrix, csr_matrix

from tracing import settings
from tracing.errors import CoverageError
from tracing.roads import BoolArray, IntArray, Ragged, Roads


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """Chosen ``sites`` (edge indices, in order) with the trips each newly observes
    (``gains``); trips seen by ≥ 1 camera today (``before``) and with the plan (``after``)."""

    sites: IntArray
    gains: IntArray
    before: int
    after: int
    trips: int

    @property
    def added(self) -> int:
        """Trips newly observed by the plan."""
        return self.after - self.before


def incidence(edges: Ragged, n_edges: int) -> csr_matrix:
    """Trips × edges 0/1 matrix of which trip uses which edge."""
    data = np.ones(len(edges.values), np.int32)
    m = csr_matrix((data, (edges.row_of_value, edges.values.astype(np.int64))),
                   shape=(len(edges), n_edges))
    m.data[:] = 1
    return m


def candidate_edges(roads: Roads, gateway_edges: IntArray, *,
                    min_approaches: int = settings.COVERAGE_MIN_APPROACHES) -> BoolArray:
    """Candidate sites: edges entering an intersection (a node with ≥ ``min_approaches``
    distinct neighbours) and the gateway edges."""
    lo = np.concatenate([roads.edge_u, roads.edge_v])
    hi = np.concatenate([roads.edge_v, roads.edge_u])
    pairs = np.unique(lo * roads.n_nodes + hi)
    degree = np.bincount(pairs // roads.n_nodes, minlength=roads.n_nodes)
    out = degree[roads.edge_v] >= min_approaches
    out[np.asarray(gateway_edges, np.int64)] = True
    return np.asarray(out, dtype=bool)


def plan_sites(matrix: csr_matrix, seen: BoolArray, candidates: BoolArray, *, k: int) -> Plan:
    """Greedy plan of ``k`` sites among ``candidates`` on trips × edges ``matrix``; ``seen``
    marks trips today's cameras already observe. Marginal gains are kept exact."""
    if k < 0:
        raise CoverageError(f"k must be non-negative, got {k}")
    if matrix.shape[0] != len(seen) or matrix.shape[1] != len(candidates):
        raise CoverageError("matrix, seen and candidates do not match")
    covered = np.asarray(seen, bool).copy()
    by_edge = csc_matrix(matrix)
    gain = np.asarray(matrix[~covered].sum(axis=0)).ravel().astype(np.int64)
    gain[~candidates] = -1
    sites: list[int] = []
    gains: list[int] = []
    for _ in range(k):
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        rows = by_edge.indices[by_edge.indptr[best]:by_edge.indptr[best + 1]]
        new = rows[~covered[rows]]
        covered[new] = True
        gain -= np.asarray(matrix[new].sum(axis=0)).ravel().astype(np.int64)
        gain[~candidates] = -1
        gain[best] = -1
        sites.append(best)
        gains.append(len(new))
    before = int(np.asarray(seen).sum())
    return Plan(sites=np.asarray(sites, np.int64), gains=np.asarray(gains, np.int64),
                before=before, after=before + int(sum(gains)), trips=len(seen))


def newly_observed(matrix: csr_matrix, seen: BoolArray, sites: IntArray) -> int:
    """Trips not in ``seen`` that pass at least one of ``sites``."""
    if len(sites) == 0:
        return 0
    hit = np.asarray(matrix[:, np.asarray(sites, np.int64)].sum(axis=1)).ravel() > 0
    return int((hit & ~np.asarray(seen, bool)).sum())


def baseline_sites(roads: Roads, matrix: csr_matrix, *, k: int,
                   min_approaches: int = settings.COVERAGE_MIN_APPROACHES) -> IntArray:
    """Baseline: one camera on the busiest approach of each of the ``k`` busiest
    intersections (by sampled trips entering them)."""
    flow = np.asarray(matrix.sum(axis=0)).ravel()
    approach = candidate_edges(roads, np.zeros(0, np.int64), min_approaches=min_approaches)
    frame = pd.DataFrame({"edge": np.arange(len(flow)), "node": roads.edge_v, "flow": flow})
    frame = frame[approach]
    node_flow = frame.groupby("node")["flow"].sum().sort_values(ascending=False).head(k)
    busiest = frame[frame["node"].isin(node_flow.index)].sort_values("flow", ascending=False)
    return busiest.drop_duplicates("node")["edge"].to_numpy(np.int64)


def plan_frame(roads: Roads, plan: Plan) -> pd.DataFrame:
    """The plan as a table: rank, edge (OSM u, v, key), road, highway, lon, lat (the
    camera's place: the middle of the edge's last stretch), new_trips, cumulative."""
    e = plan.sites
    lon = np.empty(len(e))
    lat = np.empty(len(e))
    for i, edge in enumerate(e):
        line = roads.geometry[edge]
        if isinstance(line, shapely.LineString) and line.length > 0:
            point = line.interpolate(0.75, normalized=True)
            lon[i], lat[i] = point.x, point.y
        else:
            u, v = roads.edge_u[edge], roads.edge_v[edge]
            lon[i] = 0.25 * roads.x[u] + 0.75 * roads.x[v]
            lat[i] = 0.25 * roads.y[u] + 0.75 * roads.y[v]
    return pd.DataFrame({
        "rank": np.arange(1, len(e) + 1), "edge_u": roads.node_ids[roads.edge_u[e]],
        "edge_v": roads.node_ids[roads.edge_v[e]], "edge_key": roads.edge_key[e],
        "road": [roads.name[x] or "(unnamed)" for x in e],
        "highway": [str(roads.highway[x]) for x in e], "lon": lon, "lat": lat,
        "new_trips": plan.gains, "cumulative": plan.before + np.cumsum(plan.gains)})


def plan_geojson(frame: pd.DataFrame) -> str:
    """A :func:`plan_frame` table as GeoJSON points (EPSG:4326)."""
    features = []
    for record in frame.to_dict(orient="records"):
        lon, lat = float(record.pop("lon")), float(record.pop("lat"))
        props = {str(k): (v.item() if isinstance(v, np.generic) else v)
                 for k, v in record.items()}
        features.append({"type": "Feature", "properties": props,
                         "geometry": {"type": "Point", "coordinates": [lon, lat]}})
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
