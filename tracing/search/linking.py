"""Identity linking: which near-miss plates are misreads of the target vehicle.

Every read of a plate within the fuzzy limit of the target's plate, from
``settings.SEARCH_LINK_MARGIN_S`` before the target's first read to as long after its last,
is judged against the target's own reads on the road graph (each link says why, in words):

* **impossible** — the target cannot have driven to that camera from its previous read, or
  from there to its next one (the test of :mod:`tracing.search.clones`): plausibility 0;
* **another vehicle** — that plate is also read where the target cannot be, or it has more
  than ``settings.SEARCH_LINK_MAX_VARIANT_PASSES`` passes in the period (one misread string
  rarely recurs; a real car's plate does): plausibility 0;
* **on the way** — within a drive's time of a read of the target
  (``SEARCH_LINK_SLOWDOWN`` × free-flow time + ``SEARCH_LINK_SLACK_S``): plausibility 1;
* otherwise feasible but far in time from every read of the target (an isolated
  sighting): plausibility ``SEARCH_LINK_UNCORROBORATED``.

Score = string similarity (:func:`tracing.search.matching.similarity`) × plausibility;
reads scoring at least ``settings.SEARCH_LINK_MIN_SCORE`` are linked. With the defaults an
isolated sighting links only when it differs by OCR confusions alone. Investigators accept
or reject links: :func:`decide` returns the links with their decisions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from tracing import settings
from tracing.access.actor import Who, record_look
from tracing.errors import PlateError, SearchError
from tracing.plates import compact_plate, normalize_plate
from tracing.search.matching import fuzzy_matches, similarity, validate_limit
from tracing.search.plate_index import plate_index
from tracing.search.query import SearchFilters, described, select_reads
from tracing.search.reachability import Reachability
from tracing.store import Store
from tracing.travel import impossible

logger = logging.getLogger(__name__)

__all__ = ["Decision", "Link", "LinkResult", "decide", "evaluate_links", "link_reads",
           "target_plate"]

Decision = Literal["proposed", "accepted", "rejected"]
UNCORROBORATED: Final = settings.SEARCH_LINK_UNCORROBORATED
"""Plausibility of a feasible read with no read of the target within a drive's time."""
_LOCAL: Final = ZoneInfo(settings.LOCAL_TZ)


@dataclass(frozen=True, slots=True)
class Link:
    """A near-miss read judged against the target; ``linked`` when the score passes."""

    read_id: str
    plate: str
    camera_id: str
    ts: datetime
    distance: float
    similarity: float
    plausibility: float
    score: float
    linked: bool
    why: str
    decision: Decision = "proposed"

    @property
    def kept(self) -> bool:
        """True when the read counts as the target's: accepted, or linked and not rejected."""
        return self.decision == "accepted" or (self.linked and self.decision != "rejected")


@dataclass(frozen=True, slots=True, eq=False)
class LinkResult:
    """The target's exact reads and every near-miss read judged, best score first."""

    target: str
    target_reads: pd.DataFrame
    links: tuple[Link, ...]

    @property
    def linked(self) -> tuple[Link, ...]:
        """Links that count as the target's (see :attr:`Link.kept`)."""
        return tuple(link for link in self.links if link.kept)

    def frame(self) -> pd.DataFrame:
        """The links as a table."""
        return pd.DataFrame([{
            "read_id": k.read_id, "plate": k.plate, "camera_id": k.camera_id, "ts": k.ts,
            "distance": k.distance, "score": round(k.score, 3), "linked": k.linked,
            "decision": k.decision, "why": k.why} for k in self.links],
            columns=["read_id", "plate", "camera_id", "ts", "distance", "score", "linked",
                     "decision", "why"])


def target_plate(text: str) -> str:
    """Canonical plate of the target; SearchError when it is not a valid plate."""
    try:
        return normalize_plate(text)
    except PlateError as exc:
        raise SearchError(f"the target must be one valid plate: {exc}") from exc


def _epoch_s(ts: pd.Series) -> npt.NDArray[np.float64]:
    values = pd.to_datetime(ts, utc=True) - pd.Timestamp(0, tz="UTC")
    return np.asarray(values.dt.total_seconds(), np.float64)


def _local(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=_LOCAL).strftime("%H:%M:%S")


def _label(codes: Mapping[str, str], camera: str) -> str:
    return codes.get(camera) or camera


@dataclass(frozen=True, slots=True)
class _Judged:
    feasible: bool
    on_way: bool
    why: str


def _judge(t: float, cam: int, times: npt.NDArray[np.float64], cams: npt.NDArray[np.int64],
           reach: Reachability, names: tuple[str, str]) -> _Judged:
    """Feasibility and on-the-way test of one read against the target's sorted reads."""
    after = int(np.searchsorted(times, t, side="right"))
    target_name, where = names
    verdict = _Judged(True, False, f"no read of {target_name} within a drive's time")
    best_gap = np.inf
    for q in (after - 1, after):
        if not 0 <= q < len(times):
            continue
        gap = abs(t - times[q])
        before = q < after
        a, b = (cams[q], cam) if before else (cam, cams[q])
        need = 0.0 if a < 0 or b < 0 else float(reach.seconds[a, b])
        back = 0.0 if a < 0 or b < 0 else float(reach.seconds[b, a])
        tq = _local(times[q])
        if impossible(gap, need, back):
            side = "after" if before else "before"
            return _Judged(False, False, f"impossible: {gap / 60:.1f} min {side} {target_name} "
                           f"at {tq}, but the drive {where} needs ≥ {need / 60:.1f} min")
        if gap <= settings.SEARCH_LINK_SLOWDOWN * need + settings.SEARCH_LINK_SLACK_S \
                and gap < best_gap:
            best_gap = gap
            side = "after" if before else "before"
            verdict = _Judged(True, True, f"on the way: {gap / 60:.1f} min {side} "
                              f"{target_name} at {tq} (drive ≥ {need / 60:.1f} min)")
    return verdict


def _passes(near: pd.DataFrame) -> dict[str, int]:
    """Passes per plate: reads, counting repeats at one camera within a minute once."""
    if near.empty:
        return {}
    frame = near[["plate", "camera_id"]].assign(t=_epoch_s(near["ts"]))
    frame = frame.sort_values(["plate", "camera_id", "t"])
    same = (frame["plate"].eq(frame["plate"].shift()) & frame["camera_id"].eq(
        frame["camera_id"].shift()) & (frame["t"].diff() < 60.0))
    return {str(k): int(v) for k, v in frame.loc[~same, "plate"].value_counts().items()}


def _edits(distance: float) -> str:
    return "no edit" if distance == 0 else f"edit distance {distance:g}"


def evaluate_links(target: str, target_reads: pd.DataFrame, near: pd.DataFrame,
                   distances: Mapping[str, float], reach: Reachability, *,
                   limit: float = settings.SEARCH_MAX_DISTANCE,
                   codes: Mapping[str, str] | None = None) -> tuple[Link, ...]:
    """Judge near-miss reads (``near``: read_id, plate, camera_id, ts) against the target's
    reads; pure function of frames, for tests and for :func:`link_reads`."""
    codes = codes or {}
    ordered = target_reads.sort_values("ts")
    times, cams = _epoch_s(ordered["ts"]), reach.rows(ordered["camera_id"])
    near_t, near_c = _epoch_s(near["ts"]), reach.rows(near["camera_id"])
    judged = [_judge(float(t), int(c), times, cams, reach,
                     (target, f"to {_label(codes, str(cam))}"))
              for t, c, cam in zip(near_t, near_c, near["camera_id"], strict=True)]
    conflicts = {str(p) for p, j in zip(near["plate"], judged, strict=True) if not j.feasible}
    passes = _passes(near)
    links = []
    stamps = pd.to_datetime(near["ts"], utc=True)
    for row, j, stamp in zip(near.itertuples(), judged, stamps, strict=True):
        plate, distance = str(row.plate), float(distances[str(row.plate)])
        sim = similarity(distance, limit=limit)
        plaus, why = (1.0 if j.on_way else UNCORROBORATED) if j.feasible else 0.0, j.why
        if j.feasible and plate in conflicts:
            plaus, why = 0.0, f"another vehicle: {plate} is also read where {target} cannot be"
        elif j.feasible and passes.get(plate, 0) > settings.SEARCH_LINK_MAX_VARIANT_PASSES:
            plaus, why = 0.0, (f"another vehicle: {plate} passed {passes[plate]} cameras, "
                               "more than misreads explain")
        score = sim * plaus
        links.append(Link(
            read_id=str(row.read_id), plate=plate, camera_id=str(row.camera_id),
            ts=stamp.to_pydatetime(), distance=distance, similarity=sim,
            plausibility=plaus, score=score, linked=score >= settings.SEARCH_LINK_MIN_SCORE,
            why=f"{why}; {_edits(distance)} from {target}"))
    links.sort(key=lambda k: (-k.score, k.ts))
    return tuple(links)


def link_reads(store: Store, target: str, reach: Reachability, *, who: Who,
               limit: float = settings.SEARCH_MAX_DISTANCE,
               filters: SearchFilters | None = None) -> LinkResult:
    """Judge every read of a plate within ``limit`` of ``target`` near the target's reads
    (``who`` needs ``search``; audited as ``search.links``)."""
    plate = target_plate(target)
    limit = validate_limit(limit)
    record_look(store, who, "search", "search.links",
                {"plate": plate, "limit": limit, "filters": described(filters)})
    own = select_reads(store, [plate], filters)
    if own.empty:
        return LinkResult(plate, own, ())
    index = plate_index(store)
    found = fuzzy_matches(compact_plate(plate), index.compacts, limit=limit)
    distances = {str(index.plates[p]): d for p, d in found if str(index.plates[p]) != plate}
    margin = timedelta(seconds=settings.SEARCH_LINK_MARGIN_S)
    times = pd.to_datetime(own["ts"], utc=True)
    first, last = times.min(), times.max()
    base = filters or SearchFilters()
    start = max(first - margin, pd.Timestamp(base.start)) if base.start else first - margin
    end = min(last + margin, pd.Timestamp(base.end)) if base.end else last + margin
    window = replace(base, start=start.to_pydatetime(), end=end.to_pydatetime())
    near = select_reads(store, sorted(distances), window)
    codes = {str(c): str(k) for c, k in zip(own["camera_id"], own["code"], strict=True)
             if isinstance(k, str)}
    codes |= {str(c): str(k) for c, k in zip(near["camera_id"], near["code"], strict=True)
              if isinstance(k, str)}
    links = evaluate_links(plate, own, near, distances, reach, limit=limit, codes=codes)
    logger.info("links of %s: %s near-miss reads, %s linked", plate, len(links),
                sum(k.linked for k in links))
    return LinkResult(plate, own, links)


def decide(result: LinkResult, decisions: Mapping[str, Decision]) -> LinkResult:
    """The result with investigators' decisions (read_id → accepted/rejected) applied."""
    bad = {d for d in decisions.values() if d not in ("proposed", "accepted", "rejected")}
    if bad:
        raise SearchError(f"unknown link decision(s) {sorted(bad)}")
    links = tuple(replace(k, decision=decisions.get(k.read_id, k.decision))
                  for k in result.links)
    return LinkResult(result.target, result.target_reads, links)
