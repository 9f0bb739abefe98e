"""Road length watched by plate-reading cameras, by road class and ward; unobserved corridors.

Lengths count directed edges: a two-way road of 1 km is 2 km of road, one per direction,
because a camera reads plates in one direction only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from tracing import settings
from tracing.roads import IntArray, Roads


@dataclass(frozen=True, slots=True, eq=False)
class RoadCoverage:
    """Watched road length: ``by_class``, ``by_ward`` (columns length_km, watched_km,
    share) and the longest unobserved ``corridors`` (road, highway, length_km, nodes)."""

    by_class: pd.DataFrame
    by_ward: pd.DataFrame
    corridors: pd.DataFrame
    watched_km: float
    total_km: float

    @property
    def share(self) -> float:
        """Share of road length watched."""
        return self.watched_km / self.total_km if self.total_km else 0.0


def _table(key: pd.Series, length: np.ndarray, watched: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"key": key.to_numpy(), "length_km": length / 1000.0,
                          "watched_km": np.where(watched, length, 0.0) / 1000.0})
    out = frame.groupby("key", sort=True)[["length_km", "watched_km"]].sum()
    out["share"] = out["watched_km"] / out["length_km"].where(out["length_km"] > 0)
    return out.sort_values("length_km", ascending=False)


def road_coverage(roads: Roads, cameras_on_edge: IntArray, edge_ward: pd.Series, *,
                  corridor_classes: frozenset[str] = settings.COVERAGE_CORRIDOR_CLASSES,
                  top: int = settings.COVERAGE_TOP_CORRIDORS) -> RoadCoverage:
    """Coverage of ``roads`` given the cameras on each edge and each edge's ward name."""
    watched = cameras_on_edge > 0
    highway = pd.Series([str(h).removesuffix("_link") for h in roads.highway])
    by_class = _table(highway, roads.length, watched).rename_axis("highway")
    ward = edge_ward.fillna("(outside the wards)").reset_index(drop=True)
    by_ward = _table(ward, roads.length, watched).rename_axis("ward")
    return RoadCoverage(by_class=by_class, by_ward=by_ward,
                        corridors=unobserved_corridors(roads, watched, highway,
                                                       classes=corridor_classes, top=top),
                        watched_km=float(roads.length[watched].sum() / 1000.0),
                        total_km=float(roads.length.sum() / 1000.0))


def unobserved_corridors(roads: Roads, watched: np.ndarray, highway: pd.Series, *,
                         classes: frozenset[str], top: int) -> pd.DataFrame:
    """Longest connected stretches of one named road (of ``classes``) with no camera in
    either direction; length counts each stretch once (not per direction)."""
    n = roads.n_nodes
    lo = np.minimum(roads.edge_u, roads.edge_v)
    hi = np.maximum(roads.edge_u, roads.edge_v)
    name = np.array([str(x) if x else "" for x in roads.name], dtype=object)
    pair = pd.DataFrame({"lo": lo, "hi": hi, "name": name, "highway": highway.to_numpy(),
                         "length": roads.length, "watched": watched})
    pair = pair[pair["highway"].isin(classes) & (pair["name"] != "")]
    pair = pair.groupby(["lo", "hi", "name"], sort=False).agg(
        length=("length", "min"), watched=("watched", "any"), highway=("highway", "first"))
    pair = pair[~pair["watched"]].reset_index()
    columns = ["road", "highway", "length_km", "edges", "lon", "lat"]
    if pair.empty:
        return pd.DataFrame(columns=columns)
    codes = pair["name"].astype("category").cat.codes.to_numpy().astype(np.int64)
    a = codes * n + pair["lo"].to_numpy(np.int64)
    b = codes * n + pair["hi"].to_numpy(np.int64)
    keys, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    m = len(pair)
    graph = coo_matrix((np.ones(m), (inv[:m], inv[m:])), shape=(len(keys), len(keys)))
    _, label = connected_components(graph, directed=False)
    pair["component"] = label[inv[:m]]
    node = pair["lo"].to_numpy(np.int64)
    pair["lon"], pair["lat"] = roads.x[node], roads.y[node]
    out = pair.groupby("component").agg(
        road=("name", "first"), highway=("highway", "first"), length_km=("length", "sum"),
        edges=("length", "size"), lon=("lon", "median"), lat=("lat", "median"))
    out["length_km"] /= 1000.0
    return out.sort_values("length_km", ascending=False).head(top).reset_index(drop=True)[
        columns]
