"""Value types of a reconstructed route: sightings, candidate paths, legs, the route."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import shapely

from tracing.routes.prism import Prism

FLAG_TEXT: Final[dict[str, str]] = {
    "impossible_travel": "faster than any plausible drive between the two cameras: a cloned "
                         "plate, a misread or a camera clock error",
    "long_gap": "much slower than the fastest path: the vehicle stopped or took a detour",
    "low_confidence": "no single path is clearly the most likely: check the alternatives",
    "unreachable": "the road graph has no path between the two cameras",
    "turn_back": "the most probable path turns back over a camera's road: the vehicle made "
                 "a U-turn beyond a camera, or the camera's direction in the registry is wrong",
}
"""Flags of a leg, explained in words."""


@dataclass(frozen=True, slots=True)
class Sighting:
    """One (collapsed) plate read: a camera and an aware time."""

    camera_id: str
    ts: datetime
    read_id: str = ""
    confidence: float | None = None
    reads: int = 1
    """Reads collapsed into this sighting (repeats at one camera)."""


@dataclass(frozen=True, slots=True, eq=False)
class CandidatePath:
    """One way to drive a leg: OSM nodes from the tail of the first camera's edge to the head
    of the second's, with estimated pass times, its probability and its rank (0 = best)."""

    osm_nodes: tuple[int, ...]
    times: tuple[datetime, ...]
    """Estimated time the vehicle reached each node (free-flow times scaled to the leg)."""
    geometry: shapely.LineString
    length_m: float
    free_flow_s: float
    """Free-flow time between the two cameras' points along this path."""
    missed_cameras: tuple[str, ...]
    """Working plate-reading cameras on the path that did not read the plate."""
    probability: float
    rank: int


@dataclass(frozen=True, slots=True, eq=False)
class RouteLeg:
    """The drive between two consecutive sightings of one trip."""

    index: int
    trip: int
    start: Sighting
    end: Sighting
    candidates: tuple[CandidatePath, ...]
    flags: tuple[str, ...] = ()
    track: int = 0
    """The vehicle (track) of the plate this leg belongs to (see Route.track_of_sighting)."""
    prism: Prism | None = None
    """Where the vehicle could have been on a leg with a long gap (a stop or a detour): the
    roads it could reach and still make the second camera, by the longest possible stay."""

    @property
    def best(self) -> CandidatePath | None:
        """The most probable path (None when the cameras are not connected)."""
        return self.candidates[0] if self.candidates else None

    @property
    def duration_s(self) -> float:
        """Observed time between the two sightings."""
        return (self.end.ts - self.start.ts).total_seconds()


@dataclass(frozen=True, slots=True)
class RouteSummary:
    """Whole-route figures over the best path of every leg."""

    sightings: int
    trips: int
    legs: int
    distance_m: float
    duration_s: float
    """Time driving or stopped within trips (sum of leg durations)."""
    stops: int
    """Legs flagged long_gap (a stop or a detour)."""
    flagged: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False)
class Route:
    """A plate's sightings split into trips, and the legs between them."""

    plate: str
    sightings: tuple[Sighting, ...]
    trip_of_sighting: tuple[int, ...]
    legs: tuple[RouteLeg, ...]
    summary: RouteSummary
    notes: tuple[str, ...] = ()
    """What was dropped or changed in the input (unknown cameras, reordering)."""
    track_of_sighting: tuple[int, ...] = ()
    """Per sighting: its track. Reads no single vehicle can explain (a cloned plate, a
    misread) are split into the fewest drivable tracks; one track is one vehicle."""

    @property
    def tracks(self) -> int:
        """Number of vehicles the plate's sightings need."""
        return max(self.track_of_sighting, default=-1) + 1

    def trip_legs(self, trip: int) -> tuple[RouteLeg, ...]:
        """The legs of trip ``trip``."""
        return tuple(leg for leg in self.legs if leg.trip == trip)

    def trip_sightings(self, trip: int) -> tuple[int, ...]:
        """The indexes (into ``sightings``) of trip ``trip``'s sightings."""
        return tuple(i for i, t in enumerate(self.trip_of_sighting) if t == trip)
