"""Plate search over a store: ranked candidate plates with the evidence of their reads.

``search_plates(store, "51A-12*")`` finds the matching plates (exact, wildcard or fuzzy, see
:mod:`tracing.search.matching`), then fetches their reads under the filters (time window,
area as a polygon or wards, cameras, vehicle class, plate colour) and ranks them: nearest
plate first, then most reads. Every value reaches SQL as a parameter.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pandas as pd
import shapely

from tracing import settings
from tracing.access.actor import Who, record_look
from tracing.errors import PlateError, SearchError
from tracing.plates import parse_plate
from tracing.search.matching import (
    MatchMode,
    compact_query,
    fuzzy_matches,
    is_wildcard,
    validate_limit,
    wildcard_matches,
)
from tracing.search.plate_index import plate_index
from tracing.store import Store

logger = logging.getLogger(__name__)

__all__ = ["Candidate", "SearchFilters", "SearchResult", "canonical_forms", "described",
           "filter_sql", "from_epoch_us", "reads_of_plates", "search_plates"]

READ_COLUMNS: Final = ("read_id", "camera_id", "ts", "plate", "plate_compact", "plate_raw",
                       "confidence", "vehicle_class", "plate_colour", "crop_ref")
"""Columns of the reads returned by :func:`reads_of_plates` (plus camera lon, lat, code)."""


def _aware(value: datetime | None, what: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise SearchError(f"{what} {value.isoformat()} has no time zone")
    return value


def _strings(values: Collection[str] | None, what: str) -> frozenset[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        raise SearchError(f"{what} must be a collection of strings, not one string")
    return frozenset(str(v) for v in values)


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchFilters:
    """Which reads count: ``start <= ts < end``; cameras (ids) and area (a WGS84 polygon or
    ward names) intersect; vehicle classes and plate colours as stored. None = no filter."""

    start: datetime | None = None
    end: datetime | None = None
    cameras: frozenset[str] | None = None
    area: shapely.Geometry | None = None
    wards: frozenset[str] | None = None
    vehicle_classes: frozenset[str] | None = None
    plate_colours: frozenset[str] | None = None

    def __post_init__(self) -> None:
        _aware(self.start, "start")
        _aware(self.end, "end")
        if self.start and self.end and self.end <= self.start:
            raise SearchError(f"end {self.end.isoformat()} is not after start "
                              f"{self.start.isoformat()}")
        if self.area is not None and not isinstance(self.area, shapely.Geometry):
            raise SearchError(f"area must be a shapely geometry, not {type(self.area).__name__}")
        for name in ("cameras", "wards", "vehicle_classes", "plate_colours"):
            object.__setattr__(self, name, _strings(getattr(self, name), name))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A plate that matches the search, with the evidence of its reads under the filters."""

    plate: str
    plate_compact: str
    distance: float
    n_reads: int
    cameras: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
    mean_confidence: float | None
    max_confidence: float | None
    crop_refs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Ranked candidates; ``truncated`` when more plates matched than were kept."""

    query: str
    mode: MatchMode
    candidates: tuple[Candidate, ...]
    matched_plates: int
    truncated: bool = False
    limit: float = field(default=0.0)

    def frame(self) -> pd.DataFrame:
        """The candidates as a table (cameras and crop refs joined by ``, ``)."""
        rows = [{
            "plate": c.plate, "distance": c.distance, "reads": c.n_reads,
            "cameras": ", ".join(c.cameras), "first_seen": c.first_seen,
            "last_seen": c.last_seen, "mean_confidence": c.mean_confidence,
            "max_confidence": c.max_confidence, "crop_refs": ", ".join(c.crop_refs),
        } for c in self.candidates]
        return pd.DataFrame(rows, columns=["plate", "distance", "reads", "cameras",
                                           "first_seen", "last_seen", "mean_confidence",
                                           "max_confidence", "crop_refs"])


def _placeholders(n: int) -> str:
    return ", ".join("?" * n)


def _area_cameras(store: Store, filters: SearchFilters) -> frozenset[str] | None:
    """Camera ids inside the area and wards of ``filters`` (None when neither is set)."""
    if filters.area is None and filters.wards is None:
        return None
    with store.reader() as con:
        frame = con.execute("SELECT id, lon, lat, ward FROM cameras").to_arrow_table()
    frame = frame.to_pandas()
    keep = pd.Series(True, index=frame.index)
    if filters.wards is not None:
        keep &= frame["ward"].isin(sorted(filters.wards))
    if filters.area is not None:
        points = shapely.points(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
        keep &= pd.Series(np.asarray(shapely.covers(filters.area, points), bool),
                          index=frame.index)
    return frozenset(frame.loc[keep, "id"].astype(str))


def filter_sql(store: Store, filters: SearchFilters | None) -> tuple[list[str], list[Any]]:
    """SQL conditions on ``reads`` (joined with AND) and their parameters."""
    if filters is None:
        return [], []
    clauses: list[str] = []
    params: list[Any] = []
    if filters.start is not None:
        clauses.append("ts >= ?")
        params.append(filters.start)
    if filters.end is not None:
        clauses.append("ts < ?")
        params.append(filters.end)
    cameras = filters.cameras
    area = _area_cameras(store, filters)
    if area is not None:
        cameras = area if cameras is None else cameras & area
    for column, values in (("camera_id", cameras), ("vehicle_class", filters.vehicle_classes),
                           ("plate_colour", filters.plate_colours)):
        if values is not None:
            if not values:
                clauses.append("false")
                continue
            clauses.append(f"{column} IN ({_placeholders(len(values))})")
            params.extend(sorted(values))
    return clauses, params


def _where(plate_clause: str, clauses: Sequence[str]) -> str:
    return " AND ".join([plate_clause, *clauses])


_EVIDENCE_SQL: Final = """
SELECT plate, any_value(plate_compact), count(*) AS n,
       list(DISTINCT camera_id ORDER BY camera_id), epoch_us(min(ts)), epoch_us(max(ts)),
       avg(confidence), max(confidence),
       list_slice(list(crop_ref ORDER BY confidence DESC) FILTER (crop_ref IS NOT NULL), 1, ?)
FROM reads WHERE {where} GROUP BY plate
"""


def _evidence(store: Store, plate_clause: str, plate_params: Sequence[Any],
              filters: SearchFilters | None) -> list[tuple[Any, ...]]:
    clauses, params = filter_sql(store, filters)
    sql = _EVIDENCE_SQL.format(where=_where(plate_clause, clauses))
    with store.reader() as con:
        return con.execute(sql, [settings.SEARCH_CROP_REFS, *plate_params, *params]).fetchall()


def _candidate(row: tuple[Any, ...], distance: float) -> Candidate:
    plate, compact, n, cameras, first, last, mean_conf, max_conf, crops = row
    return Candidate(
        plate=str(plate), plate_compact=str(compact), distance=float(distance), n_reads=int(n),
        cameras=tuple(cameras), first_seen=from_epoch_us(first), last_seen=from_epoch_us(last),
        mean_confidence=None if mean_conf is None else float(mean_conf),
        max_confidence=None if max_conf is None else float(max_conf),
        crop_refs=tuple(crops or ()))


def from_epoch_us(epoch_us: int) -> datetime:
    """An instant (UTC) from DuckDB microseconds since the epoch."""
    return datetime.fromtimestamp(epoch_us / 1e6, tz=UTC)


def _ranked(rows: list[tuple[Any, ...]], distances: dict[str, float]) -> tuple[Candidate, ...]:
    found = [_candidate(row, distances.get(str(row[0]), 0.0)) for row in rows]
    found.sort(key=lambda c: (c.distance, -c.n_reads, c.plate))
    return tuple(found)


def canonical_forms(compact: str) -> list[str]:
    """Every canonical plate whose compact form is ``compact`` (``59X11234`` is car
    ``59X-112.34`` or motorbike ``59-X1 1234``); empty when it is no valid plate."""
    spellings = (compact, f"{compact[:2]}-{compact[2:4]} {compact[4:]}")
    forms = set()
    for spelling in spellings:
        try:
            plate = parse_plate(spelling)
        except PlateError:
            continue
        if plate.compact == compact:
            forms.add(plate.text)
    return sorted(forms)


def _mode_of(compact: str, mode: MatchMode | None) -> MatchMode:
    if mode is None:
        return "wildcard" if is_wildcard(compact) else "fuzzy"
    if mode not in ("exact", "wildcard", "fuzzy"):
        raise SearchError(f"unknown search mode {mode!r}: use exact, wildcard or fuzzy")
    if mode != "wildcard" and is_wildcard(compact):
        raise SearchError(f"{compact!r} holds * or ?: use the wildcard mode")
    return mode


def described(filters: SearchFilters | None) -> dict[str, object]:
    """The filters set, as audit parameters (times ISO 8601, sets sorted, area as WKT)."""
    out: dict[str, object] = {}
    for name in (f.name for f in fields(SearchFilters)):
        value = getattr(filters, name, None)
        if isinstance(value, datetime):
            out[name] = value.isoformat()
        elif isinstance(value, frozenset):
            out[name] = sorted(value)
        elif value is not None:
            out[name] = shapely.to_wkt(value, rounding_precision=6)[:2000]
    return out


def search_plates(store: Store, query: str, *, who: Who, mode: MatchMode | None = None,
                  limit: float = settings.SEARCH_MAX_DISTANCE,
                  filters: SearchFilters | None = None,
                  max_candidates: int = settings.SEARCH_MAX_CANDIDATES) -> SearchResult:
    """Find plates matching ``query``; ``mode`` None picks wildcard when the text holds
    ``*``/``?``, else fuzzy (which ranks the exact plate first). ``who`` needs the
    ``search`` permission; the search is audited (:func:`tracing.access.actor.record_look`)."""
    compact = compact_query(query)
    chosen = _mode_of(compact, mode)
    limit = validate_limit(limit)
    record_look(store, who, "search", "search", {
        "query": query, "mode": chosen, "limit": limit, "filters": described(filters)})
    if chosen == "exact":
        forms = canonical_forms(compact)
        rows = _evidence(store, f"plate IN ({_placeholders(len(forms))})", forms,
                         filters) if forms else []
        return SearchResult(query, chosen, _ranked(rows, {}), len(rows), limit=0.0)
    index = plate_index(store)
    if chosen == "wildcard":
        positions = wildcard_matches(compact, index.compact_array)
        order = positions[(-index.n_reads[positions]).argsort(kind="stable")]
        distances = {str(index.plates[p]): 0.0 for p in order[:max_candidates]}
        matched = len(positions)
    else:
        found = fuzzy_matches(compact, index.compacts, limit=limit)
        distances = {str(index.plates[p]): d for p, d in found[:max_candidates]}
        matched = len(found)
    if not distances:
        return SearchResult(query, chosen, (), 0, limit=limit)
    plates = list(distances)
    rows = _evidence(store, f"plate IN ({_placeholders(len(plates))})", plates, filters)
    logger.debug("search %r (%s): %s plates matched, %s with reads", query, chosen, matched,
                 len(rows))
    return SearchResult(query, chosen, _ranked(rows, distances), matched,
                        truncated=matched > len(plates), limit=limit)


def reads_of_plates(store: Store, plates: Sequence[str], *, who: Who,
                    filters: SearchFilters | None = None) -> pd.DataFrame:
    """Reads of the given canonical plates, with their camera's code and position, by time
    (``who`` needs ``search``; audited as ``search.vehicle``)."""
    record_look(store, who, "search", "search.vehicle",
                {"plates": list(plates), "filters": described(filters)})
    return select_reads(store, plates, filters)


def select_reads(store: Store, plates: Sequence[str],
                 filters: SearchFilters | None) -> pd.DataFrame:
    """:func:`reads_of_plates` unchecked: for operations that checked ``who`` already."""
    columns = [*READ_COLUMNS, "code", "lon", "lat"]
    if not plates:
        return pd.DataFrame(columns=columns)
    clauses, params = filter_sql(store, filters)
    where = _where(f"plate IN ({_placeholders(len(plates))})", clauses)
    sql = (f"SELECT {', '.join('r.' + c for c in READ_COLUMNS)}, c.code, c.lon, c.lat "  # noqa: S608
           f"FROM (SELECT * FROM reads WHERE {where}) r "
           "LEFT JOIN cameras c ON c.id = r.camera_id ORDER BY r.ts, r.read_id")
    with store.reader() as con:
        table = con.execute(sql, [*plates, *params]).to_arrow_table()
    return pd.DataFrame(table.to_pandas())
