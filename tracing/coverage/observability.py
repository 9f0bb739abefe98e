"""Observability of trips: how many plate-reading cameras each trip passes, and the longest
stretch (m) it drives unseen (start to first camera, between cameras, last camera to end)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tracing.roads import FloatArray, IntArray, Ragged


@dataclass(frozen=True, slots=True, eq=False)
class Observability:
    """Per trip ``cameras`` passed and ``longest_gap_m``; shares seen by ≥ 1 and ≥ 2 cameras;
    ``by_ward`` (trips, seen_1, seen_2, mean_gap_km per ward of origin)."""

    cameras: IntArray
    longest_gap_m: FloatArray
    by_ward: pd.DataFrame

    @property
    def seen_1(self) -> float:
        """Share of trips passing at least one camera."""
        return float((self.cameras >= 1).mean()) if len(self.cameras) else 0.0

    @property
    def seen_2(self) -> float:
        """Share of trips passing at least two cameras."""
        return float((self.cameras >= 2).mean()) if len(self.cameras) else 0.0

    @property
    def mean_gap_m(self) -> float:
        """Mean over trips of the longest unobserved stretch (m)."""
        return float(self.longest_gap_m.mean()) if len(self.cameras) else 0.0

    @property
    def worst_gap_m(self) -> float:
        """Longest unobserved stretch of any trip (m)."""
        return float(self.longest_gap_m.max()) if len(self.cameras) else 0.0


def cameras_passed(edges: Ragged, cameras_on_edge: IntArray) -> IntArray:
    """Number of camera passes of each trip (each edge's cameras, summed along the trip)."""
    counts = cameras_on_edge[edges.values.astype(np.int64)]
    return np.bincount(edges.row_of_value, weights=counts, minlength=len(edges)).astype(np.int64)


def longest_gaps(edges: Ragged, cameras_on_edge: IntArray, length: FloatArray) -> FloatArray:
    """Longest run of unwatched edges (m) of each trip."""
    e = edges.values.astype(np.int64)
    row = edges.row_of_value
    watched = cameras_on_edge[e] > 0
    segment = np.cumsum(watched) + row  # unique per (row, run); rows never share a value
    seg_ids, seg = np.unique(segment, return_inverse=True)
    run = np.bincount(seg, weights=np.where(watched, 0.0, length[e]), minlength=len(seg_ids))
    seg_row = np.zeros(len(seg_ids), np.int64)
    seg_row[seg] = row
    out = np.zeros(len(edges))
    np.maximum.at(out, seg_row, run)
    return out


def observability(edges: Ragged, cameras_on_edge: IntArray, length: FloatArray,
                  origin_ward: IntArray, ward_names: tuple[str, ...]) -> Observability:
    """Observability of trips ``edges`` (``origin_ward`` -1: entered at a gateway)."""
    cams = cameras_passed(edges, cameras_on_edge)
    gaps = longest_gaps(edges, cameras_on_edge, length)
    names = np.array([*ward_names, "(enters at a gateway)"], dtype=object)
    frame = pd.DataFrame({"ward": names[np.where(origin_ward >= 0, origin_ward, -1)],
                          "seen_1": cams >= 1, "seen_2": cams >= 2, "gap_km": gaps / 1000.0})
    by_ward = frame.groupby("ward").agg(trips=("seen_1", "size"), seen_1=("seen_1", "mean"),
                                        seen_2=("seen_2", "mean"), mean_gap_km=("gap_km", "mean"))
    return Observability(cameras=cams, longest_gap_m=gaps,
                         by_ward=by_ward.sort_values("trips", ascending=False))
