"""Stakeout (multi-location search): plates seen at all, or at least k, of several places.

A place is a name and :class:`~tracing.search.query.SearchFilters` (its cameras, polygon or
wards, and its time window), so "the bank on Võ Văn Ngân 9–10 h and the gateway at
Xa Lộ Hà Nội 10–11 h" is two places. Each place is one parameterised subquery.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tracing import settings
from tracing.access.actor import Who, record_look
from tracing.errors import SearchError
from tracing.search.query import SearchFilters, described, filter_sql
from tracing.store import Store

logger = logging.getLogger(__name__)

__all__ = ["Place", "StakeoutHit", "stakeout"]


@dataclass(frozen=True, slots=True)
class Place:
    """A named place and time window; its filters must restrict cameras or area."""

    name: str
    filters: SearchFilters


@dataclass(frozen=True, slots=True)
class StakeoutHit:
    """A plate seen at ``len(places)`` of the places, with its reads there."""

    plate: str
    places: tuple[str, ...]
    n_reads: int


def _place_sql(store: Store, index: int, place: Place) -> tuple[str, list[Any]]:
    f = place.filters
    if f.cameras is None and f.area is None and f.wards is None:
        raise SearchError(f"place {place.name!r} needs cameras, an area or wards")
    clauses, params = filter_sql(store, f)
    where = " AND ".join(clauses)
    return (f"SELECT plate, {int(index)} AS place FROM reads WHERE {where}",  # noqa: S608
            params)


def stakeout(store: Store, places: Sequence[Place], *, who: Who, min_places: int | None = None,
             limit: int = settings.SEARCH_MAX_CANDIDATES) -> tuple[StakeoutHit, ...]:
    """Plates seen at ≥ ``min_places`` of ``places`` (default: all), most places first
    (``who`` needs ``search``; audited as ``search.stakeout``)."""
    if len(places) < 2:
        raise SearchError("a stakeout needs at least two places")
    need = len(places) if min_places is None else int(min_places)
    if not 1 <= need <= len(places):
        raise SearchError(f"min_places {min_places!r} must lie in [1, {len(places)}]")
    parts = [_place_sql(store, i, p) for i, p in enumerate(places)]
    record_look(store, who, "search", "search.stakeout", {
        "places": [{"name": p.name, **described(p.filters)} for p in places],
        "min_places": need})
    union = " UNION ALL ".join(sql for sql, _ in parts)
    params = [v for _, ps in parts for v in ps]
    sql = (f"SELECT plate, list(DISTINCT place ORDER BY place), count(*) FROM ({union}) "  # noqa: S608
           "GROUP BY plate HAVING count(DISTINCT place) >= ? "
           "ORDER BY count(DISTINCT place) DESC, count(*) DESC, plate LIMIT ?")
    with store.reader() as con:
        rows = con.execute(sql, [*params, need, limit]).fetchall()
    return tuple(StakeoutHit(str(plate), tuple(places[i].name for i in idx), int(n))
                 for plate, idx, n in rows)
