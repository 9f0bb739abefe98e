"""Gateway roads: directed edges crossing the city boundary, whether a plate-reading camera
watches them in their direction, and the demand-model traffic they carry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tracing import boundaries
from tracing.roads import IntArray, Roads
from tracing.simulate.zones import edges_geoframe


@dataclass(frozen=True, slots=True, eq=False)
class Gateways:
    """One row per boundary-crossing directed edge: edge, road, highway, direction
    (inbound/outbound), lon, lat, covered (a camera on it or on the same road next to it in
    the same direction), trips (sampled trips using it) and trip_share."""

    table: pd.DataFrame

    @property
    def uncovered(self) -> pd.DataFrame:
        """Gateway edges no plate-reading camera watches."""
        return self.table[~self.table["covered"]]

    @property
    def traffic_share_covered(self) -> float:
        """Share of gateway traffic that passes a watched gateway edge."""
        total = float(self.table["trips"].sum())
        return float(self.table.loc[self.table["covered"], "trips"].sum()) / total if total else 0.0


def _reach(roads: Roads, edge: int) -> list[int]:
    """The edge and its same-named continuations on both ends in the same direction."""
    u, v, name = roads.edge_u[edge], roads.edge_v[edge], roads.name[edge]
    out = [edge]
    if not name:
        return out
    after = np.flatnonzero((roads.edge_u == v) & (roads.edge_v != u) & (roads.name == name))
    before = np.flatnonzero((roads.edge_v == u) & (roads.edge_u != v) & (roads.name == name))
    return out + after.tolist() + before.tolist()


def find_gateways(roads: Roads, outline: boundaries.Outline, cameras_on_edge: IntArray,
                  edge_trips: IntArray) -> Gateways:
    """Gateway edges of ``outline`` with their coverage and sampled traffic per edge."""
    crossings = boundaries.boundary_crossings(edges_geoframe(roads), outline)
    crossings = crossings.drop_duplicates("edge").reset_index(drop=True)
    edge = crossings["edge"].to_numpy(np.int64)
    covered = [bool((cameras_on_edge[_reach(roads, int(e))] > 0).any()) for e in edge]
    trips = edge_trips[edge] if len(edge) else np.zeros(0, np.int64)
    total = trips.sum()
    table = pd.DataFrame({
        "edge": edge, "road": [roads.name[e] or "(unnamed)" for e in edge],
        "highway": crossings["highway"].astype(str).to_numpy(),
        "direction": crossings["direction"].to_numpy(),
        "lon": crossings["crossing_lon"].to_numpy(float),
        "lat": crossings["crossing_lat"].to_numpy(float),
        "covered": np.asarray(covered, bool), "trips": trips.astype(np.int64),
        "trip_share": trips / total if total else np.zeros(len(edge)),
    })
    return Gateways(table.sort_values("trips", ascending=False, kind="stable")
                    .reset_index(drop=True))
