"""Plate-reading cameras as sensors: passes, detections, OCR errors, duplicates, clock skew.

A *pass* is a vehicle traversing the directed edge (``edge_u``, ``edge_v``, ``edge_key``)
that a plate-reading camera with status ``up`` watches, at the time it reaches the camera's
point on the edge; with ``both_directions`` also a vehicle on the reverse edge of a two-way
road (oncoming: only its front plate can be read, and motorbikes carry none). Which cameras
read plates is the registry's ``is_lpr``, or every camera with ``all_cameras_read``.
:func:`registry_as_known` gives the registry as a centre may hold it: a share of reading
cameras with the reverse direction, a share not marked ``is_lpr``. Each pass is read with
probability ``detection_rate``; a read's plate text is
wrong with probability ``ocr_error_rate`` (a confusion 0/O/D/Q, 1/I/7, 2/Z, 5/S, 6/G, 8/B,
4/A, or a dropped or extra character: the result may no longer be a valid plate); a read is
reported twice with probability ``duplicate_rate``. Reported times carry the camera's
constant clock offset. Planted vehicles are always read, correctly and once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from tracing import settings
from tracing.errors import SimulationError
from tracing.roads import (
    BoolArray,
    FloatArray,
    IntArray,
    Ragged,
    Roads,
    opposite_sites,
    position_on_edge,
)

logger = logging.getLogger(__name__)

_CONFUSABLE: Final[dict[str, str]] = {
    ch: group.replace(ch, "") for group in settings.SIM_OCR_CONFUSIONS for ch in group}
"""Character → the characters an OCR engine may read instead."""
_EXTRA_CHARACTERS: Final = "0123456789ABCDEFGHKLMNPSTUVXYZ"


@dataclass(frozen=True, slots=True, eq=False)
class Cameras:
    """The plate-reading cameras that work, each on one directed edge of the graph."""

    ids: npt.NDArray[np.object_]
    edge: IntArray
    position: FloatArray
    """Where along its edge the camera reads plates (0 = start, 1 = end)."""
    skew_s: FloatArray
    """Constant offset of the camera's clock (s); reported time = true time + skew."""
    lon: FloatArray
    lat: FloatArray
    reverse: IntArray
    """The edge of the other direction of the camera's road: the reverse edge, or the other
    carriageway of a divided road (-1: none)."""
    reverse_position: FloatArray
    """Where along ``reverse`` the camera stands."""
    both: BoolArray
    """The camera also reads oncoming traffic (front plates) on the reverse edge."""

    def __len__(self) -> int:
        return len(self.ids)


def lpr_cameras(registry: pd.DataFrame | gpd.GeoDataFrame, roads: Roads,
                rng: np.random.Generator, *, skew_s: float, both_directions: bool = False,
                all_read: bool = False) -> Cameras:
    """The registry's LPR cameras (every camera with ``all_read``) with status ``up`` whose
    edge is in the graph."""
    needed = {"id", "is_lpr", "status", "edge_u", "edge_v", "edge_key", "lon", "lat"}
    missing = sorted(needed - set(registry.columns))
    if missing:
        raise SimulationError(f"the camera registry lacks columns {missing}")
    reading = registry["is_lpr"].astype(bool) | all_read
    lpr = registry[reading & (registry["status"] == "up") & registry["edge_u"].notna()]
    lpr = lpr.sort_values("id", kind="stable")
    edges = roads.edge_index(lpr["edge_u"].to_numpy(np.int64), lpr["edge_v"].to_numpy(np.int64),
                             lpr["edge_key"].to_numpy(np.int64))
    if (edges < 0).any():
        logger.warning("%s LPR cameras watch edges not in the road graph (ignored): %s",
                       int((edges < 0).sum()), lpr["id"][edges < 0].tolist()[:5])
    lpr, edges = lpr[edges >= 0], edges[edges >= 0]
    if len(lpr) == 0:
        raise SimulationError("no working plate-reading camera of the registry watches an "
                              "edge of the road graph: nothing would be read")
    lon = lpr["lon"].to_numpy(float)
    lat = lpr["lat"].to_numpy(float)
    position = np.array([position_on_edge(roads, int(e), x, y)
                         for e, x, y in zip(edges, lon, lat, strict=True)])
    skew = np.clip(rng.normal(0.0, skew_s, len(lpr)), -3 * skew_s, 3 * skew_s)
    reverse, reverse_position = opposite_sites(roads, edges, lon, lat)
    return Cameras(ids=lpr["id"].astype(str).to_numpy(dtype=object), edge=edges,
                   position=position, skew_s=np.round(skew, 3), lon=lon, lat=lat,
                   reverse=reverse, reverse_position=reverse_position,
                   both=np.full(len(edges), both_directions, bool))


def registry_as_known(registry: pd.DataFrame | gpd.GeoDataFrame, roads: Roads,
                      cameras: Cameras, rng: np.random.Generator, *,
                      heading_error_rate: float, unmarked_rate: float
                      ) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The registry with errors a centre's registry may have, and which cameras have them:
    ``heading`` (snapped to the reverse edge of its road, heading turned round) and
    ``unmarked`` (reads plates but is not marked ``is_lpr``)."""
    known = registry.copy()
    two_way = np.flatnonzero(cameras.reverse >= 0)
    turned = rng.choice(two_way, min(round(heading_error_rate * len(cameras)), len(two_way)),
                        replace=False)
    unmarked = rng.choice(len(cameras), round(unmarked_rate * len(cameras)), replace=False)
    ids = known["id"].astype(str).to_numpy()
    reverse = dict(zip(cameras.ids[turned].astype(str), cameras.reverse[turned], strict=True))
    rows = np.isin(ids, list(reverse))
    edges = np.array([reverse[i] for i in ids[rows]], np.int64)
    known.loc[rows, "edge_u"] = roads.node_ids[roads.edge_u[edges]]
    known.loc[rows, "edge_v"] = roads.node_ids[roads.edge_v[edges]]
    known.loc[rows, "edge_key"] = roads.edge_key[edges]
    if "heading" in known:
        known.loc[rows, "heading"] = (known.loc[rows, "heading"] + 180.0) % 360.0
    known.loc[np.isin(ids, cameras.ids[unmarked].astype(str)), "is_lpr"] = False
    return known, {"heading": sorted(str(cameras.ids[i]) for i in turned),
                   "unmarked": sorted(str(cameras.ids[i]) for i in unmarked)}


# --- passes --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Passes:
    """Vehicles passing cameras: trip, camera, true time (s after the period start)."""

    trip: IntArray
    camera: IntArray
    t: FloatArray
    step: IntArray
    """Position of the camera's edge in the trip's edge sequence."""
    oncoming: BoolArray
    """The vehicle came towards the camera (only a front plate can be read)."""

    def __len__(self) -> int:
        return len(self.trip)


def passes(cameras: Cameras, n_edges: int, edges: Ragged, offsets: Ragged,
           depart: FloatArray) -> Passes:
    """Every pass of every trip at every camera site, ordered by trip and time."""
    two = np.flatnonzero(cameras.both & (cameras.reverse >= 0))
    site_camera = np.concatenate([np.arange(len(cameras)), two]).astype(np.int64)
    site_edge = np.concatenate([cameras.edge, cameras.reverse[two]]).astype(np.int64)
    site_position = np.concatenate([cameras.position, cameras.reverse_position[two]])
    site_oncoming = np.arange(len(site_edge)) >= len(cameras)
    per_edge = np.bincount(site_edge, minlength=n_edges)
    by_edge = np.argsort(site_edge, kind="stable")
    first = np.concatenate(([0], np.cumsum(per_edge)))[:-1]
    flat = edges.values.astype(np.int64)
    hit = np.flatnonzero(per_edge[flat] > 0)
    count = per_edge[flat[hit]]
    hit_rep = np.repeat(hit, count)
    within = np.arange(len(hit_rep)) - np.repeat(np.cumsum(count) - count, count)
    site = by_edge[first[flat[hit_rep]] + within]
    trip = edges.row_of_value[hit_rep]
    step = hit_rep - edges.offsets[trip]
    node = offsets.offsets[trip] + step
    t_in, t_out = offsets.values[node], offsets.values[node + 1]
    t = depart[trip] + t_in + site_position[site] * (t_out - t_in)
    camera = site_camera[site]
    order = np.lexsort((camera, t, trip))
    return Passes(trip[order], camera[order], t[order], step[order], site_oncoming[site][order])


# --- reads -----------------------------------------------------------------------------------


def misread(text: str, rng: np.random.Generator) -> tuple[str, str]:
    """``text`` as a faulty OCR reads it, and the kind of error (``substitute``, ``drop``,
    ``extra``). Letters and digits change; separators stay. Never returns ``text``."""
    kinds = list(settings.SIM_OCR_EDIT_SHARES)
    cumulative = np.cumsum([settings.SIM_OCR_EDIT_SHARES[k] for k in kinds])
    kind = kinds[min(int(np.searchsorted(cumulative, rng.random() * cumulative[-1],
                                         side="right")), len(kinds) - 1)]
    chars = [i for i, c in enumerate(text) if c.isalnum()]
    confusable = [i for i in chars if text[i] in _CONFUSABLE]
    if kind == "substitute" and confusable:
        i = confusable[int(rng.integers(len(confusable)))]
        options = _CONFUSABLE[text[i]]
        return text[:i] + options[int(rng.integers(len(options)))] + text[i + 1:], kind
    if kind == "extra":
        i = chars[int(rng.integers(len(chars)))] + int(rng.integers(2))
        extra = _EXTRA_CHARACTERS[int(rng.integers(len(_EXTRA_CHARACTERS)))]
        return text[:i] + extra + text[i:], kind
    i = chars[int(rng.integers(len(chars)))]
    return text[:i] + text[i + 1:], "drop"


@dataclass(frozen=True, slots=True, eq=False)
class Reads:
    """Reads of passes (one or two per detected pass), in pass order."""

    pass_index: IntArray
    t: FloatArray
    """Reported time: true pass time + camera skew (+ the delay of a duplicate)."""
    plate_raw: npt.NDArray[np.object_]
    confidence: FloatArray
    ocr_error: npt.NDArray[np.object_]
    """Kind of OCR error, or None for a correct read."""
    duplicate: BoolArray

    def __len__(self) -> int:
        return len(self.pass_index)


@dataclass(frozen=True, slots=True)
class SensorRates:
    """Probabilities of the sensor model (validated by SimulationConfig)."""

    detection: float
    ocr_error: float
    duplicate: float


def sense(found: Passes, cameras: Cameras, plates: npt.NDArray[np.object_],
          planted: BoolArray, rates: SensorRates, rng: np.random.Generator, *,
          front_plate: BoolArray | None = None) -> tuple[BoolArray, Reads]:
    """Which passes are detected, and the reads they give.

    ``plates``, ``planted`` and ``front_plate`` are per pass (the vehicle's canonical plate;
    whether the vehicle is planted: always read, correctly and once; whether it carries a
    front plate, which an oncoming pass needs).
    """
    n = len(found)
    front = np.ones(n, bool) if front_plate is None else front_plate
    detected = ((rng.random(n) < rates.detection) | planted) & (front | ~found.oncoming)
    seen = np.flatnonzero(detected)
    wrong = (rng.random(len(seen)) < rates.ocr_error) & ~planted[seen]
    raw = plates[seen].copy()
    kinds = np.full(len(seen), None, dtype=object)
    for i in np.flatnonzero(wrong):
        raw[i], kinds[i] = misread(str(raw[i]), rng)
    confidence = np.where(wrong, rng.beta(*settings.SIM_MISREAD_CONFIDENCE_BETA, len(seen)),
                          rng.beta(*settings.SIM_CONFIDENCE_BETA, len(seen)))
    t = found.t[seen] + cameras.skew_s[found.camera[seen]]
    twice = np.flatnonzero((rng.random(len(seen)) < rates.duplicate) & ~planted[seen])
    lo, hi = settings.SIM_DUPLICATE_DELAY_S
    delay = rng.uniform(lo, hi, len(twice))
    second_confidence = np.clip(confidence[twice] + rng.normal(0.0, 0.02, len(twice)), 0.0, 1.0)
    reads = Reads(
        pass_index=np.concatenate([seen, seen[twice]]),
        t=np.concatenate([t, t[twice] + delay]),
        plate_raw=np.concatenate([raw, raw[twice]]),
        confidence=np.round(np.concatenate([confidence, second_confidence]), 3),
        ocr_error=np.concatenate([kinds, kinds[twice]]),
        duplicate=np.concatenate([np.zeros(len(seen), bool), np.ones(len(twice), bool)]),
    )
    order = np.lexsort((reads.duplicate, reads.pass_index))
    return detected, Reads(*(getattr(reads, name)[order] for name in Reads.__dataclass_fields__))
