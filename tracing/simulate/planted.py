"""Planted cases: a few vehicles with a known story, for investigators, demos and tests.

* ``watchlist_gateway`` — a car from Bình Dương enters the city through a gateway road and
  passes a plate-reading camera soon after (put its plate on a watchlist to see an alert);
* ``cloned_plate`` — two cars carry one plate and are read by two cameras far apart two
  minutes apart: impossible travel;
* ``convoy`` — two cars drive the same route 5–30 s apart past several cameras;
* ``parked`` — a motorbike drives, parks for hours, drives on;
* ``seen_twice`` — a car whose only reads in the period are two cameras far apart.

Planted vehicles are always read, correctly and once, at every working LPR camera they
pass. Their times follow local clock targets on the first day of the period that fits them
(else a fraction of the period); a case that cannot fit, or whose roads the camera network
does not allow (e.g. no gateway), is skipped with its reason.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import numpy as np

from tracing import settings
from tracing.plates import compact_plate
from tracing.roads import FloatArray, IntArray, Ragged, Roads, ragged_from_lengths
from tracing.simulate.fleet import Fleet, draw_plates
from tracing.simulate.routing import Router, TripSet, edges_of, node_offsets, walk
from tracing.simulate.sensors import Cameras
from tracing.simulate.zones import Zones

logger = logging.getLogger(__name__)

CASES: Final = ("watchlist_gateway", "cloned_plate", "convoy", "parked", "seen_twice")
CANDIDATE_PATHS: Final = 600
"""Sampled fastest paths among which each case picks the one that suits it best."""
CLONE_GAP_S: Final = 120.0
"""Time between the two clones' reads at cameras far apart."""
PARK_HOURS: Final = 5.5
"""How long the parked vehicle stays parked on a full day."""
_TARGETS: Final = {"watchlist_gateway": 9 + 40 / 60, "cloned_plate": 11.25, "convoy": 14 + 1 / 3,
                   "parked": 7.75, "seen_twice": 16 + 5 / 60}
"""Local clock hour at which each case starts on a full day."""
_FRACTIONS: Final = {"watchlist_gateway": 0.35, "cloned_plate": 0.5, "convoy": 0.6,
                     "parked": 0.05, "seen_twice": 0.75}
"""Where in a shorter period each case starts (fraction of the time left after it)."""


@dataclass(frozen=True, slots=True)
class PlantedCase:
    """One planted case: its vehicles and trips (indices in the planted sets) and facts."""

    case: str
    description: str
    vehicles: tuple[int, ...]
    trips: tuple[int, ...]
    details: dict[str, Any]


@dataclass(frozen=True, slots=True, eq=False)
class Planted:
    """Planted vehicles (ids from ``first_vehicle``), their trips and the cases."""

    fleet: Fleet
    trips: TripSet
    cases: list[PlantedCase]
    skipped: dict[str, str]


@dataclass(frozen=True, slots=True)
class _Path:
    row: int
    nodes: IntArray
    edges: IntArray
    hits: list[tuple[int, int]]
    """(position of the edge in the path, camera index) of every camera passed, in order."""


def _km(cameras: Cameras, a: int, b: int) -> float:
    """Great-circle distance between two cameras (km)."""
    lat1, lat2 = math.radians(cameras.lat[a]), math.radians(cameras.lat[b])
    dlat = lat2 - lat1
    dlon = math.radians(cameras.lon[b] - cameras.lon[a])
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


@dataclass(slots=True)
class _Builder:
    roads: Roads
    router: Router
    zones: Zones
    cameras: Cameras
    rng: np.random.Generator
    start: datetime
    horizon: float
    days: FloatArray
    local_hour0: float
    first_vehicle: int
    used: set[str]
    vehicles: list[tuple[str, str, str]] = field(default_factory=list)
    """(kind, colour, province) of each planted vehicle; plates drawn at the end."""
    plates: dict[int, int] = field(default_factory=dict)
    """Vehicle → vehicle whose plate it copies (the clone)."""
    trip_rows: list[tuple[int, _Path, float, FloatArray, str]] = field(default_factory=list)
    cases: list[PlantedCase] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    # --- paths ---------------------------------------------------------------------------

    def sample(self, rows: IntArray, n: int = CANDIDATE_PATHS) -> list[_Path]:
        origins = self.rng.choice(rows, n)
        dests = self.zones.sources[self.rng.choice(self.zones.ward_rows, n)]
        ok = dests != self.zones.sources[origins]
        origins, dests = origins[ok], dests[ok]
        variant = np.zeros(len(origins), np.int64)
        nodes = walk(self.router, variant, origins, dests)
        edges = edges_of(self.router, nodes, variant)
        on_edge: dict[int, list[int]] = {}
        for cam, edge in enumerate(self.cameras.edge):
            on_edge.setdefault(int(edge), []).append(cam)
        out = []
        for i, row in enumerate(origins):
            path_edges = edges.row(i).astype(np.int64)
            hits = [(step, cam) for step, e in enumerate(path_edges.tolist())
                    for cam in on_edge.get(e, [])]
            out.append(_Path(int(row), nodes.row(i).astype(np.int64), path_edges, hits))
        return out

    def offsets(self, path: _Path, depart: float, *, kind: str = "car") -> FloatArray:
        edges = ragged_from_lengths(path.edges, np.array([len(path.edges)], np.int64))
        factor = np.array([settings.SIM_KIND_TIME_FACTOR[kind]])
        times = node_offsets(self.roads, edges, np.array([depart]), local_hour0=self.local_hour0,
                             speed_factor=factor, rng=self.rng)
        return np.asarray(times.values, float)

    @staticmethod
    def pass_time(path: _Path, offsets: FloatArray, hit: tuple[int, int],
                  cameras: Cameras) -> float:
        step, cam = hit
        return float(offsets[step] + cameras.position[cam] * (offsets[step + 1] - offsets[step]))

    def schedule(self, case: str, path: _Path, *,
                 slack_s: float = 0.0) -> tuple[float, FloatArray] | None:
        """Departure and node times of a case driving ``path`` (a free-flow probe sizes the
        trip plus ``slack_s``); None, with the skip recorded, when the period is too short."""
        probe = self.offsets(path, 0.0)
        depart = self.anchor(case, float(probe[-1]) + slack_s)
        if depart is None:
            self.skip(case, "the period is too short")
            return None
        return depart, self.offsets(path, depart)

    def anchor(self, case: str, duration: float) -> float | None:
        """Departure of a case: its local clock target on the first day it fits, else a
        fraction of the period; None when the period is shorter than ``duration``."""
        for day in self.days:
            t = float(day) + _TARGETS[case] * 3600.0
            if t >= 0 and t + duration <= self.horizon:
                return t
        if duration >= self.horizon:
            return None
        return _FRACTIONS[case] * (self.horizon - duration)

    # --- records -------------------------------------------------------------------------

    def vehicle(self, kind: str, colour: str, province: str) -> int:
        self.vehicles.append((kind, colour, province))
        return len(self.vehicles) - 1

    def trip(self, vehicle: int, path: _Path, depart: float, offsets: FloatArray,
             case: str) -> int:
        self.trip_rows.append((vehicle, path, depart, offsets, f"planted:{case}"))
        return len(self.trip_rows) - 1

    def iso(self, t: float) -> str:
        return (self.start + timedelta(seconds=t)).isoformat(timespec="milliseconds")

    def camera_id(self, cam: int) -> str:
        return str(self.cameras.ids[cam])

    def node_id(self, node: int) -> int:
        return int(self.roads.node_ids[node])

    def skip(self, case: str, reason: str) -> None:
        logger.warning("planted case %s skipped: %s", case, reason)
        self.skipped[case] = reason


# --- the cases -------------------------------------------------------------------------------


def _watchlist_gateway(b: _Builder, paths: list[_Path]) -> None:
    case = "watchlist_gateway"
    z = b.zones
    if not z.has_gateways:
        b.skip(case, "the area has no gateway road")
        return
    entry_of = {int(row): i for i, row in enumerate(z.entry_rows)}

    def inside_hits(p: _Path) -> list[tuple[int, int]]:
        """Cameras passed after crossing the boundary."""
        at = z.entry_position[entry_of[p.row]]
        return [h for h in p.hits if h[0] > 0 or b.cameras.position[h[1]] >= at]

    entering = [p for p in b.sample(z.entry_rows)
                if p.edges[0] == z.entry_edge[entry_of[p.row]] and inside_hits(p)]
    if not entering:
        b.skip(case, "no route from a gateway passes a plate-reading camera")
        return
    # the busiest gateway road first, then the camera soonest after the boundary
    rank = [(-z.entry_weight[entry_of[p.row]],
             float(np.sum(b.roads.travel_time[p.edges[:inside_hits(p)[0][0] + 1]])))
            for p in entering]
    path = entering[min(range(len(entering)), key=rank.__getitem__)]
    first = inside_hits(path)[0]
    scheduled = b.schedule(case, path)
    if scheduled is None:
        return
    depart, offsets = scheduled
    v = b.vehicle("car", "white", "61")
    trip = b.trip(v, path, depart, offsets, case)
    edge = int(path.edges[0])
    crossing = float(offsets[0] + z.entry_position[entry_of[path.row]] * (offsets[1] - offsets[0]))
    b.cases.append(PlantedCase(case, "A watchlisted car from Bình Dương enters through a "
                               "gateway road and passes a plate-reading camera.", (v,), (trip,), {
        "gateway_edge": [b.node_id(int(b.roads.edge_u[edge])), b.node_id(int(b.roads.edge_v[edge])),
                         int(b.roads.edge_key[edge])],
        "gateway_road": b.roads.name[edge] or f"unnamed {b.roads.highway[edge]} road",
        "entered_at": b.iso(depart + crossing),
        "first_camera": b.camera_id(first[1]),
        "first_pass_at": b.iso(depart + b.pass_time(path, offsets, first, b.cameras)),
        "watchlist_reason": "stolen vehicle (simulated)",
    }))


def _cloned_plate(b: _Builder, paths: list[_Path]) -> None:
    case = "cloned_plate"
    seen = [p for p in paths if p.hits][:200]
    best: tuple[float, int, int] | None = None
    for i, p in enumerate(seen):
        for j in range(i + 1, len(seen)):
            km = _km(b.cameras, p.hits[0][1], seen[j].hits[0][1])
            if best is None or km > best[0]:
                best = (km, i, j)
    if best is None or best[0] <= 0.5:
        b.skip(case, "no two plate-reading cameras far enough apart on sampled routes")
        return
    km, i, j = best
    first, second = seen[i], seen[j]
    probe_a, probe_b = b.offsets(first, 0.0), b.offsets(second, 0.0)
    pass_a = b.pass_time(first, probe_a, first.hits[0], b.cameras)
    pass_b = b.pass_time(second, probe_b, second.hits[0], b.cameras)
    lead = max(pass_a, pass_b - CLONE_GAP_S)
    duration = lead + CLONE_GAP_S + max(probe_a[-1] - pass_a, probe_b[-1] - pass_b)
    t0 = b.anchor(case, duration)
    if t0 is None:
        b.skip(case, "the period is too short")
        return
    when = t0 + lead
    off_a = b.offsets(first, when - pass_a)
    off_b = b.offsets(second, when + CLONE_GAP_S - pass_b)
    depart_a = when - b.pass_time(first, off_a, first.hits[0], b.cameras)
    depart_b = when + CLONE_GAP_S - b.pass_time(second, off_b, second.hits[0], b.cameras)
    original = b.vehicle("car", "white", "51")
    clone = b.vehicle("car", "white", "51")
    b.plates[clone] = original
    trips = (b.trip(original, first, depart_a, off_a, case),
             b.trip(clone, second, depart_b, off_b, case))
    b.cases.append(PlantedCase(case, "Two cars carry the same plate; cameras far apart read it "
                               "two minutes apart (impossible travel).", (original, clone),
                               trips, {
        "cameras": [b.camera_id(first.hits[0][1]), b.camera_id(second.hits[0][1])],
        "pass_times": [b.iso(when), b.iso(when + CLONE_GAP_S)],
        "distance_km": round(km, 3),
        "implied_speed_kph": round(km / (CLONE_GAP_S / 3600.0), 1),
    }))


def _convoy(b: _Builder, paths: list[_Path]) -> None:
    case = "convoy"
    counts = [len({step for step, _ in p.hits}) for p in paths]
    if not counts or max(counts) < 2:
        b.skip(case, "no sampled route passes two plate-reading cameras")
        return
    path = paths[int(np.argmax(counts))]
    scheduled = b.schedule(case, path, slack_s=60.0)
    if scheduled is None:
        return
    depart, lead = scheduled
    gap = np.clip(b.rng.uniform(8.0, 20.0) + np.cumsum(b.rng.normal(0.0, 1.0, len(lead))),
                  5.0, 30.0)
    follow = np.maximum.accumulate(lead + gap - gap[0])
    follow[1:] = np.maximum(follow[1:], follow[:-1] + 1e-3)
    leader, follower = b.vehicle("car", "white", "51"), b.vehicle("car", "white", "51")
    trips = (b.trip(leader, path, depart, lead, case),
             b.trip(follower, path, depart + float(gap[0]), follow, case))
    hits = path.hits
    gaps = [round(float(gap[0]) + b.pass_time(path, follow, h, b.cameras)
                  - b.pass_time(path, lead, h, b.cameras), 3) for h in hits]
    b.cases.append(PlantedCase(case, "Two cars drive the same route 5–30 s apart past several "
                               "plate-reading cameras.", (leader, follower), trips, {
        "cameras": [b.camera_id(cam) for _, cam in hits],
        "gaps_s": gaps,
    }))


def _parked(b: _Builder, paths: list[_Path]) -> None:
    case = "parked"
    z = b.zones
    row_of = {int(node): row for row, node in enumerate(z.sources) if z.ward[row] >= 0}
    found: tuple[_Path, _Path] | None = None
    for first in (p for p in paths if p.hits and int(p.nodes[-1]) in row_of):
        rows = np.array([row_of[int(first.nodes[-1])]], np.int64)
        onward = [p for p in b.sample(rows, 40) if p.hits]
        if onward:
            found = (first, onward[0])
            break
    if found is None:
        b.skip(case, "no pair of routes through a parking place passes cameras")
        return
    first, second = found
    t1, t2 = float(b.offsets(first, 0.0)[-1]), float(b.offsets(second, 0.0)[-1])
    park = PARK_HOURS * 3600.0
    depart = b.anchor(case, t1 + park + t2 + 120.0)
    if depart is None:
        park = 0.5 * (b.horizon - t1 - t2 - 120.0)
        if park < 600.0:
            b.skip(case, "the period is too short to park")
            return
        depart = 0.0
    off1 = b.offsets(first, depart, kind="motorbike")
    arrive = depart + float(off1[-1])
    off2 = b.offsets(second, arrive + park, kind="motorbike")
    v = b.vehicle("motorbike", "white", "59")
    trips = (b.trip(v, first, depart, off1, case), b.trip(v, second, arrive + park, off2, case))
    b.cases.append(PlantedCase(case, "A motorbike drives, parks for hours, and drives on.",
                               (v,), trips, {
        "park_node": b.node_id(int(first.nodes[-1])),
        "parked_from": b.iso(arrive), "parked_until": b.iso(arrive + park),
        "hours": round(park / 3600.0, 3),
    }))


def _seen_twice(b: _Builder, paths: list[_Path]) -> None:
    case = "seen_twice"
    twice = [p for p in paths if len(p.hits) == 2 and p.hits[0][0] != p.hits[1][0]]
    if not twice:
        b.skip(case, "no sampled route passes exactly two plate-reading cameras")
        return
    km = [_km(b.cameras, p.hits[0][1], p.hits[1][1]) for p in twice]
    path = twice[int(np.argmax(km))]
    scheduled = b.schedule(case, path)
    if scheduled is None:
        return
    depart, offsets = scheduled
    v = b.vehicle("car", "white", "60")
    trip = b.trip(v, path, depart, offsets, case)
    b.cases.append(PlantedCase(case, "A car from Đồng Nai read by only two cameras, far apart.",
                               (v,), (trip,), {
        "cameras": [b.camera_id(cam) for _, cam in path.hits],
        "pass_times": [b.iso(depart + b.pass_time(path, offsets, h, b.cameras))
                       for h in path.hits],
        "distance_km": round(max(km), 3),
    }))


_PLANTERS: Final[dict[str, Callable[[_Builder, list[_Path]], None]]] = {
    "watchlist_gateway": _watchlist_gateway, "cloned_plate": _cloned_plate, "convoy": _convoy,
    "parked": _parked, "seen_twice": _seen_twice}


def plant(roads: Roads, router: Router, zones: Zones, cameras: Cameras,
          rng: np.random.Generator, *, start: datetime, horizon: float, days: FloatArray,
          local_hour0: float, first_vehicle: int, used: set[str]) -> Planted:
    """Build every planted case that the network and the period allow."""
    b = _Builder(roads, router, zones, cameras, rng, start, horizon, days, local_hour0,
                 first_vehicle, used)
    paths = b.sample(zones.ward_rows)
    for case in CASES:
        _PLANTERS[case](b, paths)
    return _finish(b)


def _finish(b: _Builder) -> Planted:
    n = len(b.vehicles)
    kinds = np.array([k for k, _, _ in b.vehicles], dtype=object)
    colours = np.array([c for _, c, _ in b.vehicles], dtype=object)
    provinces = np.array([p for _, _, p in b.vehicles], dtype=object)
    plates, codes = draw_plates(b.rng, kinds, colours, provinces, b.used)
    for clone, original in b.plates.items():
        b.used.discard(compact_plate(str(plates[clone])))
        plates[clone], codes[clone] = plates[original], codes[original]
    fleet = Fleet(role=np.full(n, "planted", dtype=object), kind=kinds, colour=colours,
                  plate=plates, province=codes, home_row=np.full(n, -1, np.int64),
                  work_row=np.full(n, -1, np.int64), work_exit=np.full(n, -1, np.int64))
    rows = b.trip_rows

    def ragged(values: list[np.ndarray], dtype: type) -> Ragged:
        lengths = np.array([len(v) for v in values], np.int64)
        flat: np.ndarray = (np.concatenate(values).astype(dtype) if values
                            else np.empty(0, dtype))
        return ragged_from_lengths(flat, lengths)

    trips = TripSet(
        vehicle=np.array([v + b.first_vehicle for v, *_ in rows], np.int64),
        depart=np.array([d for _, _, d, _, _ in rows], float),
        nodes=ragged([p.nodes for _, p, *_ in rows], np.int64),
        edges=ragged([p.edges for _, p, *_ in rows], np.int64),
        offsets=ragged([o for *_, o, _ in rows], np.float64),
        variant=np.zeros(len(rows), np.int64),
        purpose=np.array([c for *_, c in rows], dtype=object),
        via_node=np.full(len(rows), -1, np.int64), dwell_s=np.zeros(len(rows)))
    cases = [PlantedCase(c.case, c.description, tuple(v + b.first_vehicle for v in c.vehicles),
                         c.trips, c.details) for c in b.cases]
    return Planted(fleet, trips, cases, dict(b.skipped))
